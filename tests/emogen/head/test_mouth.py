"""Tests of the 3D mouth interior: anatomy, fitting, jaw posing, attributes and shading."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from emogen.arkit import ARKIT_INDEX
from emogen.face.blendshapes import canonical_template
from emogen.head import mouth as M
from emogen.head.mouth.anatomy import _LOWER_INNER, _UPPER_INNER
from emogen.head.mouth.interior import _sorted_xy

UPPER = list(range(10))
LOWER = list(range(10, 20))


# ------------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def mouth() -> M.MouthInterior:
    return M.MouthInterior()


@pytest.fixture(scope="module")
def template() -> torch.Tensor:
    return torch.from_numpy(canonical_template()).float()


@pytest.fixture(scope="module")
def rig():
    """The astronaut's face rig (MediaPipe tracking); skipped where the tracker cannot run."""
    pytest.importorskip("mediapipe")
    from skimage import data

    from emogen.face.rig import FaceRig
    from emogen.face.tracking import FaceTracker

    try:
        with FaceTracker() as tracker:
            face = tracker.track(data.astronaut())
    except Exception as exc:  # pragma: no cover - environment dependent
        pytest.skip(f"face tracking unavailable: {exc}")
    return FaceRig.from_tracking(face)


def weights(**kw: float) -> torch.Tensor:
    w = torch.zeros(1, 52)
    for k, v in kw.items():
        w[0, ARKIT_INDEX[k]] = v
    return w


def tooth_mask(mouth: M.MouthInterior, ids: list[int]) -> torch.Tensor:
    return torch.isin(mouth.tooth, torch.tensor(ids))


def pose(mouth, rig, **kw):
    g = mouth.fit(rig.identity)
    w = weights(**kw)
    deformed = rig.deform(w)
    return g, mouth.pose(g, rig.identity, deformed, w[:, ARKIT_INDEX["tongueOut"]]), deformed


# --------------------------------------------------------------------------------------------------- the mesh
def test_shapes_and_materials(mouth: M.MouthInterior) -> None:
    v, f = mouth.num_vertices, mouth.faces.shape[0]
    assert 1000 <= f <= 3000, f
    assert mouth.faces.dtype == torch.int64 and int(mouth.faces.min()) >= 0 and int(mouth.faces.max()) < v
    assert mouth.vertices.shape == (v, 3) and mouth.dental.shape == (v, 3)
    assert set(mouth.material.unique().tolist()) == {M.CAVITY, M.TEETH, M.GUM, M.TONGUE}
    mat = mouth.material[mouth.faces]
    assert bool((mat == mat[:, :1]).all()), "every triangle has one material"
    assert sorted(mouth.tooth[mouth.tooth >= 0].unique().tolist()) == list(range(20))
    assert bool((mouth.material[mouth.tooth >= 0] == M.TEETH).all())
    assert float(mouth.jaw.min()) >= 0.0 and float(mouth.jaw.max()) <= 1.0
    assert bool((mouth.jaw[tooth_mask(mouth, UPPER)] == 0).all()) and bool(
        (mouth.jaw[tooth_mask(mouth, LOWER)] == 1).all()
    )
    assert len(mouth.rim) == len(M.INNER_LIP_LOOP)
    # buffers move with the module
    names = {n for n, _ in mouth.named_buffers()}
    assert {"faces", "material", "vertices", "dental", "jaw", "tongue_field"} <= names


