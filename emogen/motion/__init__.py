"""Facial motion: the :class:`MotionTrack` value and the procedural models that make motion without learning.

* :mod:`~emogen.motion.track` — :class:`MotionTrack` (ARKit-52 weights, head pose, gaze per frame), its packing
  into the motion model's channel layout and resampling;
* :mod:`~emogen.motion.procedural` — one blink model, one gaze model, one head-sway model;
* :mod:`~emogen.motion.idle` — idle motion of a still portrait (:func:`idle_motion`, :func:`add_idle`);
* :mod:`~emogen.motion.teacher` — the rule-based talking motion the motion model is trained on.
"""

from .idle import IdleSettings, add_idle, idle_motion
from .track import (
    MOTION_CHANNEL_GROUPS,
    MOTION_CHANNEL_NAMES,
    MotionTrack,
    channel_slices,
    pack_motion,
    resample_motion,
    unpack_motion,
)

__all__ = [
    "MOTION_CHANNEL_GROUPS",
    "MOTION_CHANNEL_NAMES",
    "IdleSettings",
    "MotionTrack",
    "add_idle",
    "channel_slices",
    "idle_motion",
    "pack_motion",
    "resample_motion",
    "unpack_motion",
]
