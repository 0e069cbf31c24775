"""Property-based fuzzing of the emotion-spec parsers: labels, mixtures, VAD, timelines and inline speech tags.

Every string either parses to the documented types or raises the documented error type
(:class:`~emogen.controls.parse.EmotionSpecError`, a ``ValueError`` naming the value) — never anything else — and
never hangs: each example has a deadline (a generous one, a guard against runaway backtracking, not a speed test).
Strings are drawn both at random and from the grammar's own pieces, so that near-misses are common.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emogen.controls.parse import (
    EmotionSpecError,
    is_timeline,
    parse_emotion_spec,
    parse_state_spec,
    parse_timeline,
)
from emogen.controls.segments import TaggedSegment, parse_tagged_text
from emogen.emotion import LABELS, VAD, EmotionLabel, Keyframe

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(120)]

#: ``EMOGEN_FUZZ_EXAMPLES=20000 pytest tests/reliability/test_fuzz_specs.py`` fuzzes longer, with fresh examples;
#: by default the same 300 examples run every time, so CI never flakes on a new one.
_EXAMPLES = os.environ.get("EMOGEN_FUZZ_EXAMPLES")
FUZZ = settings(
    max_examples=int(_EXAMPLES or 300),
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=_EXAMPLES is None,
    database=None,
)

_WORDS = [*LABELS, "joyful", "furious", "hapy", "blorp", "text", "vad", "I", "am", "so", "we won", "😀", "é", ""]
_PUNCT = [":", "+", ",", ";", " ", "  ", "'", '"', "[", "]", "\\[", "\\]", "s", "ms", "-", ".", "e", "\t", "\n"]
_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10, 10**6).map(str),
    st.sampled_from(["0", "0.5", "1", "1.5", "-0.2", ".5", "5.", "1e3", "nan", "inf", "1" * 400, "١"]),
)
#: Strings built from the grammar's own tokens: mostly near-misses of valid specs.
PIECES = st.lists(st.one_of(st.sampled_from(_WORDS), st.sampled_from(_PUNCT), _NUMBERS), max_size=14).map("".join)
ANY_TEXT = st.one_of(st.text(max_size=80), PIECES)


def _is_state(value) -> bool:
    if isinstance(value, (VAD, EmotionLabel, str)):
        return not isinstance(value, str) or bool(value.strip())
    return isinstance(value, tuple) and len(value) >= 2 and all(isinstance(v, EmotionLabel) for v in value)


@FUZZ
@given(ANY_TEXT)
def test_state_specs_parse_or_raise_the_documented_error(spec):
    try:
        value = parse_state_spec(spec)
    except EmotionSpecError as err:
        assert str(err) and "\n" not in str(err).replace(spec, "")  # one line, apart from the echoed value
        return
    assert _is_state(value)
    if isinstance(value, str):  # free text is never guessed from a single token
        stripped = spec.strip()
        quoted = len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "\"'"
        assert stripped.lower().startswith("text:") or quoted or len(stripped.split()) >= 2


@FUZZ
@given(ANY_TEXT)
def test_any_spec_parses_or_raises_the_documented_error(spec):
    try:
        value = parse_emotion_spec(spec)
    except EmotionSpecError:
        return
    if isinstance(value, list):
        assert is_timeline(spec) and value and all(isinstance(k, Keyframe) for k in value)
        times = [k.time for k in value]
        assert times == sorted(set(times)) and times[-1] <= 600
    else:
        assert _is_state(value)


_TIMES = st.one_of(st.integers(0, 700).map(lambda t: f"{t}s"), st.integers(0, 5000).map(lambda t: f"{t}ms"), _NUMBERS)
KEYFRAME = st.tuples(_TIMES, st.sampled_from([" ", "", "  "]), st.one_of(st.sampled_from(_WORDS), PIECES)).map("".join)
TIMELINES = st.lists(KEYFRAME, min_size=1, max_size=6).flatmap(
    lambda keys: st.lists(st.sampled_from([", ", ",", "; ", " ", ""]), min_size=len(keys), max_size=len(keys)).map(
        lambda seps: "".join(k + s for k, s in zip(keys, seps, strict=True))
    )
)


@FUZZ
@given(st.one_of(TIMELINES, ANY_TEXT))
def test_timelines_parse_or_raise_the_documented_error(spec):
    try:
        keys = parse_timeline(spec)
    except EmotionSpecError as err:
        assert err.position is None or 0 <= err.position <= len(spec)
        return
    assert keys and all(isinstance(k, Keyframe) and _is_state(k.emotion) for k in keys)


TAGGED = st.lists(
    st.one_of(st.sampled_from(_WORDS).map(lambda w: f"[{w}]"), PIECES.map(lambda p: f"[{p}]"), ANY_TEXT), max_size=6
).map(" ".join)


@FUZZ
@given(st.one_of(TAGGED, ANY_TEXT))
def test_inline_tags_parse_or_raise_the_documented_error(text):
    try:
        segments = parse_tagged_text(text)
    except EmotionSpecError:
        return
    assert all(isinstance(s, TaggedSegment) and s.text.strip() for s in segments)
    for s in segments:
        assert s.emotion is None or _is_state(parse_state_spec(s.emotion))


@FUZZ
@given(st.sampled_from(list(LABELS)), st.floats(0, 1), st.sampled_from(list(LABELS)), st.floats(0, 1))
def test_valid_mixtures_always_parse(a, x, b, y):
    spec = f"{a}:{x!r}+{b}:{y!r}"
    if a == b:
        with pytest.raises(EmotionSpecError, match="same emotion twice"):
            parse_state_spec(spec)
    else:
        assert parse_state_spec(spec) == (EmotionLabel(a, x), EmotionLabel(b, y))


@FUZZ
@given(st.lists(st.floats(-1, 1), min_size=2, max_size=3), st.sampled_from([",", ", ", " "]))
def test_valid_vad_always_parses(values, sep):
    assert parse_state_spec("vad:" + sep.join(repr(v) for v in values)) == VAD(*values)


def test_long_specs_are_refused_quickly():
    with pytest.raises(EmotionSpecError, match="longest accepted"):
        parse_emotion_spec("0s happy, " + "1s sad " * 5_000)