def test_tooth_dimensions(mouth: M.MouthInterior) -> None:
    """Crowns have the published sizes (dental frame, mm) and the canines sit ≈34 mm apart."""
    d = mouth.dental.numpy()
    tooth = mouth.tooth.numpy()
    central = d[tooth == 0]
    # width along the arch ≈ x extent for the (nearly frontal) central incisor
    assert 8.0 < np.ptp(central[:, 0]) < 9.3
    assert 9.5 < np.ptp(central[:, 1]) < 13.5  # crown 10.2 mm + the part hidden in the gum
    lower_central = d[tooth == 10]
    assert np.ptp(lower_central[:, 0]) < np.ptp(central[:, 0])  # lower incisors are narrower
    tips = [d[tooth == k][np.argmin(d[tooth == k][:, 1])] for k in (2, 7)]  # upper canine cusp tips
    assert 32.0 < abs(tips[0][0] - tips[1][0]) < 36.0
    # overbite/overjet: lower incisal edges behind and above the upper ones
    upper_edge = central[:, 1].min()
    lower_edge = lower_central[:, 1].max()
    assert 0.0 < lower_edge - upper_edge < 2.5
    assert lower_central[:, 2].max() < central[:, 2].max() - 1.5


def test_jaw_motion_is_recovered_exactly(template: torch.Tensor) -> None:
    ang = math.radians(11.0)
    rot = torch.tensor([[1, 0, 0], [0, math.cos(ang), -math.sin(ang)], [0, math.sin(ang), math.cos(ang)]])
    t = torch.tensor([0.02, -0.05, 0.03])
    deformed = (template @ rot.T + t).unsqueeze(0)
    r_est, t_est = M.estimate_jaw_motion(template, deformed)
    assert torch.allclose(r_est[0], rot, atol=1e-5) and torch.allclose(t_est[0], t, atol=1e-5)
    r0, t0 = M.estimate_jaw_motion(template, template.unsqueeze(0))
    assert torch.allclose(r0[0], torch.eye(3), atol=1e-6) and t0.abs().max() < 1e-6


# ------------------------------------------------------------------------------------------------- posing
def test_upper_teeth_do_not_move_with_jaw(mouth, rig) -> None:
    g, verts, _ = pose(mouth, rig, jawOpen=1.0, jawLeft=0.5, jawForward=0.5)
    upper = tooth_mask(mouth, UPPER) | ((mouth.material == M.GUM) & (mouth.jaw == 0))
    assert torch.allclose(verts[0, upper], g.vertices[upper], atol=1e-6)


def test_lower_teeth_rotate_down_with_jaw_open(mouth, rig) -> None:
    g, verts, deformed = pose(mouth, rig, jawOpen=1.0)
    lower = tooth_mask(mouth, LOWER)
    d = verts[0, lower] - g.vertices[lower]
    assert float(d[:, 1].mean()) < -0.2  # ≈ 0.4 IPD (25 mm) at the incisors
    # a rotation about the x axis (opening ≈ 13° × the face's mouth gain), not a translation
    r, _ = M.estimate_jaw_motion(rig.identity, deformed)
    angle = math.degrees(math.atan2(float(r[0, 2, 1]), float(r[0, 1, 1])))
    assert 9.0 < angle < 17.0, angle
    incisors = tooth_mask(mouth, [10, 15])
    premolars = tooth_mask(mouth, [14, 19])
    drop_front = -(verts[0, incisors, 1] - g.vertices[incisors, 1]).mean()
    drop_back = -(verts[0, premolars, 1] - g.vertices[premolars, 1]).mean()
    assert drop_front > drop_back > 0  # farther from the temporomandibular joint, larger arc
    # the lower teeth follow the chin exactly (the chin landmarks move rigidly under jawOpen)
    chin = torch.tensor([149, 150, 176, 378, 379, 400])
    rr, tt = M.estimate_jaw_motion(rig.identity, deformed)
    pred = rig.identity[chin] @ rr[0].T + tt[0]
    assert torch.allclose(pred, deformed[0, chin], atol=6e-3)  # < 0.4 mm (per-photo calibrations blur it a little)


def test_jaw_sideways_and_forward(mouth, rig) -> None:
    lower = tooth_mask(mouth, LOWER)
    g, left, _ = pose(mouth, rig, jawLeft=1.0)
    assert float((left[0, lower, 0] - g.vertices[lower, 0]).mean()) > 0.05  # subject's left = +x
    _, right, _ = pose(mouth, rig, jawRight=1.0)
    assert float((right[0, lower, 0] - g.vertices[lower, 0]).mean()) < -0.05
    _, fwd, _ = pose(mouth, rig, jawForward=1.0)
    assert float((fwd[0, lower, 2] - g.vertices[lower, 2]).mean()) > 0.05


