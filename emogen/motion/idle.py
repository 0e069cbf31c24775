"""Idle motion for a still portrait: blinks, slow head sway and gaze shifts, as a :class:`MotionTrack`.

The same procedural models the talking-head motion is made of (:mod:`emogen.motion.procedural`), with the rates and
amplitudes of a person at rest: ~17 blinks per minute (Bentivoglio et al. 1997), a few degrees of head sway, and
gaze that wanders around straight ahead with ~1 s fixations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch

from ..arkit import ARKIT_INDEX, NUM_BLENDSHAPES
from .procedural import gaze_fixations, head_sway, sample_blinks
from .track import MotionTrack

__all__ = ["IdleSettings", "idle_motion", "add_idle"]


@dataclass(frozen=True)
class IdleSettings:
    """Idle-motion parameters (sources in :mod:`emogen.motion.procedural`).

    Args:
        blinks / head / gaze: switch each component on or off.
        blink_rate: blinks per minute.
        head_std_deg: standard deviation of pitch, yaw, roll in degrees.
        head_timescale: time constant of the head sway in seconds.
        gaze_std_deg: standard deviation (yaw, pitch) of gaze shifts away from straight ahead, in degrees.
        gaze_at_camera: share of fixations straight at the camera.
        fixation_mean: median fixation duration in seconds.
    """

    blinks: bool = True
    head: bool = True
    gaze: bool = True
    blink_rate: float = 17.0
    head_std_deg: tuple[float, float, float] = (1.8, 2.5, 1.0)
    head_timescale: float = 1.5
    gaze_std_deg: tuple[float, float] = (4.0, 2.5)
    gaze_at_camera: float = 0.3
    fixation_mean: float = 1.0

    def __post_init__(self) -> None:
        if not 0 <= self.blink_rate <= 120:
            raise ValueError(f"blink_rate must be in [0, 120] per minute, got {self.blink_rate!r}.")
        if self.head_timescale <= 0 or self.fixation_mean <= 0:
            raise ValueError("head_timescale and fixation_mean must be positive.")
        if not 0 <= self.gaze_at_camera <= 1:
            raise ValueError(f"gaze_at_camera must be a share in [0, 1], got {self.gaze_at_camera!r}.")


def idle_motion(
    num_frames: int,
    fps: float = 25.0,
    settings: IdleSettings | None = None,
    generator: torch.Generator | None = None,
) -> MotionTrack:
    """Sample idle motion.

    Args:
        num_frames: length of the track.
        fps: frame rate.
        settings: :class:`IdleSettings` (default: everything on, literature values).
        generator: seeds everything (same generator state → same track).

    Returns:
        :class:`MotionTrack` with ``eyeBlink*`` curves, head rotation (radians) and gaze (radians).
    """
    if not isinstance(num_frames, int) or num_frames < 1:
        raise ValueError(f"num_frames must be a positive integer, got {num_frames!r}.")
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}.")
    s = settings or IdleSettings()
    blend = torch.zeros(num_frames, NUM_BLENDSHAPES)
    rot = torch.zeros(num_frames, 3)
    gaze = torch.zeros(num_frames, 2)
    if s.blinks and s.blink_rate > 0:
        closure = sample_blinks(num_frames, fps, s.blink_rate, generator)
        blend[:, ARKIT_INDEX["eyeBlinkLeft"]] = closure
        blend[:, ARKIT_INDEX["eyeBlinkRight"]] = closure
    if s.head:
        rot = head_sway(num_frames, fps, s.head_std_deg, s.head_timescale, generator)
    if s.gaze:
        gaze = gaze_fixations(
            num_frames,
            fps,
            aversion_deg=s.gaze_std_deg,
            at_camera=s.gaze_at_camera,
            fixation_s=s.fixation_mean,
            generator=generator,
        )
    return MotionTrack(
        blendshapes=blend, head_rotation=rot, head_translation=torch.zeros(num_frames, 3), gaze=gaze, fps=fps
    )


def add_idle(motion: MotionTrack, idle: MotionTrack) -> MotionTrack:
    """Layer idle motion on an expression track of the same length.

    Blinks override lid-widening and squinting while the lids are closed, so a wide-eyed (surprised) face
    still closes its eyes fully.
    """
    if not isinstance(motion, MotionTrack) or not isinstance(idle, MotionTrack):
        raise TypeError("add_idle expects two MotionTrack values.")
    out = motion + idle
    b = out.blendshapes.clone()
    for side in ("Left", "Right"):
        blink = idle.blendshapes[:, ARKIT_INDEX[f"eyeBlink{side}"]].to(b)
        for name in (f"eyeWide{side}", f"eyeSquint{side}"):
            b[:, ARKIT_INDEX[name]] = b[:, ARKIT_INDEX[name]] * (1.0 - blink)
    return replace(out, blendshapes=b)
