import math

import pytest
import torch

from emogen.emotion import (
    LABEL_VAD,
    LABELS,
    VAD,
    EmotionConditioning,
    EmotionLabel,
    EmotionTrack,
    Keyframe,
    canonical_label,
    probs_to_vad,
    vad_to_probs,
)


def test_vad_validates_range_and_nan():
    assert tuple(VAD(0.5, -0.2, 1.0)) == (0.5, -0.2, 1.0)
    for bad in (1.5, -1.01, math.nan, math.inf):
        with pytest.raises(ValueError, match="valence"):
            VAD(bad, 0.0, 0.0)
    with pytest.raises(TypeError):
        VAD("high", 0.0)


def test_label_synonyms_and_suggestions():
    assert EmotionLabel("Joyful").name == "happy"
    assert EmotionLabel("furious", 0.5).name == "angry"
    assert canonical_label("scared") == "fearful"
    with pytest.raises(ValueError, match="Did you mean 'happy'"):
        EmotionLabel("hapy")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        EmotionLabel("sad", 1.2)
    with pytest.raises(ValueError, match="Accepted labels"):
        EmotionLabel("zzzz")


def test_keyframe_validation():
    with pytest.raises(ValueError, match=">= 0"):
        Keyframe(-1.0, EmotionLabel("sad"))
    with pytest.raises(ValueError, match="finite"):
        Keyframe(math.nan, EmotionLabel("sad"))
    with pytest.raises(TypeError):
        Keyframe(0.0, 3)


def test_soft_assignment_recovers_centroids_and_mixes_midpoints():
    centroids = torch.tensor([LABEL_VAD[n] for n in LABELS])
    probs = vad_to_probs(centroids)
    assert torch.allclose(probs.sum(-1), torch.ones(len(LABELS)))
    assert (probs.argmax(-1) == torch.arange(len(LABELS))).all()
    assert (probs.diagonal() >= 0.6).all()
    half_happy = vad_to_probs(0.5 * centroids[LABELS.index("happy")])
    assert half_happy[0] > 0.2 and half_happy[LABELS.index("happy")] > 0.2


def test_probs_to_vad_scales_with_intensity():
    probs = torch.zeros(len(LABELS))
    probs[LABELS.index("sad")] = 1.0
    vad = probs_to_vad(probs, torch.tensor(0.5))
    assert torch.allclose(vad, 0.5 * torch.tensor(LABEL_VAD["sad"]))


def _track(t=10, fps=25.0):
    vad = torch.linspace(-0.5, 0.5, t).unsqueeze(-1).repeat(1, 3)
    return EmotionTrack.from_vad(vad, fps=fps)


def test_track_shapes_validated():
    tr = _track()
    with pytest.raises(ValueError, match="probs must have shape"):
        EmotionTrack(vad=tr.vad, probs=tr.probs[:, :3], intensity=tr.intensity, fps=25)
    with pytest.raises(ValueError, match="NaN"):
        EmotionTrack(vad=tr.vad * math.nan, probs=tr.probs, intensity=tr.intensity, fps=25)
    with pytest.raises(ValueError, match="fps"):
        EmotionTrack(vad=tr.vad, probs=tr.probs, intensity=tr.intensity, fps=0)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        EmotionTrack.from_vad(torch.full((3, 3), 2.0), fps=25)


def test_track_resample_keeps_timing():
    tr = _track(t=50, fps=25.0)
    up = tr.resample(fps=100.0)
    assert up.num_frames == 200 and up.fps == 100.0
    # frame 40 at 100 fps is t = 0.4 s, i.e. frame 10 at 25 fps
    assert torch.allclose(up.vad[40], tr.vad[10], atol=1e-6)
    assert torch.allclose(up.probs.sum(-1), torch.ones(200), atol=1e-5)
    assert tr.resample(fps=25.0, num_frames=7).num_frames == 7


def test_track_to_and_slice_and_dict():
    tr = _track().to(dtype=torch.float64)
    assert tr.vad.dtype == torch.float64 and tr.probs.dtype == torch.float64
    assert tr.slice(2, 5).num_frames == 3
    with pytest.raises(ValueError):
        tr.slice(5, 2)
    d = tr.to_dict()
    assert d["labels"] == list(LABELS) and len(d["vad"]) == tr.num_frames


def test_conditioning_shapes():
    c = EmotionConditioning(torch.zeros(2, 5, 4), torch.zeros(2, 4), torch.ones(2, 5, dtype=torch.bool), fps=25)
    assert c.repeat_interleave(3).batch_size == 6
    with pytest.raises(ValueError, match="pooled"):
        EmotionConditioning(torch.zeros(2, 5, 4), torch.zeros(2, 3), torch.ones(2, 5, dtype=torch.bool), fps=25)


def test_neutral_prior_widens_the_neutral_basin():
    near = torch.tensor([-0.16, -0.06, 0.21])  # closer to contempt's centroid than to the origin
    plain, wide = vad_to_probs(near), vad_to_probs(near, neutral_prior=2.5)
    assert plain.argmax() == LABELS.index("contempt") and wide.argmax() == LABELS.index("neutral")
    far = torch.tensor(LABEL_VAD["angry"])
    assert vad_to_probs(far, neutral_prior=2.5).argmax() == LABELS.index("angry")
    with pytest.raises(ValueError, match="neutral_prior"):
        vad_to_probs(near, neutral_prior=0)
