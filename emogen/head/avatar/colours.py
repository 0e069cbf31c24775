"""Colours measured on the photo for the avatar's texture (skin, hair, the hairline, the lips) and the fill.

Helpers of :func:`emogen.head.avatar.texture.bake_texture` (see there). Skin is the median of the face's skin
(shadowed parts included, so it suits the neck and the ears too), hair the photo over the scalp where it is neither
skin nor the photo's border colour (the background), the hairline the lowest band up the forehead's middle that
looks like hair.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

PART_EAR = 2  # the ears' part code, as in emogen.head.avatar.texture


def _smooth(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - np.float32(e0)) * np.float32(1.0 / (e1 - e0)), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def robust_colour(samples: np.ndarray, fallback) -> np.ndarray:
    if len(samples) < 12:
        return np.asarray(fallback, dtype=np.float64)
    lum = samples.mean(1)
    lo, hi = np.percentile(lum, [20, 90])
    keep = samples[(lum >= lo) & (lum <= hi)]
    return np.median(keep if len(keep) >= 6 else samples, 0)


# ==================================================================================================== baking
def paint_lips(rgb: np.ndarray, p: np.ndarray, face: np.ndarray, loop: np.ndarray) -> np.ndarray:
    """Replace bright, pale (teeth-like) texels next to the inner lip line by the lips' own colour."""
    a, b = loop[:, :2], np.roll(loop[:, :2], -1, 0)
    near = face & (np.abs(p[..., 0]) < np.abs(a[:, 0]).max() + 0.05)
    near &= (p[..., 1] > a[:, 1].min() - 0.2) & (p[..., 1] < a[:, 1].max() + 0.2)
    if near.sum() < 20:
        return rgb
    q = p[near][:, :2]
    ab = b - a
    t = np.clip(((q[:, None] - a[None]) * ab[None]).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12), 0.0, 1.0)
    d = np.linalg.norm(q[:, None] - (a[None] + t[..., None] * ab[None]), axis=-1).min(1)
    c = rgb[near]
    lip = c[(d > 0.04) & (d < 0.1)]
    if len(lip) < 10:
        return rgb
    lip_c = np.median(lip, 0)
    lum, sat = c.mean(1), c.max(1) - c.min(1)
    teeth = _smooth(0.06, 0.18, lum - lip_c.mean()) * _smooth(0.25, 0.1, sat) * _smooth(0.06, 0.02, d)
    out = rgb.copy()
    out[near] = c + teeth[:, None] * (lip_c - c)
    return out


#: Upper lash line: darkest part at most this fraction of the lid skin's colour, width (IPD) at the inner corner and
#: added towards the outer third. The upper lashes and the lid margin read as a dark line about 1-1.5 mm thick in
#: frontal photos (0.016-0.024 IPD); a projected texture loses it (it lies on the margin itself, half of it on the
#: eye's side of the landmarks) and leaves a pale rim round a staring eye.
LASH_DARK = 0.4
LASH_WIDTH = (0.012, 0.012)


def paint_lash_lines(rgb: np.ndarray, p: np.ndarray, face: np.ndarray, lids: list[np.ndarray]) -> np.ndarray:
    """Darken the texels along each upper lid's margin into the lash line (its colour from the darkest texels
    there, at most :data:`LASH_DARK` of the lid's skin), thickest at about 60 % of the way to the outer corner.

    Args:
        rgb (`np.ndarray` of shape `(h, w, 3)`): texel colours (sRGB, [0, 1]).
        p (`np.ndarray` of shape `(h, w, 3)`): texel positions on the neutral head (face frame, IPD).
        face (`np.ndarray` of shape `(h, w)`): texels of the face that the photo covers.
        lids: per eye, the upper lid margin `(k, 3)` in the same frame, corners included.
    """
    out = rgb.copy()
    for lid in lids:
        lid = lid[np.argsort(lid[:, 0])]
        x0, x1 = float(lid[0, 0]), float(lid[-1, 0])
        near = face & (p[..., 0] > x0 - 0.01) & (p[..., 0] < x1 + 0.01)
        near &= (p[..., 1] > lid[:, 1].min() - 0.03) & (p[..., 1] < lid[:, 1].max() + 0.08)
        if near.sum() < 12:
            continue
        q = p[near]
        dy = q[:, 1] - np.interp(q[:, 0], lid[:, 0], lid[:, 1])
        # along the lid from the inner to the outer corner (the inner corner is the one nearer the midline)
        t = (q[:, 0] - x0) / max(x1 - x0, 1e-6)
        t = t if abs(x1) > abs(x0) else 1.0 - t
        width = LASH_WIDTH[0] + LASH_WIDTH[1] * np.sin(np.pi * np.clip(t, 0.0, 1.0) ** 1.5)  # widest at t ≈ 0.63
        ends = _smooth(0.0, 0.12, t) * _smooth(1.0, 0.9, t)
        alpha = _smooth(-0.02, -0.005, dy) * (1.0 - _smooth(0.6 * width, width, dy)) * ends
        c = rgb[near]
        skin = c[(dy > 0.03) & (dy < 0.08)]
        if len(skin) < 6:
            continue
        skin_c = np.median(skin, 0)
        band = c[(dy > -0.005) & (dy < 0.02)]
        dark = np.percentile(band, 10, axis=0) if len(band) >= 6 else skin_c * LASH_DARK
        lash = np.minimum(dark, skin_c * LASH_DARK)
        out[near] = c + alpha[:, None].astype(np.float32) * (lash - c)
    return out


