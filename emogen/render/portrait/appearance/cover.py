"""The eye cover that raised brows unfold (AU1, AU2): skin of the person's own colour where the photo has the fold's
shadow and brow hair."""

from __future__ import annotations

import numpy as np

from .analysis import _BROW_LOWER, _BROW_UPPER, _F32, _blur, _smoothstep
from .creases import _Ctx

#: Luminance of the skin raised brows unfold relative to the skin just above the brow: on the two real posed surprises
#: at hand (two people, four eyes), the band between the upper lid and the brow reads 0.79-1.11 of the skin 0.08-0.3
#: IPD above the brow, median 0.94.
_COVER_LIGHT = 0.94


#: A step in luminance along the nose's midline between the brows and the eyes larger than this (relative to the
#: skin) is a spectacle frame's bridge: bare skin there changes smoothly (at most 0.15 on 23 development photos,
#: most under 0.05); the one photo with glasses at hand steps 0.28.
_GLASSES_STEP = 0.2


def _wears_glasses(ctx: _Ctx, gray: np.ndarray, skin: float) -> bool:
    """Whether a spectacle frame crosses the nose between the eyes (a sharp luminance step along the midline from
    above the nasion to between the inner eye corners, relative to the skin's luminance ``skin``)."""
    fp, fm = ctx.ident, ctx.fm
    y_lo, y_hi = float(fp[6, 1]), float(fp[168, 1])
    top = y_hi + 0.3 * (y_hi - y_lo)
    strip = (np.abs(fm.U) < 0.04) & (fm.V > y_lo) & (fm.V < top) & (fm.valid > 0.5)
    if strip.sum() < 20:
        return False
    edges = np.linspace(y_lo, top, 41)
    idx = np.digitize(fm.V[strip], edges)
    prof = np.array([np.median(gray[strip][idx == k]) for k in range(1, 41) if (idx == k).any()])
    return len(prof) > 4 and float(np.abs(np.diff(prof)).max()) > _GLASSES_STEP * max(skin, 1e-3)


