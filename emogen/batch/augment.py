"""Dataset items for ``emogen augment``: exact class balance and per-item variation, all from item ids.

:func:`class_counts` says how many items each class gets (``per_class`` each, or filling an existing label histogram
up: long-tail correction); :func:`plan_augment` makes the items. Item ``k`` of a class is drawn on identity
``k mod (number of identities)`` (identities in name order), so identities are balanced within every class too.

An item's id hashes what determines its pixels — label, its index within the class, the identity photo's content,
the rendering settings, the run's seed and the emogen version — and its seed is derived from the id; everything
that varies is sampled from that seed, each factor from its own stream, so turning one factor on (``lighting``)
never changes another (the poses). Nothing depends on the order items are rendered in or on the worker. Raising
``per_class`` keeps the existing items and adds new ones.

What varies, and how (all recorded per item, independently of the label unless stated):

* **intensity** uniform in ``intensity`` (pure neutral items have none: 0);
* **mixtures** (``mixtures=True``): half of the items blend their label (weight 0.55-0.85, still the arg-max, so
  the hard label and the balance hold) with another non-neutral label; ``probs`` is the soft label;
* **head pose**: yaw uniform in ±``pose_jitter`` degrees, pitch and roll in ±half of it;
* **gaze**: uniform in ±``gaze_jitter`` degrees (yaw, pitch);
* **blink** (stills): a share ``blink_share`` of the items is caught mid-blink (eyelid closure 0.3-1);
* **lighting/colour** (``lighting=True``): exposure, contrast, gamma, white balance, saturation, a directional
  light ramp and sensor noise (:func:`sample_lighting`);
* **speech** (videos): a share ``speech_share`` of the clips babbles (random syllables → visemes), the rest is
  silent; blinks, head drift and gaze shifts follow the procedural models of :mod:`emogen.motion`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .. import __version__
from ..emotion import LABELS, canonical_label
from .ids import derive_seed, item_id

__all__ = ["FRAMINGS", "AugmentConfig", "AugmentItem", "class_counts", "parse_emotions", "plan_augment",
           "sample_lighting"]  # fmt: skip

#: ``face``: a square of 1.8 face widths around the face; ``portrait``: the animator's square of 3 face widths;
#: ``full``: the whole photo.
FRAMINGS: tuple[str, ...] = ("face", "portrait", "full")
# independent random streams of an item (numpy SeedSequence spawn keys)
_STREAM = {"intensity": 0, "mixture": 1, "pose": 2, "gaze": 3, "blink": 4, "lighting": 5, "speech": 6, "motion": 7}


@dataclass(frozen=True)
class AugmentConfig:
    """Settings of a dataset run (see the module docstring for what each one varies).

    Args:
        emotions: classes, canonical labels of :data:`emogen.emotion.LABELS`.
        intensity: ``(low, high)`` within [0, 1].
        mixtures: blend half of the items with a second label (soft labels).
        pose_jitter: head yaw range in degrees (pitch and roll: half); 0 keeps the photo's pose.
        gaze_jitter: ``(yaw, pitch)`` range in degrees.
        lighting: randomise lighting and colour.
        blink_share: share of stills caught mid-blink.
        video: clips instead of stills.
        frames: frames per clip.
        fps: frames per second of clips.
        speech_share: share of clips with speech-like mouth motion.
        size: image side in pixels (``"face"``, ``"portrait"``: square; ``"full"``: the photo's long side).
        framing: one of :data:`FRAMINGS`.
        seed: the run's seed (part of every item id).
        device: ``"cpu"`` or ``"cuda"`` (the animator's torch path on the GPU; its frames differ from the CPU's by
            rounding, so the device is part of the items).
    """

    emotions: tuple[str, ...] = LABELS
    intensity: tuple[float, float] = (0.3, 1.0)
    mixtures: bool = False
    pose_jitter: float = 8.0
    gaze_jitter: tuple[float, float] = (8.0, 5.0)
    lighting: bool = False
    blink_share: float = 0.1
    video: bool = False
    frames: int = 16
    fps: float = 25.0
    speech_share: float = 0.75
    size: int = 224
    framing: str = "face"
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        object.__setattr__(self, "emotions", parse_emotions(self.emotions))
        lo, hi = (float(v) for v in self.intensity)
        if not (0.0 <= lo <= hi <= 1.0):
            raise ValueError(f"intensity must be LOW:HIGH with 0 <= LOW <= HIGH <= 1, got {self.intensity!r}.")
        object.__setattr__(self, "intensity", (lo, hi))
        if not (math.isfinite(self.pose_jitter) and 0.0 <= self.pose_jitter <= 30.0):
            raise ValueError(f"pose_jitter must be in [0, 30] degrees, got {self.pose_jitter!r}.")
        if len(self.gaze_jitter) != 2 or not all(0.0 <= float(g) <= 30.0 for g in self.gaze_jitter):
            raise ValueError(f"gaze_jitter must be (yaw, pitch) in [0, 30] degrees, got {self.gaze_jitter!r}.")
        object.__setattr__(self, "gaze_jitter", tuple(float(g) for g in self.gaze_jitter))
        for name in ("blink_share", "speech_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be a share in [0, 1], got {getattr(self, name)!r}.")
        if isinstance(self.frames, bool) or not isinstance(self.frames, int) or not 1 <= self.frames <= 1000:
            raise ValueError(f"frames must be an integer in [1, 1000], got {self.frames!r}.")
        if not (math.isfinite(self.fps) and 0 < self.fps <= 120):
            raise ValueError(f"fps must be in (0, 120], got {self.fps!r}.")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or not 32 <= self.size <= 2048:
            raise ValueError(f"size must be an integer in [32, 2048] pixels, got {self.size!r}.")
        if self.framing not in FRAMINGS:
            raise ValueError(f"framing must be one of {', '.join(FRAMINGS)}, got {self.framing!r}.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}.")
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda', got {self.device!r}.")

    def rendering(self) -> dict[str, Any]:
        """The settings that change an item's pixels (part of every item id; the class list is not)."""
        out = asdict(self)
        out.pop("emotions")
        if self.device == "cpu":
            out.pop("device")
        if not self.video:
            for name in ("frames", "fps", "speech_share"):
                out.pop(name)
        return out


@dataclass(frozen=True)
class AugmentItem:
    """One planned dataset item (see the module docstring).

    Args:
        id: item id; ``seed`` is derived from it.
        index: position in the plan (class order, then index within the class).
        label: the hard label (arg-max of ``probs``).
        identity: the identity's name (file stem, or ``"astronaut"``).
        identity_digest: SHA-256 of the identity photo's pixels.
        probs: soft label over :data:`emogen.emotion.LABELS`.
        intensity: in [0, 1].
        pose: ``pitch``, ``yaw``, ``roll`` of the head and ``gaze_yaw``, ``gaze_pitch``, in degrees.
        blink: eyelid closure of a still (0 open … 1 closed).
        lighting: lighting/colour parameters (``None``: the photo's own).
        speech: whether a clip babbles (``None`` for stills).
    """

    id: str
    index: int
    label: str
    identity: str
    identity_digest: str
    seed: int
    probs: tuple[float, ...]
    intensity: float
    pose: dict[str, float] = field(default_factory=dict)
    blink: float = 0.0
    lighting: dict[str, float] | None = None
    speech: bool | None = None

    def rng(self, stream: str) -> np.random.Generator:
        """The item's random stream ``stream`` (one of the factors in the module docstring)."""
        return np.random.default_rng([self.seed, _STREAM[stream]])


def parse_emotions(value: str | Sequence[str]) -> tuple[str, ...]:
    """Canonical classes from ``"all"``, ``"angry,sad"`` or a sequence of labels/synonyms (duplicates dropped)."""
    if isinstance(value, str):
        if value.strip().lower() == "all":
            return LABELS
        value = [v for v in value.split(",") if v.strip()]
    if not value:
        raise ValueError(f"emotions must be 'all' or a comma-separated list of {', '.join(LABELS)}; got nothing.")
    out: list[str] = []
    for v in value:
        label = canonical_label(str(v))
        if label not in out:
            out.append(label)
    return tuple(out)


def class_counts(
    emotions: Sequence[str], per_class: int | None = None, histogram: Mapping[str, int] | None = None
) -> dict[str, int]:
    """Items to make per class.

    Args:
        emotions: the classes.
        per_class: items per class; with ``histogram``, the level every class is filled up to.
        histogram: label counts of an existing dataset (long-tail correction): each class gets
            ``target - existing`` items, where ``target`` is ``per_class`` or, without it, the largest count among
            ``emotions``; labels may be synonyms ("anger", "happiness"); classes missing from it count 0.

    Raises:
        ValueError: neither given, a negative or non-integer count, or a label that is no emotion.
    """
    if per_class is not None and (isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 0):
        raise ValueError(f"per_class must be a non-negative integer, got {per_class!r}.")
    if histogram is None:
        if per_class is None:
            raise ValueError("give --per-class N or --match-histogram counts.json.")
        return dict.fromkeys(emotions, per_class)
    if not isinstance(histogram, Mapping):
        raise ValueError(f"a label histogram must map labels to counts, got {type(histogram).__name__}.")
    existing: dict[str, int] = {}
    for name, count in histogram.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"histogram count of {name!r} must be a non-negative integer, got {count!r}.")
        label = canonical_label(str(name))
        existing[label] = existing.get(label, 0) + count
    target = per_class if per_class is not None else max((existing.get(e, 0) for e in emotions), default=0)
    return {e: max(0, target - existing.get(e, 0)) for e in emotions}