def agreement(rgb: np.ndarray, colour) -> np.ndarray:
    """How well texel colours match a colour (1 = the same, ~0 beyond a distance of 0.4 in sRGB)."""
    d2 = ((rgb - np.asarray(colour, np.float32)) ** 2).sum(-1)
    return np.exp(-d2 / np.float32(2 * 0.2**2))


def skin_region(p: np.ndarray) -> np.ndarray:
    """The face's skin in the face frame, without eyes, brows, nostrils and lips (shadowed parts included, so
    the measured colour also suits the neck and ears, which photos rarely light as well as the cheeks)."""
    x, y = np.abs(p[..., 0]), p[..., 1]
    face = (x < 1.0) & (y > -1.75) & (y < 0.8)
    eyes = (x > 0.2) & (x < 0.85) & (y > -0.22) & (y < 0.42)
    nose = (x < 0.3) & (y > -0.75) & (y < -0.35)
    mouth = (x < 0.55) & (y > -1.35) & (y < -0.85)
    return face & ~eyes & ~nose & ~mouth


def hair_mask(p: np.ndarray, layout, front: float = 1.02) -> np.ndarray:
    from .shell import _hairline

    line = _hairline(p, layout.axis_z, front, 1.0)
    return _smooth(-0.05, 0.18, p[..., 1] - line).astype(np.float32)


