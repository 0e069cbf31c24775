"""Crease primitives evaluated through the face map, and the upper-face layers: forehead, glabella, nose."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from .analysis import (
    _BROW_UPPER,
    _EYE_INNER,
    _F32,
    _LINE_MIN,
    Light,
    _FaceMap,
    _Noise1D,
    _profile,
    _rng,
    _smoothstep,
)


@dataclass
class _Crease:
    """A crease: polyline in the face frame with per-vertex depth (shading at the centre) and width (sigma)."""

    pts: np.ndarray  # (K, 2) face frame
    depth: np.ndarray  # (K,)
    sigma: np.ndarray  # (K,) IPD units
    shoulder: float = 0.35
    spread: float = 2.6
    lateral: float = 0.0  # extra bulge on the +normal side (folds): amplitude
    taper: float = 0.25  # fraction of the length over which the ends fade


class _Canvas:
    """Accumulates crease shading for one layer on the working crop."""

    def __init__(self, fm: _FaceMap, light: Light, ipd: float, lit: np.ndarray) -> None:
        self.fm, self.light, self.ipd, self.lit = fm, light, ipd, lit
        h, w = fm.U.shape
        self.ao = np.zeros((h, w), _F32)
        self.dirn = np.zeros((h, w), _F32)

    def add(self, c: _Crease, dir_gain: float = 1.0) -> None:
        fm = self.fm
        P0 = np.asarray(c.pts, np.float64)
        if len(P0) < 2:
            return
        reach = 2.6 * c.spread * float(c.sigma.max()) + (0.12 if c.lateral else 0.0)
        # resample densely (so the nearest sample brackets the nearest point), depth and width by arc length
        seg0 = np.linalg.norm(np.diff(P0, axis=0), axis=1)
        cum0 = np.concatenate([[0.0], np.cumsum(seg0)])
        total = float(cum0[-1])
        if total <= 1e-9:
            return
        step = max(0.4 * float(c.sigma.min()), 0.003)
        ss = np.linspace(0.0, total, max(3, int(np.ceil(total / step)) + 1))
        P = np.stack([np.interp(ss, cum0, P0[:, 0]), np.interp(ss, cum0, P0[:, 1])], 1)
        depth_v = np.interp(ss, cum0, c.depth)
        sig_v = np.interp(ss, cum0, c.sigma)
        x0, y0 = P.min(0) - reach
        x1, y1 = P.max(0) + reach
        sel = (fm.U >= x0) & (fm.U <= x1) & (fm.V >= y0) & (fm.V <= y1) & (fm.valid > 0)
        iy, ix = np.nonzero(sel)
        if len(iy) == 0:
            return
        X = np.stack([fm.U[iy, ix], fm.V[iy, ix]], 1).astype(np.float64)
        dist, near = cKDTree(P).query(X, distance_upper_bound=reach)
        keep = np.isfinite(dist)
        iy, ix, X, near = iy[keep], ix[keep], X[keep], near[keep]
        if len(iy) == 0:
            return
        # exact projection on the two segments around the nearest sample
        M = len(P) - 1
        A_all, B_all = P[:-1], P[1:]
        cand = []
        for kk in (np.clip(near - 1, 0, M - 1), np.clip(near, 0, M - 1)):
            a, b = A_all[kk], B_all[kk]
            ab = b - a
            l2 = np.maximum((ab * ab).sum(1), 1e-12)
            tt = np.clip(((X - a) * ab).sum(1) / l2, 0.0, 1.0)
            pr = a + tt[:, None] * ab
            cand.append((kk, tt, pr, ((X - pr) ** 2).sum(1)))
        first = cand[0][3] <= cand[1][3]
        k = np.where(first, cand[0][0], cand[1][0])
        tk = np.where(first, cand[0][1], cand[1][1])
        proj = np.where(first[:, None], cand[0][2], cand[1][2])
        d = np.sqrt(np.where(first, cand[0][3], cand[1][3]))
        AB = B_all - A_all
        seg_len = np.maximum(np.linalg.norm(AB, axis=1), 1e-12)
        s_arc = ss[k] + tk * seg_len[k]
        depth = np.interp(s_arc, ss, depth_v)
        sig = np.interp(s_arc, ss, sig_v)
        # signed distance: normal = AB rotated +90° (to the left of the direction of travel)
        nrm = np.stack([-AB[:, 1], AB[:, 0]], 1) / seg_len[:, None]
        diff = X - proj
        sgn = np.sign((diff * nrm[k]).sum(1))
        sgn[sgn == 0] = 1
        # normals interpolated along the curve (per-vertex averages), so shading is smooth across the joints
        vn = np.concatenate([nrm[:1], nrm[:-1] + nrm[1:], nrm[-1:]], 0)
        vn /= np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-9)
        n_face = vn[k] * (1 - tk[:, None]) + vn[k + 1] * tk[:, None]
        n_face /= np.maximum(np.linalg.norm(n_face, axis=1, keepdims=True), 1e-9)
        cap = ((k == 0) & (tk <= 0)) | ((k == M - 1) & (tk >= 1))  # beyond the curve's two ends
        radial = diff / np.maximum(d[:, None], 1e-9)
        n_face = np.where(cap[:, None] & (d[:, None] > 1e-6), radial * sgn[:, None], n_face)
        # image-plane direction of increasing d and px per face unit across the line
        Jp = fm.J[iy, ix]  # (N, 2, 2): rows dU/d(x,y), dV/d(x,y)
        gimg = np.einsum("nij,ni->nj", Jp, n_face)  # J^T n
        gnorm = np.maximum(np.linalg.norm(gimg, axis=1), 1e-9)
        e_img = gimg / gnorm[:, None]
        # sub-pixel lines widen (as a camera would average them), keeping their integrated darkness
        sig_min = 0.75 * gnorm  # 0.75 px in face units
        sig_eff = np.maximum(sig, sig_min)
        depth = depth * sig / sig_eff
        u = sgn * d / sig_eff
        p, dp = _profile(u, c.shoulder, c.spread)
        if c.lateral:
            ul = (u - 2.2) / 2.8
            gl = np.exp(-0.5 * ul * ul)
            p = p + c.lateral * gl
            dp = dp - c.lateral * ul / 2.8 * gl
        # taper both ends by arc length
        tl = max(c.taper * total, 1e-6)
        env = _smoothstep(0.0, tl, s_arc) * _smoothstep(0.0, tl, total - s_arc)
        env = np.where(cap, env * np.exp(-0.5 * (d / sig_eff / 1.5) ** 2), env)
        amp = depth * env * fm.valid[iy, ix]
        # shading: valley darkening + directional term: slope along the light lightens the wall facing it
        ldot = e_img @ self.light.direction.astype(np.float64)
        self.ao[iy, ix] += (amp * p).astype(_F32)
        self.dirn[iy, ix] += (-amp * dp * ldot * dir_gain).astype(_F32)

    def add_field(self, iy: np.ndarray, ix: np.ndarray, values: np.ndarray) -> None:
        self.ao[iy, ix] += values.astype(_F32)

    def shading(self, occlusion: float = 1.0, directional: float = 0.9) -> np.ndarray:
        """Signed shading: valley darkening (stronger under flat light, where creases read by occlusion) plus the
        directional part; its highlights are halved (subsurface scattering softens lit ridges more than shadows)."""
        k = self.light.strength
        d = directional * k * self.lit * self.dirn
        d = np.where(d > 0, 0.5 * d, d)
        return occlusion * (1.0 - 0.3 * k) * self.ao + d


def _softclip(s: np.ndarray, lo: float = -0.55, hi: float = 0.25) -> np.ndarray:
    """Smoothly bound a shading map (overlapping creases must not go black or glow)."""
    neg = lo * np.tanh(np.minimum(s, 0) / lo)
    pos = hi * np.tanh(np.maximum(s, 0) / hi)
    return (neg + pos).astype(_F32)


@dataclass
class _Ctx:
    ident: np.ndarray
    fm: _FaceMap
    light: Light
    ipd: float
    seed: int
    logy: np.ndarray
    vfine: np.ndarray  # valley strength at fine-line scale
    nfine: np.ndarray  # across-line normals (image)
    vfold: np.ndarray
    nfold: np.ndarray
    skin: np.ndarray
    skin_strict: np.ndarray  # skin far from eyes, brows and lips (for reusing the photo's own lines)
    texture: np.ndarray  # local wrinkle-texture factor (~1)
    lit: np.ndarray
    noise_floor: float
    existing: dict[str, float] = field(default_factory=dict)

    def canvas(self) -> _Canvas:
        return _Canvas(self.fm, self.light, self.ipd, self.lit)

    def oriented(
        self,
        vmap: np.ndarray,
        nmap: np.ndarray,
        n_face: tuple[float, float] | np.ndarray,
        region: np.ndarray | None = None,
    ) -> np.ndarray:
        """Valley strength of lines whose across-direction matches the face-frame normal ``n_face`` (a constant
        (2,) or a per-pixel (h, w, 2) field), on plain skin; computed only in the bounding box of ``region``."""
        out = np.zeros(vmap.shape, _F32)
        if region is not None:
            ys, xs = np.nonzero(region)
            if len(ys) == 0:
                return out
            box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
        else:
            box = (slice(None), slice(None))
        J = self.fm.J[box]
        nf = np.asarray(n_face, np.float32)
        nf = nf if nf.ndim == 1 else nf[box]
        ex = nf[..., 0] * J[..., 0, 0] + nf[..., 1] * J[..., 1, 0]
        ey = nf[..., 0] * J[..., 0, 1] + nf[..., 1] * J[..., 1, 1]
        nm = nmap[box]
        cos = (ex * nm[..., 0] + ey * nm[..., 1]) / np.maximum(np.sqrt(ex * ex + ey * ey), 1e-9)
        out[box] = np.maximum(vmap[box] - self.noise_floor, 0) * cos**4 * self.skin_strict[box]
        return out


def _profile_peaks(
    coord: np.ndarray, weight: np.ndarray, lo: float, hi: float, bin_w: float = 0.01, smooth: float = 1.2
) -> tuple[np.ndarray, np.ndarray]:
    """1-D histogram of ``weight`` over ``coord`` in [lo, hi]; returns local-maximum positions and their heights."""
    nb = max(3, int(round((hi - lo) / bin_w)))
    keep = (coord >= lo) & (coord < hi)
    hist = np.bincount(((coord[keep] - lo) / bin_w).astype(int).clip(0, nb - 1), weight[keep], nb)
    cnt = np.bincount(((coord[keep] - lo) / bin_w).astype(int).clip(0, nb - 1), None, nb)
    prof = ndimage.gaussian_filter1d(hist / np.maximum(cnt, 1), smooth)
    peaks = [i for i in range(1, nb - 1) if prof[i] >= prof[i - 1] and prof[i] > prof[i + 1]]
    pos = lo + (np.array(peaks, float) + 0.5) * bin_w
    # peak height above the profile's median level (the background of pores and noise)
    return pos, (prof[peaks] - np.median(prof)) if peaks else np.zeros(0)


def _brow_curve(ident: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Upper brow contour (x, y) across both brows, sorted by x; in the face frame."""
    idx = list(_BROW_UPPER[0]) + list(_BROW_UPPER[1])
    p = ident[idx, :2]
    o = np.argsort(p[:, 0])
    return p[o, 0], p[o, 1]


