"""MotionTrack, curve export (Live Link Face CSV, JSON) and idle motion."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from emogen.arkit import ARKIT_INDEX, LIVE_LINK_FACE_COLUMNS
from emogen.export import live_link_face_rows, write_curves_json, write_live_link_csv
from emogen.io.curves import read_curves_json
from emogen.motion import IdleSettings, MotionTrack, add_idle, idle_motion
from emogen.motion.procedural import blink_shape


def _track(n: int = 10) -> MotionTrack:
    torch.manual_seed(0)
    return MotionTrack(
        torch.rand(n, 52), torch.randn(n, 3) * 0.1, torch.randn(n, 3) * 0.01, torch.randn(n, 2) * 0.1, 25
    )


def test_motion_track_validation():
    with pytest.raises(ValueError, match=r"\(frames >= 1, 52\)"):
        MotionTrack(torch.zeros(3, 51), torch.zeros(3, 3), torch.zeros(3, 3), torch.zeros(3, 2), 25)
    with pytest.raises(ValueError, match="head_rotation"):
        MotionTrack(torch.zeros(3, 52), torch.zeros(2, 3), torch.zeros(3, 3), torch.zeros(3, 2), 25)
    with pytest.raises(ValueError, match="fps"):
        MotionTrack.zeros(3, fps=0)
    with pytest.raises(ValueError, match="NaN"):
        MotionTrack.from_blendshapes(torch.full((2, 52), float("nan")))
    with pytest.raises(TypeError):
        MotionTrack([[0.0] * 52], torch.zeros(1, 3), torch.zeros(1, 3), torch.zeros(1, 2), 25)
    with pytest.raises(ValueError, match="Unknown ARKit"):
        MotionTrack.from_weights({"smile": 1.0})


def test_motion_track_ops():
    m = _track()
    assert m.num_frames == 10 and m.duration == pytest.approx(0.4)
    d = m.to(dtype=torch.float64)
    assert d.blendshapes.dtype == torch.float64 and d.fps == 25
    s = m.slice(2, 5)
    assert s.num_frames == 3 and torch.equal(s.gaze, m.gaze[2:5])
    total = m + MotionTrack.zeros(10)
    assert torch.allclose(total.blendshapes, m.blendshapes)
    assert (m + m).blendshapes.max() <= 1.0
    with pytest.raises(ValueError):
        m + MotionTrack.zeros(3)
    assert torch.equal(m.blendshape("jawOpen"), m.blendshapes[:, ARKIT_INDEX["jawOpen"]])
    back = MotionTrack.from_dict(json.loads(json.dumps(m.to_dict())))
    assert torch.allclose(back.blendshapes, m.blendshapes, atol=1e-5)


def test_live_link_csv(tmp_path):
    m = _track(30)
    path = write_live_link_csv(tmp_path / "curves.csv", m)
    rows = list(csv.reader(path.open()))
    assert tuple(rows[0]) == LIVE_LINK_FACE_COLUMNS
    assert len(rows) == 31
    header = rows[0]
    row = rows[5]
    assert row[1] == "52"
    assert float(row[header.index("JawOpen")]) == pytest.approx(
        float(m.blendshapes[4, ARKIT_INDEX["jawOpen"]]), abs=1e-5
    )
    assert float(row[header.index("EyeBlinkLeft")]) == pytest.approx(
        float(m.blendshapes[4, ARKIT_INDEX["eyeBlinkLeft"]]), abs=1e-5
    )
    assert float(row[header.index("HeadYaw")]) == pytest.approx(float(m.head_rotation[4, 1]), abs=1e-5)
    assert rows[1][0] == "00:00:00:00.000" and rows[26][0] == "00:00:01:00.000"
    assert list(tmp_path.iterdir()) == [path]  # no temp files left
    assert len(live_link_face_rows(m)) == 31


def test_curves_json_roundtrip(tmp_path):
    m = _track()
    path = write_curves_json(tmp_path / "c.json", m)
    back = read_curves_json(path)
    assert torch.allclose(back.blendshapes, m.blendshapes, atol=1e-5) and back.fps == 25
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="curves file"):
        read_curves_json(tmp_path / "bad.json")


def test_blink_curve_shape():
    t = torch.linspace(0, 1, 1001, dtype=torch.float64)
    c = blink_shape(t, 0.2, close_s=0.1, open_s=0.2)  # a 0.3 s blink
    assert c[t < 0.2].abs().max() == 0 and c[t > 0.5].abs().max() < 1e-9
    peak_time = float(t[c.argmax()])
    assert 0.29 < peak_time < 0.31  # closes in the first third
    assert c.max() == pytest.approx(1.0)


def test_idle_motion_statistics():
    n = 25 * 120
    m = idle_motion(n, 25.0, generator=torch.Generator().manual_seed(1))
    blink = m.blendshape("eyeBlinkLeft")
    closed = (blink > 0.5).int()
    per_minute = int(((closed[1:] - closed[:-1]) == 1).sum()) / 2.0
    assert 10 <= per_minute <= 26
    assert torch.equal(m.blendshape("eyeBlinkLeft"), m.blendshape("eyeBlinkRight"))
    deg = torch.rad2deg(m.head_rotation).std(0)
    assert (deg > 0.3).all() and (deg < 5).all()
    gaze = torch.rad2deg(m.gaze)
    assert gaze.abs().max() < 20 and gaze.std(0).min() > 1.0
    # saccades: gaze is mostly still, with a few fast jumps
    speed = torch.rad2deg((m.gaze[1:] - m.gaze[:-1]).norm(dim=-1)) * 25
    assert (speed > 50).float().mean() < 0.1


def test_idle_is_seeded_and_switchable():
    a = idle_motion(200, 25, generator=torch.Generator().manual_seed(7))
    b = idle_motion(200, 25, generator=torch.Generator().manual_seed(7))
    c = idle_motion(200, 25, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a.blendshapes, b.blendshapes) and torch.equal(a.gaze, b.gaze)
    assert not torch.equal(a.gaze, c.gaze)
    off = idle_motion(200, 25, IdleSettings(blinks=False, head=False, gaze=False))
    assert off.blendshapes.abs().max() == 0 and off.head_rotation.abs().max() == 0 and off.gaze.abs().max() == 0
    with pytest.raises(ValueError, match="blink_rate"):
        IdleSettings(blink_rate=-1)


def test_add_idle_blink_overrides_wide_eyes():
    expr = MotionTrack.from_weights({"eyeWideLeft": 1.0, "eyeWideRight": 1.0}, num_frames=50)
    idle = idle_motion(50, 25, IdleSettings(blink_rate=60, head=False, gaze=False), torch.Generator().manual_seed(0))
    out = add_idle(expr, idle)
    k = idle.blendshape("eyeBlinkLeft").argmax()
    assert out.blendshape("eyeBlinkLeft")[k] > 0.9
    assert out.blendshape("eyeWideLeft")[k] < 0.1
