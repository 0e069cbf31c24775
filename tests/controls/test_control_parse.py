import pytest

from emogen.controls import VAD, EmotionLabel, Keyframe, parse_emotion_spec, parse_state_spec, parse_timeline


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("happy", EmotionLabel("happy")),
        ("  Joyful ", EmotionLabel("happy")),
        ("furious:0.5", EmotionLabel("angry", 0.5)),
        ("happy:0.6+surprised:0.4", (EmotionLabel("happy", 0.6), EmotionLabel("surprised", 0.4))),
        ("sad : 0.3 + angry", (EmotionLabel("sad", 0.3), EmotionLabel("angry", 1.0))),
        ("vad:0.8,0.5,0.2", VAD(0.8, 0.5, 0.2)),
        ("VAD: -0.4 0.6", VAD(-0.4, 0.6, 0.0)),
        ("text:happy", "happy"),
        ("I can't believe we won", "I can't believe we won"),
        ('"so tired"', "so tired"),
        ("Note: this is plain text", "Note: this is plain text"),
        ("text:wonderful", "wonderful"),
    ],
)
def test_state_specs(spec, expected):
    assert parse_state_spec(spec) == expected


@pytest.mark.parametrize(
    "spec, message",
    [
        ("", "Empty emotion spec"),
        ("   ", "Empty emotion spec"),
        ("hapy", "Did you mean 'happy'"),
        ("angyr:0.5", "Did you mean 'angry'"),
        ("happy:1.5", r"must be in \[0, 1\]"),
        ("happy:lots", "is not a number"),
        ("happy+happy", "same emotion twice"),
        ("vad:0.5", "2 or 3 numbers"),
        ("vad:0.5,x,0", "not a number"),
        ("vad:1.5,0,0", r"\[-1, 1\]"),
        ("vad:nan,0,0", r"\[-1, 1\]"),
        ("text:   ", "no text"),
        ("wonderful", "write 'text:wonderful'"),  # one word is never guessed as text
    ],
)
def test_bad_state_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_state_spec(spec)


def test_timeline_string():
    keys = parse_timeline("0s neutral, 1.2s happy:0.8, 3s sad:0.5")
    assert keys == [
        Keyframe(0.0, EmotionLabel("neutral")),
        Keyframe(1.2, EmotionLabel("happy", 0.8)),
        Keyframe(3.0, EmotionLabel("sad", 0.5)),
    ]


def test_timeline_mixed_forms_and_units():
    keys = parse_timeline("0s vad:0.1,0.2,0.3; 500ms happy:0.6+surprised:0.4, 2s 'I am so tired'")
    assert keys[0].emotion == VAD(0.1, 0.2, 0.3)
    assert keys[1].time == 0.5 and len(keys[1].emotion) == 2
    assert keys[2].emotion == "I am so tired"
    assert isinstance(parse_emotion_spec("0s happy, 1s sad"), list)
    assert parse_emotion_spec("happy") == EmotionLabel("happy")


@pytest.mark.parametrize(
    "spec, message",
    [
        ("0s happy, 1s sad, 1s angry", "must increase"),
        ("2s happy, 1s sad", "must increase"),
        ("0s happy, 1s", "has no emotion"),
        ("0s happy 1s sad", "Missing ',' before keyframe '1s'.*at character 10 "),
        ("0s happy, 1s hapy", "Did you mean 'happy'"),
        ("0s happy, 1s sad:2", r"\[0, 1\]"),
        ("", "Empty timeline"),
    ],
)
def test_malformed_timelines(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_timeline(spec)