def _forehead(ctx: _Ctx) -> tuple[np.ndarray, np.ndarray]:
    """AU1/AU2 forehead lines: 2–4 horizontal lines following the brows' curve, wavy, broken, fading laterally."""
    rng = _rng(ctx.seed, "forehead")
    fp = ctx.ident
    bx, by = _brow_curve(fp)
    # smooth "gull-wing" shape through the brow tops (quartic), flattened with height
    coef = np.polyfit(bx, by, 4)
    shape0 = np.polyval(coef, 0.0)
    half = float(np.max(np.abs(bx))) * 0.95  # brow half-span sets the line extent

    def shape(x: np.ndarray) -> np.ndarray:
        return np.polyval(coef, np.clip(x, -half, half)) - shape0

    brow_top = float(max(by.max(), shape0))
    fm = ctx.fm
    # find the photo's own horizontal lines: histogram of valley strength over the brow-relative height
    central = (np.abs(fm.U) < 0.55 * half) & (fm.valid > 0.5)
    fore_reg = (fm.V > brow_top + 0.02) & (np.abs(fm.U) < 1.05 * half) & (fm.valid > 0)
    ov = ctx.oriented(ctx.vfine, ctx.nfine, (0.0, 1.0), fore_reg)
    rel = fm.V - shape(fm.U) * 0.8
    lo, hi = brow_top + 0.08, brow_top + 0.85
    pos, hts = _profile_peaks(rel[central], ov[central], lo, hi)
    spacing = rng.uniform(0.12, 0.18)
    first = brow_top + rng.uniform(0.15, 0.21)
    # forehead height available (skin above the brows, from the skin mask along the midline)
    col = (np.abs(fm.U) < 0.2) & (ctx.skin > 0.5)
    top = float(np.quantile(fm.V[col], 0.97)) if col.sum() > 10 else brow_top + 0.7
    n_fit = int(np.clip(np.floor((top - 0.05 - first) / spacing) + 1, 2, 4))
    proc = [first + k * spacing * rng.uniform(0.88, 1.12) for k in range(n_fit)]
    strong = [p for p, hv in zip(pos, hts, strict=False) if hv > _LINE_MIN]
    lines: list[tuple[float, bool]] = []
    for p in proc:  # snap each procedural line to a photo line close by
        near = [q for q in strong if abs(q - p) < 0.45 * spacing]
        lines.append((min(near, key=lambda q: abs(q - p)), True) if near else (p, False))
    ctx.existing["forehead"] = float(np.mean([e for _, e in lines])) if lines else 0.0
    cv = ctx.canvas()
    xs = np.linspace(-1.0, 1.0, 41)
    for k, (y0, _) in enumerate(sorted(lines)):
        flat = 0.8 - 0.15 * k  # higher lines follow the brows less
        wav = _Noise1D(rng, 0.35)
        dep = _Noise1D(rng, 0.25)
        ext = half * rng.uniform(0.85, 1.05) * (1.0 - 0.06 * k)
        x = xs * ext
        y = y0 + flat * shape(x) + 0.012 * wav(x)
        d = 0.26 * (1 - 0.1 * k) * np.clip(0.62 + 0.45 * dep(x), 0.05, 1.0)
        # occasional break in the line
        if rng.random() < 0.55:
            xb = rng.uniform(-0.6, 0.6) * ext
            d = d * (1 - 0.9 * np.exp(-0.5 * ((x - xb) / rng.uniform(0.03, 0.06)) ** 2))
        # fade at the temples
        d = d * (1 - _smoothstep(0.55 * ext, ext, np.abs(x)) * 0.85)
        sig = np.full_like(x, rng.uniform(0.014, 0.019))
        # broad, low shoulders: the rolls of skin between forehead lines
        cv.add(_Crease(np.stack([x, y], 1), d, sig, shoulder=0.35, spread=3.2, taper=0.12))
    # deepen the photo's own horizontal forehead lines
    reg = (
        (ctx.fm.V > brow_top + 0.06).astype(_F32)
        * _smoothstep(-half * 1.05, -half * 0.6, fm.U)
        * (1 - _smoothstep(half * 0.6, half * 1.05, fm.U))
    )
    own = -1.8 * np.minimum(ov, 0.12) * reg
    total = (cv.shading() + own) * ctx.texture
    # AU1 raises the inner brows: its share of the lines is the medial forehead; AU2 the lateral rest
    cen_map = np.exp(-0.5 * (fm.U / 0.3) ** 2).astype(_F32)
    return total * cen_map, total * (1 - cen_map)


