import math

import pytest
import torch

from emogen.controls import FirstOrderDynamics, SecondOrderDynamics, make_dynamics, resolve_emotion


def _step(fps: float, seconds: float = 6.0) -> torch.Tensor:
    n = round(seconds * fps)
    target = torch.zeros(n, 1)
    target[round(1.0 * fps) :] = 1.0  # unit step at t = 1 s
    return target


def test_first_order_has_no_overshoot_and_reaches_target():
    out, vel, _ = FirstOrderDynamics(tau=0.3).apply(_step(25.0), fps=25.0)
    assert out.max() <= 1.0 + 1e-6
    assert (out[1:] - out[:-1] >= -1e-7).all(), "monotone"
    assert out[-1] > 0.99
    # 63 % of the step after one time constant (t = 1.3 s)
    assert abs(float(out[round(1.3 * 25)]) - (1 - torch.exp(torch.tensor(-1.0)))) < 0.06


def test_second_order_overshoots_and_settles():
    out, vel, acc = SecondOrderDynamics(period=1.0, damping=0.4).apply(_step(25.0), fps=25.0)
    assert out.max() > 1.1, "underdamped spring overshoots"
    assert abs(float(out[-1]) - 1.0) < 0.02
    crit, _, _ = SecondOrderDynamics(period=1.0, damping=1.0).apply(_step(25.0), fps=25.0)
    assert crit.max() <= 1.0 + 1e-4, "critically damped: no overshoot"


@pytest.mark.parametrize("dyn", [FirstOrderDynamics(tau=0.4), SecondOrderDynamics(period=0.8, damping=0.5)])
def test_dynamics_do_not_depend_on_fps(dyn):
    a, _, _ = dyn.apply(_step(25.0), fps=25.0)
    b, _, _ = dyn.apply(_step(100.0), fps=100.0)
    # same physical times: frame i at 25 fps is frame 4i at 100 fps
    assert torch.allclose(a[:, 0], b[::4, 0], atol=1e-4)


def test_bad_parameters():
    with pytest.raises(ValueError, match="tau"):
        FirstOrderDynamics(tau=0)
    with pytest.raises(ValueError, match="damping"):
        SecondOrderDynamics(damping=-1)
    with pytest.raises(ValueError, match="Unknown dynamics"):
        make_dynamics("third-order")


def test_dynamics_in_timelines_fill_velocity():
    plain = resolve_emotion("0s neutral, 1s angry", fps=25)
    assert plain.velocity is None
    springy = resolve_emotion("0s neutral, 1s angry", fps=25, dynamics="second-order", duration=4.0)
    assert springy.velocity is not None and springy.velocity.abs().max() > 0
    # the state overshoots the angry centroid's arousal, then settles on it
    angry_arousal = float(resolve_emotion("angry").vad[0, 1])
    assert springy.vad[:, 1].max() > angry_arousal * 1.05
    assert abs(float(springy.vad[-1, 1]) - angry_arousal) < 0.03


def test_smooth_track_turns_steps_into_transitions():
    from emogen.controls import smooth_track

    for fps in (25.0, 100.0):
        steps = resolve_emotion("0s happy, 2s sad", fps=fps, duration=4.0, interpolation="step")
        smooth = smooth_track(steps, FirstOrderDynamics(tau=0.35))
        k = int(2.0 * fps)
        assert torch.equal(smooth.vad[:k], steps.vad[:k])  # at rest before the change
        # one time constant after the step: 1 - 1/e of the way, whatever the frame rate
        i = k + round(0.35 * fps)
        frac = (smooth.vad[i, 0] - steps.vad[k - 1, 0]) / (steps.vad[k, 0] - steps.vad[k - 1, 0])
        assert abs(float(frac) - (1 - math.exp(-1))) < 0.06
        torch.testing.assert_close(smooth.probs.sum(-1), torch.ones(steps.num_frames))
        assert smooth.velocity is not None and smooth.top_label()[-1] == "sad"
    assert smooth_track(steps, None) is steps
    with pytest.raises(TypeError, match="EmotionTrack"):
        smooth_track("happy")
    with pytest.raises(ValueError, match="Unknown dynamics"):
        smooth_track(steps, "wobbly")
