"""The 3D mouth interior inside the portrait warp: where it shows, what it looks like, lips that never cross."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch

from emogen.arkit import ARKIT_INDEX, NUM_BLENDSHAPES
from emogen.face.blendshapes import face_topology
from emogen.face.tracking import FaceTracker
from emogen.motion import MotionTrack
from emogen.render.portrait import PortraitAnimator
from emogen.render.portrait.geometry import uncross_openings, warp_targets
from emogen.render.portrait.mouth import cull_interior, mouth_interior


@pytest.fixture(scope="module")
def animator():
    return PortraitAnimator()


@pytest.fixture(scope="module")
def prepared(animator):
    with FaceTracker() as tracker:
        return animator.prepare(skimage.data.astronaut(), tracker=tracker)


def _motion(**weights: float) -> MotionTrack:
    w = torch.zeros(1, NUM_BLENDSHAPES)
    for name, value in weights.items():
        w[0, ARKIT_INDEX[name]] = value
    return MotionTrack.from_blendshapes(w)


def _loop_masks(animator, prepared, motion: MotionTrack, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Filled outer and inner lip loops of the frame, ``(size, size)`` uint8 each."""
    import cv2

    canvas = animator._canvas(prepared, size)
    _, tgt, _ = warp_targets(prepared.rig, canvas, motion)
    g = face_topology().groups
    x0, y0 = canvas.window[:2]
    masks = []
    for up, lo in ((g.lips_outer_upper, g.lips_outer_lower), (g.lips_inner_upper, g.lips_inner_lower)):
        poly = tgt[0, list(up) + list(lo)[::-1]].numpy() + np.array([x0, y0])
        mask = np.zeros((size, size), np.uint8)
        cv2.fillPoly(mask, [np.round(poly * 4).astype(np.int32)], 1, shift=2)
        masks.append(mask)
    return masks[0], masks[1]


def _opening_mask(animator, prepared, motion: MotionTrack, size: int) -> np.ndarray:
    """Pixels strictly inside the inner lip loop of the frame (eroded by one pixel)."""
    import cv2

    return cv2.erode(_loop_masks(animator, prepared, motion, size)[1], np.ones((3, 3), np.uint8)) > 0


def _lips_mask(animator, prepared, motion: MotionTrack, size: int) -> np.ndarray:
    """Pixels of the lips (between the outer and the inner lip loop) of the frame."""
    import cv2

    outer, inner = _loop_masks(animator, prepared, motion, size)
    return (outer > 0) & ~(cv2.dilate(inner, np.ones((3, 3), np.uint8)) > 0)


def _linear_luminance(rgb: np.ndarray) -> np.ndarray:
    c = rgb / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return lin @ np.array([0.2126, 0.7152, 0.0722])


def _interior_over_lips(animator, prepared, motion: MotionTrack) -> tuple[float, np.ndarray]:
    frame = animator(prepared, motion, size=512, progress=False)[0].astype(float)
    inside = _opening_mask(animator, prepared, motion, 512)
    lips = _lips_mask(animator, prepared, motion, 512)
    y = _linear_luminance(frame)
    return float(np.median(y[inside]) / np.median(y[lips])), frame


def test_open_mouth_shows_a_shaded_cavity_and_upper_teeth(animator, prepared):
    """jawOpen: inside the lips, a red cavity darker than the lips below a band of bright upper teeth (not a flat
    fill, not the photo, not a black hole)."""
    motion = _motion(jawOpen=0.8, mouthUpperUpLeft=0.4, mouthUpperUpRight=0.4)
    ratio, frame = _interior_over_lips(animator, prepared, motion)
    inside = _opening_mask(animator, prepared, motion, 512)
    assert inside.sum() > 150
    lum = frame.mean(-1)
    rows = np.nonzero(inside.any(1))[0]
    top = inside & (np.arange(512)[:, None] < rows[0] + 0.2 * len(rows))
    middle = inside & (np.abs(np.arange(512)[:, None] - rows.mean()) < 0.15 * len(rows))
    # real open mouths (ten photos): median luminance inside the lips 0.05-0.64 of the lips' own, median 0.2
    assert 0.08 < ratio < 0.65, ratio
    assert np.percentile(lum[top], 90) > 150, np.percentile(lum[top], 90)  # teeth hang from the upper lip
    # reddish, not grey: the cavity is tissue
    red = frame[middle]
    assert (red[:, 0] > red[:, 2] * 1.3).mean() > 0.8