def _glabella(ctx: _Ctx) -> np.ndarray:
    """AU4: 1–2 curved vertical furrows between the inner brows, a bulge above the brow heads, a horizontal
    crease at the nose root (procerus)."""
    rng = _rng(ctx.seed, "glabella")
    fp = ctx.ident
    fm = ctx.fm
    xr, xl = fp[_BROW_UPPER[0][-1], 0], fp[_BROW_UPPER[1][0], 0]  # inner brow heads (107, 336)
    yb_lo = 0.5 * (fp[55, 1] + fp[285, 1])
    yb_hi = 0.5 * (fp[107, 1] + fp[336, 1])
    half_gap = 0.5 * (xl - xr)
    mid = 0.5 * (xl + xr)
    # the photo's own vertical lines between the brows
    band = (fm.V > yb_lo - 0.02) & (fm.V < yb_hi + 0.15) & (fm.valid > 0.5)
    ov = ctx.oriented(ctx.vfine, ctx.nfine, (1.0, 0.0), band & (np.abs(fm.U - mid) < half_gap))
    pos, hts = _profile_peaks(fm.U[band] - mid, ov[band], -0.75 * half_gap, 0.75 * half_gap, 0.008)
    strong = [(p, hv) for p, hv in zip(pos, hts, strict=False) if hv > _LINE_MIN and abs(p) > 0.025]
    n = 1 if rng.random() < 0.22 else 2
    cv = ctx.canvas()
    used = []
    sides = [-1, 1] if n == 2 else [int(rng.choice([-1, 1]))]
    length = (yb_hi - yb_lo) * rng.uniform(1.6, 2.3) + 0.14
    for side in sides:
        x0 = side * half_gap * (rng.uniform(0.38, 0.55) if n == 2 else rng.uniform(0.05, 0.25))
        near = [p for p, _ in strong if np.sign(p) == np.sign(x0) and abs(p - x0) < 0.35 * half_gap]
        if near:
            x0 = min(near, key=lambda p: abs(p - x0))
        used.append(bool(near))
        L = length * rng.uniform(0.75, 1.1)
        ys = np.linspace(yb_lo - 0.04, yb_lo - 0.04 + L, 17)
        t = (ys - ys[0]) / L
        tilt = side * rng.uniform(0.03, 0.09)  # tops diverge
        bow = side * rng.uniform(-0.012, 0.02)
        xs = mid + x0 + tilt * t**1.3 + bow * np.sin(np.pi * t)
        dep = _Noise1D(rng, 0.12)
        d = (
            0.68
            * rng.uniform(0.7, 1.0)
            * np.clip(0.8 + 0.3 * dep(ys), 0.3, 1.1)
            * (0.55 + 0.45 * np.sin(np.pi * t**0.8))
        )
        sig = rng.uniform(0.018, 0.024) * (0.8 + 0.35 * np.sin(np.pi * t))
        cv.add(_Crease(np.stack([xs, ys], 1), d, sig, shoulder=0.6, spread=2.3, taper=0.3))
        # a faint companion line beside the main furrow on some faces
        if rng.random() < 0.4:
            off = side * rng.uniform(0.035, 0.06)
            cv.add(
                _Crease(
                    np.stack([xs + off, ys[::1] + 0.02], 1)[2:-4],
                    0.35 * d[2:-4],
                    sig[2:-4] * 0.8,
                    shoulder=0.4,
                    taper=0.4,
                )
            )
    ctx.existing["glabella"] = float(np.mean(used)) if used else 0.0
    # procerus: horizontal crease at the nose root, slightly bowed
    yr = 0.5 * (fp[168, 1] + yb_lo) + rng.uniform(-0.02, 0.02)
    xs = np.linspace(-0.7, 0.7, 15) * half_gap + mid
    ys = yr - 0.02 * ((xs - mid) / half_gap) ** 2 + 0.006 * _Noise1D(rng, 0.1)(xs)
    cv.add(_Crease(np.stack([xs, ys], 1), np.full(15, 0.16), np.full(15, 0.016), shoulder=0.5, taper=0.35))
    # corrugator bulges above the inner brow heads (skin pushed medially)
    for xb in (xr, xl):
        g = np.exp(
            -0.5 * (((fm.U - (xb + np.sign(mid - xb) * 0.05)) / 0.07) ** 2 + ((fm.V - (yb_hi + 0.05)) / 0.06) ** 2)
        )
        cv.ao += (0.05 * g * fm.valid).astype(_F32)
    own_reg = band.astype(_F32) * (np.abs(fm.U - mid) < half_gap)
    own = -1.8 * np.minimum(ov, 0.12) * own_reg
    return (cv.shading() + own) * ctx.texture