def _eye_cover(ctx: _Ctx, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AU1/AU2 unfold the eye cover fold: the skin between the upper lid and the brow, folded under the brow at
    rest, is stretched up and exposed (FACS: AU1+2 stretch the skin below the brow; the eye cover fold is stretched
    up). A photo does not show that skin: between the lid crease and the brow's lower edge it has a few pixels of
    fold shadow and brow hair (deep-set eyes: almost nothing), and the warp stretches them into a tall dark band
    that reads as a thick, low brow. This layer gives the band the hue of the person's lit skin around the fold at
    :data:`_COVER_LIGHT` of the luminance of the skin just above the same brow, a little darker under the brow's
    ridge and into the crease, replacing what is darker than that and keeping what is not (a lid that shows its
    skin keeps its own texture).

    Returns:
        ``(colour (H, W, 3) sRGB, inner (H, W), outer (H, W))``: the exposed skin's colour and how much of each
        pixel takes it when the inner brow (AU1) or the outer brow (AU2) is fully raised.
    """
    from ....face.blendshapes import face_topology

    g = face_topology().groups
    fp, fm = ctx.ident, ctx.fm
    gray = np.exp(ctx.logy) - 0.03  # the photo's luminance, as the crease layers have it
    colour = np.zeros(gray.shape + (3,), _F32)
    inner_map = np.zeros(gray.shape, _F32)
    outer_map = np.zeros(gray.shape, _F32)
    sel = ctx.skin > 0.5
    med = float(np.median(gray[sel])) if sel.sum() > 20 else float(np.median(gray))
    if _wears_glasses(ctx, gray, med):
        # the frame's rim may cross the band: it would be painted over with skin (the warp still stretches it)
        return colour, inner_map, outer_map
    srgb = rgb.astype(_F32) / 255.0
    local = _blur(gray, 0.015 * ctx.ipd)
    # diffusely lit skin only: not the fold's shadow, stubble, the side of the nose in shade or a highlight
    g1 = _blur(gray, 0.01 * ctx.ipd)
    sk = ctx.skin * _smoothstep(0.6 * med, 0.85 * med, g1) * (1 - _smoothstep(1.1 * med, 1.3 * med, g1))
    wsk = _blur(sk, 0.1 * ctx.ipd) + 1e-4
    near_skin = np.stack([_blur(srgb[..., c] * sk, 0.1 * ctx.ipd) for c in range(3)], -1) / wsk[..., None]
    sides = ((g.right_eye_upper, _BROW_LOWER[0], _BROW_UPPER[0]), (g.left_eye_upper, _BROW_LOWER[1], _BROW_UPPER[1]))
    for lid_ids, lower, upper in sides:
        lid = fp[list(lid_ids), :2]
        lid = lid[np.argsort(lid[:, 0])]
        bl = fp[list(lower), :2]
        bl = bl[np.argsort(bl[:, 0])]
        bu = fp[list(upper), :2]
        x0, x1 = float(bl[:, 0].min()), float(bl[:, 0].max())
        box = (fm.U > x0 - 0.1) & (fm.U < x1 + 0.1) & (fm.V > lid[:, 1].min() - 0.05) & (fm.V < bu[:, 1].max() + 0.4)
        if box.sum() < 4:
            continue
        u, v = fm.U[box], fm.V[box]
        y_lid = np.interp(u, lid[:, 0], lid[:, 1])
        y_brow = np.interp(u, bl[:, 0], bl[:, 1])
        t = (v - y_lid) / np.maximum(y_brow - y_lid, 1e-3)
        feather = 0.1
        band = (
            _smoothstep(0.15, 0.35, t)
            * (1 - _smoothstep(0.9, 1.15, t))
            * _smoothstep(x0 - feather, x0 + feather, u)
            * (1 - _smoothstep(x1 - feather, x1 + feather, u))
        )
        # the reference: the hue of the person's skin around the fold (the skin mask leaves out brow hair, lashes
        # and the fold's own shadow), at _COVER_LIGHT of the luminance of the skin just above this brow
        ref = near_skin[box]
        ref_y = ref @ np.array([0.299, 0.587, 0.114], _F32)
        above = (fm.V > bu[:, 1].max() + 0.08) & (fm.V < bu[:, 1].max() + 0.3)
        above &= (fm.U > x0) & (fm.U < x1) & (sk > 0.5)
        if above.sum() > 20:
            gain = np.clip(_COVER_LIGHT * float(np.median(gray[above])) / np.maximum(ref_y, 1e-3), 0.7, 1.5)
            ref, ref_y = ref * gain[:, None], ref_y * gain
        # replace what is darker than the unfolded skin (fully from a quarter darker), keep the rest
        dark = _smoothstep(-0.1, 0.25, 1.0 - local[box] / np.maximum(ref_y, 1e-3))
        alpha = band * dark
        # the unfolded skin is shaded like real raised brows': darker under the brow's ridge and into the crease
        shade = 1.0 - 0.12 * _smoothstep(0.5, 1.1, t) - 0.08 * (1 - _smoothstep(0.05, 0.45, t))
        # the inner brow (AU1) stretches the medial fold, the outer brow (AU2) the lateral
        lateral = np.clip((np.abs(u) - min(abs(x0), abs(x1))) / max(x1 - x0, 1e-3), 0.0, 1.0)
        inner_map[box] = alpha * (1 - lateral)
        outer_map[box] = alpha * lateral
        colour[box] = ref * shade[:, None]
    sigma = 0.01 * ctx.ipd
    above_eyes = _smoothstep(0.03, 0.07, fm.V - fp[[468, 473], 1].max()).astype(_F32)  # the blur stays off the eyes
    inner_map = np.clip(_blur(inner_map, sigma) * above_eyes, 0.0, 1.0)
    outer_map = np.clip(_blur(outer_map, sigma) * above_eyes, 0.0, 1.0)
    # the colour spreads past the band (normalised blur), so the blurred alphas never mix in black
    have = (colour.sum(-1) > 0).astype(_F32)
    norm = _blur(have, 3 * sigma) + 1e-6
    colour = np.stack([_blur(colour[..., c], 3 * sigma) for c in range(3)], -1) / norm[..., None]
    return colour.astype(_F32), inner_map.astype(_F32), outer_map.astype(_F32)