def test_the_interior_is_lit_like_the_photo(animator):
    """A photo taken with half the light gets a mouth interior with half the light: the interior's brightness
    relative to the lips does not depend on the photo's exposure (an absolute interior would double its ratio)."""
    photo = skimage.data.astronaut()
    c = photo / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4) * 0.5
    dim = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)
    dim = np.round(dim * 255).astype(np.uint8)
    motion = _motion(jawOpen=0.6)
    ratios = []
    with FaceTracker() as tracker:
        for image in (photo, dim):
            ratios.append(_interior_over_lips(animator, animator.prepare(image, tracker=tracker), motion)[0])
    assert abs(np.log(ratios[1] / ratios[0])) < np.log(1.3), ratios


def test_lower_teeth_follow_the_jaw(prepared):
    mouth = mouth_interior()
    rig = prepared.rig
    geometry = mouth.fit(rig.identity)
    lower = (mouth.material == 1) & (mouth.tooth >= 10)
    upper = (mouth.material == 1) & (mouth.tooth < 10)
    ys = []
    for jaw in (0.0, 0.8):
        deformed = rig.deform(_motion(jawOpen=jaw).blendshapes)
        verts = mouth.pose(geometry, rig.identity, deformed)
        ys.append((verts[0, lower, 1].mean().item(), verts[0, upper, 1].mean().item()))
    assert ys[1][0] < ys[0][0] - 0.1  # lower teeth drop by more than 6 mm
    assert abs(ys[1][1] - ys[0][1]) < 1e-5  # upper teeth stay with the skull


def test_closed_lips_draw_no_interior(animator, prepared):
    canvas = animator._canvas(prepared, 256)
    motion = _motion(jawOpen=0.5)
    pos, tgt, _ = warp_targets(prepared.rig, canvas, motion)
    g = face_topology().groups
    lips = tgt[:, list(g.lips_inner_upper) + list(g.lips_inner_lower)]
    kept = cull_interior(canvas.mouth_faces, pos, lips, torch.tensor([20.0]))
    assert 0 < len(kept) < len(canvas.mouth_faces)  # only what can show through the opening
    assert len(cull_interior(canvas.mouth_faces, pos, lips, torch.tensor([0.0]))) == 0


def test_lips_and_lids_never_cross():
    g = face_topology().groups
    pts = torch.zeros(1, 478, 3)
    up, lo = list(g.lips_inner_upper), list(g.lips_inner_lower)
    xs = torch.linspace(0, 100, len(up))
    pts[0, up, 0] = xs
    pts[0, lo, 0] = xs
    pts[0, up, 1] = 50.0
    pts[0, lo, 1] = 50.0 + torch.tensor([0, 4, 3, -2, -5, -6, -5, -2, 3, 4, 0.0])  # y down: < 0 means crossed
    for eye_up, eye_lo in ((g.left_eye_upper, g.left_eye_lower), (g.right_eye_upper, g.right_eye_lower)):
        xe = torch.linspace(0, 30, len(eye_up))
        pts[0, list(eye_up), 0] = xe
        pts[0, list(eye_lo), 0] = xe
        pts[0, list(eye_up), 1] = 20.0
        pts[0, list(eye_lo), 1] = 26.0
    out = uncross_openings(pts)
    gap = out[0, lo, 1] - out[0, up, 1]
    assert (gap >= -1e-5).all()
    crossed = pts[0, lo, 1] < pts[0, up, 1]
    mid = (pts[0, lo, 1] + pts[0, up, 1]) / 2
    assert torch.allclose(out[0, lo, 1][crossed], mid[crossed]) and torch.allclose(
        out[0, up, 1][crossed], mid[crossed]
    )
    # open parts and the lids (open here) are untouched
    assert torch.equal(out[0, lo][~crossed], pts[0, lo][~crossed])
    assert torch.equal(out[0, list(g.left_eye_lower)], pts[0, list(g.left_eye_lower)])


def test_parted_lips_are_a_dark_slit_without_specks(animator, prepared):
    """Speech-sized openings: the lips' shadow covers the first pixel inside the opening, so a 2-3 px gap reads as a
    clean dark slit, not a row of 1-px teeth and cavity fragments."""
    import cv2

    motion = _motion(jawOpen=0.15)
    frame = animator(prepared, motion, size=512, progress=False)[0].astype(float)
    canvas = animator._canvas(prepared, 512)
    _, tgt, _ = warp_targets(prepared.rig, canvas, motion)
    g = face_topology().groups
    loop = list(g.lips_inner_upper) + list(g.lips_inner_lower)[::-1]
    poly = tgt[0, loop].numpy() + np.array(canvas.window[:2])
    inside = np.zeros((512, 512), np.uint8)
    cv2.fillPoly(inside, [np.round(poly * 4).astype(np.int32)], 1, shift=2)
    px = frame[inside > 0]
    lum, sat = px.mean(-1), (px.max(-1) - px.min(-1)) / np.maximum(px.max(-1), 1)
    assert len(px) > 40
    # measured: median 93 and 7 grey-bright pixels (without the lips' shadow band: 137 and 15)
    assert np.median(lum) < 110 and ((lum > 120) & (sat < 0.25)).sum() <= 10, (np.median(lum), len(px))