def test_non_jaw_shapes_leave_the_jaw_alone(mouth, rig) -> None:
    lower = tooth_mask(mouth, LOWER)
    for name in ("mouthSmileLeft", "mouthFunnel", "mouthPucker", "mouthClose", "mouthRollLower", "cheekPuff"):
        g, verts, _ = pose(mouth, rig, **{name: 1.0})
        assert float((verts[0, lower] - g.vertices[lower]).norm(dim=-1).max()) < 0.01, name


def test_tongue_out_moves_the_tip_forward(mouth, rig) -> None:
    tongue = mouth.material == M.TONGUE
    g, rest, _ = pose(mouth, rig, jawOpen=0.5)
    _, out, _ = pose(mouth, rig, jawOpen=0.5, tongueOut=1.0)
    tip = torch.nonzero(tongue)[torch.argmax(rest[0, tongue, 2])].item()
    assert float(out[0, tip, 2] - rest[0, tip, 2]) > 0.3  # ≈ 26 mm
    lower = tooth_mask(mouth, LOWER)
    assert float(out[0, tip, 2]) > float(out[0, lower, 2].max())  # past the lower incisors
    assert float(out[0, tip, 1]) > float(rest[0, tip, 1])  # lifted over them
    back = tongue & (mouth.height > 0.95)
    assert float((out[0, back] - rest[0, back]).norm(dim=-1).max()) < 0.02  # the root stays


def test_batch_equals_single(mouth, rig) -> None:
    g = mouth.fit(rig.identity)
    w = torch.zeros(3, 52)
    w[0, ARKIT_INDEX["jawOpen"]] = 0.7
    w[1, ARKIT_INDEX["jawLeft"]] = 0.6
    w[2, ARKIT_INDEX["tongueOut"]] = 1.0
    deformed = rig.deform(w)
    batch = mouth.pose(g, rig.identity, deformed, w[:, ARKIT_INDEX["tongueOut"]])
    for i in range(3):
        one = mouth.pose(g, rig.identity, deformed[i : i + 1], w[i : i + 1, ARKIT_INDEX["tongueOut"]])
        assert torch.allclose(batch[i], one[0], atol=1e-5)


def test_rim_follows_the_inner_lips(mouth, rig) -> None:
    g, verts, deformed = pose(mouth, rig, jawOpen=0.8, mouthSmileLeft=0.5)
    rim = verts[0, mouth.rim]
    lips = deformed[0, list(M.INNER_LIP_LOOP)]
    assert float((rim - lips).norm(dim=-1).max()) < 0.06


# ------------------------------------------------------------------------------------------------- fitting
def _canine_width(mouth: M.MouthInterior, g: M.MouthGeometry) -> float:
    v = g.vertices
    a, b = v[mouth.tooth == 2], v[mouth.tooth == 7]
    return float(b[:, 0].mean() - a[:, 0].mean())


def test_fit_mouth_width_scales_with_the_face(mouth, template) -> None:
    base = mouth.fit(template)
    assert torch.allclose(base.scale, torch.ones(3))
    wide, narrow = template.clone(), template.clone()
    cx = float(template[[61, 291], 0].mean())
    wide[:, 0] = cx + (template[:, 0] - cx) * 1.2
    narrow[:, 0] = cx + (template[:, 0] - cx) * 0.85
    w0, w1, w2 = (
        _canine_width(mouth, base),
        _canine_width(mouth, mouth.fit(wide)),
        _canine_width(mouth, mouth.fit(narrow)),
    )
    assert w2 < w0 < w1
    assert w1 / w0 == pytest.approx(1.2**0.5, rel=0.02)  # the arch widens with the square root of the mouth