def _nose(ctx: _Ctx) -> np.ndarray:
    """AU9: horizontal creases across the nose root and oblique 'bunny lines' on the sides of the nose."""
    rng = _rng(ctx.seed, "nose")
    fp = ctx.ident
    cv = ctx.canvas()
    top = fp[168, 1] + 0.06
    xin = 0.5 * (fp[_EYE_INNER[1], 0] - fp[_EYE_INNER[0], 0])  # half distance between inner canthi
    n_root = int(rng.integers(1, 3))
    for k in range(n_root):
        y0 = top - k * rng.uniform(0.05, 0.07) + rng.uniform(-0.01, 0.01)
        shift = rng.uniform(-0.2, 0.2) * xin
        xs = np.linspace(-1, 1, 13) * xin * rng.uniform(0.4, 0.6) * (1 - 0.15 * k) + shift
        ys = y0 - rng.uniform(0.02, 0.05) * (xs / xin) ** 2 + 0.006 * _Noise1D(rng, 0.08)(xs)
        d = 0.22 * (1 - 0.25 * k) * np.clip(0.8 + 0.4 * _Noise1D(rng, 0.1)(xs), 0.3, 1.2)
        cv.add(_Crease(np.stack([xs, ys], 1), d, np.full(13, 0.014), shoulder=0.5, taper=0.3))
    # oblique lines on the nasal side walls, running down and out from the bridge
    for side in (-1, 1):
        n = int(rng.integers(2, 4))
        for k in range(n):
            ys0 = fp[6, 1] + 0.04 - k * rng.uniform(0.055, 0.07)
            p0 = np.array([side * rng.uniform(0.05, 0.08), ys0])
            ang = np.deg2rad(rng.uniform(28, 45))
            L = rng.uniform(0.11, 0.16)
            t = np.linspace(0, 1, 9)
            xs = p0[0] + side * np.cos(ang) * L * t
            ys = p0[1] - np.sin(ang) * L * t - 0.015 * np.sin(np.pi * t)
            cv.add(
                _Crease(
                    np.stack([xs, ys], 1),
                    np.full(9, 0.2 * rng.uniform(0.7, 1.0)),
                    np.full(9, 0.014),
                    shoulder=0.5,
                    taper=0.35,
                )
            )
    # the skin of the bridge is pushed up: soft bulge above the creases
    fm = ctx.fm
    g = np.exp(-0.5 * ((fm.U / 0.1) ** 2 + ((fm.V - (top + 0.05)) / 0.05) ** 2))
    cv.ao += (0.04 * g * fm.valid).astype(_F32)
    return cv.shading() * ctx.texture