def test_a_full_smile_on_a_closed_mouthed_photo_shows_the_upper_teeth(animator):
    """Grace Hopper does not smile in her photo: at full intensity, happy lifts her upper lip off the teeth and parts
    the lips, so the opening shows white crowns, and the landmarker reads the lifted lip (real broad smiles read
    mouthUpperUp ≈ 0.6; the smile without the lift read 0.1, a dark slit)."""
    from controls.expression import ExpressionPrior
    from emogen.arkit import ARKIT_INDEX as INDEX
    from emogen.controls import resolve_emotion
    from emogen.evaluation.grid import sample_identities

    photo = sample_identities()["grace_hopper"]
    with FaceTracker() as tracker:
        prepared = animator.prepare(photo, tracker=tracker)
        track = resolve_emotion("happy:1", duration=1 / 25)
        weights = ExpressionPrior()(track)[0]
        frame = animator.still(prepared, weights, size=512, emotion=track)
        read = tracker.track(frame).blendshapes
    assert float(read[INDEX["mouthUpperUpLeft"]] + read[INDEX["mouthUpperUpRight"]]) / 2 > 0.2
    motion = MotionTrack.from_blendshapes(weights.reshape(1, -1))
    inside = _opening_mask(animator, prepared, motion, 512)[: frame.shape[0], : frame.shape[1]]  # a tall photo
    assert inside.sum() > 30
    teeth = frame[inside].astype(float)
    assert (teeth.min(-1) > 150).mean() > 0.3  # white crowns, not a dark slit


@pytest.mark.parametrize("jaw", [0.5, 0.8])
def test_parted_lips_have_no_dark_outline(animator, prepared, jaw):
    """Once the lips are well apart, the opening's rim is the inner lip (blending the edge pixel only), not the dark
    line of closed lips drawn around it: the pixels along the rim keep most of the lips' luminance (measured 0.78 and
    0.76; with the closed-lip line all around: 0.35 and 0.29, a fifth of them near black)."""
    import cv2

    motion = _motion(jawOpen=jaw)
    frame = animator(prepared, motion, size=512, progress=False)[0].astype(float)
    inner = _loop_masks(animator, prepared, motion, 512)[1]
    rim = (inner > 0) & ~(cv2.erode(inner, np.ones((3, 3), np.uint8)) > 0)
    y = _linear_luminance(frame)
    lips = _lips_mask(animator, prepared, motion, 512)
    assert rim.sum() > 40
    assert np.median(y[rim]) > 0.55 * np.median(y[lips]), np.median(y[rim]) / np.median(y[lips])
    assert (y[rim] < 0.02).mean() < 0.1


def test_an_open_mouthed_photo_that_does_not_smile_smiles_with_the_3d_teeth(animator):
    """A photo whose mouth is open for another reason than a smile (here Grace Hopper rendered with her jaw dropped,
    then taken as the photo): its interior is a dark cavity of its own shape, so happy draws the 3D teeth in the
    smile's opening rather than squeezing the photo's mouth into it (measured: 62 % white crowns; with the photo's
    own interior 2 %, a second, shrunken mouth inside the lips)."""
    from controls.expression import ExpressionPrior
    from emogen.controls import resolve_emotion
    from emogen.evaluation.grid import sample_identities

    with FaceTracker() as tracker:
        hopper = animator.prepare(sample_identities()["grace_hopper"], tracker=tracker)
        photo = animator.still(hopper, _motion(jawOpen=0.8).blendshapes[0], size=512)
        prepared = animator.prepare(photo, tracker=tracker)
    assert prepared.rest_smile < 0.15
    track = resolve_emotion("happy:1", duration=1 / 25)
    weights = ExpressionPrior()(track)[0]
    frame = animator.still(prepared, weights, size=512, emotion=track)
    motion = MotionTrack.from_blendshapes(weights.reshape(1, -1))
    inside = _opening_mask(animator, prepared, motion, 512)[: frame.shape[0], : frame.shape[1]]
    assert inside.sum() > 300
    assert (frame[inside].astype(float).min(-1) > 150).mean() > 0.4