def test_fit_follows_the_lips(mouth, template) -> None:
    moved = template.clone()
    moved[:, 1] -= 0.05
    moved[:, 2] += 0.03
    a, b = mouth.fit(template), mouth.fit(moved)
    assert torch.allclose(b.vertices - a.vertices, torch.tensor([0.0, -0.05, 0.03]).expand_as(a.vertices), atol=1e-5)
    # the upper incisal edge hangs `display` mm below the upper inner lip
    edge = a.vertices[mouth.tooth == 0][:, 1].min()
    assert float(template[13, 1] - edge) * M.IPD_MM == pytest.approx(mouth.display, abs=0.6)


def _assert_teeth_behind_lips(mouth: M.MouthInterior, g: M.MouthGeometry, face: np.ndarray) -> None:
    """Crowns near the lip line lie behind the inner lip line; all of them behind the outer lip surfaces."""
    from emogen.face.blendshapes import face_topology

    groups = face_topology().groups
    v = g.vertices.numpy()
    teeth = (mouth.material == M.TEETH).numpy()
    inside = teeth & (v[:, 0] > face[78, 0]) & (v[:, 0] < face[308, 0])

    def line(ids, c):
        return np.interp(v[:, 0], *_sorted_xy(face[list(ids), 0], face[list(ids), c]))

    z_inner = np.minimum(line(_UPPER_INNER, 2), line(_LOWER_INNER, 2))
    band = 4.0 / M.IPD_MM
    near = (v[:, 1] < line(_UPPER_INNER, 1) + band) & (v[:, 1] > line(_LOWER_INNER, 1) - band)
    assert (inside & near).sum() > 100
    excess = v[inside & near, 2] - z_inner[inside & near]
    assert bool(np.all(excess < 0)), float(excess.max())
    outer = np.minimum(line(groups.lips_outer_upper, 2), line(groups.lips_outer_lower, 2))
    excess = v[inside, 2] - outer[inside]
    assert bool(np.all(excess < 0)), float(excess.max())
    # and not far behind: the central incisors are 1-6 mm behind the inner lip
    central = v[(mouth.tooth == 0).numpy() | (mouth.tooth == 5).numpy()]
    gap = (min(face[13, 2], face[14, 2]) - central[:, 2].max()) * M.IPD_MM
    assert 0.5 < gap < 6.0, gap


def test_interior_behind_the_lips_at_rest(mouth, template, rig) -> None:
    _assert_teeth_behind_lips(mouth, mouth.fit(template), template.numpy())
    _assert_teeth_behind_lips(mouth, mouth.fit(rig.identity), rig.identity.numpy())


# ------------------------------------------------------------------------------------------------- rendering
def test_vertex_attributes(mouth, rig) -> None:
    g, verts, deformed = pose(mouth, rig, jawOpen=0.6)
    attrs = mouth.vertex_attributes(g, verts, deformed)
    assert attrs.shape == (1, mouth.num_vertices, M.NUM_ATTRIBUTES)
    assert torch.equal(attrs[0, :, M.ATTR_MATERIAL].long(), mouth.material)
    n = attrs[0, :, M.ATTR_NORMAL]
    assert torch.allclose(n.norm(dim=-1), torch.ones(mouth.num_vertices), atol=1e-4)
    for ch in (M.ATTR_AO, M.ATTR_EDGE, M.ATTR_APERTURE):
        assert float(attrs[..., ch].min()) >= 0.0 and float(attrs[..., ch].max()) <= 1.0
    # incisors face the camera, the back of the throat is deepest
    for k in (0, 5):
        labial = torch.nonzero(mouth.tooth == k)[torch.argmax(verts[0, mouth.tooth == k, 2])].item()
        assert float(n[labial, 2]) > 0.7
    assert float(attrs[0, :, M.ATTR_AO].max()) == pytest.approx(1.0)
    assert float(attrs[0, mouth.material == M.CAVITY, M.ATTR_AO].max()) > 0.9
    assert float(attrs[0, mouth.rim, M.ATTR_AO].max()) == 0.0


