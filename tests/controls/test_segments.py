"""Emotion tags inside text."""

from __future__ import annotations

import pytest

from emogen.controls.segments import TaggedSegment, has_tags, parse_tagged_text


def test_tags_split_the_text():
    assert parse_tagged_text("[happy] We won the match! [sad:0.7] But Sam got hurt.") == [
        TaggedSegment("We won the match!", "happy"),
        TaggedSegment("But Sam got hurt.", "sad:0.7"),
    ]


def test_text_before_the_first_tag_and_forms():
    segs = parse_tagged_text("Hi. [happy:0.6+surprised:0.4] Oh! [vad:-0.5,-0.3,0] Hmm. [text:what a relief] Phew.")
    assert [s.emotion for s in segs] == [None, "happy:0.6+surprised:0.4", "vad:-0.5,-0.3,0", "text:what a relief"]
    assert [s.text for s in segs] == ["Hi.", "Oh!", "Hmm.", "Phew."]


def test_no_tags_escapes_and_empty():
    assert parse_tagged_text("Plain text.") == [TaggedSegment("Plain text.", None)]
    assert parse_tagged_text("") == []
    assert parse_tagged_text("[happy]") == []
    assert parse_tagged_text("[happy][angry] Go!") == [TaggedSegment("Go!", "angry")]
    assert parse_tagged_text(r"See \[1\] here [sad] ok") == [
        TaggedSegment("See [1] here", None),
        TaggedSegment("ok", "sad"),
    ]
    assert has_tags("[happy] x") and not has_tags(r"\[happy\] x")


@pytest.mark.parametrize(
    ("text", "match"),
    [("[hapy] x", "happy"), ("[citation needed] x", "not an emotion"), ("[] x", "Empty"), ("[sad:7] x", r"\[0, 1\]")],
)
def test_bad_tags(text, match):
    with pytest.raises(ValueError, match=match):
        parse_tagged_text(text)


def test_type_error():
    with pytest.raises(TypeError):
        parse_tagged_text(None)
