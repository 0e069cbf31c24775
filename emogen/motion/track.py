"""Facial motion over time: the :class:`MotionTrack` value every animator, exporter and motion model shares.

Conventions (used by :class:`emogen.face.rig.FaceRig`, :class:`emogen.render.PortraitAnimator` and the
curve exporters):

* ``blendshapes``: ARKit-52 weights in [0, 1], columns in :data:`emogen.arkit.ARKIT_BLENDSHAPES` order, sides named
  after the subject (``eyeBlinkLeft`` closes the subject's left eye). Blinks live here (``eyeBlinkLeft/Right``).
* ``head_rotation``: radians, ``(pitch, yaw, roll)`` *relative to the rest pose of the portrait* (zeros = the
  head as photographed). The rotation is ``R = Rz(roll) @ Ry(yaw) @ Rx(pitch)`` about the camera's axes (x to the
  image right, y up, z towards the viewer; right-handed), applied about a neck pivot. Positive pitch tips the
  nose down (nod), positive yaw turns the nose towards the image right (the subject's left), positive roll tilts
  the top of the head towards the image left (counter-clockwise on screen).
* ``head_translation``: metres in the same camera axes; z towards the camera (weak perspective: moving closer
  enlarges the face, with the camera assumed 0.6 m away).
* ``gaze``: radians, ``(yaw, pitch)`` of both eyes relative to the head, same signs as the head (positive yaw
  looks towards the image right, positive pitch looks down). It adds to the ``eyeLook*`` blendshapes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

import torch

from ..arkit import ARKIT_BLENDSHAPES, ARKIT_INDEX, NUM_BLENDSHAPES
from ..utils import dataclass_to

__all__ = [
    "MOTION_CHANNEL_GROUPS",
    "MOTION_CHANNEL_NAMES",
    "MotionTrack",
    "channel_slices",
    "pack_motion",
    "resample_motion",
    "unpack_motion",
]


@dataclass(frozen=True)
class MotionTrack:
    """Per-frame facial motion (see the module docstring for axes and signs).

    Args:
        blendshapes (`torch.Tensor` of shape `(frames, 52)`): ARKit weights in [0, 1].
        head_rotation (`torch.Tensor` of shape `(frames, 3)`): pitch, yaw, roll in radians (relative to rest).
        head_translation (`torch.Tensor` of shape `(frames, 3)`): metres (relative to rest).
        gaze (`torch.Tensor` of shape `(frames, 2)`): yaw, pitch in radians.
        fps: frames per second.
    """

    blendshapes: torch.Tensor
    head_rotation: torch.Tensor
    head_translation: torch.Tensor
    gaze: torch.Tensor
    fps: float

    def __post_init__(self) -> None:
        if isinstance(self.fps, bool) or not isinstance(self.fps, (int, float)) or not math.isfinite(self.fps):
            raise ValueError(f"fps must be a positive number, got {self.fps!r}.")
        if self.fps <= 0:
            raise ValueError(f"fps must be a positive number, got {self.fps!r}.")
        object.__setattr__(self, "fps", float(self.fps))
        for name in ("blendshapes", "head_rotation", "head_translation", "gaze"):
            if not isinstance(getattr(self, name), torch.Tensor):
                raise TypeError(
                    f"MotionTrack.{name} must be a torch.Tensor, got {type(getattr(self, name)).__name__}."
                )
        b = self.blendshapes
        if b.ndim != 2 or b.shape[1] != NUM_BLENDSHAPES or b.shape[0] < 1:
            raise ValueError(f"blendshapes must have shape (frames >= 1, 52), got {tuple(b.shape)}.")
        t = b.shape[0]
        for name, width in (("head_rotation", 3), ("head_translation", 3), ("gaze", 2)):
            if tuple(getattr(self, name).shape) != (t, width):
                raise ValueError(f"{name} must have shape ({t}, {width}), got {tuple(getattr(self, name).shape)}.")
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, torch.Tensor) and not torch.isfinite(value).all():
                raise ValueError(f"MotionTrack.{f.name} contains NaN or infinite values.")

    # ----------------------------------------------------------------------------------------------- properties
    @property
    def num_frames(self) -> int:
        return self.blendshapes.shape[0]

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    @property
    def device(self) -> torch.device:
        return self.blendshapes.device

    @property
    def dtype(self) -> torch.dtype:
        return self.blendshapes.dtype

    def blendshape(self, name: str) -> torch.Tensor:
        """Curve of one blendshape, shape ``(frames,)``."""
        from ..arkit import arkit_index

        return self.blendshapes[:, arkit_index(name)]

    # --------------------------------------------------------------------------------------------- constructors
    @classmethod
    def zeros(cls, num_frames: int, fps: float = 25.0, dtype: torch.dtype = torch.float32) -> MotionTrack:
        """A still, neutral track (all weights and poses zero)."""
        if not isinstance(num_frames, int) or num_frames < 1:
            raise ValueError(f"num_frames must be a positive integer, got {num_frames!r}.")
        return cls(
            blendshapes=torch.zeros(num_frames, NUM_BLENDSHAPES, dtype=dtype),
            head_rotation=torch.zeros(num_frames, 3, dtype=dtype),
            head_translation=torch.zeros(num_frames, 3, dtype=dtype),
            gaze=torch.zeros(num_frames, 2, dtype=dtype),
            fps=fps,
        )

    @classmethod
    def from_blendshapes(cls, blendshapes: torch.Tensor, fps: float = 25.0) -> MotionTrack:
        """A track with the given ARKit weights ``(frames, 52)`` (or ``(52,)``) and a still head."""
        blendshapes = torch.as_tensor(blendshapes, dtype=torch.float32)
        if blendshapes.ndim == 1:
            blendshapes = blendshapes.unsqueeze(0)
        t = blendshapes.shape[0]
        return cls(
            blendshapes=blendshapes,
            head_rotation=blendshapes.new_zeros(t, 3),
            head_translation=blendshapes.new_zeros(t, 3),
            gaze=blendshapes.new_zeros(t, 2),
            fps=fps,
        )

    @classmethod
    def from_weights(cls, weights: dict[str, float], num_frames: int = 1, fps: float = 25.0) -> MotionTrack:
        """A constant track from ``{"jawOpen": 0.5, ...}`` (unnamed blendshapes are 0)."""
        from ..arkit import arkit_index

        row = torch.zeros(NUM_BLENDSHAPES)
        for name, value in weights.items():
            row[arkit_index(name)] = float(value)
        return cls.from_blendshapes(row.expand(num_frames, -1).clone(), fps=fps)

    # ------------------------------------------------------------------------------------------------ transforms
    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> MotionTrack:
        """Move every tensor to ``device`` / cast to ``dtype``."""
        return dataclass_to(self, device, dtype)

    def slice(self, start: int, stop: int) -> MotionTrack:
        """Frames ``[start, stop)``."""
        if not 0 <= start < stop <= self.num_frames:
            raise ValueError(f"slice({start}, {stop}) is outside a track of {self.num_frames} frames.")
        return replace(
            self,
            blendshapes=self.blendshapes[start:stop],
            head_rotation=self.head_rotation[start:stop],
            head_translation=self.head_translation[start:stop],
            gaze=self.gaze[start:stop],
        )

    def __add__(self, other: MotionTrack) -> MotionTrack:
        """Layer two tracks of equal length: weights add (clipped to [0, 1]); poses and gaze add."""
        if not isinstance(other, MotionTrack):
            return NotImplemented
        if other.num_frames != self.num_frames:
            raise ValueError(f"Cannot add tracks of {self.num_frames} and {other.num_frames} frames.")
        o = other.to(self.device, self.dtype)
        return replace(
            self,
            blendshapes=(self.blendshapes + o.blendshapes).clamp(0.0, 1.0),
            head_rotation=self.head_rotation + o.head_rotation,
            head_translation=self.head_translation + o.head_translation,
            gaze=self.gaze + o.gaze,
        )

    def to_dict(self) -> dict:
        """JSON-ready dict (see :func:`emogen.io.curves.write_curves_json`)."""

        def r(x: torch.Tensor) -> list:
            return torch.round(x.detach().float().cpu(), decimals=5).tolist()

        return {
            "fps": self.fps,
            "names": list(ARKIT_BLENDSHAPES),
            "blendshapes": r(self.blendshapes),
            "head_rotation": r(self.head_rotation),
            "head_translation": r(self.head_translation),
            "gaze": r(self.gaze),
        }

    @classmethod
    def from_dict(cls, data: dict) -> MotionTrack:
        """Inverse of :meth:`to_dict` (columns are matched by name)."""
        names = data.get("names", list(ARKIT_BLENDSHAPES))
        raw = torch.tensor(data["blendshapes"], dtype=torch.float32)
        if raw.ndim != 2 or raw.shape[1] != len(names):
            raise ValueError(f"blendshapes must be a (frames, {len(names)}) table, got {tuple(raw.shape)}.")
        b = torch.zeros(raw.shape[0], NUM_BLENDSHAPES)
        for j, name in enumerate(names):
            if name not in ARKIT_INDEX:
                raise ValueError(f"Unknown blendshape column {name!r}.")
            b[:, ARKIT_INDEX[name]] = raw[:, j]
        t = b.shape[0]
        get = lambda k, w: torch.tensor(data[k], dtype=torch.float32) if k in data else torch.zeros(t, w)  # noqa: E731
        return cls(b, get("head_rotation", 3), get("head_translation", 3), get("gaze", 2), float(data["fps"]))


#: Channel layout of the motion tensor: (MotionTrack field, width), in order.
MOTION_CHANNEL_GROUPS: tuple[tuple[str, int], ...] = (
    ("blendshapes", NUM_BLENDSHAPES),
    ("head_rotation", 3),
    ("head_translation", 3),
    ("gaze", 2),
)

#: One name per channel: the ARKit names, then head rotation (pitch, yaw, roll; rad), translation (x, y, z; m) and
#: gaze (yaw, pitch; rad), as in :class:`emogen.motion.MotionTrack`.
MOTION_CHANNEL_NAMES: tuple[str, ...] = (
    *ARKIT_BLENDSHAPES,
    "head_rotation.pitch",
    "head_rotation.yaw",
    "head_rotation.roll",
    "head_translation.x",
    "head_translation.y",
    "head_translation.z",
    "gaze.yaw",
    "gaze.pitch",
)


def channel_slices(groups: Sequence[Sequence] = MOTION_CHANNEL_GROUPS) -> dict[str, slice]:
    """Channel range of each field in a motion tensor with layout ``groups``."""
    out, start = {}, 0
    for name, width in groups:
        out[str(name)] = slice(start, start + int(width))
        start += int(width)
    return out


def pack_motion(motion, groups: Sequence[Sequence] = MOTION_CHANNEL_GROUPS) -> torch.Tensor:
    """Concatenate a :class:`~emogen.motion.MotionTrack`'s fields into the model's channel layout.

    Args:
        motion: a ``MotionTrack`` (any object with the fields named in ``groups``, each `(frames, width)`).
        groups: the channel layout (``MotionDenoiser.config.channel_groups``).

    Returns:
        `torch.Tensor` of shape `(frames, channels)`, float32.
    """
    parts = []
    for name, width in groups:
        value = getattr(motion, str(name), None)
        if not isinstance(value, torch.Tensor):
            raise TypeError(
                f"pack_motion needs a MotionTrack with a tensor field {name!r}, got {type(motion).__name__}."
            )
        if value.ndim != 2 or value.shape[1] != int(width):
            raise ValueError(f"MotionTrack.{name} must have shape (frames, {width}), got {tuple(value.shape)}.")
        parts.append(value.float())
    return torch.cat(parts, dim=-1)


def unpack_motion(x: torch.Tensor, fps: float, groups: Sequence[Sequence] = MOTION_CHANNEL_GROUPS):
    """Split a `(frames, channels)` tensor back into a :class:`~emogen.motion.MotionTrack`.

    Blendshapes are clamped to [0, 1] (ARKit weights); the other channels are returned as they are.
    """
    if x.ndim != 2:
        raise ValueError(f"unpack_motion expects (frames, channels), got {tuple(x.shape)}; unpack one clip at a time.")
    slices = channel_slices(groups)
    if x.shape[1] != max(s.stop for s in slices.values()):
        raise ValueError(f"Expected {max(s.stop for s in slices.values())} channels, got {x.shape[1]}.")
    fields = {name: x[:, s].float() for name, s in slices.items()}
    if "blendshapes" in fields:
        fields["blendshapes"] = fields["blendshapes"].clamp(0.0, 1.0)
    return MotionTrack(**fields, fps=fps)


def resample_motion(motion: MotionTrack, fps: float, num_frames: int) -> MotionTrack:
    """Linearly resample a :class:`MotionTrack` to ``fps`` with exactly ``num_frames`` frames (timing in seconds
    kept; times past the end hold the last frame)."""
    from ..audio import align_to_fps

    if motion.fps == fps and motion.num_frames == num_frames:
        return motion
    x = align_to_fps(pack_motion(motion), fps, source_fps=motion.fps, num_frames=num_frames)
    return unpack_motion(x, fps)
