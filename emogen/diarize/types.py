"""Values the speech-emotion diarizer returns: :class:`EmotionSegment`, :class:`FrameEmotion`,
:class:`DiarizationResult`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from ..emotion import LABELS, EmotionTrack, canonical_label, label_centroids
from ..utils import dataclass_to

__all__ = ["EmotionSegment", "FrameEmotion", "DiarizationResult", "frame_intensity"]


@dataclass(frozen=True)
class EmotionSegment:
    """A stretch of audio spoken with one emotion.

    Args:
        start: start time in seconds (>= 0).
        end: end time in seconds (> start).
        label: one of :data:`~emogen.emotion.LABELS` (synonyms are accepted and stored canonical).
        intensity: how strongly the label is shown, in [0, 1].
        vad: mean (valence, arousal, dominance) over the segment, each in [-1, 1].
        confidence: mean probability of ``label`` over the segment's frames, in [0, 1].
    """

    start: float
    end: float
    label: str
    intensity: float
    vad: tuple[float, float, float] = (0.0, 0.0, 0.0)
    confidence: float = 1.0

    def __post_init__(self) -> None:
        for name in ("start", "end", "intensity", "confidence"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"EmotionSegment.{name} must be a finite number, got {value!r}.")
            object.__setattr__(self, name, float(value))
        if not 0.0 <= self.start < self.end:
            raise ValueError(f"EmotionSegment needs 0 <= start < end, got start={self.start}, end={self.end}.")
        object.__setattr__(self, "label", canonical_label(self.label))
        for name in ("intensity", "confidence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"EmotionSegment.{name} must be in [0, 1], got {getattr(self, name)!r}.")
        vad = tuple(float(v) for v in self.vad)
        if len(vad) != 3 or not all(math.isfinite(v) and -1.0 <= v <= 1.0 for v in vad):
            raise ValueError(f"EmotionSegment.vad must be 3 numbers in [-1, 1], got {self.vad!r}.")
        object.__setattr__(self, "vad", vad)

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict:
        """JSON-ready dict (times rounded to ms, values to 4 decimals)."""
        return {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "label": self.label,
            "intensity": round(self.intensity, 4),
            "valence": round(self.vad[0], 4),
            "arousal": round(self.vad[1], 4),
            "dominance": round(self.vad[2], 4),
            "confidence": round(self.confidence, 4),
        }


def frame_intensity(vad: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    """Intensity of each frame: distance of its VAD from neutral relative to the centroid of its most likely
    non-neutral label, capped at 1 (the rule of :meth:`emogen.emotion.EmotionTrack.from_vad`).

    Args:
        vad (`torch.Tensor` of shape `(frames, 3)`)
        probs (`torch.Tensor` of shape `(frames, K)`) over :data:`~emogen.emotion.LABELS`.

    Returns:
        `torch.Tensor` of shape `(frames,)` in [0, 1].
    """
    centroids = label_centroids(vad.device, vad.dtype)
    best = probs[:, 1:].argmax(-1) + 1
    return (vad.norm(dim=-1) / centroids[best].norm(dim=-1)).clamp(0.0, 1.0)


def _check_frames(vad: torch.Tensor, probs: torch.Tensor, speech: torch.Tensor, what: str) -> None:
    if vad.ndim != 2 or vad.shape[1] != 3 or vad.shape[0] < 1:
        raise ValueError(f"{what}.vad must have shape (frames, 3), got {tuple(vad.shape)}.")
    t = vad.shape[0]
    if probs.shape != (t, len(LABELS)):
        raise ValueError(f"{what}.probs must have shape ({t}, {len(LABELS)}), got {tuple(probs.shape)}.")
    if speech.shape != (t,) or speech.dtype != torch.bool:
        raise ValueError(
            f"{what}.speech must be a bool tensor of shape ({t},), got {speech.dtype} {tuple(speech.shape)}."
        )
    if not (torch.isfinite(vad).all() and torch.isfinite(probs).all()):
        raise ValueError(f"{what} holds NaN or infinite values.")


@dataclass(frozen=True)
class FrameEmotion:
    """What a backend returns: emotion per feature frame (50 Hz), before smoothing into segments.

    Args:
        vad (`torch.Tensor` of shape `(frames, 3)`): valence, arousal, dominance in [-1, 1].
        probs (`torch.Tensor` of shape `(frames, K)`): distribution over :data:`~emogen.emotion.LABELS`.
        speech (`torch.Tensor` of shape `(frames,)`, bool): True where the frame's window holds speech.
        fps: frame rate (50).
    """

    vad: torch.Tensor
    probs: torch.Tensor
    speech: torch.Tensor
    fps: float = 50.0

    def __post_init__(self) -> None:
        _check_frames(self.vad, self.probs, self.speech, "FrameEmotion")

    @property
    def num_frames(self) -> int:
        return self.vad.shape[0]

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> FrameEmotion:
        return dataclass_to(self, device, dtype)


@dataclass(frozen=True)
class DiarizationResult:
    """Speech-emotion diarization of one recording.

    Args:
        segments: consecutive :class:`EmotionSegment` covering ``[0, duration]``.
        vad (`torch.Tensor` of shape `(frames, 3)`): smoothed valence, arousal, dominance per frame.
        probs (`torch.Tensor` of shape `(frames, K)`): smoothed label distribution per frame.
        intensity (`torch.Tensor` of shape `(frames,)`): in [0, 1].
        speech (`torch.Tensor` of shape `(frames,)`, bool): frames whose analysis window holds speech.
        fps: frame rate of the per-frame tensors (50).
        duration: length of the audio in seconds.
        backend: name of the backend that produced it (``"prosody"`` or the model path).
    """

    segments: tuple[EmotionSegment, ...]
    vad: torch.Tensor
    probs: torch.Tensor
    intensity: torch.Tensor
    speech: torch.Tensor
    fps: float
    duration: float
    backend: str = "prosody"
    labels: tuple[str, ...] = field(default=LABELS)

    def __post_init__(self) -> None:
        object.__setattr__(self, "segments", tuple(self.segments))
        _check_frames(self.vad, self.probs, self.speech, "DiarizationResult")
        if self.intensity.shape != (self.vad.shape[0],):
            raise ValueError(f"intensity must have shape ({self.vad.shape[0]},), got {tuple(self.intensity.shape)}.")
        if not self.segments:
            raise ValueError("A DiarizationResult needs at least one segment.")

    @property
    def num_frames(self) -> int:
        return self.vad.shape[0]

    @property
    def times(self) -> torch.Tensor:
        """Frame centre times in seconds, shape ``(frames,)``."""
        return torch.arange(self.num_frames, dtype=torch.float64) / self.fps

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> DiarizationResult:
        return dataclass_to(self, device, dtype)

    def to_track(self, fps: float = 25.0, mode: str = "frames") -> EmotionTrack:
        """The emotion as an :class:`~emogen.emotion.EmotionTrack` at ``fps`` (e.g. a video's frame rate).

        Args:
            fps: frame rate of the track; it spans ``round(duration · fps)`` frames (at least 1).
            mode: ``"frames"``: the smoothed per-frame estimate (continuous); ``"segments"``: piecewise constant,
                each segment's label at its intensity (``vad = intensity · centroid``), what a talking head driven
                by discrete emotion segments wants (SEDTalker style).
        """
        if mode not in ("frames", "segments"):
            raise ValueError(f"mode must be 'frames' or 'segments', got {mode!r}.")
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
            raise ValueError(f"fps must be a positive number, got {fps!r}.")
        n = max(1, round(self.duration * fps))
        if mode == "frames":
            track = EmotionTrack(
                vad=self.vad.float().clamp(-1, 1),
                probs=self.probs.float(),
                intensity=self.intensity.float(),
                fps=self.fps,
            )
            return track.resample(fps=fps, num_frames=n)
        times = torch.arange(n, dtype=torch.float64) / fps
        centroids = label_centroids()
        vad = torch.zeros(n, 3)
        probs = torch.zeros(n, len(LABELS))
        intensity = torch.zeros(n)
        for i, seg in enumerate(self.segments):
            last = i == len(self.segments) - 1
            sel = (times >= seg.start) & ((times < seg.end) | torch.tensor(last))
            k = LABELS.index(seg.label)
            probs[sel, k] = 1.0
            intensity[sel] = seg.intensity if seg.label != "neutral" else 0.0
            vad[sel] = (intensity[sel].unsqueeze(-1) * centroids[k]).float()
        probs[probs.sum(-1) == 0, 0] = 1.0
        return EmotionTrack(vad=vad, probs=probs, intensity=intensity, fps=fps)

    def summary(self) -> dict:
        """Totals: seconds per label, the dominant label, mean VAD over speech frames, number of segments."""
        per_label = dict.fromkeys(LABELS, 0.0)
        for seg in self.segments:
            per_label[seg.label] += seg.duration
        sp = self.speech if self.speech.any() else torch.ones_like(self.speech)
        mean_vad = self.vad[sp].float().mean(0).tolist()
        dominant = max(per_label, key=per_label.get)
        return {
            "duration": round(self.duration, 3),
            "num_segments": len(self.segments),
            "dominant_label": dominant,
            "seconds_per_label": {k: round(v, 3) for k, v in per_label.items() if v > 0},
            "mean_vad": {k: round(v, 4) for k, v in zip(("valence", "arousal", "dominance"), mean_vad, strict=False)},
            "speech_fraction": round(float(self.speech.float().mean()), 4),
            "backend": self.backend,
        }

    def to_dict(self, include_frames: bool = False) -> dict:
        """JSON-ready dict: ``{"segments": [...], "summary": {...}}`` (+ ``"frames"`` at 50 Hz if asked)."""
        out = {"segments": [s.to_dict() for s in self.segments], "summary": self.summary()}
        if include_frames:
            track = EmotionTrack(
                vad=self.vad.float(), probs=self.probs.float(), intensity=self.intensity.float(), fps=self.fps
            )
            out["frames"] = track.to_dict()
            out["frames"]["speech"] = self.speech.tolist()
        return out