def project_scalp(g, select, photo, zbuf, zscale, camera) -> tuple[np.ndarray, np.ndarray]:
    """Photo colours ``(n, 3)`` and neutral positions ``(n, 3)`` of the scalp texels the photo sees (up to 6000)."""
    rot, scale, origin = camera
    ys, xs = np.nonzero(select)
    step = max(1, len(ys) // 6000)
    ys, xs = ys[::step], xs[::step]
    pts, nrm, neutral = g[ys, xs, 0:3], g[ys, xs, 3:6], g[ys, xs, 6:9]
    cam = pts @ rot.T * scale + origin
    px, py, depth = cam[:, 0], -cam[:, 1], cam[:, 2] - origin[2]
    h, w = photo.shape[:2]
    zi = (np.clip((py * zscale).astype(int), 0, zbuf.shape[0] - 1), np.clip((px * zscale).astype(int), 0,
          zbuf.shape[1] - 1))  # fmt: skip
    view = rot.T @ np.array([0.0, 0.0, 1.0])
    ok = (depth >= zbuf[zi] - 0.06 * scale) & (px > 1) & (py > 1) & (px < w - 2) & (py < h - 2)
    ok &= (nrm @ view > 0.15) & (np.abs(neutral[:, 0]) < 0.9)
    colours = photo[py[ok].astype(int), px[ok].astype(int)].astype(np.float32) / 255.0
    return colours, neutral[ok]


def lab(c) -> np.ndarray:
    return cv2.cvtColor(np.asarray(c, np.float32).reshape(-1, 1, 3), cv2.COLOR_RGB2Lab).reshape(-1, 3)


def hair_colour(scalp, photo, skin_rgb) -> np.ndarray:
    """The hair colour: the photo over the top of the head, where it is neither skin nor background.

    Uses the scalp above a typical hairline (1.2 IPD over the eyes); pixels close to the skin colour, or to the
    photo's border colour (the background), are not hair. Mostly skin means a bald head (the skin, a little
    darker); too few samples, a dark brown.
    """
    colours, neutral = scalp
    samples = colours[neutral[:, 1] > 1.2]
    if len(samples) < 20:
        return np.array([0.23, 0.17, 0.12])
    h, w = photo.shape[:2]
    border = np.concatenate([photo[: max(2, h // 12)].reshape(-1, 3), photo[:, : max(2, w // 14)].reshape(-1, 3),
                             photo[:, -max(2, w // 14):].reshape(-1, 3)]).astype(np.float32) / 255.0  # fmt: skip
    s_lab = lab(samples)
    skin_d = np.linalg.norm(s_lab - lab(skin_rgb), axis=-1)
    bg_lab = lab(border)
    bg = np.median(bg_lab, 0)
    bg_spread = float(np.median(np.linalg.norm(bg_lab - bg, axis=-1)))
    bg_d = np.linalg.norm(s_lab - bg, axis=-1)
    hair = (skin_d > 16.0) & (bg_d > max(12.0, 1.5 * bg_spread))
    if hair.sum() < 12 or (skin_d <= 16.0).sum() > 2 * hair.sum():  # mostly skin: a bald or shaved head
        return np.asarray(skin_rgb) * 0.92 if (skin_d <= 16.0).mean() > 0.4 else np.array([0.23, 0.17, 0.12])
    return np.median(samples[hair], 0)


def hairline_height(scalp, skin_rgb, hair_rgb) -> float:
    """Height (IPD over the eyes) of the front hairline: the lowest band up the forehead's middle that looks more
    like hair than skin (1.02 when the photo cannot tell)."""
    colours, neutral = scalp
    mid = np.abs(neutral[:, 0]) < 0.35
    if mid.sum() < 20 or np.linalg.norm(np.asarray(hair_rgb) - np.asarray(skin_rgb) * 0.92) < 1e-3:
        return 1.02
    is_hair = agreement(colours[mid], hair_rgb) > agreement(colours[mid], skin_rgb)
    y = neutral[mid, 1]
    for lo in np.arange(0.85, 1.75, 0.05):
        band = (y >= lo) & (y < lo + 0.1)
        if band.sum() >= 5 and is_hair[band].mean() > 0.6:
            return float(np.clip(lo, 0.85, 1.6))
    return 1.6


def periodic_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: tuple[float, float]) -> np.ndarray:
    """Gaussian-filtered white noise that wraps around in ``u`` (no seam at the back of the head), unit std."""
    white = rng.standard_normal(shape)
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.fftfreq(shape[1])[None, :]
    gain = np.exp(-2 * math.pi**2 * ((fy * sigma[0]) ** 2 + (fx * sigma[1]) ** 2))
    out = np.real(np.fft.ifft2(np.fft.fft2(white) * gain))
    return (out / max(float(out.std()), 1e-9)).astype(np.float32)


def resize_wrap(a: np.ndarray, size: int) -> np.ndarray:
    """Resize to ``size`` × ``size`` keeping ``a`` periodic in ``u`` (columns)."""
    pad = 4
    wide = np.concatenate([a[:, -pad:], a, a[:, :pad]], 1)
    k = size / a.shape[1]
    out = cv2.resize(wide, (int(round(wide.shape[1] * k)), size), interpolation=cv2.INTER_CUBIC)
    m = int(round(pad * k))
    return np.ascontiguousarray(out[:, m : m + size])


def fill_colours(p, code, hair, skin_rgb, hair_rgb, size, seed) -> np.ndarray:
    """Skin and hair colours for the texels the photo does not cover (the hair's strands are added by the caller)."""
    rng = np.random.default_rng(seed + 1)
    coarse = resize_wrap(periodic_noise(rng, (64, 64), (1.2, 1.2)), size)
    # the fill is flat where the photo is textured: a little less saturated, it does not look painted on
    base = np.asarray(skin_rgb, np.float32)
    base = base.mean() + 0.88 * (base - base.mean())
    skin = base * (1.0 + 0.015 * coarse[..., None])
    # the neck is a little darker under the jaw (in the jaw's shadow) and the ears a little redder
    under = _smooth(-1.7, -2.4, p[..., 1]) * _smooth(-0.3, -1.0, p[..., 2])
    skin = skin * (1.0 - 0.12 * under[..., None])
    strands = np.asarray(hair_rgb, np.float32) * (1.0 + 0.05 * coarse[..., None])
    out = skin * (1.0 - hair[..., None]) + strands * hair[..., None]
    ear = (code > 1.5) & (code < 2.95)
    depth = np.clip((code - PART_EAR) / 0.9, 0.0, 1.0)
    ear_rgb = np.asarray(skin_rgb, np.float32) * np.array([1.03, 0.96, 0.95], np.float32)
    ear_rgb = ear_rgb * (1.0 - 0.45 * depth[..., None])
    out = np.where(ear[..., None], ear_rgb, out)
    socket = code > 2.95
    out = np.where(socket[..., None], np.asarray(skin_rgb, np.float32) * np.array([0.5, 0.36, 0.36]), out)
    return np.clip(out, 0.0, 1.0)
