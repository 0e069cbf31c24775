"""Procedural facial motion: one blink model, one gaze (fixation + saccade) model, one head-sway model.

Everything that moves a face without a learned model uses these: the rule-based teacher that makes the motion
model's training targets (:mod:`emogen.motion.teacher`), idle motion for still portraits (:mod:`emogen.motion.idle`)
and the blinks and saccades the talking-head pipeline adds on top of the motion model (which averages blinks out).
All randomness comes from one ``torch.Generator``; the order of the draws is part of the contract (the teacher's
targets, and with them the trained model, depend on it).

* **Blinks** — a renewal process with gamma(2)-distributed intervals (irregular, never periodic), whose rate may
  vary over time: 17 blinks/min at rest, ~26/min in conversation (Bentivoglio et al. 1997, "Analysis of blink rate
  patterns in normal subjects", Movement Disorders 12); each blink closes in ~80 ms and reopens in ~160 ms (Stern,
  Walrath & Goldstein 1984, Psychophysiology 21; the fast-close, slow-open asymmetry of Evinger et al. 1991), and
  not every blink closes the lid completely (peak 0.85–1); a 250 ms refractory period follows each blink.
* **Head sway** — an Ornstein–Uhlenbeck process per axis (the standard model of postural sway: a mean-reverting
  random walk, exact discretisation), smoothed over 0.3 s so the head moves in smooth arcs, not Brownian jitter.
* **Gaze** — fixations of log-normal duration, each either at the camera or averted (Kendon 1967, "Some functions
  of gaze-direction in social interaction", Acta Psychologica 26: speakers look away more at phrase starts); the
  saccade between two fixations takes about one frame at 25 fps (main sequence: 21 ms + 2.2 ms per degree,
  Carpenter 1988, "Movements of the Eyes"), drawn as the average of the two fixations on the jump frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = [
    "BLINK_CLOSE_S",
    "BLINK_OPEN_S",
    "bumps",
    "blink_shape",
    "gaze_fixations",
    "head_sway",
    "ou_process",
    "sample_blinks",
    "smooth",
]

#: Seconds a blink takes to close and to reopen (Stern, Walrath & Goldstein 1984).
BLINK_CLOSE_S = 0.08
BLINK_OPEN_S = 0.16


def smooth(x: torch.Tensor, fps: float, seconds: float) -> torch.Tensor:
    """Moving average of ``x`` (`(frames,)`) over ``seconds`` (odd window, edges replicated; same length)."""
    k = max(1, int(round(seconds * fps)) | 1)
    pad = k // 2
    y = torch.nn.functional.pad(x[None, None], (pad, pad), mode="replicate")
    return torch.nn.functional.avg_pool1d(y, k, stride=1)[0, 0]


def bumps(
    times: Sequence[float], amplitudes: Sequence[float], num_frames: int, fps: float, sigma: float, lead: float = 0.0
) -> torch.Tensor:
    """Sum of Gaussian bumps of width ``sigma`` s centred ``lead`` s before each time: shape `(frames,)`."""
    t = torch.arange(num_frames) / fps
    out = torch.zeros(num_frames)
    for time, amp in zip(times, amplitudes, strict=True):
        out += amp * torch.exp(-0.5 * ((t - (time - lead)) / sigma) ** 2)
    return out


# ------------------------------------------------------------------------------------------------------- blinks
def blink_shape(
    t: torch.Tensor,
    onset: float,
    close_s: float = BLINK_CLOSE_S,
    open_s: float = BLINK_OPEN_S,
    peak: float = 1.0,
) -> torch.Tensor:
    """Eyelid closure (0 open … ``peak`` closed) of one blink starting at ``onset`` s, at times ``t`` (s).

    The lid closes over ``close_s`` and reopens over ``open_s``, each phase eased in and out (smoothstep).
    """
    rise = ((t - onset) / close_s).clamp(0, 1)
    fall = (1 - (t - onset - close_s) / open_s).clamp(0, 1)
    shape = torch.where(t < onset + close_s, rise, fall) * (t >= onset)
    return peak * shape * shape * (3 - 2 * shape)


def sample_blinks(
    num_frames: int,
    fps: float,
    rate: torch.Tensor | float,
    generator: torch.Generator | None = None,
    *,
    close_s: float = BLINK_CLOSE_S,
    open_s: float = BLINK_OPEN_S,
) -> torch.Tensor:
    """Eye closure (0 open … ~1 closed) over ``num_frames`` frames from the blink renewal process.

    Args:
        num_frames: frames.
        fps: frame rate.
        rate: blinks per minute, a number or `torch.Tensor` of shape `(frames,)` (time-varying).
        generator: randomness.
        close_s, open_s: closing and reopening durations.

    Returns:
        `torch.Tensor` of shape `(frames,)`.
    """
    rate = torch.as_tensor(rate, dtype=torch.float32).expand(num_frames).clamp(min=1.0)
    out = torch.zeros(num_frames)
    t = torch.arange(num_frames) / fps
    # Start at a random point of an interval; draw intervals in "operational time" so the rate can vary.
    cum = torch.cumsum(rate / 60.0 / fps, 0)  # operational time: expected blinks so far
    clock = -float(torch.rand((), generator=generator)) * 2.0
    while True:
        # gamma(shape 2, mean 1) interval = half the sum of two unit exponentials
        u = torch.rand(2, generator=generator).clamp_min(1e-6)
        clock += float(-u.log().sum()) / 2.0
        idx = int(torch.searchsorted(cum, torch.tensor(clock)))
        if idx >= num_frames:
            break
        peak = 0.85 + 0.15 * float(torch.rand((), generator=generator))
        out = torch.maximum(out, blink_shape(t, idx / fps, close_s, open_s, peak))
        clock += 0.25 * float(rate[idx]) / 60.0  # refractory ~250 ms
    return out


# ---------------------------------------------------------------------------------------------------------- head
def ou_process(
    num_frames: int, fps: float, tau: float, std: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Ornstein–Uhlenbeck process with stationary std ``std`` and time constant ``tau`` s (exact discretisation)."""
    a = math.exp(-1.0 / (fps * tau))
    noise = torch.randn(num_frames, generator=generator) * std * math.sqrt(1 - a * a)
    x = torch.empty(num_frames)
    x[0] = torch.randn((), generator=generator) * std
    for i in range(1, num_frames):
        x[i] = a * x[i - 1] + noise[i]
    return x


