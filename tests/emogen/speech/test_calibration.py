"""Per-engine calibration of plan → rendered prosody: the mechanism, and the tables shipped as data."""

from __future__ import annotations

import json

import pytest

from emogen.speech import EspeakEngine, ProsodyCalibration, SpeechPlanSegment, plan_segment
from emogen.speech.calibration import CALIBRATED_FEATURES
from emogen.speech.hibari import HIBARI_CALIBRATION


def test_tables_interpolate_on_the_right_axes_and_extend_past_their_ends():
    cal = ProsodyCalibration(
        "x",
        pitch_range=((0.5, 0.8), (1.0, 1.0), (2.0, 1.25)),
        pitch_shift=((-3.0, -2.0), (0.0, 0.0), (3.0, 2.0)),
        rate_pitch=((1.0, 0.0), (2.0, -1.0)),
    )
    seg = cal.apply(SpeechPlanSegment(pitch_range=1.5, pitch_shift=6.0, rate=1.5, label="happy", intensity=0.5))
    assert seg.pitch_range == pytest.approx(2 ** (0.5849625 * 0.3219281), rel=1e-6)  # log2 axes
    assert seg.pitch_shift == pytest.approx(4.0 - 0.5849625, rel=1e-6)  # extended linearly, minus rate_pitch
    assert seg.rate == 1.5 and seg.label == "happy" and seg.intensity == 0.5  # identity and the record kept
    assert cal.apply(SpeechPlanSegment(pitch_shift=-24.0)).pitch_shift == -16.0
    big = ProsodyCalibration("y", pitch_shift=((0.0, 0.0), (1.0, 3.0)))
    assert big.apply(SpeechPlanSegment(pitch_shift=20.0)).pitch_shift == 24.0  # kept within the plan's limits


def test_identity_and_validation():
    ident = ProsodyCalibration.identity("espeak-ng")
    seg = plan_segment("angry")
    assert ident.is_identity and ident.apply(seg) is seg
    assert EspeakEngine.calibration.is_identity  # the engine the plan rules were set on
    with pytest.raises(ValueError, match="pitch_range .*positive"):
        ProsodyCalibration("x", pitch_range=((0.0, 1.0), (1.0, 1.0)))
    with pytest.raises(ValueError, match="strictly increasing"):
        ProsodyCalibration("x", contour=((1.0, 1.0), (0.0, 0.0)))
    with pytest.raises(ValueError, match="at least two"):
        ProsodyCalibration("x", loudness=((1.0, 1.0),))
    with pytest.raises(TypeError, match="SpeechPlanSegment"):
        ident.apply({"rate": 1.0})


def test_hibari_tables_are_monotonic_and_pass_neutral_through():
    assert not HIBARI_CALIBRATION.is_identity and HIBARI_CALIBRATION.reference == "espeak-ng"
    assert HIBARI_CALIBRATION.apply(SpeechPlanSegment()).without_record() == SpeechPlanSegment()
    for name in CALIBRATED_FEATURES:
        ys = [b for _, b in getattr(HIBARI_CALIBRATION, name)]
        assert ys == sorted(ys), name
    # espeak-ng compresses the F0 range: hibari is given less than the plan asks for
    happy = HIBARI_CALIBRATION.apply(plan_segment("happy"))
    assert 1.0 < happy.pitch_range < plan_segment("happy").pitch_range
    json.dumps(HIBARI_CALIBRATION.to_dict())
