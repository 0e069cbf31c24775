"""The expression appearance layers of a portrait: computed once per photo, weighted per frame."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch

from .analysis import (
    _CHIN_BOTTOM,
    _F32,
    _NASOLABIAL,
    WORK_IPD,
    Light,
    _blur,
    _face_map,
    _pose,
    _seed_from_photo,
    _skin_mask,
    _smoothstep,
    estimate_light,
    valley_response,
)
from .cover import _eye_cover
from .creases import _Ctx, _forehead, _glabella, _nose, _softclip
from .folds import _chin, _crows_feet, _lower_lid, _nasolabial


@dataclass
class ExpressionLayers:
    """Once-per-photo appearance layers, all float32 in the photo's pixel frame.

    Scalar layers ``(H, W)`` are signed multiplicative shading: ``colour * (1 + w * s)``; negative in creases,
    faintly positive on the ridges and bulges beside them, zero outside their regions. Colour layers ``(H, W, 3)``
    are per-channel signed gains used the same way.

    Attributes:
        glabella: AU4 — 1–2 vertical furrows between the brows, a horizontal crease at the nose root.
        forehead_au1: AU1 share of the forehead lines (centre of the forehead).
        forehead_au2: AU2 share (lateral forehead); ``forehead_au1 + forehead_au2`` is the full AU1+2 pattern.
        nose: AU9 — oblique lines on the sides of the nose, horizontal creases across its root.
        nasolabial: AU10/AU12/AU9 — deepening of the nasolabial fold, from the photo's own fold where it has one.
        crows_feet: AU6 — fans of short lines at the outer eye corners.
        lower_lid: AU6 — bulge below the lower lid and the infraorbital furrow beneath it.
        chin: AU17 — "orange peel" dimpling of the chin boss and the mentolabial furrow.
        flush: (H, W, 3) reddening gain (anger, embarrassment).
        pallor: (H, W, 3) desaturating, lightening gain (fear).
        cover: (H, W, 3) sRGB colour of the eye cover skin that raised brows unfold (the skin between the upper
            lid and the brow, folded under the brow in the photo).
        cover_inner: (H, W) in [0, 1], how much of each pixel takes the ``cover`` colour with the inner brows
            raised (AU1): ``mix(colour, cover, w * cover_inner)``.
        cover_outer: (H, W) the same for the outer brows (AU2).
        left: (H, W) in [0, 1], how much each pixel belongs to the subject's left half (for per-side weights).
        skin: (H, W) soft skin mask the layers are confined to.
        light: the fitted light.
        seed: the per-photo seed of the procedural randomness.
        work_scale: working-resolution pixels per photo pixel used for the computation.
        existing: per-layer fraction of the layer's lines placed on the photo's own lines (diagnostics).
    """

    glabella: np.ndarray
    forehead_au1: np.ndarray
    forehead_au2: np.ndarray
    nose: np.ndarray
    nasolabial: np.ndarray
    crows_feet: np.ndarray
    lower_lid: np.ndarray
    chin: np.ndarray
    flush: np.ndarray
    pallor: np.ndarray
    cover: np.ndarray
    cover_inner: np.ndarray
    cover_outer: np.ndarray
    left: np.ndarray
    skin: np.ndarray
    light: Light
    seed: int
    work_scale: float
    existing: dict[str, float] = field(default_factory=dict)

    def layer(self, name: str) -> np.ndarray:
        """Return the layer called ``name`` (one of :data:`LAYER_NAMES`, ``"flush"``, ``"pallor"``, ``"cover_inner"``
        or ``"cover_outer"``)."""
        return getattr(self, name)


def _lab_gain(
    mean_rgb: np.ndarray,
    dL: np.ndarray,
    a_scale: np.ndarray | float,
    a_add: np.ndarray | float,
    b_scale: np.ndarray | float,
) -> np.ndarray:
    """Per-channel gain ``target / mean - 1`` that moves a (smooth) sRGB colour in CIELAB: ``L += dL``,
    ``a = a * a_scale + a_add``, ``b *= b_scale``."""
    lab = cv2.cvtColor(np.clip(mean_rgb, 1e-4, 1).astype(_F32), cv2.COLOR_RGB2Lab)
    lab[..., 0] = np.clip(lab[..., 0] + dL, 0, 100)
    lab[..., 1] = lab[..., 1] * a_scale + a_add
    lab[..., 2] = lab[..., 2] * b_scale
    tgt = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    return tgt / np.maximum(mean_rgb, 1e-3) - 1.0


def _colour_layers(ctx: _Ctx, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flush and pallor as RGB gains of the face's own smoothed skin colour, moved in CIELAB.

    Haemoglobin dominates the red–green (a*) axis of skin colour (Takiwaki et al. 1994; the erythema index of
    Dawson et al. 1980 is log(R/G)): flush raises a* and darkens slightly, strongest over the cheeks, then
    forehead, nose and chin (Drummond 1997), and more where the face is already most vascular (its own erythema
    index); pallor halves a*, mutes b* a little and lightens (less blood under the skin).
    """
    fm = ctx.fm
    fp = ctx.ident
    U, V = fm.U, fm.V
    skin = ctx.skin
    srgb = rgb.astype(_F32) / 255.0
    cheeks = 0.0
    for side in (-1, 1):
        cx, cy = side * 0.6, fp[_NASOLABIAL[0][0], 1] + 0.12
        cheeks = cheeks + np.exp(-0.5 * (((U - cx) / 0.3) ** 2 + ((V - cy) / 0.32) ** 2))
    fore = 0.55 * np.exp(-0.5 * ((U / 0.5) ** 2 + ((V - 0.7) / 0.3) ** 2))
    nose = 0.35 * np.exp(-0.5 * ((U / 0.12) ** 2 + ((V - fp[4, 1]) / 0.15) ** 2))
    chin = 0.3 * np.exp(-0.5 * ((U / 0.25) ** 2 + ((V - fp[_CHIN_BOTTOM, 1] - 0.15) / 0.15) ** 2))
    base = 0.3 + 0.7 * np.clip(cheeks + fore + nose + chin, 0, 1)
    # the skin colour, smoothed within the skin only (normalised convolution)
    sm = max(1.0, 0.05 * ctx.ipd)
    wsk = _blur(skin, sm) + 1e-4
    mean_c = np.stack([_blur(srgb[..., c] * skin, sm) for c in range(3)], -1) / wsk[..., None]
    ei = np.log(mean_c[..., 0] + 1e-3) - np.log(mean_c[..., 1] + 1e-3)
    sel = skin > 0.5
    z = (ei - np.median(ei[sel])) / (np.std(ei[sel]) + 1e-3) if sel.sum() > 20 else np.zeros_like(ei)
    m = (base * np.clip(1 + 0.3 * z, 0.6, 1.5)).astype(_F32)
    flush = _lab_gain(mean_c, -3.0 * m, 1.0, 11.0 * m, 1.0 + 0.05 * m)
    pallor = _lab_gain(mean_c, 4.0, 0.45, 0.0, 0.8)
    flush = np.clip(flush, -0.35, 0.35) * skin[..., None]
    pallor = np.clip(pallor, -0.35, 0.35) * skin[..., None]
    return flush.astype(_F32), pallor.astype(_F32)