def head_sway(
    num_frames: int,
    fps: float,
    std_deg: Sequence[float] = (2.0, 3.0, 1.5),
    tau: float = 1.5,
    generator: torch.Generator | None = None,
    smooth_s: float = 0.3,
) -> torch.Tensor:
    """Slow head drift: one smoothed Ornstein–Uhlenbeck process per axis.

    Args:
        std_deg: standard deviation of (pitch, yaw, roll) in degrees (after smoothing, approximately).
        tau: time constant in seconds.
        smooth_s: moving-average window; the smoothing lowers the std, compensated by a factor 1.3.

    Returns:
        `torch.Tensor` of shape `(frames, 3)`: pitch, yaw, roll in radians.
    """
    return torch.stack(
        [smooth(ou_process(num_frames, fps, tau, 1.3 * math.radians(s), generator), fps, smooth_s) for s in std_deg],
        -1,
    )


# ---------------------------------------------------------------------------------------------------------- gaze
def gaze_fixations(
    num_frames: int,
    fps: float,
    *,
    aversion_deg: Sequence[float] = (10.0, 6.0),
    at_camera: float = 0.6,
    fixation_s: float = 0.9,
    phrase_starts: Sequence[float] = (),
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Gaze (yaw, pitch) in radians: fixations joined by one-frame saccades.

    Args:
        aversion_deg: standard deviation (yaw, pitch) of averted fixations, degrees.
        at_camera: probability that a fixation is at the camera (reduced to 60 % of it near a phrase start).
        fixation_s: median fixation duration (log-normal, σ = 0.5).
        phrase_starts: times (s) around which speakers tend to look away.

    Returns:
        `torch.Tensor` of shape `(frames, 2)`.
    """
    out = torch.zeros(num_frames, 2)
    yaw_s, pitch_s = (math.radians(d) for d in aversion_deg)
    i = 0
    starts = {int(s * fps) for s in phrase_starts}
    while i < num_frames:
        dur = math.exp(math.log(fixation_s) + 0.5 * float(torch.randn((), generator=generator)))
        n = max(3, int(round(dur * fps)))
        near_start = any(i <= s < i + n for s in starts)
        looking = float(torch.rand((), generator=generator)) < (at_camera * (0.6 if near_start else 1))
        if looking:
            target = torch.randn(2, generator=generator) * torch.tensor([0.01, 0.01])
        else:
            target = torch.randn(2, generator=generator) * torch.tensor([yaw_s, pitch_s])
        out[i : i + n] = target
        i += n
    # one-frame saccades: average neighbours at each jump
    jumps = (out[1:] - out[:-1]).abs().sum(-1) > 1e-6
    smoothed = out.clone()
    idx = torch.nonzero(jumps).flatten() + 1
    smoothed[idx] = 0.5 * (out[idx - 1] + out[idx])
    return smoothed