def sample_lighting(rng: np.random.Generator) -> dict[str, float]:
    """Lighting/colour parameters, drawn independently of the label.

    ``exposure`` (log-uniform 0.75-1.3), ``contrast`` (0.8-1.2), ``gamma`` (0.85-1.2), ``temperature`` and
    ``tint`` (-1 cool/magenta … 1 warm/green), ``saturation`` (0.6-1.3), ``light_angle`` (degrees, where a light
    comes from) and ``light_strength`` (0-0.35, a brightness ramp across the frame), ``noise`` (sensor noise,
    standard deviation in 8-bit levels, 0-4).
    """
    values = {
        "exposure": float(np.exp(rng.uniform(np.log(0.75), np.log(1.3)))),
        "contrast": float(rng.uniform(0.8, 1.2)),
        "gamma": float(rng.uniform(0.85, 1.2)),
        "temperature": float(rng.uniform(-1.0, 1.0)),
        "tint": float(rng.uniform(-1.0, 1.0)),
        "saturation": float(rng.uniform(0.6, 1.3)),
        "light_angle": float(rng.uniform(0.0, 360.0)),
        "light_strength": float(rng.uniform(0.0, 0.35)),
        "noise": float(rng.uniform(0.0, 4.0)),
    }
    return {k: round(v, 4) for k, v in values.items()}


