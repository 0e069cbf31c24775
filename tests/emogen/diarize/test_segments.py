"""emogen.diarize: HMM smoothing, segments, EmotionTrack conversion, RTTM / JSON / plot export (no audio models)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from emogen.diarize import DiarizationResult, EmotionSegment, FrameEmotion
from emogen.diarize.segment import merge_short_runs, segments_from_path, smooth_path, viterbi
from emogen.emotion import LABEL_VAD, LABELS, EmotionTrack
from emogen.export import plot_diarization, rttm_lines, write_json, write_rttm


def _frames(label_per_second: list[str], noise: float = 0.0, seed: int = 0, fps: float = 50.0) -> FrameEmotion:
    """Frame posteriors that favour one label per second (with optional random flips)."""
    rng = np.random.default_rng(seed)
    n = int(len(label_per_second) * fps)
    probs = np.full((n, len(LABELS)), 0.05)
    vad = np.zeros((n, 3))
    for i in range(n):
        lab = label_per_second[int(i / fps)]
        if rng.random() < noise:
            lab = LABELS[rng.integers(len(LABELS))]
        probs[i, LABELS.index(lab)] = 0.65
        vad[i] = LABEL_VAD[lab]
    probs /= probs.sum(1, keepdims=True)
    return FrameEmotion(
        vad=torch.tensor(vad, dtype=torch.float32), probs=torch.tensor(probs, dtype=torch.float32),
        speech=torch.ones(n, dtype=torch.bool), fps=fps,
    )  # fmt: skip


def test_emotion_segment_validates():
    s = EmotionSegment(0.5, 1.5, "furious", 0.7, vad=(-0.3, 0.5, 0.2), confidence=0.8)
    assert s.label == "angry" and s.duration == 1.0
    assert s.to_dict()["arousal"] == 0.5
    with pytest.raises(ValueError, match="start < end"):
        EmotionSegment(1.0, 1.0, "happy", 0.5)
    with pytest.raises(ValueError, match="intensity"):
        EmotionSegment(0.0, 1.0, "happy", 1.5)
    with pytest.raises(ValueError, match="Unknown emotion label"):
        EmotionSegment(0.0, 1.0, "hungry", 0.5)
    with pytest.raises(ValueError, match="vad"):
        EmotionSegment(0.0, 1.0, "happy", 0.5, vad=(2.0, 0.0, 0.0))


def test_viterbi_recovers_a_known_path():
    # two states, sticky transitions; emissions favour state 1 in the middle third only
    em = np.log(np.array([[0.8, 0.2]] * 10 + [[0.3, 0.7]] * 10 + [[0.8, 0.2]] * 10))
    trans = np.log(np.array([[0.9, 0.1], [0.1, 0.9]]))
    path = viterbi(em, trans, np.log(np.array([0.5, 0.5])))
    np.testing.assert_array_equal(path, [0] * 10 + [1] * 10 + [0] * 10)
    # a single-frame blip does not beat the sticky prior
    em = np.log(np.array([[0.8, 0.2]] * 10 + [[0.3, 0.7]] + [[0.8, 0.2]] * 10))
    assert (viterbi(em, trans, np.log(np.array([0.5, 0.5]))) == 0).all()


def test_smoothing_removes_flicker_and_keeps_true_changes():
    frames = _frames(["neutral"] * 3 + ["angry"] * 3 + ["sad"] * 2, noise=0.3)
    raw_changes = int((np.diff(frames.probs.argmax(-1).numpy()) != 0).sum())
    path = smooth_path(frames, switch_rate=0.3)
    path = merge_short_runs(path, frames.probs.numpy(), min_frames=25)
    changes = np.flatnonzero(np.diff(path)) + 1
    assert raw_changes > 20
    assert len(changes) == 2
    np.testing.assert_allclose(changes / 50.0, [3.0, 6.0], atol=0.1)
    assert [LABELS[path[i]] for i in (10, 200, 350)] == ["neutral", "angry", "sad"]


def test_merge_short_runs_prefers_the_better_neighbour():
    path = np.array([0] * 20 + [3] * 4 + [5] * 20)
    probs = np.full((44, len(LABELS)), 0.1)
    probs[20:24, 5] = 0.5  # the short run looks more like its right neighbour
    merged = merge_short_runs(path, probs, min_frames=10)
    np.testing.assert_array_equal(merged, [0] * 20 + [5] * 24)
    assert (
        merge_short_runs(np.array([1, 1, 2]), probs[:3], 10) == merge_short_runs(np.array([1, 1, 2]), probs[:3], 10)[0]
    ).all()


def _result(duration_s: int = 4) -> DiarizationResult:
    labels = ["neutral"] * (duration_s // 2) + ["happy"] * (duration_s - duration_s // 2)
    frames = _frames(labels)
    path = frames.probs.argmax(-1).numpy()
    segs = segments_from_path(path, frames, frames.vad, float(duration_s))
    return DiarizationResult(
        segments=segs, vad=frames.vad, probs=frames.probs, intensity=torch.ones(frames.num_frames),
        speech=frames.speech, fps=50.0, duration=float(duration_s),
    )  # fmt: skip


def test_segments_cover_the_recording_and_convert_to_a_track():
    result = _result(4)
    segs = result.segments
    assert [s.label for s in segs] == ["neutral", "happy"]
    assert segs[0].start == 0.0 and segs[-1].end == 4.0 and segs[0].end == segs[1].start
    assert abs(segs[1].start - 2.0) <= 0.02
    assert segs[1].intensity == pytest.approx(1.0, abs=1e-4) and segs[0].intensity == 0.0
    for mode in ("frames", "segments"):
        track = result.to_track(fps=25, mode=mode)
        assert isinstance(track, EmotionTrack) and track.num_frames == 100 and track.fps == 25.0
        top = track.top_label()
        assert top[10] == "neutral" and top[90] == "happy"
    seg_track = result.to_track(fps=30, mode="segments")
    torch.testing.assert_close(seg_track.vad[-1], torch.tensor(LABEL_VAD["happy"]))
    with pytest.raises(ValueError, match="mode"):
        result.to_track(mode="bogus")
    summary = result.summary()
    assert summary["num_segments"] == 2 and set(summary["seconds_per_label"]) == {"neutral", "happy"}


def test_rttm_and_json_export(tmp_path):
    result = _result(4)
    lines = rttm_lines(result, "clip01")
    assert len(lines) == 2
    fields = lines[1].split()
    assert fields[0] == "SPEAKER" and fields[1] == "clip01" and fields[2] == "1" and fields[7] == "happy"
    assert float(fields[3]) == pytest.approx(result.segments[1].start, abs=1e-3)
    assert float(fields[3]) + float(fields[4]) == pytest.approx(4.0, abs=2e-3)
    with pytest.raises(ValueError, match="whitespace"):
        rttm_lines(result, "my clip")
    path = write_rttm(result, tmp_path / "my clip.rttm")
    assert path.read_text().split("\n")[0].split()[1] == "my_clip"
    data = json.loads(write_json(tmp_path / "out.json", result.to_dict(include_frames=True)).read_text())
    assert [s["label"] for s in data["segments"]] == ["neutral", "happy"]
    assert len(data["frames"]["vad"]) == 200 and data["summary"]["duration"] == 4.0
    # every writer creates missing output folders (as `-o` always did)
    assert write_rttm(result, tmp_path / "new" / "out.rttm").read_text().startswith("SPEAKER")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my clip.rttm", "new", "out.json"]  # no temp files left
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["out.rttm"]


def test_plot_writes_a_png(tmp_path):
    from PIL import Image

    result = _result(4)
    wave = np.sin(np.arange(64000) / 10.0).astype(np.float32) * 0.3
    path = plot_diarization(result, wave, tmp_path / "plot.png")
    img = np.asarray(Image.open(path).convert("RGB"))
    assert img.shape[0] >= 500 and img.shape[1] >= 1000
    happy = np.array([0xFF, 0xBF, 0x00])
    assert (np.abs(img.astype(int) - happy).sum(-1) < 40).sum() > 1000  # the happy segment is drawn in its colour
