"""Tests of the expression appearance layers (run with the emogen venv: ``python -m pytest tests``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emogen.render.portrait import appearance as W
from emogen.render.portrait.appearance.analysis import _seed_from_photo

SHARED = Path("/work/shared/data/faces")


def _track(photo: np.ndarray):
    from emogen.face.rig import FaceRig
    from emogen.face.tracking import FaceTracker

    with FaceTracker() as t:
        face = t.track(photo)
    rig = FaceRig.from_tracking(face)
    return face.landmarks.numpy()[:, :2].astype(np.float64), float(rig.scale), rig.identity.numpy().astype(np.float64)


@pytest.fixture(scope="module")
def astro():
    import skimage.data

    photo = skimage.data.astronaut()
    pts, ipd, ident = _track(photo)
    return photo, pts, ipd, ident


@pytest.fixture(scope="module")
def astro_layers(astro):
    photo, pts, ipd, ident = astro
    return W.expression_layers(photo, pts, ipd, ident)


def test_shapes_and_dtypes(astro, astro_layers):
    photo = astro[0]
    H, W_ = photo.shape[:2]
    for name in W.LAYER_NAMES:
        a = astro_layers.layer(name)
        assert a.shape == (H, W_) and a.dtype == np.float32, name
        assert np.isfinite(a).all(), name
    for name in ("flush", "pallor"):
        a = astro_layers.layer(name)
        assert a.shape == (H, W_, 3) and a.dtype == np.float32
    assert astro_layers.left.shape == (H, W_) and 0 <= astro_layers.left.min() and astro_layers.left.max() <= 1
    assert astro_layers.skin.min() >= 0 and astro_layers.skin.max() <= 1


def test_working_resolution_output(astro):
    photo, pts, ipd, ident = astro
    big = np.repeat(np.repeat(photo, 2, 0), 2, 1)  # IPD ~86 px
    lay = W.expression_layers(big, pts * 2 + 0.5, ipd * 2, ident, work_ipd=48, full_resolution=False)
    assert lay.work_scale == pytest.approx(48 / (2 * ipd), rel=0.02)
    assert abs(lay.glabella.shape[0] - big.shape[0] * lay.work_scale) <= 2


def test_deterministic_and_photo_seeded(astro, astro_layers):
    photo, pts, ipd, ident = astro
    again = W.expression_layers(photo, pts, ipd, ident)
    assert again.seed == astro_layers.seed
    for name in W.LAYER_NAMES + ("flush", "pallor"):
        np.testing.assert_array_equal(again.layer(name), astro_layers.layer(name))
    # another photo (mirrored) draws other procedural lines
    flipped = np.ascontiguousarray(photo[:, ::-1])
    assert _seed_from_photo(flipped.mean(-1) / 255.0) != _seed_from_photo(photo.mean(-1) / 255.0)


def test_signed_range(astro_layers):
    for name in W.LAYER_NAMES:
        s = astro_layers.layer(name)
        assert s.min() < -0.01, f"{name}: no crease shadow"
        assert s.max() > 0.0, f"{name}: no ridge highlight"
        assert s.min() >= -0.56 and s.max() <= 0.26, name
    fl = astro_layers.flush
    skin = astro_layers.skin > 0.8
    assert fl[..., 0][skin].mean() > fl[..., 1][skin].mean() + 0.02  # redder: R/G ratio up
    pa = astro_layers.pallor
    lum_gain = pa[skin] @ np.array([0.2126, 0.7152, 0.0722])
    assert lum_gain.mean() > 0  # lighter
    assert pa[..., 0][skin].mean() < pa[..., 1][skin].mean()  # less red


def test_layers_zero_outside_their_regions(astro, astro_layers):
    photo, pts, ipd, _ = astro
    H, W_ = photo.shape[:2]
    yy, xx = np.mgrid[0:H, 0:W_]
    # face-aligned height above the eye line, in IPD (the astronaut is upright)
    eye_y = pts[[468, 473], 1].mean()
    mouth_y = pts[[61, 291], 1].mean()
    nose_y = pts[1, 1]
    lo, hi = pts[:468].min(0) - 0.8 * ipd, pts[:468].max(0) + 0.8 * ipd
    outside = (xx < lo[0]) | (xx > hi[0]) | (yy < lo[1]) | (yy > hi[1])
    lay = astro_layers
    for name in W.LAYER_NAMES + ("flush", "pallor"):
        assert np.abs(lay.layer(name)[outside]).max() == 0, name
    assert np.abs(lay.glabella[yy > nose_y]).max() == 0
    assert np.abs(lay.forehead_au1[yy > eye_y]).max() == 0
    assert np.abs(lay.forehead_au2[yy > eye_y]).max() == 0
    assert np.abs(lay.chin[yy < nose_y]).max() == 0
    assert np.abs(lay.nasolabial[yy < eye_y]).max() == 0
    assert np.abs(lay.crows_feet[yy > mouth_y]).max() == 0
    assert np.abs(lay.nose[yy > mouth_y]).max() == 0
    # nothing on the eyes, lips or brows (the skin mask)
    assert np.abs(lay.nasolabial[np.round(pts[13, 1]).astype(int), np.round(pts[13, 0]).astype(int)]) < 1e-3
    # AU1 concentrates in the middle of the forehead, AU2 laterally
    mid_x = pts[168, 0]
    central = np.abs(xx - mid_x) < 0.2 * ipd
    lateral = np.abs(xx - mid_x) > 0.5 * ipd
    assert np.abs(lay.forehead_au1[central]).sum() > 3 * np.abs(lay.forehead_au1[lateral]).sum()
    assert np.abs(lay.forehead_au2[lateral]).sum() > 3 * np.abs(lay.forehead_au2[central]).sum()


def test_dark_skin_scales_proportionally(astro, astro_layers):
    """A darker rendition of the same face gets the same *relative* shading: creases proportionally dark."""
    photo, pts, ipd, ident = astro
    dark = (photo.astype(np.float32) * 0.35).astype(np.uint8)
    # (the default seed hashes the photo's thumbnail; pin it so both renditions draw the same procedural lines)
    dl = W.expression_layers(dark, pts, ipd, ident, seed=astro_layers.seed)
    for name in ("glabella", "forehead_au1", "nasolabial", "crows_feet"):
        a, b = astro_layers.layer(name).ravel(), dl.layer(name).ravel()
        m = (np.abs(a) > 1e-3) | (np.abs(b) > 1e-3)
        corr = np.corrcoef(a[m], b[m])[0, 1]
        assert corr > 0.85, (name, corr)
        assert 0.7 < np.abs(b[m]).mean() / np.abs(a[m]).mean() < 1.4, name
    # absolute darkening therefore scales with the skin's luminance (never a grey, additive stroke)
    w = {"glabella": 1.0}
    d_light = W.apply_layers(photo, astro_layers, w).astype(float) - photo
    d_dark = W.apply_layers(dark, dl, w).astype(float) - dark
    sel = astro_layers.glabella < -0.05
    ratio = d_dark[sel].mean() / d_light[sel].mean()
    assert 0.2 < ratio < 0.5, ratio


def test_fit_light_on_lit_sphere():
    """A Lambertian sphere lit from known directions: the fitted image-plane direction matches."""
    g = np.linspace(-1, 1, 61)
    x, y = np.meshgrid(g, g)
    inside = x * x + y * y < 0.95
    n = np.stack([x[inside], y[inside], np.sqrt(1 - x[inside] ** 2 - y[inside] ** 2)], 1)  # camera frame, y up
    for az in (0, 40, 135, 200, 290):
        L = np.array([np.cos(np.deg2rad(az)) * 0.6, np.sin(np.deg2rad(az)) * 0.6, 0.8])
        lum = 0.15 + np.clip(n @ L, 0, None)
        light = W.fit_light(lum, n)
        want = np.array([L[0], -L[1]]) / np.linalg.norm(L[:2])  # image y is down
        ang = np.degrees(np.arccos(np.clip(light.direction @ want, -1, 1)))
        assert ang < 8, (az, ang)
        assert 0.3 < light.strength <= 1.0
    # frontal light: weak tangential strength
    lum = 0.15 + np.clip(n @ np.array([0, 0, 1.0]), 0, None)
    assert W.fit_light(lum, n).strength < 0.1


def test_light_from_face_on_synthetic_gradients(astro):
    """Grey 'face' photos lit by an image-space gradient: the estimate points up the gradient."""
    photo, pts, ipd, ident = astro
    H, W_ = photo.shape[:2]
    yy, xx = np.mgrid[0:H, 0:W_].astype(np.float32)
    c = pts[:468].mean(0)
    for grad, want in (((1, 0), (1, 0)), ((-1, 0), (-1, 0)), ((0, -1), (0, -1))):
        lum = 0.5 + 0.35 * ((xx - c[0]) * grad[0] + (yy - c[1]) * grad[1]) / (1.5 * ipd)
        img = (np.clip(lum, 0.05, 1)[..., None] * np.array([230, 180, 150])).astype(np.uint8)
        light = W.estimate_light(img, pts, ident)
        assert light.direction @ np.array(want, float) > 0.8, (grad, light.direction)


def test_light_direction_on_shaded_face(astro):
    """The astronaut's own face re-lit: multiplying by a left-to-right ramp turns the estimate towards the right."""
    photo, pts, ipd, ident = astro
    base = W.estimate_light(photo, pts, ident)
    H, W_ = photo.shape[:2]
    xx = np.mgrid[0:H, 0:W_][1].astype(np.float32)
    ramp = np.clip(0.4 + 0.6 * (xx - pts[:468, 0].min()) / np.ptp(pts[:468, 0]), 0.2, 1.2)
    relit = np.clip(photo * ramp[..., None], 0, 255).astype(np.uint8)
    right = W.estimate_light(relit, pts, ident)
    assert right.direction[0] > base.direction[0] + 0.3


