"""Once-per-photo texture layers of the portrait animator, computed from the photo and its landmarks.

* :func:`fill_mouth` — the photo with its mouth interior inpainted with lip colour (inner-lip landmarks are ~1 px
  off, so closed lips would otherwise show teeth);
* :func:`eyeball_layer` — each eye opening extended outwards with the white of the eye (:func:`sclera_colour`) and
  the whole iris, without the band under the upper lid (its shadow and lashes move with the lid), so a raised lid
  or an iris moved by gaze uncovers an eyeball;
* :func:`relax_delta` — a "relaxed" skin layer (smile creases lightened) blended in by how much of the photo's smile
  the motion takes away;
* :func:`teeth_colour` — the colour to draw synthetic teeth with;
* :func:`lip_colour`, :func:`mouth_exposure` — the lips' colour and how brightly the photo lights the mouth, for
  the synthetic interior.

All work at the photo's resolution or the (smaller) working resolution the canvas chooses; landmarks are in the
same pixel coordinates.
"""

from __future__ import annotations

import numpy as np
import torch

from ...face.blendshapes import face_topology
from ...utils import srgb_to_linear

__all__ = [
    "LIP_REFERENCE_LUMINANCE",
    "eyeball_layer",
    "fill_mouth",
    "lip_colour",
    "mouth_exposure",
    "poly_mask",
    "relax_delta",
    "sclera_colour",
    "teeth_colour",
]

#: Relative luminance (linear) of lips under the interior shader's unit light: CIELAB L* ≈ 52, the mean lip
#: lightness of adults in colorimetric studies (lips L* 48-56), whose Y = ((L* + 16) / 116)³ ≈ 0.20.
LIP_REFERENCE_LUMINANCE = 0.20


def poly_mask(shape: tuple[int, int], poly: np.ndarray, dilate: float = 0.0) -> np.ndarray:
    import cv2

    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(poly * 4).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=2)
    r = int(round(dilate))
    if r > 0:
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    elif r < 0:
        mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (-2 * r + 1, -2 * r + 1)))
    return mask


def fill_mouth(win: np.ndarray, pts: np.ndarray, ipd_px: float) -> np.ndarray:
    """Inpaint the photo's mouth interior (teeth, cavity) with the surrounding lip colour."""
    import cv2

    g = face_topology().groups
    loop = np.concatenate([pts[list(g.lips_inner_upper)], pts[list(g.lips_inner_lower)][::-1]])
    mask = poly_mask(win.shape[:2], loop, dilate=max(1.0, 0.03 * ipd_px))
    return cv2.inpaint(win, (mask > 0).astype(np.uint8), max(2.0, 0.06 * ipd_px), cv2.INPAINT_TELEA)


#: Width (IPD) of the band under the upper lid's margin that holds the lid's shadow and the lashes in a photo.
UPPER_LID_BAND = 0.03
#: The white of the eye, lit like the skin beside it, is at least this much brighter than that skin (white tissue
#: against skin of any tone), and near-neutral: at most this much of its own tint is kept (the largest channel's
#: departure from the mean, relative to the mean).
SCLERA_OVER_SKIN = 1.2
SCLERA_TINT = 0.12
#: Brightness of the white of the eye three iris radii from the pupil relative to beside the iris (the eyeball curves
#: away towards the corners): measured on the photos at hand, the sclera 2.3-3.2 radii out is 0.79 (0.72-0.91, 13
#: eyes) as bright as 1.15-1.7 radii out.
SCLERA_FALLOFF = 0.75


