"""Affect dynamics: how an emotional state moves toward the emotion it is asked to show.

Keyframes say *where* the emotion should be; dynamics say *how it gets there*. Following the explicit VAD
state-dynamics view of emotion (affect as a state with inertia that is driven by appraisals; see Kuppens,
Oravecz & Tuerlinckx (2010), "Feelings change: accounting for individual differences in the temporal dynamics of
affect", J. Pers. Soc. Psychol. 99, and the damped-oscillator model of emotion regulation of Chow et al. (2005),
"Emotion as a thermostat", Structural Equation Modeling 12), two filters are offered:

* :class:`FirstOrderDynamics` — exponential smoothing toward the target with time constant ``tau``
  (``dx/dt = (u - x) / tau``): no overshoot.
* :class:`SecondOrderDynamics` — a damped spring with natural period ``period`` and damping ratio ``damping``
  (``x'' = ω² (u - x) - 2 ζ ω x'``, ``ω = 2π / period``): inertia, and overshoot when ``damping < 1``.

Both are integrated exactly for a piecewise-constant input (zero-order hold), so the parameters are in seconds and
the response does not depend on the frame rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["Dynamics", "FirstOrderDynamics", "SecondOrderDynamics", "make_dynamics", "DYNAMICS_NAMES"]

DYNAMICS_NAMES: tuple[str, ...] = ("none", "first-order", "second-order")


@dataclass(frozen=True)
class FirstOrderDynamics:
    """Exponential smoothing toward the target.

    Args:
        tau: time constant in seconds (63 % of a step is reached after ``tau``).
    """

    tau: float = 0.35

    def __post_init__(self) -> None:
        if not (isinstance(self.tau, (int, float)) and math.isfinite(self.tau) and self.tau > 0):
            raise ValueError(f"tau must be a positive number of seconds, got {self.tau!r}.")

    def apply(self, target: torch.Tensor, fps: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Filter ``target`` (`torch.Tensor` of shape `(frames, channels)`), starting at rest on its first frame.

        Returns:
            state, velocity, acceleration — each of shape `(frames, channels)`, per second.
        """
        alpha = 1.0 - math.exp(-1.0 / (fps * self.tau))
        out = torch.empty_like(target)
        x = target[0].clone()
        for i in range(target.shape[0]):
            out[i] = x  # the state at frame i; the input of frame i then acts until frame i + 1
            x = x + alpha * (target[i] - x)
        velocity = (target - out) / self.tau
        acceleration = torch.gradient(velocity, spacing=1.0 / fps, dim=0)[0] if target.shape[0] > 1 else 0 * velocity
        return out, velocity, acceleration


@dataclass(frozen=True)
class SecondOrderDynamics:
    """A damped spring toward the target: inertia and (for ``damping < 1``) overshoot.

    Args:
        period: natural period in seconds (the undamped oscillation period).
        damping: damping ratio ζ; 1 is critically damped (no overshoot), 0.5 overshoots by about 16 %.
    """

    period: float = 1.0
    damping: float = 0.5

    def __post_init__(self) -> None:
        if not (isinstance(self.period, (int, float)) and math.isfinite(self.period) and self.period > 0):
            raise ValueError(f"period must be a positive number of seconds, got {self.period!r}.")
        if not (isinstance(self.damping, (int, float)) and math.isfinite(self.damping) and self.damping > 0):
            raise ValueError(f"damping must be a positive damping ratio (e.g. 0.5), got {self.damping!r}.")

    def apply(self, target: torch.Tensor, fps: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Filter ``target`` (`torch.Tensor` of shape `(frames, channels)`), starting at rest on its first frame.

        The state ``s = [x - u, x']`` evolves as ``s' = A s`` between frames with ``A = [[0, 1], [-ω², -2ζω]]``;
        one frame is the exact step ``s ← expm(A / fps) s``.

        Returns:
            state, velocity, acceleration — each of shape `(frames, channels)`, per second.
        """
        omega = 2.0 * math.pi / self.period
        a = torch.tensor([[0.0, 1.0], [-(omega**2), -2.0 * self.damping * omega]], dtype=torch.float64)
        step = torch.linalg.matrix_exp(a / fps).to(target.dtype)
        out = torch.empty_like(target)
        vel = torch.empty_like(target)
        x = target[0].clone()
        v = torch.zeros_like(x)
        for i in range(target.shape[0]):
            out[i], vel[i] = x, v  # the state at frame i; the input of frame i then acts until frame i + 1
            e = x - target[i]
            e, v = step[0, 0] * e + step[0, 1] * v, step[1, 0] * e + step[1, 1] * v
            x = target[i] + e
        acceleration = omega**2 * (target - out) - 2.0 * self.damping * omega * vel
        return out, vel, acceleration


Dynamics = FirstOrderDynamics | SecondOrderDynamics


def make_dynamics(
    name: str | Dynamics | None, *, tau: float | None = None, period: float | None = None, damping: float | None = None
) -> Dynamics | None:
    """Dynamics by name ("none", "first-order", "second-order"), with optional parameters in seconds."""
    if name is None or isinstance(name, (FirstOrderDynamics, SecondOrderDynamics)):
        return name
    key = str(name).strip().lower().replace("_", "-")
    if key in ("none", "off", ""):
        return None
    if key in ("first-order", "first", "1"):
        return FirstOrderDynamics(**({"tau": tau} if tau is not None else {}))
    if key in ("second-order", "second", "2"):
        kwargs = {k: v for k, v in (("period", period), ("damping", damping)) if v is not None}
        return SecondOrderDynamics(**kwargs)
    raise ValueError(f"Unknown dynamics {name!r}; accepted: {', '.join(DYNAMICS_NAMES)}.")
