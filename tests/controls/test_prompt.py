"""Prompt expansion: emotion → facial muscle movements (EMFACS action units), scene cues and a negative prompt."""

from __future__ import annotations

import pytest

from emogen.controls import VAD, resolve_emotion
from emogen.controls.expression import ACTION_UNITS, EMFACS_PROTOTYPES
from emogen.controls.prompt import AU_MOVEMENTS, EmotionPrompt, emotion_prompt_schedule, expand_emotion_prompt


def test_every_action_unit_has_a_movement_and_a_muscle():
    assert set(AU_MOVEMENTS) == set(ACTION_UNITS)
    assert all(region and movement and muscle for region, movement, _, muscle in AU_MOVEMENTS.values())


@pytest.mark.parametrize("label", [k for k in EMFACS_PROTOTYPES if k != "neutral"])
def test_each_label_describes_its_prototype(label):
    out = expand_emotion_prompt(label, "a photo of a man")
    assert isinstance(out, EmotionPrompt) and out.label == label
    assert set(out.action_units) == set(EMFACS_PROTOTYPES[label])  # full intensity: every prototype unit shows
    for au in out.action_units:
        region, movement, _, muscle = AU_MOVEMENTS[au]
        assert region in out.expression and movement in out.expression and f"({muscle})" in out.expression
    assert out.prompt.startswith("a photo of a man, ") and out.expression in out.prompt
    assert "expressionless face" in out.negative_prompt


def test_happy_reads_like_a_duchenne_smile():
    out = expand_emotion_prompt("happy:0.8", "a portrait", muscles=False)
    assert out.expression.startswith("intensely happy facial expression: lip corners strongly pulled up and back;")
    assert "cheeks clearly raised" in out.expression and "zygomaticus" not in out.prompt
    assert list(out.action_units)[0] == "AU12"  # strongest first (survives CLIP's 77-token truncation)
    assert "warm, bright light" in out.scene
    assert "lip corners pulled down" in out.negative_prompt  # sad is the most opposite label
    assert "pulled up" not in out.negative_prompt


def test_intensity_grades_and_order():
    weak = expand_emotion_prompt("sad:0.4", scene=False)
    strong = expand_emotion_prompt("sad:1.0", scene=False)
    assert "subtly sad" not in weak.expression and weak.label == "sad"
    assert weak.action_units["AU15"] < strong.action_units["AU15"] == 1.0
    assert "lip corners slightly pulled down" in weak.expression
    assert "lip corners fully pulled down" in strong.expression
    assert strong.scene == ""
    values = list(strong.action_units.values())
    assert values == sorted(values, reverse=True)


def test_neutral_and_weak_states():
    for spec in ("neutral", "happy:0.1", VAD(0.0, 0.0, 0.0)):
        out = expand_emotion_prompt(spec)
        assert out.label == "neutral" and out.action_units == {} and out.scene == ""
        assert out.expression == "neutral, relaxed facial expression"
        assert "smiling" in out.negative_prompt


def test_vad_mixtures_and_scene_cues():
    mix = expand_emotion_prompt("happy:0.6+surprised:0.4")
    assert "happy and surprised" in mix.expression and "AU27" in mix.action_units
    low = expand_emotion_prompt("vad:-0.6,-0.3,-0.5")
    assert low.label == "sad" and "cool, dim light" in low.scene and "head lowered" in low.scene
    high = expand_emotion_prompt("vad:0.6,0.7,0.6")
    assert "vivid, saturated colours" in high.scene and "head held high" in high.scene


def test_deterministic_and_tracks_are_averaged():
    a = expand_emotion_prompt("0s neutral, 1s angry", min_action_unit=0.1)
    b = expand_emotion_prompt(resolve_emotion("0s neutral, 1s angry"), min_action_unit=0.1)
    assert a == b and a.label == "angry"
    assert expand_emotion_prompt("fearful") == expand_emotion_prompt("fearful")


def test_schedule_lists_the_frames_where_the_wording_changes():
    schedule = emotion_prompt_schedule("0s neutral, 1s happy", 16, "a portrait", fps=8.0, muscles=False)
    assert min(schedule) == 0 and max(schedule) < 16
    assert "neutral" in schedule[0] and "happy" in schedule[max(schedule)]
    texts = list(schedule.values())
    assert len(set(texts)) == len(texts)


def test_bad_input():
    with pytest.raises(ValueError, match="min_action_unit"):
        expand_emotion_prompt("happy", min_action_unit=2.0)
    with pytest.raises(TypeError, match="prompt"):
        expand_emotion_prompt("happy", prompt=None)
    with pytest.raises(ValueError, match="num_frames"):
        emotion_prompt_schedule("happy", 0)
    with pytest.raises(ValueError):
        expand_emotion_prompt("vad:3,0,0")
