"""Typed emotion values shared by every part of emogen.

Emotions are points (or distributions) in valence-arousal-dominance (VAD) space, each axis in [-1, 1], and,
equivalently, distributions over a small set of categorical labels. This module holds the value types that cross
module boundaries (:class:`VAD`, :class:`EmotionLabel`, :class:`Keyframe`, :class:`EmotionTrack`,
:class:`EmotionConditioning`) and the VAD ↔ label geometry. Parsing of user strings, dynamics, the text model, the
encoder and the expression prior live in :mod:`emogen.controls`.

Label centroids in VAD (``LABEL_VAD``) are the pleasure-arousal-dominance ratings of Russell & Mehrabian (1977),
"Evidence for a three-factor theory of emotions", J. Research in Personality 11, as tabulated for the six basic
emotions by Hoffmann et al. (2012), "Mapping discrete emotions into the dimensional space: an empirical approach",
IEEE SMC. Contempt is not among them; it takes the PAD of the closest OCC emotion, "reproach", from Gebhard
(2005), "ALMA – A Layered Model of Affect", AAMAS. Neutral is the origin.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field, fields, replace

import torch

from .conditioning import EmotionConditioning
from .utils import dataclass_to

__all__ = [
    "LABELS",
    "NUM_LABELS",
    "LABEL_VAD",
    "LABEL_SYNONYMS",
    "VAD",
    "EmotionLabel",
    "Keyframe",
    "EmotionState",
    "EmotionTrack",
    "EmotionConditioning",
    "canonical_label",
    "label_centroids",
    "vad_to_probs",
    "probs_to_vad",
    "vad_intensity",
]

#: The label set, in the column order of every ``probs`` tensor.
LABELS: tuple[str, ...] = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised", "contempt")
NUM_LABELS: int = len(LABELS)

#: Label centroids (valence, arousal, dominance); sources in the module docstring.
LABEL_VAD: dict[str, tuple[float, float, float]] = {
    "neutral": (0.0, 0.0, 0.0),
    "happy": (0.81, 0.51, 0.46),
    "sad": (-0.63, -0.27, -0.33),
    "angry": (-0.51, 0.59, 0.25),
    "fearful": (-0.64, 0.60, -0.43),
    "disgusted": (-0.60, 0.35, 0.11),
    "surprised": (0.40, 0.67, -0.13),
    "contempt": (-0.30, -0.10, 0.40),
}

#: Accepted synonyms (lower case) for each label; the canonical names map to themselves.
LABEL_SYNONYMS: dict[str, str] = {
    **{name: name for name in LABELS},
    **dict.fromkeys(("calm", "none", "neutrality", "indifferent", "relaxed"), "neutral"),
    **dict.fromkeys(
        ("happiness", "joy", "joyful", "glad", "cheerful", "delighted", "elated", "pleased", "content", "amused"),
        "happy",
    ),
    **dict.fromkeys(
        ("sadness", "unhappy", "sorrow", "sorrowful", "depressed", "melancholy", "melancholic", "gloomy", "grief"),
        "sad",
    ),
    **dict.fromkeys(
        ("anger", "furious", "mad", "irritated", "annoyed", "enraged", "rage", "angered", "irate", "frustrated"),
        "angry",
    ),
    **dict.fromkeys(
        ("fear", "afraid", "scared", "frightened", "terrified", "anxious", "nervous", "worried", "panicked"),
        "fearful",
    ),
    **dict.fromkeys(("disgust", "repulsed", "revolted", "grossed", "nauseated", "disgusting"), "disgusted"),
    **dict.fromkeys(("surprise", "amazed", "astonished", "shocked", "startled", "stunned"), "surprised"),
    **dict.fromkeys(("contemptuous", "scornful", "disdainful", "scorn", "disdain", "smug"), "contempt"),
}

# Width of the Gaussian soft assignment in VAD space; chosen so that a label's own centroid gets ≥ 0.6 of the
# mass and the midpoint between neutral and a label splits roughly evenly (tests pin both properties).
_SOFT_ASSIGN_SIGMA = 0.22


def canonical_label(name: str) -> str:
    """Canonical label for ``name`` or one of its synonyms (case-insensitive).

    Raises:
        ValueError: naming the unknown value, the closest accepted words, and the label set.
    """
    if not isinstance(name, str):
        raise TypeError(f"An emotion label must be a string, got {type(name).__name__}: {name!r}.")
    key = name.strip().lower()
    if key in LABEL_SYNONYMS:
        return LABEL_SYNONYMS[key]
    close = difflib.get_close_matches(key, list(LABEL_SYNONYMS), n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(
        f"Unknown emotion label {name!r}.{hint} Accepted labels: {', '.join(LABELS)} (and synonyms such as "
        "'joyful', 'furious', 'scared')."
    )


def _check_unit(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number in [-1, 1], got {type(value).__name__}: {value!r}.")
    value = float(value)
    if not math.isfinite(value) or not -1.0 <= value <= 1.0:
        raise ValueError(f"{what} must be a finite number in [-1, 1], got {value!r}.")
    return value


@dataclass(frozen=True)
class VAD:
    """A point in valence-arousal-dominance space, each axis in [-1, 1] (0 is neutral).

    Args:
        valence: unpleasant (-1) … pleasant (+1).
        arousal: calm (-1) … excited (+1).
        dominance: controlled / submissive (-1) … in control (+1).
    """

    valence: float
    arousal: float
    dominance: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, _check_unit(getattr(self, f.name), f.name))

    def as_tensor(self) -> torch.Tensor:
        """``torch.Tensor`` of shape ``(3,)``."""
        return torch.tensor([self.valence, self.arousal, self.dominance], dtype=torch.float32)

    def __iter__(self):
        return iter((self.valence, self.arousal, self.dominance))


@dataclass(frozen=True)
class EmotionLabel:
    """A categorical emotion (or a mixture of them) with an intensity.

    Args:
        name: a label of :data:`LABELS` or a synonym ("joyful", "furious", …); stored canonical.
        intensity: 0 (not shown) … 1 (full prototype).
    """

    name: str
    intensity: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", canonical_label(self.name))
        if isinstance(self.intensity, bool) or not isinstance(self.intensity, (int, float)):
            raise TypeError(f"Intensity of {self.name!r} must be a number in [0, 1], got {self.intensity!r}.")
        value = float(self.intensity)
        if not math.isfinite(value) or not 0.0 <= value <= 1.0:
            raise ValueError(f"Intensity of {self.name!r} must be in [0, 1], got {self.intensity!r}.")
        object.__setattr__(self, "intensity", value)


@dataclass(frozen=True)
class Keyframe:
    """An emotion that should be reached at ``time`` seconds on a timeline.

    ``emotion`` is anything the control layer resolves to a single state: a :class:`VAD`, an
    :class:`EmotionLabel`, a mixture (tuple of labels) or free text.
    """

    time: float
    emotion: VAD | EmotionLabel | tuple[EmotionLabel, ...] | str

    def __post_init__(self) -> None:
        if isinstance(self.time, bool) or not isinstance(self.time, (int, float)) or not math.isfinite(self.time):
            raise ValueError(f"Keyframe time must be a finite number of seconds, got {self.time!r}.")
        if self.time < 0:
            raise ValueError(f"Keyframe time must be >= 0 seconds, got {self.time!r}.")
        object.__setattr__(self, "time", float(self.time))
        if isinstance(self.emotion, list):
            object.__setattr__(self, "emotion", tuple(self.emotion))
        if isinstance(self.emotion, tuple) and not all(isinstance(e, EmotionLabel) for e in self.emotion):
            raise TypeError(f"A keyframe mixture must hold EmotionLabel values, got {self.emotion!r}.")
        if not isinstance(self.emotion, (VAD, EmotionLabel, tuple, str)):
            raise TypeError(
                f"Keyframe emotion must be a VAD, an EmotionLabel, a tuple of EmotionLabel or a string, "
                f"got {type(self.emotion).__name__}."
            )


def label_centroids(device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Label centroids in VAD space, ``torch.Tensor`` of shape ``(K, 3)`` in :data:`LABELS` order."""
    return torch.tensor([LABEL_VAD[name] for name in LABELS], device=device, dtype=dtype)