def expression_layers(
    photo: np.ndarray,
    pts: np.ndarray,
    ipd_px: float,
    identity: np.ndarray,
    work_ipd: float = WORK_IPD,
    full_resolution: bool = True,
    seed: int | None = None,
) -> ExpressionLayers:
    """Derive the expression appearance layers of one portrait, once per photo.

    Args:
        photo: (H, W, 3) uint8 RGB.
        pts: (478, 2) (or (478, 3); z is ignored) landmark pixels in the photo.
        ipd_px: inter-pupil distance in photo pixels (``FaceRig.scale``).
        identity: (478, 3) the rig's neutral face in its own frame (IPD units, x to the subject's left, y up, z to
            the camera).
        work_ipd: the working resolution's IPD in pixels; the photo is reduced so its IPD is at most this.
        full_resolution: return the maps resampled to the photo's (H, W); if False, at the working resolution of
            the whole photo (``round(H * work_scale)``, ...).
        seed: seed of the procedural randomness; by default derived from the photo (an average hash of the face
            crop), so the same photo always gets the same lines. Pass one to keep a person's lines across photos.

    Returns:
        The :class:`ExpressionLayers`; shading maps are zero outside their regions.
    """
    photo = np.asarray(photo)
    if photo.ndim != 3 or photo.shape[2] < 3:
        raise ValueError(f"photo must be (H, W, 3), got {photo.shape}")
    photo = photo[..., :3]
    if photo.dtype != np.uint8:
        photo = np.clip(photo, 0, 255).astype(np.uint8)
    pts = np.asarray(pts, np.float64)[:, :2]
    identity = np.asarray(identity, np.float64)
    if pts.shape != (478, 2) or identity.shape != (478, 3):
        raise ValueError("pts must be (478, 2) and identity (478, 3)")
    H, W = photo.shape[:2]
    f = min(1.0, work_ipd / max(float(ipd_px), 1e-6))
    rot, A = _pose(pts, identity)
    # crop around the face, with room above for the forehead
    up_img = A[:, 1] / np.linalg.norm(A[:, 1])  # image direction of face-up
    ext = np.concatenate([pts[:468], pts[:468] + 0.75 * ipd_px * up_img[None]])
    x0, y0 = np.floor(ext.min(0) - 0.15 * ipd_px).astype(int)
    x1, y1 = np.ceil(ext.max(0) + 0.15 * ipd_px).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, W), min(y1, H)
    if x1 - x0 < 8 or y1 - y0 < 8:
        raise ValueError("the face lies outside the photo")
    crop = photo[y0:y1, x0:x1]
    wc, hc = max(8, int(round((x1 - x0) * f))), max(8, int(round((y1 - y0) * f)))
    fx, fy = wc / (x1 - x0), hc / (y1 - y0)
    rgb = cv2.resize(crop, (wc, hc), interpolation=cv2.INTER_AREA) if f < 1 else crop.copy()
    P = (pts - [x0, y0] + 0.5) * [fx, fy] - 0.5
    ipd = float(ipd_px) * 0.5 * (fx + fy)
    gray = rgb.astype(_F32) @ np.array([0.299, 0.587, 0.114], _F32) / 255.0
    seed = _seed_from_photo(gray) if seed is None else int(seed) & 0xFFFFFFFFFFFFFFFF
    _, A_w = _pose(P, identity)
    fm = _face_map((hc, wc), P, identity, rot, ipd)
    light = estimate_light(rgb, P, identity)
    logy = np.log(gray + 0.03).astype(_F32)
    skin, skin_strict = _skin_mask(rgb, P, identity, fm, ipd, A_w)
    # fade to zero at the crop's border (the photo's edge or the end of the face region): no seams when pasted
    bw = max(2.0, 0.06 * ipd)
    yy, xx = np.mgrid[0:hc, 0:wc]
    border = np.minimum(np.minimum(xx, wc - 1 - xx), np.minimum(yy, hc - 1 - yy)).astype(_F32)
    border = _smoothstep(0.5, bw, border).astype(_F32)
    skin, skin_strict = np.clip(skin * border, 0, 1), np.clip(skin_strict * border, 0, 1)
    s_fine = max(0.8, 0.014 * ipd)
    vfine, nfine = valley_response(logy, s_fine)
    vfold, nfold = valley_response(logy, max(1.2, 0.03 * ipd))
    sk = skin > 0.5
    noise = float(np.median(vfine[sk])) if sk.sum() > 20 else 0.0
    # local wrinkle texture: fine-scale valley energy around each pixel relative to the face's median; weathered
    # skin creases deeper, smooth young skin shallower (bounded)
    loc = _blur(vfine * skin, 0.12 * ipd) / (_blur(skin, 0.12 * ipd) + 1e-4)
    med = float(np.median(loc[sk])) if sk.sum() > 20 else 1.0
    texture = np.clip((loc / max(med, 1e-6)) ** 0.5, 0.75, 1.35).astype(_F32)
    # directional shading fades in attached shadow (no direct light there to cast the crease's own shadow)
    ys = _blur(gray, 0.08 * ipd)
    ymed = float(np.median(ys[sk])) if sk.sum() > 20 else float(ys.mean())
    lit = np.clip((ys / max(ymed, 1e-3) - 0.25) / 0.75, 0.0, 1.2).astype(_F32)
    ctx = _Ctx(
        identity, fm, light, ipd, seed, logy, vfine, nfine, vfold, nfold, skin, skin_strict, texture, lit, noise
    )
    maps: dict[str, np.ndarray] = {}
    maps["glabella"] = _glabella(ctx)
    maps["forehead_au1"], maps["forehead_au2"] = _forehead(ctx)
    maps["nose"] = _nose(ctx)
    maps["nasolabial"] = _nasolabial(ctx)
    maps["crows_feet"] = _crows_feet(ctx)
    maps["lower_lid"] = _lower_lid(ctx)
    maps["chin"] = _chin(ctx)
    for k, v in maps.items():
        maps[k] = _softclip(v * skin)
    # the brows' raise also unfolds the eye cover fold: not a crease but skin the photo does not show
    cover, cover_inner, cover_outer = _eye_cover(ctx, rgb)
    flush, pallor = _colour_layers(ctx, rgb)
    left = np.clip(0.5 + fm.U / 0.08, 0, 1).astype(_F32)
    left = _blur(left, 0.02 * ipd)

    def place(a: np.ndarray, full: bool) -> np.ndarray:
        if full:
            out = np.zeros((H, W) + a.shape[2:], _F32)
            out[y0:y1, x0:x1] = cv2.resize(a, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR) if f < 1 else a
            return out
        Hw, Ww = int(round(H * fy)), int(round(W * fx))
        out = np.zeros((Hw, Ww) + a.shape[2:], _F32)
        oy, ox = int(round(y0 * fy)), int(round(x0 * fx))
        hh, ww = min(a.shape[0], Hw - oy), min(a.shape[1], Ww - ox)
        out[oy : oy + hh, ox : ox + ww] = a[:hh, :ww]
        return out

    # outside the crop: by the side of the face's midline in the image; inside, by the face frame's x
    if full_resolution:
        gy, gx = np.mgrid[0:H, 0:W].astype(_F32)
        ax = A[:, 0] / np.linalg.norm(A[:, 0])  # image direction of the subject's left
        c0 = pts[[168, 6, 1]].mean(0)
        far = np.clip(0.5 + ((gx - c0[0]) * ax[0] + (gy - c0[1]) * ax[1]) / (0.08 * ipd_px), 0, 1).astype(_F32)
        inner = place(border, True)
        left_full = far * (1 - inner) + place(left, True) * inner
    else:
        left_full = place(left, False)
    left_full = np.clip(left_full, 0.0, 1.0).astype(_F32)
    return ExpressionLayers(
        **{k: place(v, full_resolution) for k, v in maps.items()},
        flush=place(flush, full_resolution),
        pallor=place(pallor, full_resolution),
        cover=place(cover, full_resolution),
        cover_inner=place(cover_inner, full_resolution),
        cover_outer=place(cover_outer, full_resolution),
        left=left_full,
        skin=place(skin, full_resolution),
        light=light,
        seed=seed,
        work_scale=float(0.5 * (fx + fy)),
        existing=dict(ctx.existing),
    )