def _sample(item: AugmentItem, config: AugmentConfig) -> AugmentItem:
    """Fill in an item's variation from its seed (one stream per factor)."""
    k = LABELS.index(item.label)
    probs = np.zeros(len(LABELS))
    probs[k] = 1.0
    lo, hi = config.intensity
    intensity = float(item.rng("intensity").uniform(lo, hi))
    if config.mixtures:
        rng = item.rng("mixture")
        if rng.uniform() < 0.5:
            others = [j for j, name in enumerate(LABELS) if name not in ("neutral", item.label)]
            j = others[int(rng.integers(len(others)))]
            w = float(rng.uniform(0.55, 0.85))
            probs[:] = 0.0
            probs[k], probs[j] = w, 1.0 - w
    if item.label == "neutral" and probs[k] == 1.0:
        intensity = 0.0  # a pure neutral face has no intensity
    yaw, pitch, roll = item.rng("pose").uniform(-1.0, 1.0, 3) * config.pose_jitter * np.array([1.0, 0.5, 0.5])
    gaze = item.rng("gaze").uniform(-1.0, 1.0, 2) * np.array(config.gaze_jitter)
    pose = {"pitch": pitch, "yaw": yaw, "roll": roll, "gaze_yaw": gaze[0], "gaze_pitch": gaze[1]}
    blink = 0.0
    if not config.video:
        rng = item.rng("blink")
        if rng.uniform() < config.blink_share:
            blink = float(rng.uniform(0.3, 1.0))
    speech = None
    if config.video:
        speech = bool(item.rng("speech").uniform() < config.speech_share)
    return AugmentItem(
        id=item.id, index=item.index, label=item.label, identity=item.identity,
        identity_digest=item.identity_digest, seed=item.seed,
        probs=tuple(round(float(p), 4) for p in probs), intensity=round(intensity, 4),
        pose={name: round(float(v), 3) for name, v in pose.items()}, blink=round(blink, 4),
        lighting=sample_lighting(item.rng("lighting")) if config.lighting else None, speech=speech,
    )  # fmt: skip


def plan_augment(config: AugmentConfig, identities: Mapping[str, str], counts: Mapping[str, int]) -> list[AugmentItem]:
    """The dataset's items: ``counts[label]`` per class, in class order.

    Args:
        config: the run's settings.
        identities: identity name → SHA-256 of its photo's pixels.
        counts: label → items (from :func:`class_counts`).
    """
    if not identities:
        raise ValueError("no identities to render; give a folder of portraits or 'astronaut'.")
    names = sorted(identities)
    rendering = config.rendering()
    items: list[AugmentItem] = []
    for label in (e for e in config.emotions if counts.get(e, 0) > 0):
        for k in range(int(counts[label])):
            identity = names[k % len(names)]
            ident = item_id({"kind": "augment", "label": label, "k": k, "identity": identities[identity],
                             "render": rendering, "seed": config.seed, "version": __version__})  # fmt: skip
            seed = derive_seed(ident)
            base = AugmentItem(id=ident, index=len(items), label=label, identity=identity,
                               identity_digest=identities[identity], seed=seed, probs=(), intensity=0.0)  # fmt: skip
            items.append(_sample(base, config))
    return items