def test_apply_layers_weights_and_sides(astro, astro_layers):
    photo = astro[0]
    assert np.array_equal(W.apply_layers(photo, astro_layers, {"glabella": 0.0}), photo)
    out = W.apply_layers(photo, astro_layers, {"crows_feet": (0.0, 1.0)})  # subject's left only
    diff = np.abs(out.astype(int) - photo).sum(-1)
    mid = int(round(astro[1][168, 0]))
    assert diff[:, :mid].sum() < 0.05 * diff[:, mid:].sum()  # frontal: the subject's left is the image right
    w = W.layer_weights(
        {"browDownLeft": 0.8, "browDownRight": 0.6, "browInnerUp": 0.5, "mouthSmileLeft": 0.9},
        rest={"mouthSmileLeft": 0.7},
    )
    assert w["glabella"] == pytest.approx((0.6, 0.8))
    assert w["forehead_au1"] == pytest.approx((0.5, 0.5))
    assert w["nasolabial"][1] == pytest.approx(0.8 * 0.2, abs=1e-6)


@pytest.mark.skipif(not (SHARED / "pyfeat_45-m7-di-ph.png").exists(), reason="shared development faces absent")
def test_turned_face_foreshortens_the_far_side():
    from PIL import Image

    photo = np.asarray(Image.open(SHARED / "pyfeat_45-m7-di-ph.png").convert("RGB"))
    pts, ipd, ident = _track(photo)
    lay = W.expression_layers(photo, pts, ipd, ident)
    # the subject's right and left halves: compare the image extent of the crow's feet on each side
    side = lay.left > 0.5
    ext = []
    for m in (~side, side):
        ys, xs = np.nonzero((np.abs(lay.crows_feet) > 0.01) & m)
        ext.append(np.ptp(xs) if len(xs) else 0)
    near, far = max(ext), min(ext)
    assert far < 0.8 * near


