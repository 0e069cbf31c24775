"""Natural idle motion: stochastic blinks, small head motion and gaze saccades, as a :class:`MotionTrack`.

Rules and numbers (all randomness through one ``torch.Generator``):

* Blinks: spontaneous blink rate ~17 per minute at rest (Bentivoglio et al. 1997, "Analysis of blink rate
  patterns in normal subjects", Movement Disorders 12) — 15-20/min is typical, higher in conversation.
  Inter-blink intervals are log-normal (coefficient of variation ~0.6) with a 0.6 s refractory minimum; a blink
  lasts 100-400 ms (Caffier et al. 2003, "Experimental evaluation of human eye blink parameters", Eur J Appl
  Physiol 89) with a fast closing phase (~1/3) and a slower opening phase (Evinger et al. 1991).
* Head: independent Ornstein-Uhlenbeck processes per axis (a mean-reverting random walk, the standard model of
  postural sway), standard deviations of a few degrees and ~1.5 s time constants, low-pass filtered once more
  so velocities are smooth.
* Gaze: fixations with gamma-distributed durations (mean ~1 s during conversation), saccades to targets drawn
  around the straight-ahead direction, saccade duration from the main sequence ``21 ms + 2.2 ms/°``
  (Carpenter 1988, "Movements of the Eyes"), and tiny fixational drift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch

from ..arkit import ARKIT_INDEX, NUM_BLENDSHAPES
from ..motion import MotionTrack

__all__ = ["IdleSettings", "idle_motion", "add_idle", "blink_curve"]


@dataclass(frozen=True)
class IdleSettings:
    """Idle-motion parameters (see the module docstring for sources).

    Args:
        blinks / head / gaze: switch each component on or off.
        blink_rate: blinks per minute.
        blink_duration: (min, max) seconds of one blink.
        head_std_deg: standard deviation of pitch, yaw, roll in degrees.
        head_timescale: OU time constant in seconds.
        gaze_std_deg: standard deviation of saccade targets (yaw, pitch) in degrees.
        fixation_mean: mean fixation duration in seconds.
    """

    blinks: bool = True
    head: bool = True
    gaze: bool = True
    blink_rate: float = 17.0
    blink_duration: tuple[float, float] = (0.1, 0.4)
    head_std_deg: tuple[float, float, float] = (1.8, 2.5, 1.0)
    head_timescale: float = 1.5
    gaze_std_deg: tuple[float, float] = (4.0, 2.5)
    fixation_mean: float = 1.0

    def __post_init__(self) -> None:
        if not 0 <= self.blink_rate <= 120:
            raise ValueError(f"blink_rate must be in [0, 120] per minute, got {self.blink_rate!r}.")
        lo, hi = self.blink_duration
        if not 0.02 <= lo <= hi <= 2.0:
            raise ValueError(
                f"blink_duration must be (min, max) seconds within [0.02, 2], got {self.blink_duration!r}."
            )
        if self.head_timescale <= 0 or self.fixation_mean <= 0:
            raise ValueError("head_timescale and fixation_mean must be positive.")


def blink_curve(t: torch.Tensor, start: float, duration: float) -> torch.Tensor:
    """Eyelid closure (0 open … 1 closed) of one blink at times ``t`` (seconds): fast close, slower open."""
    close = duration / 3.0
    x = (t - start) / close
    closing = (x.clamp(0, 1) * math.pi / 2).sin() ** 2
    y = ((t - start - close) / (duration - close)).clamp(0, 1)
    opening = 1.0 - (y * math.pi / 2).sin() ** 2
    return torch.where(t < start + close, closing, opening) * (t >= start)


def _rand(generator: torch.Generator | None, *shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=generator, dtype=torch.float64)


def _randn(generator: torch.Generator | None, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=generator, dtype=torch.float64)


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
    dt = 1.0 / fps
    t = torch.arange(num_frames, dtype=torch.float64) * dt
    duration = num_frames * dt
    blend = torch.zeros(num_frames, NUM_BLENDSHAPES, dtype=torch.float64)
    rot = torch.zeros(num_frames, 3, dtype=torch.float64)
    gaze = torch.zeros(num_frames, 2, dtype=torch.float64)

    # 1. Blinks: log-normal inter-blink intervals with a refractory minimum
    if s.blinks and s.blink_rate > 0:
        mean = 60.0 / s.blink_rate
        cv = 0.6
        sigma = math.sqrt(math.log(1 + cv**2))
        mu = math.log(mean) - sigma**2 / 2
        closure = torch.zeros(num_frames, dtype=torch.float64)
        clock = float(_rand(generator, 1)) * mean  # first blink somewhere in the first interval
        while clock < duration:
            lo, hi = s.blink_duration
            d = lo + (hi - lo) * float(_rand(generator, 1)) ** 1.5  # most blinks are short
            closure = torch.maximum(closure, blink_curve(t, clock, d))
            gap = math.exp(mu + sigma * float(_randn(generator, 1)))
            clock += max(0.6, gap) + d
        blend[:, ARKIT_INDEX["eyeBlinkLeft"]] = closure
        blend[:, ARKIT_INDEX["eyeBlinkRight"]] = closure

    # 2. Head: Ornstein-Uhlenbeck per axis, then a one-pole low-pass for smooth velocities
    if s.head:
        theta = 1.0 / s.head_timescale
        a = math.exp(-theta * dt)
        std = torch.tensor([math.radians(x) for x in s.head_std_deg], dtype=torch.float64)
        noise = _randn(generator, num_frames, 3) * std * math.sqrt(1 - a * a)
        x = _randn(generator, 3) * std
        smooth = x.clone()
        k = 1.0 - math.exp(-dt / 0.25)
        for i in range(num_frames):
            x = a * x + noise[i]
            smooth = smooth + k * (x - smooth)
            rot[i] = smooth
        rot = rot - rot[:1] * torch.linspace(1.0, 0.0, num_frames, dtype=torch.float64).clamp(min=0).unsqueeze(1) ** 8

    # 3. Gaze: fixations and main-sequence saccades
    if s.gaze:
        std = torch.tensor([math.radians(x) for x in s.gaze_std_deg], dtype=torch.float64)
        target = torch.zeros(2, dtype=torch.float64)
        current = torch.zeros(2, dtype=torch.float64)
        shape_k = 3.0  # gamma shape: fixations rarely very short

        def fixation() -> float:  # Gamma(3, mean fixation_mean) as a sum of three unit exponentials
            e = -torch.log(_rand(generator, 3).clamp(min=1e-12)).sum()
            return max(0.25, float(e) * s.fixation_mean / shape_k)

        next_saccade = fixation()
        moving_until, move_from = -1.0, current.clone()
        move_start = 0.0
        for i in range(num_frames):
            now = float(t[i])
            if now >= next_saccade:
                move_from = current.clone()
                target = _randn(generator, 2) * std
                amp = math.degrees(float((target - move_from).norm()))
                move_start, moving_until = now, now + (0.021 + 0.0022 * amp)
                next_saccade = now + fixation()
            if now < moving_until:
                p = (now - move_start) / (moving_until - move_start)
                current = move_from + (target - move_from) * (0.5 - 0.5 * math.cos(math.pi * p))
            else:
                current = target.clone()
            gaze[i] = current
        gaze = gaze + _randn(generator, num_frames, 2) * math.radians(0.1)  # fixational drift

    return MotionTrack(
        blendshapes=blend.float(),
        head_rotation=rot.float(),
        head_translation=torch.zeros(num_frames, 3),
        gaze=gaze.float(),
        fps=fps,
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
