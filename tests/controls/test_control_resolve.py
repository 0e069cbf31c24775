import pytest
import torch

from emogen.controls import VAD, EmotionLabel, EmotionTrack, Keyframe, emotion_state, resolve_emotion
from emogen.emotion import LABEL_VAD, LABELS

H, S = LABELS.index("happy"), LABELS.index("sad")


def test_label_with_intensity():
    tr = resolve_emotion("happy:0.5", duration=2.0, fps=25)
    assert tr.num_frames == 50 and tr.fps == 25
    assert torch.allclose(tr.intensity, torch.full((50,), 0.5))
    assert tr.top_label()[0] == "happy"
    assert torch.allclose(tr.vad[0], 0.5 * torch.tensor(LABEL_VAD["happy"]))


def test_mixture_probabilities_follow_weights():
    state = emotion_state((EmotionLabel("happy", 0.6), EmotionLabel("surprised", 0.4)))
    assert state.probs[H] == pytest.approx(0.6) and state.probs[LABELS.index("surprised")] == pytest.approx(0.4)
    assert float(state.intensity) == pytest.approx(1.0)


def test_vad_input_soft_assignment():
    tr = resolve_emotion(VAD(-0.6, -0.3, -0.3), num_frames=3)
    assert tr.top_label() == ["sad"] * 3
    assert tr.intensity[0] > 0.9
    near_neutral = resolve_emotion("vad:0.05,0.0,0.0")
    assert near_neutral.top_label() == ["neutral"] and near_neutral.intensity[0] < 0.1


def test_timeline_interpolates_between_keyframes():
    tr = resolve_emotion("0s sad, 2s happy", fps=10)
    assert tr.num_frames == 30  # last key + 1 s hold
    assert tr.probs[0, S] == pytest.approx(1.0) and tr.probs[20, H] == pytest.approx(1.0)
    assert tr.probs[10, H] == pytest.approx(0.5, abs=1e-5)
    assert (tr.vad[1:21, 0] - tr.vad[:20, 0] > 0).all(), "valence rises monotonically from sad to happy"
    step = resolve_emotion("0s sad, 2s happy", fps=10, interpolation="step")
    assert step.probs[19, S] == pytest.approx(1.0) and step.probs[20, H] == pytest.approx(1.0)


def test_timeline_objects_equal_strings():
    keys = [Keyframe(0.0, EmotionLabel("neutral")), Keyframe(1.0, EmotionLabel("angry", 0.7))]
    a = resolve_emotion(keys, fps=25, duration=3.0)
    b = resolve_emotion("0s neutral, 1s angry:0.7", fps=25, duration=3.0)
    assert torch.allclose(a.vad, b.vad) and torch.allclose(a.probs, b.probs)


def test_track_input_is_resampled():
    tr = resolve_emotion("0s sad, 1s happy", fps=25)
    again = resolve_emotion(tr, fps=50)
    assert isinstance(again, EmotionTrack) and again.fps == 50 and again.num_frames == 2 * tr.num_frames
    assert resolve_emotion(tr, fps=25, num_frames=10).num_frames == 10


def test_none_is_neutral_and_bad_inputs():
    assert resolve_emotion(None).top_label() == ["neutral"]
    with pytest.raises(ValueError, match="duration"):
        resolve_emotion("happy", duration=-1)
    with pytest.raises(ValueError, match="num_frames"):
        resolve_emotion("happy", num_frames=0)
    with pytest.raises(TypeError, match="Cannot read an emotion"):
        resolve_emotion(42)
    with pytest.raises(ValueError, match="Empty"):
        resolve_emotion("")
    with pytest.raises(ValueError, match="Did you mean"):
        resolve_emotion("0s happy, 2s angyr")


def test_text_reads_labels_and_mundane_text_is_neutral():
    from emogen.controls import analyze_text

    results = analyze_text(
        ["Please close the door when you leave.", "I'm so scared, there's someone outside.", "I can't stop smiling!"]
    )
    assert [max(r.probs, key=r.probs.get) for r in results] == ["neutral", "fearful", "happy"]
    track = resolve_emotion("text:I am furious that they lied to us again.", duration=1.0)
    assert track.top_label()[0] == "angry" and track.intensity[0] > 0.5