def test_glasses_keep_their_frame_when_brows_rise(astro):
    """A spectacle frame's rim can lie between the lid and the brow; it must not be painted over with skin. A
    frame's bridge across the nose (drawn into the astronaut, and Grace Hopper's own glasses) turns the eye-cover
    layer off."""
    import matplotlib.cbook
    from PIL import Image

    photo, pts, ipd, ident = astro
    bare = W.expression_layers(photo, pts, ipd, ident)
    framed = photo.copy()
    y = int(round(0.5 * (pts[168, 1] + pts[6, 1])))
    x0, x1 = int(pts[133, 0]), int(pts[362, 0])  # the inner eye corners
    framed[y - 1 : y + 2, x0:x1] = 30
    glasses = W.expression_layers(framed, pts, ipd, ident)
    assert (bare.cover_inner + bare.cover_outer).max() > 0.3
    assert (glasses.cover_inner + glasses.cover_outer).max() == 0.0
    hopper = np.asarray(Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")).convert("RGB"))
    h_pts, h_ipd, h_ident = _track(hopper)
    lay = W.expression_layers(hopper, h_pts, h_ipd, h_ident)
    assert (lay.cover_inner + lay.cover_outer).max() == 0.0


def test_brow_raise_unfolds_the_eye_cover_as_skin(astro):
    """AU1+2 stretch the fold between the upper lid and the brow, which a photo shows as a few pixels of shadow and
    brow hair; the eye-cover layer gives that band the colour of the person's skin (so the warp does not stretch it
    into a dark band that reads as a thick, low brow), and leaves the lashes, the eyes and skin that is already lit
    alone."""
    photo, pts, ipd, ident = astro
    photo, pts, ipd = np.repeat(np.repeat(photo, 2, 0), 2, 1), pts * 2 + 0.5, ipd * 2  # IPD ≈ 86 px
    shaded = photo.copy()
    band = np.zeros(photo.shape[:2], bool)
    for lid, brow in ((159, 52), (386, 282)):  # upper-lid middle, brow lower edge (subject's right, left)
        x, y0, y1 = pts[lid, 0], pts[brow, 1], pts[lid, 1]
        band[int(y0 + 0.2 * (y1 - y0)) : int(y1 - 0.4 * (y1 - y0)), int(x - 0.15 * ipd) : int(x + 0.15 * ipd)] = True
    shaded[band] = (shaded[band] * 0.35).astype(np.uint8)
    lay = W.expression_layers(shaded, pts, ipd, ident)
    alpha = lay.cover_inner + lay.cover_outer
    assert alpha[band].mean() > 0.7
    # the colour is the person's skin: the hue of the unshaded photo there and nearly as light (the model: 0.94 of
    # the skin above the brow, as real raised brows read)
    y = np.array([0.299, 0.587, 0.114])
    skin = photo[band].astype(float).mean(0) / 255
    cover = lay.cover[band].mean(0)
    assert np.abs(cover / cover.sum() - skin / skin.sum()).max() < 0.03
    assert 0.55 < float(cover @ y) / float(skin @ y) < 1.05
    # rendered with the brows raised, the band takes that colour; inner brows alone: its medial part
    out = W.apply_layers(shaded, lay, {"cover_inner": 1.0, "cover_outer": 1.0}).astype(float) / 255
    assert float(np.median(out[band] @ y)) > 1.6 * float(np.median(shaded[band] / 255.0 @ y))
    inner = W.apply_layers(shaded, lay, {"cover_inner": 1.0}).astype(float) / 255
    assert 0 < (inner[band] - shaded[band] / 255.0).mean() < (out[band] - shaded[band] / 255.0).mean()
    # nothing on the eyes or the lashes, nothing where the photo's fold is as light as the skin
    eye_y = pts[[468, 473], 1].mean()
    assert alpha[int(eye_y) :].max() < 0.02
    for lid in (159, 386):
        lx, ly = pts[lid]
        assert alpha[int(ly) - 1 : int(ly) + 2, int(lx) - 2 : int(lx) + 3].max() < 0.1
    plain = W.expression_layers(photo, pts, ipd, ident)
    assert (plain.cover_inner + plain.cover_outer)[band].mean() < 0.5 * alpha[band].mean()