def vad_to_probs(vad: torch.Tensor, sigma: float = _SOFT_ASSIGN_SIGMA, neutral_prior: float = 1.0) -> torch.Tensor:
    """Soft-assign VAD points to labels: emotions as distributions in VAD space.

    ``p_k ∝ π_k · exp(-‖vad - c_k‖² / (2 σ²))`` over the label centroids ``c_k`` (neutral at the origin), with
    prior weight ``π = neutral_prior`` for neutral and 1 for every other label.

    Args:
        vad (`torch.Tensor` of shape `(..., 3)`): points in [-1, 1]³.
        sigma: width of the assignment in VAD units.
        neutral_prior: how much likelier neutral is a priori (> 1 widens its basin, e.g. for everyday text).

    Returns:
        `torch.Tensor` of shape `(..., K)`: a distribution over :data:`LABELS`.
    """
    if not neutral_prior > 0:
        raise ValueError(f"neutral_prior must be positive, got {neutral_prior!r}.")
    centroids = label_centroids(vad.device, vad.dtype)
    d2 = ((vad.unsqueeze(-2) - centroids) ** 2).sum(-1)
    logits = -d2 / (2.0 * sigma**2)
    logits[..., LABELS.index("neutral")] += math.log(neutral_prior)
    return torch.softmax(logits, dim=-1)