def sclera_colour(sclera_px: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """The colour a raised lid uncovers: the brightest quarter of the photo's visible white of the eye (``(n, 3)``,
    outside the iris; the part a raised lid uncovers is lit, not in the lid's shadow), at least
    :data:`SCLERA_OVER_SKIN` times as bright as the ``skin`` beside the eye and no more tinted than
    :data:`SCLERA_TINT`. Taken as the brightest pixels alone, the few shadowed pixels between a photo's lids gave
    the skin's own colour on most faces, and a raised lid (AU5) uncovered skin instead of an eye."""
    skin = np.asarray(skin, np.float32)
    if len(sclera_px) >= 4:
        lum = sclera_px.mean(-1)
        est = np.median(sclera_px[lum >= np.quantile(lum, 0.75)], 0).astype(np.float32)
    else:
        est = skin
    mean = max(float(est.mean()), 1.0)
    level = min(max(mean, SCLERA_OVER_SKIN * float(skin.mean())), 245.0)
    tint = (est - mean) / mean
    tint *= min(1.0, SCLERA_TINT / max(float(np.abs(tint).max()), 1e-6))
    return np.clip(level * (1.0 + tint), 0.0, 255.0)


def eyeball_layer(win: np.ndarray, pts: np.ndarray, ipd_px: float) -> np.ndarray:
    """The eyeballs, for lids that open wider than in the photo (AU5) or irises moved by gaze: each eye opening as
    photographed, completed where the lids hid it — the iris as a whole disc (its colour from its visible part,
    the pupil and the darker limbal ring drawn in) and white of the eye around it (:func:`sclera_colour`)."""
    import cv2

    g = face_topology().groups
    out = win.astype(np.float32)
    yy, xx = np.mgrid[0 : win.shape[0], 0 : win.shape[1]].astype(np.float32)
    # MediaPipe's iris landmarks: the centre, then four points on the limbus (473… the subject's left eye, 468… right)
    for up, lo, centre in ((g.left_eye_upper, g.left_eye_lower, 473), (g.right_eye_upper, g.right_eye_lower, 468)):
        loop = np.concatenate([pts[list(up)], pts[list(lo)][::-1]])
        known = poly_mask(win.shape[:2], loop, dilate=-max(1.0, 0.015 * ipd_px)) > 128
        # the band under the upper lid holds the lid's own shadow and the lashes: it moves with the lid, it is not
        # the eyeball's (the shader draws the lid's shadow wherever the lid is)
        lid = np.zeros(win.shape[:2], np.uint8)
        cv2.polylines(
            lid,
            [np.round(pts[list(up)] * 4).astype(np.int32)],
            False,
            1,
            max(1, int(round(2 * UPPER_LID_BAND * ipd_px))),
            shift=2,
        )
        known &= lid == 0
        if known.sum() < 4:
            continue
        c = pts[centre]
        radius = float(np.linalg.norm(pts[centre + 1 : centre + 5] - c, axis=-1).mean())
        d = np.hypot(xx - c[0], yy - c[1]) / max(radius, 1e-3)
        # the skin beside the eye, in the socket's light: the lower lid just below its margin
        below = pts[list(lo)].mean(0) + np.array([0.0, 0.1 * ipd_px])
        lid_skin = np.hypot(xx - below[0], yy - below[1]) < max(2.0, 0.05 * ipd_px)
        skin = np.median(win[lid_skin if lid_skin.any() else known].astype(np.float32), 0)
        sclera = sclera_colour(win[known & (d > 1.15)].astype(np.float32), skin)
        region = poly_mask(win.shape[:2], loop, dilate=max(3.0, 0.25 * ipd_px)) > 0
        # the opening's margin (lashes, the lid's edge) is continued from inside the opening, so lids as open as
        # the photo's keep the photo's eye; further out, where a raised lid uncovers it, the white of the eye
        opening = poly_mask(win.shape[:2], loop) > 128
        inpainted = cv2.inpaint(win, (region & ~known).astype(np.uint8), max(2.0, 0.03 * ipd_px), cv2.INPAINT_TELEA)
        outside = cv2.distanceTransform((~opening).astype(np.uint8), cv2.DIST_L2, 3)
        w = np.clip(outside / max(1.0, 0.04 * ipd_px), 0.0, 1.0)[..., None]
        # the eyeball curves away towards the corners: its white darkens with the distance from the iris
        curve = 1.0 - (1.0 - SCLERA_FALLOFF) * np.clip((d - 1.2) / 1.8, 0.0, 1.0)[..., None]
        fill = (1.0 - w) * inpainted.astype(np.float32) + w * sclera.astype(np.float32) * curve
        ring = known & (d > 0.45) & (d < 0.85)
        centred = cv2.pointPolygonTest(loop.astype(np.float32), (float(c[0]), float(c[1])), False) >= 0
        if centred and radius > 1.0 and ring.sum() >= 4:  # the iris in the opening, enough of it to take its colour
            iris = np.median(win[ring].astype(np.float32), 0)
            pupil = np.minimum(iris * 0.25, 30.0)
            disc = np.where(
                (d < 0.38)[..., None], pupil, iris * (1.0 - 0.35 * np.clip((d - 0.8) / 0.2, 0, 1))[..., None]
            )
            a_iris = np.clip((1.0 - d) * radius / 0.8 + 0.5, 0.0, 1.0)[..., None]  # ~1 px anti-aliased edge
            fill = a_iris * disc + (1.0 - a_iris) * fill
        alpha = cv2.GaussianBlur(known.astype(np.float32), (0, 0), max(0.6, 0.012 * ipd_px))[..., None]
        blend = alpha * win.astype(np.float32) + (1 - alpha) * fill
        out[region] = blend[region]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def relax_delta(
    photo: np.ndarray, pts: np.ndarray, ipd_px: float, identity: np.ndarray, rest_smile: float, strength: float = 1.0
) -> np.ndarray:
    """Once-per-photo relaxed skin layer (as a delta): smile creases in the cheek area lightened."""
    import cv2

    h, w = photo.shape[:2]
    if strength <= 0 or rest_smile < 0.2:
        return np.zeros((h, w, 3), np.float32)
    ident = identity  # face frame, IPD units
    # A soft crescent around the mouth where smiles fold the skin (nasolabial folds, dimples, cheek bulge),
    # in the face's own (neutral) coordinates: elliptical radius about the mouth centre 0.8-1.5, nostrils out.
    centre = ident[[13, 14, 61, 291]].mean(0)
    rx, ry = 0.55, 0.5
    r = np.hypot((ident[:468, 0] - centre[0]) / rx, (ident[:468, 1] - centre[1]) / ry)
    band = np.clip((r - 0.75) / 0.2, 0, 1) * np.clip((1.7 - r) / 0.25, 0, 1)
    above = ident[:468, 1] - ident[2, 1]  # height above the nose base (landmark 2, subnasale)
    band *= np.clip(1.0 - above / 0.25, 0, 1) * np.clip((np.abs(ident[:468, 0]) - 0.18) / 0.12, 0, 1)
    weights = torch.zeros(1, 478, 1)
    weights[0, :468, 0] = torch.from_numpy(band).float()
    from ..raster import TorchRasterizer

    pos = torch.zeros(1, 478, 3)
    pos[0, :, :2] = torch.from_numpy(pts).float()
    frag = TorchRasterizer()(pos, torch.from_numpy(face_topology().faces), weights, h, w)
    mask = frag.attributes[0, ..., 0].numpy().astype(np.float32)
    mask = cv2.GaussianBlur(mask, (0, 0), max(0.8, 0.03 * ipd_px))
    img = photo.astype(np.float32) / 255
    fine = cv2.GaussianBlur(img, (0, 0), max(0.6, 0.012 * ipd_px))
    coarse = cv2.GaussianBlur(img, (0, 0), max(2.0, 0.15 * ipd_px))
    band = (fine - coarse).mean(-1, keepdims=True)  # luminance band-pass: folds, dimples, their highlights
    # creases (darker than their surroundings) take the colour of the skin around them — luminance *and*
    # chroma, since skin in shadow is also more saturated; mid-scale highlights are flattened by 60 %
    crease = np.clip(-band / 0.03, 0.0, 1.0)
    delta = (coarse - img) * crease - 0.6 * np.maximum(band, 0.0)
    return (delta * mask[..., None] * strength).astype(np.float32)


def teeth_colour(win: np.ndarray, pts: np.ndarray) -> np.ndarray:
    g = face_topology().groups
    loop = np.concatenate([pts[list(g.lips_inner_upper)], pts[list(g.lips_inner_lower)][::-1]])
    mask = poly_mask(win.shape[:2], loop) > 128
    default = np.array([0.92, 0.88, 0.80])
    if mask.sum() < 12:
        return default
    px = win[mask].astype(np.float32) / 255
    lum = px.mean(-1)
    bright = px[lum >= np.quantile(lum, 0.7)]
    if bright.mean() < 0.45:  # open mouth but no teeth visible
        return default
    col = np.median(bright, 0)
    col = 0.5 * col + 0.5 * col.mean()  # desaturate
    col = 0.4 * col * (0.86 / max(col.mean(), 1e-3)) + 0.6 * default  # bright, warm white
    return np.clip(col, 0.55, 0.92)


def lip_colour(win: np.ndarray, pts: np.ndarray) -> np.ndarray | None:
    """The median sRGB colour in [0, 1] of the photo's lips (between the outer and inner lip lines), ``None`` when
    they cover too few pixels to measure."""
    g = face_topology().groups
    outer = np.concatenate([pts[list(g.lips_outer_upper)], pts[list(g.lips_outer_lower)][::-1]])
    inner = np.concatenate([pts[list(g.lips_inner_upper)], pts[list(g.lips_inner_lower)][::-1]])
    mask = (poly_mask(win.shape[:2], outer) > 128) & ~(poly_mask(win.shape[:2], inner, dilate=1) > 0)
    if mask.sum() < 12:
        return None
    return np.median(win[mask].astype(np.float64) / 255, axis=0)


def mouth_exposure(lips: np.ndarray | None, limits: tuple[float, float] = (0.25, 2.5)) -> float:
    """Gain for the synthetic mouth interior so that it is lit like the photo: the relative luminance (linear sRGB)
    of the photo's lip colour (:func:`lip_colour`) over :data:`LIP_REFERENCE_LUMINANCE`. A dim photo gets a dim
    mouth and a bright one a bright mouth, instead of one absolute brightness for every photo. Clipped to
    ``limits``; 1 without a lip colour."""
    if lips is None:
        return 1.0
    y = float(srgb_to_linear(lips) @ np.array([0.2126, 0.7152, 0.0722]))
    return float(np.clip(y / LIP_REFERENCE_LUMINANCE, *limits))
