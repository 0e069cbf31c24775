"""Rendering of ``emogen augment`` items: a planned item → encoded PNG (or mp4) bytes and its labels.

Runs in worker processes (or Ray tasks). Each worker keeps one :class:`~emogen.render.PortraitAnimator` and the
prepared identities it has seen. The expression labels (EMFACS action units and ARKit weights) come from an
``expression(probs, intensity) -> (aus, arkit)`` callable that the caller provides (the control layer's expression
prior), so this module stays below the control layer.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..arkit import ARKIT_INDEX
from ..emotion import LABELS, EmotionTrack, probs_to_vad
from .augment import AugmentConfig, AugmentItem

__all__ = ["AugmentContext", "ExpressionFn", "apply_lighting", "babble", "render_augment_item"]

#: ``expression(probs (K,), intensity ()) -> (action-unit intensities {name: value}, ARKit weights (52,))``
ExpressionFn = Callable[[torch.Tensor, torch.Tensor], tuple[dict[str, float], torch.Tensor]]

_CONSONANTS = ("P", "B", "M", "F", "V", "TH", "T", "D", "S", "Z", "SH", "CH", "K", "G", "N", "L", "R", "W", "Y", "HH")
_VOWELS = ("AA", "AE", "AH", "AO", "EH", "IH", "IY", "OW", "UW", "EY", "AY", "ER")


@dataclass(frozen=True)
class AugmentContext:
    """What every worker needs: the settings, the identity photos by pixel digest, the expression labels."""

    config: AugmentConfig
    images: Mapping[str, np.ndarray]
    expression: ExpressionFn
    backend: str = "auto"


_WORKER: dict[str, Any] = {}


#: side of the ``face`` framing's crop in face-box widths (the animator's portrait framing spans 3, with the face
#: box centred 0.6 of the way down)
FACE_CROP = 1.8


def _animator(framing: str, backend: str, device: str):
    from ..render import PortraitAnimator

    framing = "portrait" if framing == "face" else framing
    key = ("animator", framing, backend, device)
    if key not in _WORKER:
        _WORKER[key] = PortraitAnimator(backend=backend, framing=framing, device=device, cache_size=64)
    return _WORKER[key]


def apply_lighting(frame: np.ndarray, params: Mapping[str, float] | None, rng: np.random.Generator) -> np.ndarray:
    """Relight an RGB uint8 frame with :func:`~emogen.batch.augment.sample_lighting`'s parameters.

    White balance (temperature: red up / blue down by 12 % at 1; tint: green by 6 %), a directional brightness
    ramp, exposure, contrast about mid-grey, saturation about the luminance (Rec. 601 weights), gamma, then
    Gaussian sensor noise from ``rng``. ``params=None`` returns the frame unchanged.
    """
    if params is None:
        return frame
    x = frame.astype(np.float32) / 255.0
    t, tint = params["temperature"], params["tint"]
    x = x * np.array([1.0 + 0.12 * t, 1.0 + 0.06 * tint, 1.0 - 0.12 * t], np.float32)
    h, w = x.shape[:2]
    yy, xx = np.meshgrid(np.linspace(-1.0, 1.0, h, dtype=np.float32), np.linspace(-1.0, 1.0, w, dtype=np.float32),
                         indexing="ij")  # fmt: skip
    a = math.radians(params["light_angle"])
    ramp = 1.0 + params["light_strength"] * (math.cos(a) * xx - math.sin(a) * yy)
    x = x * ramp[..., None] * np.float32(params["exposure"])
    x = (x - 0.5) * np.float32(params["contrast"]) + 0.5
    lum = (x @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
    x = lum + np.float32(params["saturation"]) * (x - lum)
    x = np.clip(x, 0.0, 1.0) ** np.float32(params["gamma"])
    if params["noise"] > 0:
        x = x + rng.normal(0.0, params["noise"] / 255.0, x.shape).astype(np.float32)
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


def babble(duration: float, rng: np.random.Generator) -> list:
    """Speech-like phone timings (ARPAbet): phrases of 2-6 random consonant-vowel syllables (consonants 50-90 ms,
    vowels 80-180 ms, a third of them stressed) separated by 150-400 ms pauses."""
    from ..speech.types import PhoneSegment

    phones = []
    t = float(rng.uniform(0.0, 0.15))
    while t < duration:
        for _ in range(int(rng.integers(2, 7))):
            c, v = _CONSONANTS[int(rng.integers(len(_CONSONANTS)))], _VOWELS[int(rng.integers(len(_VOWELS)))]
            dc, dv = float(rng.uniform(0.05, 0.09)), float(rng.uniform(0.08, 0.18))
            phones.append(PhoneSegment(c, t, t + dc))
            phones.append(PhoneSegment(v + ("1" if rng.uniform() < 0.33 else "0"), t + dc, t + dc + dv))
            t += dc + dv
        pause = float(rng.uniform(0.15, 0.4))
        phones.append(PhoneSegment("SIL", t, t + pause))
        t += pause
    return phones


def _labels(item: AugmentItem, expression: ExpressionFn) -> tuple[torch.Tensor, torch.Tensor, dict, torch.Tensor]:
    probs = torch.tensor(item.probs, dtype=torch.float32)
    intensity = torch.tensor(float(item.intensity), dtype=torch.float32)
    aus, arkit = expression(probs, intensity)
    return probs, intensity, {k: round(float(v), 4) for k, v in aus.items()}, arkit.detach().float().reshape(-1)


def _with_blink(arkit: torch.Tensor, blink: float) -> torch.Tensor:
    """Close the lids by ``blink``; wide and squinting lids give way as in :func:`emogen.motion.add_idle`."""
    if blink <= 0:
        return arkit
    out = arkit.clone()
    for side in ("Left", "Right"):
        i = ARKIT_INDEX[f"eyeBlink{side}"]
        out[i] = max(float(out[i]), blink)
        for name in (f"eyeWide{side}", f"eyeSquint{side}"):
            out[ARKIT_INDEX[name]] *= 1.0 - blink
    return out


def _render(animator, prepared, motion, track, config: AugmentConfig) -> np.ndarray:
    """Frames at the configured framing and size."""
    if config.framing != "face":
        return animator(prepared, motion, size=config.size, emotion=track, progress=False)
    big = math.ceil(config.size * 3.0 / FACE_CROP)
    frames = animator(prepared, motion, size=big, emotion=track, progress=False)
    top, left = round(0.6 * big - config.size / 2), round(0.5 * big - config.size / 2)
    return np.ascontiguousarray(frames[:, top : top + config.size, left : left + config.size])


def _encode_mp4(frames: np.ndarray, fps: float) -> bytes:
    from ..export.video import write_video

    with tempfile.TemporaryDirectory(prefix="emogen-clip-") as tmp:
        path = Path(tmp) / "clip.mp4"
        write_video(path, frames, fps=fps)
        return path.read_bytes()


def render_augment_item(item: AugmentItem, context: AugmentContext) -> dict[str, Any]:
    """Render one item.

    Returns:
        ``{"data": bytes, "ext": "png" | "mp4", "vad": [3], "aus": {AU: value}, "arkit": [52]}`` — ``arkit`` is
        the face of a still as rendered (blink included) or, for clips, the expression held through the clip
        (speech, blinks and brow accents are layered on per frame).
    """
    from ..io.image import to_rgb_uint8
    from ..motion import MotionTrack

    config = context.config
    animator = _animator(config.framing, context.backend, config.device)
    image = context.images[item.identity_digest]
    prepared = animator.prepare(to_rgb_uint8(image))
    probs, intensity, aus, arkit = _labels(item, context.expression)
    vad = probs_to_vad(probs, intensity)
    p = item.pose
    rotation = torch.tensor([[math.radians(p["pitch"]), math.radians(p["yaw"]), math.radians(p["roll"])]])
    gaze = torch.tensor([[math.radians(p["gaze_yaw"]), math.radians(p["gaze_pitch"])]])
    if not config.video:
        arkit = _with_blink(arkit, item.blink)
        motion = MotionTrack(arkit[None], rotation, torch.zeros(1, 3), gaze, fps=25.0)
        track = EmotionTrack.constant(vad, probs, intensity, 1, 25.0)
        frame = _render(animator, prepared, motion, track, config)[0]
        frame = apply_lighting(frame, item.lighting, item.rng("lighting"))
        from ..export.dataset import encode_png

        data, ext = encode_png(frame), "png"
    else:
        from ..motion.teacher import teacher_motion

        n, fps = config.frames, config.fps
        track = EmotionTrack.constant(vad, probs, intensity, n, fps)
        phones = babble(n / fps, item.rng("speech")) if item.speech else ()
        generator = torch.Generator().manual_seed(item.seed)
        motion = teacher_motion(n, fps=fps, phones=phones, emotion=track, expression=arkit.expand(n, -1).clone(),
                                generator=generator)  # fmt: skip
        motion = replace(motion, head_rotation=motion.head_rotation + rotation, gaze=motion.gaze + gaze)
        frames = _render(animator, prepared, motion, track, config)
        rng = item.rng("lighting")
        frames = np.stack([apply_lighting(f, item.lighting, rng) for f in frames])
        data, ext = _encode_mp4(frames, fps), "mp4"
    return {
        "data": data,
        "ext": ext,
        "vad": [round(float(v), 4) for v in vad],
        "aus": aus,
        "arkit": [round(float(v), 4) for v in arkit],
    }


def label_index(label: str) -> int:
    """Index of ``label`` in :data:`emogen.emotion.LABELS` (the ``.cls`` of WebDataset shards)."""
    return LABELS.index(label)