def probs_to_vad(probs: torch.Tensor, intensity: torch.Tensor) -> torch.Tensor:
    """VAD of a label distribution shown at an intensity: ``intensity · Σ_k p_k c_k``.

    Args:
        probs (`torch.Tensor` of shape `(..., K)`)
        intensity (`torch.Tensor` of shape `(...)`)

    Returns:
        `torch.Tensor` of shape `(..., 3)`, clipped to [-1, 1].
    """
    return (intensity.unsqueeze(-1) * (probs @ label_centroids(probs.device, probs.dtype))).clamp(-1.0, 1.0)


def vad_intensity(vad: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    """Intensity of a VAD point: its distance from neutral relative to the centroid of its most probable
    non-neutral label, capped at 1.

    Args:
        vad (`torch.Tensor` of shape `(..., 3)`)
        probs (`torch.Tensor` of shape `(..., K)`): e.g. ``vad_to_probs(vad)``.

    Returns:
        `torch.Tensor` of shape `(...)` in [0, 1].
    """
    centroids = label_centroids(vad.device, vad.dtype)
    best = probs[..., 1:].argmax(-1) + 1
    return (vad.norm(dim=-1) / centroids[best].norm(dim=-1)).clamp(0.0, 1.0)


@dataclass(frozen=True)
class EmotionState:
    """One emotional state: ``vad (3,)``, ``probs (K,)`` and a scalar ``intensity`` (all tensors).

    What one frame of an :class:`EmotionTrack` holds; :meth:`EmotionTrack.mean_state` averages a span.
    """

    vad: torch.Tensor
    probs: torch.Tensor
    intensity: torch.Tensor

    @classmethod
    def neutral(cls) -> EmotionState:
        """Neutral at zero intensity."""
        probs = torch.zeros(NUM_LABELS)
        probs[0] = 1.0
        return cls(torch.zeros(3), probs, torch.tensor(0.0))

    def stacked(self) -> torch.Tensor:
        """``(3 + K + 1,)`` vector, the layout interpolation and dynamics work on."""
        return torch.cat([self.vad, self.probs, self.intensity.reshape(1)])


@dataclass(frozen=True)
class EmotionTrack:
    """An emotion over time, sampled at ``fps``: the common currency of every emogen pipeline.

    ``probs`` says *which* emotion (a distribution over :data:`LABELS`, neutral included), ``intensity`` how
    strongly it is shown, and ``vad`` where the state lies in VAD space. Tracks built from labels satisfy
    ``vad = intensity · Σ_k probs_k · centroid_k``; tracks built from VAD carry the given VAD and its soft
    assignment.

    Args:
        vad (`torch.Tensor` of shape `(frames, 3)`): valence, arousal, dominance in [-1, 1].
        probs (`torch.Tensor` of shape `(frames, K)`): label distribution, rows sum to 1.
        intensity (`torch.Tensor` of shape `(frames,)`): in [0, 1].
        fps: frames per second.
        velocity (`torch.Tensor` of shape `(frames, 3)`, *optional*): d(vad)/dt in units per second.
        acceleration (`torch.Tensor` of shape `(frames, 3)`, *optional*): d²(vad)/dt² in units per second².
        labels: the label names of the ``probs`` columns.
    """

    vad: torch.Tensor
    probs: torch.Tensor
    intensity: torch.Tensor
    fps: float
    velocity: torch.Tensor | None = None
    acceleration: torch.Tensor | None = None
    labels: tuple[str, ...] = field(default=LABELS)

    def __post_init__(self) -> None:
        if not (isinstance(self.fps, (int, float)) and math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be a positive number, got {self.fps!r}.")
        object.__setattr__(self, "fps", float(self.fps))
        t = self.vad.shape[0] if self.vad.ndim == 2 else -1
        if self.vad.ndim != 2 or self.vad.shape[1] != 3:
            raise ValueError(f"vad must have shape (frames, 3), got {tuple(self.vad.shape)}.")
        if t < 1:
            raise ValueError("An EmotionTrack needs at least one frame.")
        if self.probs.shape != (t, len(self.labels)):
            raise ValueError(f"probs must have shape ({t}, {len(self.labels)}), got {tuple(self.probs.shape)}.")
        if self.intensity.shape != (t,):
            raise ValueError(f"intensity must have shape ({t},), got {tuple(self.intensity.shape)}.")
        for name in ("velocity", "acceleration"):
            value = getattr(self, name)
            if value is not None and value.shape != (t, 3):
                raise ValueError(f"{name} must have shape ({t}, 3), got {tuple(value.shape)}.")
        for name in ("vad", "probs", "intensity"):
            if not torch.isfinite(getattr(self, name)).all():
                raise ValueError(f"EmotionTrack.{name} contains NaN or infinite values.")

    # ----------------------------------------------------------------------------------------------- properties
    @property
    def num_frames(self) -> int:
        return self.vad.shape[0]

    @property
    def duration(self) -> float:
        """Length in seconds (``num_frames / fps``)."""
        return self.num_frames / self.fps

    @property
    def times(self) -> torch.Tensor:
        """Frame times in seconds, shape ``(frames,)``."""
        return torch.arange(self.num_frames, dtype=torch.float64) / self.fps

    @property
    def device(self) -> torch.device:
        return self.vad.device

    @property
    def dtype(self) -> torch.dtype:
        return self.vad.dtype

    def mean_state(self, start: float, end: float) -> EmotionState:
        """The mean state over ``[start, end)`` seconds (at least one frame; times past the end use the last).

        Returns float32 CPU tensors; intensity clamped to [0, 1].
        """
        i0 = min(self.num_frames - 1, max(0, int(math.floor(start * self.fps))))
        i1 = min(self.num_frames, max(i0 + 1, int(math.ceil(end * self.fps))))
        return EmotionState(
            vad=self.vad[i0:i1].float().mean(0).cpu(),
            probs=self.probs[i0:i1].float().mean(0).cpu(),
            intensity=self.intensity[i0:i1].float().mean().clamp(0, 1).cpu(),
        )

    def top_label(self) -> list[str]:
        """The most probable label of each frame."""
        return [self.labels[i] for i in self.probs.argmax(-1).tolist()]

    # --------------------------------------------------------------------------------------------- constructors
    @classmethod
    def constant(
        cls, vad: torch.Tensor, probs: torch.Tensor, intensity: float | torch.Tensor, num_frames: int, fps: float
    ) -> EmotionTrack:
        """A track holding one state for ``num_frames`` frames."""
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1, got {num_frames}.")
        intensity = torch.as_tensor(intensity, dtype=vad.dtype).reshape(())
        return cls(
            vad=vad.reshape(1, 3).expand(num_frames, 3).clone(),
            probs=probs.reshape(1, -1).expand(num_frames, -1).clone(),
            intensity=intensity.expand(num_frames).clone(),
            fps=fps,
        )

    @classmethod
    def from_vad(cls, vad: torch.Tensor, fps: float) -> EmotionTrack:
        """A track from per-frame VAD ``(frames, 3)``: labels by soft assignment, intensity from the distance to
        neutral relative to the nearest label's centroid (capped at 1)."""
        vad = torch.as_tensor(vad, dtype=torch.float32)
        if vad.ndim == 1:
            vad = vad.unsqueeze(0)
        if vad.ndim != 2 or vad.shape[-1] != 3:
            raise ValueError(f"vad must have shape (frames, 3), got {tuple(vad.shape)}.")
        if not torch.isfinite(vad).all() or vad.abs().max() > 1.0:
            raise ValueError("VAD values must be finite and within [-1, 1].")
        probs = vad_to_probs(vad)
        return cls(vad=vad, probs=probs, intensity=vad_intensity(vad, probs), fps=fps)

    # ------------------------------------------------------------------------------------------------ transforms
    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> EmotionTrack:
        """Move every tensor to ``device`` / cast floating tensors to ``dtype``."""
        return dataclass_to(self, device, dtype)

    def resample(self, fps: float | None = None, num_frames: int | None = None) -> EmotionTrack:
        """Linearly resample to a new frame rate (and/or frame count), keeping the timing in seconds.

        Frame ``i`` of the result lies at ``i / fps`` seconds; times past the end hold the last value.
        """
        if fps is None and num_frames is None:
            raise ValueError("Pass fps and/or num_frames to resample().")
        fps = self.fps if fps is None else float(fps)
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a positive number, got {fps!r}.")
        if num_frames is None:
            num_frames = max(1, round(self.duration * fps))
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1, got {num_frames}.")
        src = torch.arange(num_frames, dtype=torch.float64) * (self.fps / fps)
        src = src.clamp(0, self.num_frames - 1)
        lo = src.floor().long()
        hi = (lo + 1).clamp(max=self.num_frames - 1)
        w = (src - lo).to(self.dtype).to(self.device)
        lo, hi = lo.to(self.device), hi.to(self.device)

        def lerp(x: torch.Tensor | None) -> torch.Tensor | None:
            if x is None:
                return None
            wx = w.reshape(-1, *([1] * (x.ndim - 1)))
            return x[lo] * (1 - wx) + x[hi] * wx

        probs = lerp(self.probs)
        return replace(
            self,
            vad=lerp(self.vad),
            probs=probs / probs.sum(-1, keepdim=True),
            intensity=lerp(self.intensity),
            velocity=lerp(self.velocity),
            acceleration=lerp(self.acceleration),
            fps=fps,
        )

    def slice(self, start: int, stop: int) -> EmotionTrack:
        """Frames ``[start, stop)``."""
        if not 0 <= start < stop <= self.num_frames:
            raise ValueError(f"slice({start}, {stop}) is outside a track of {self.num_frames} frames.")

        def cut(x):
            return None if x is None else x[start:stop]

        return replace(
            self,
            vad=cut(self.vad),
            probs=cut(self.probs),
            intensity=cut(self.intensity),
            velocity=cut(self.velocity),
            acceleration=cut(self.acceleration),
        )

    def to_dict(self) -> dict:
        """JSON-ready dict: fps, labels and per-frame lists (rounded to 4 decimals)."""

        def r(x: torch.Tensor) -> list:
            return torch.round(x.detach().float().cpu(), decimals=4).tolist()

        return {
            "fps": self.fps,
            "labels": list(self.labels),
            "time": [round(t, 4) for t in self.times.tolist()],
            "vad": r(self.vad),
            "probs": r(self.probs),
            "intensity": r(self.intensity),
        }