#: Layers weighted per side in :func:`arkit_layer_weights` (the others take the mean of both sides).
SIDED_LAYERS = ("nasolabial",)
#: Emotion labels' share of the autonomic colour cues at full intensity: flush in anger (and, weaker, contempt:
#: Drummond 1997, "Correlates of facial flushing and pallor in anger-provoking situations", Pers. Individ. Dif. 23),
#: pallor in fear (cutaneous vasoconstriction; Kreibig 2010, "Autonomic nervous system activity in emotion", Biol.
#: Psychol. 84). Both are mild in everyday emotion: half of the layers' full strength for anger, 40 % for fear.
FLUSH_BY_LABEL: dict[str, float] = {"angry": 0.5, "contempt": 0.15}
PALLOR_BY_LABEL: dict[str, float] = {"fearful": 0.4}


def arkit_layer_weights(blendshapes: torch.Tensor, rest: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Per-layer ``(..., 2)`` weights ``(subject's right, subject's left)`` from ARKit weights ``(..., 52)``.

    The photo's own expression (``rest``, ``FaceRig.rest_weights``) is subtracted, so a smiling source photo's
    existing nasolabial fold is not deepened twice. ARKit → FACS: browDown* ≈ AU4, browInnerUp ≈ AU1,
    browOuterUp* ≈ AU2, noseSneer* ≈ AU9, mouthUpperUp* ≈ AU10, mouthSmile* ≈ AU12, cheekSquint* ≈ AU6,
    mouthShrugLower ≈ AU17.
    """
    from ....arkit import ARKIT_INDEX

    b = torch.as_tensor(blendshapes, dtype=torch.float32)
    if rest is not None:
        b = b - torch.as_tensor(rest, dtype=b.dtype, device=b.device)
    b = b.clamp(0.0, 1.0)

    def pair(stem: str) -> torch.Tensor:
        return torch.stack([b[..., ARKIT_INDEX[stem + "Right"]], b[..., ARKIT_INDEX[stem + "Left"]]], -1)

    def both(name: str) -> torch.Tensor:
        return b[..., ARKIT_INDEX[name]].unsqueeze(-1).expand(*b.shape[:-1], 2)

    au4, au2, au9, au10, au12, au6 = (
        pair(s) for s in ("browDown", "browOuterUp", "noseSneer", "mouthUpperUp", "mouthSmile", "cheekSquint")
    )
    return {
        "glabella": torch.maximum(au4, 0.5 * au9),
        "forehead_au1": both("browInnerUp"),
        "forehead_au2": au2,
        "nose": au9,
        "nasolabial": (0.8 * au12 + 0.6 * au10 + 0.5 * au9).clamp(0.0, 1.0),
        "crows_feet": torch.maximum(au6, 0.6 * au12),
        "lower_lid": au6,
        "chin": both("mouthShrugLower"),
        "cover_inner": both("browInnerUp"),
        "cover_outer": au2,
    }


def emotion_colour_weights(probs: torch.Tensor, intensity: torch.Tensor) -> torch.Tensor:
    """``(..., 2)`` flush and pallor weights of label distributions ``(..., K)`` at ``intensity`` ``(...)``."""
    from ....emotion import LABELS

    probs = torch.as_tensor(probs, dtype=torch.float32)
    flush = sum(probs[..., LABELS.index(k)] * v for k, v in FLUSH_BY_LABEL.items())
    pallor = sum(probs[..., LABELS.index(k)] * v for k, v in PALLOR_BY_LABEL.items())
    return (torch.stack([flush, pallor], -1) * torch.as_tensor(intensity, dtype=torch.float32).unsqueeze(-1)).clamp(
        0, 1
    )


def layer_weights(
    blendshapes: Mapping[str, float], rest: Mapping[str, float] | None = None, flush: float = 0.0, pallor: float = 0.0
) -> dict[str, tuple[float, float]]:
    """:func:`arkit_layer_weights` of one frame given as ``{ARKit name: score}``, plus the colour cues' weights.

    Returns:
        layer name → ``(subject's right, subject's left)`` weight.
    """
    from ....arkit import ARKIT_BLENDSHAPES

    vec = torch.tensor([float(blendshapes.get(n, 0.0)) for n in ARKIT_BLENDSHAPES])
    base = None if rest is None else torch.tensor([float(rest.get(n, 0.0)) for n in ARKIT_BLENDSHAPES])
    out = {k: (float(v[0]), float(v[1])) for k, v in arkit_layer_weights(vec, base).items()}
    return {**out, "flush": (flush, flush), "pallor": (pallor, pallor)}


def apply_layers(
    photo: np.ndarray, layers: ExpressionLayers, weights: Mapping[str, float | tuple[float, float]]
) -> np.ndarray:
    """Render weighted layers onto a (warped or unwarped) photo: the unfolded eye cover mixed in
    (``cover_inner``, ``cover_outer``), then ``colour * (1 + Σ w s)`` per channel.

    Args:
        photo: (H, W, 3) uint8 RGB in the same pixel frame as the layers.
        layers: from :func:`expression_layers`.
        weights: layer name → weight, or ``(subject's right, subject's left)`` weights.
    """
    s = np.zeros(photo.shape[:2], _F32)
    gain = np.ones(photo.shape[:2] + (3,), _F32)
    cover = np.zeros(photo.shape[:2], _F32)
    for name, w in weights.items():
        wr, wl = (w, w) if np.isscalar(w) else w
        if wr == 0 and wl == 0:
            continue
        wmap = wr + (wl - wr) * layers.left if wr != wl else np.float32(wr)
        lay = layers.layer(name)
        if name in ("cover_inner", "cover_outer"):
            cover += wmap * lay
        elif lay.ndim == 3:
            gain *= 1 + wmap[..., None] * lay if np.ndim(wmap) else 1 + wmap * lay
        else:
            s += wmap * lay
    base = photo.astype(_F32)
    a = np.clip(cover, 0.0, 1.0)[..., None]
    base = base + (255.0 * layers.cover - base) * a
    out = base * np.maximum(1 + s, 0.05)[..., None] * gain
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