def test_shade_mouth_range() -> None:
    torch.manual_seed(0)
    a = torch.rand(4, 16, 16, M.NUM_ATTRIBUTES)
    a[..., M.ATTR_MATERIAL] = torch.randint(0, 4, (4, 16, 16)).float()
    a[..., M.ATTR_NORMAL] = torch.randn(4, 16, 16, 3)
    rgb = M.shade_mouth(a, teeth_color=(0.9, 0.88, 0.8))
    assert rgb.shape == (4, 16, 16, 3) and float(rgb.min()) >= 0.0 and float(rgb.max()) <= 1.0
    # teeth are brighter than the cavity under the same conditions
    b = torch.zeros(2, M.NUM_ATTRIBUTES)
    b[:, M.ATTR_NORMAL] = torch.tensor([0.0, 0.0, 1.0])
    b[:, M.ATTR_HEIGHT] = 0.5
    b[:, M.ATTR_LIP] = 0.2
    b[:, M.ATTR_APERTURE] = 1.0
    b[0, M.ATTR_AO], b[1, M.ATTR_AO] = 0.1, 0.8  # front teeth, the cavity deeper in
    b[0, M.ATTR_MATERIAL] = M.TEETH
    c = M.shade_mouth(b)
    assert float(c[0].mean()) > 3 * float(c[1].mean())
    # the cavity is wet red mucosa at the opening and darker deeper in
    rim, deep = b[1:].clone(), b[1:].clone()
    rim[:, M.ATTR_AO], deep[:, M.ATTR_AO] = 0.0, 0.8
    r, d = M.shade_mouth(rim)[0], M.shade_mouth(deep)[0]
    assert r[0] > 1.5 * r[2] and float(d.mean()) < 0.6 * float(r.mean())
    white = M.lab_to_srgb(torch.tensor([100.0, 0.0, 0.0]))
    assert torch.allclose(white, torch.ones(3), atol=2e-3)


def test_render_smoke(mouth, rig) -> None:
    """Rasterise the posed interior with emogen's TorchRasterizer: it fills the lip opening and shows teeth."""
    from emogen.render.raster import TorchRasterizer

    w = torch.zeros(2, 52)
    w[:, ARKIT_INDEX["jawOpen"]] = torch.tensor([0.8, 0.5])
    w[1, ARKIT_INDEX["tongueOut"]] = 1.0
    g = mouth.fit(rig.identity)
    deformed = rig.deform(w)
    verts, attrs = mouth(g, rig.identity, deformed, w[:, ARKIT_INDEX["tongueOut"]])
    px = rig.project(verts)
    face_px = rig.project(deformed)
    lips = face_px[:, list(M.INNER_LIP_LOOP), :2]
    lo = lips.reshape(-1, 2).amin(0).floor() - 8
    size = int((lips.reshape(-1, 2).amax(0).ceil() + 8 - lo).max())
    shift = torch.cat([lo, torch.zeros(1)])
    frags = TorchRasterizer()(px - shift, mouth.faces, attrs, size, size)
    rgb = M.shade_mouth(frags.attributes)
    assert rgb.shape == (2, size, size, 3) and float(rgb.min()) >= 0 and float(rgb.max()) <= 1
    # every pixel inside the inner-lip polygon is covered by the interior
    from matplotlib.path import Path as MplPath

    ys, xs = np.mgrid[0:size, 0:size]
    centres = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], -1)
    for i in range(2):
        inside = MplPath((lips[i] - lo).numpy()).contains_points(centres).reshape(size, size)
        assert inside.sum() > 100
        assert frags.mask[i].numpy()[inside].mean() > 0.995
        mats = frags.attributes[i, ..., M.ATTR_MATERIAL].round().numpy()[inside]
        assert (mats == M.TEETH).mean() > 0.01  # the upper incisors show below the lip
        assert (mats == M.TONGUE).mean() > 0.05
