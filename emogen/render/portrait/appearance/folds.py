"""Lower-face and eye layers: the nasolabial fold (found in the photo), crow's feet, the lower lid, the chin."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from ....face.blendshapes import face_topology
from .analysis import (
    _ALA,
    _CHIN_BOTTOM,
    _EYE_OUTER,
    _F32,
    _LOWER_LIP_BOTTOM,
    _MOUTH_CORNER,
    _NASOLABIAL,
    _blur,
    _Noise1D,
    _rng,
    _smoothstep,
)
from .creases import _Crease, _Ctx


def _nasolabial(ctx: _Ctx) -> np.ndarray:
    """AU10/AU12/AU9: deepen the nasolabial fold, found in the photo where it has one (dynamic programming over the
    fold-scale valley response across the landmark guide), following the landmarks elsewhere."""
    rng = _rng(ctx.seed, "nasolabial")
    fp = ctx.ident
    cv = ctx.canvas()
    found = []
    for side, (ala, chain, corner) in enumerate(zip(_ALA, _NASOLABIAL, _MOUTH_CORNER, strict=False)):
        sgn = -1.0 if side == 0 else 1.0
        start = fp[ala, :2] + np.array([sgn * 0.035, 0.03])
        guide = [start] + [fp[i, :2] for i in chain]
        end = fp[corner, :2] + np.array([sgn * 0.2, -0.17])
        guide.append(end)
        G = np.array(guide)
        # resample evenly
        seg = np.linalg.norm(np.diff(G, axis=0), axis=1)
        cum = np.concatenate([[0], np.cumsum(seg)])
        ss = np.linspace(0, cum[-1], 24)
        C = np.stack([np.interp(ss, cum, G[:, 0]), np.interp(ss, cum, G[:, 1])], 1)
        tang = np.gradient(C, axis=0)
        tang /= np.linalg.norm(tang, axis=1, keepdims=True)
        nrm = np.stack([-tang[:, 1], tang[:, 0]], 1)
        if (nrm[:, 0] * sgn).mean() < 0:
            nrm = -nrm  # normals point laterally
        offs = np.linspace(-0.09, 0.09, 19)
        # sample the fold-scale valley response oriented across the guide, at candidate offsets
        cost = _sample_oriented(ctx, C, nrm, offs)
        path, conf = _viterbi(cost, offs, smooth=0.25)
        w_conf = np.clip(conf / max(ctx.noise_floor * 3 + 0.01, 1e-3), 0, 1)
        off = ndimage.gaussian_filter1d(path * w_conf, 1.5)
        found.append(float((w_conf > 0.5).mean()))
        F = C + off[:, None] * nrm
        t = ss / ss[-1]
        # deepest along the middle, fading at the ala and beyond the mouth corner
        d = 0.24 * np.clip(np.sin(np.pi * np.clip(t * 1.05, 0, 1)) ** 0.7, 0, 1) * rng.uniform(0.85, 1.0)
        d *= 1 + 0.15 * _Noise1D(rng, 0.3)(ss)
        sig = 0.024 + 0.014 * np.sin(np.pi * t)
        # orient the polyline so that +normal (left of travel) is lateral: the cheek bulge sits there
        left_n = np.stack([-np.gradient(F[:, 1]), np.gradient(F[:, 0])], 1)
        if (left_n[:, 0] * sgn).mean() < 0:
            F, d, sig = F[::-1], d[::-1], sig[::-1]
        cv.add(_Crease(F, d, sig, shoulder=0.2, spread=2.5, lateral=0.45, taper=0.2))
    ctx.existing["nasolabial"] = float(np.mean(found))
    return cv.shading(directional=1.0) * ctx.texture


def _sample_oriented(ctx: _Ctx, C: np.ndarray, nrm: np.ndarray, offs: np.ndarray) -> np.ndarray:
    """Oriented fold response at face-frame points ``C + o * nrm`` (M, O) by nearest-pixel lookup."""
    fm = ctx.fm
    h, w = fm.U.shape
    # invert the face map for the sample points: nearest pixel in (U, V) among valid pixels (coarse grid search)
    Q = C[:, None, :] + offs[None, :, None] * nrm[:, None, :]
    lo, hi = Q.reshape(-1, 2).min(0) - 0.05, Q.reshape(-1, 2).max(0) + 0.05
    iy, ix = np.nonzero((fm.valid > 0.5) & (fm.U > lo[0]) & (fm.U < hi[0]) & (fm.V > lo[1]) & (fm.V < hi[1]))
    if len(iy) == 0:
        return np.zeros(Q.shape[:2])
    tree = cKDTree(np.stack([fm.U[iy, ix], fm.V[iy, ix]], 1))
    dist, j = tree.query(Q.reshape(-1, 2))
    py, px = iy[j], ix[j]
    # across-direction in the image for each guide point's normal
    Jp = fm.J[py, px]
    nn = np.repeat(nrm, len(offs), 0)
    e = np.einsum("nij,ni->nj", Jp, nn)
    e /= np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-9)
    cos = np.abs((e * ctx.nfold[py, px]).sum(1))
    v = np.maximum(ctx.vfold[py, px] - ctx.noise_floor, 0) * cos**2 * ctx.skin[py, px]
    v[dist > 0.03] = 0
    return v.reshape(len(C), len(offs))


def _viterbi(score: np.ndarray, offs: np.ndarray, smooth: float) -> tuple[np.ndarray, np.ndarray]:
    """Best smooth path through ``score`` (M, O) maximising the summed score minus a jump penalty; returns the
    offsets per row and the score on the path."""
    M, O = score.shape
    step = offs[1] - offs[0]
    pen = smooth * (np.subtract.outer(np.arange(O), np.arange(O)) * step / 0.02) ** 2 * (score.max() + 1e-6)
    pen += 0.15 * (score.max() + 1e-6) * (offs / offs.max())[None, :] ** 2  # prefer the landmark guide
    acc = score[0].copy()
    back = np.zeros((M, O), int)
    for i in range(1, M):
        tot = acc[:, None] - pen
        back[i] = np.argmax(tot, 0)
        acc = tot[back[i], np.arange(O)] + score[i]
    path = np.zeros(M, int)
    path[-1] = int(np.argmax(acc))
    for i in range(M - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return offs[path], score[np.arange(M), path]


def _crows_feet(ctx: _Ctx) -> np.ndarray:
    """AU6: fans of 3–5 short, slightly curved lines radiating from each outer eye corner, plus the photo's own
    radial lines there, deepened."""
    rng = _rng(ctx.seed, "crows_feet")
    fp = ctx.ident
    fm = ctx.fm
    cv = ctx.canvas()
    own = np.zeros_like(fm.U)
    for side, corner in enumerate(_EYE_OUTER):
        sgn = -1.0 if side == 0 else 1.0
        o = fp[corner, :2] + np.array([sgn * 0.02, 0.01])
        n = int(rng.integers(3, 6))
        base = np.linspace(-45, 28, n) + rng.uniform(-5, 5, n)
        for a in base:
            r0 = rng.uniform(0.05, 0.08)
            L = rng.uniform(0.13, 0.22) * (1.15 if a < -10 else 1.0)
            t = np.linspace(0, 1, 9)
            r = r0 + L * t
            # lines curve gently downwards as they leave the eye (they follow the orbicularis fibres)
            th = np.deg2rad(a) - np.deg2rad(rng.uniform(6, 16)) * t**1.5
            xs = o[0] + sgn * r * np.cos(th)
            ys = o[1] + r * np.sin(th)
            d = 0.27 * rng.uniform(0.6, 1.0) * (1.0 - 0.25 * abs(a) / 42) * np.ones_like(t)
            cv.add(
                _Crease(np.stack([xs, ys], 1), d, np.full_like(t, rng.uniform(0.011, 0.014)), shoulder=0.5, taper=0.35)
            )
        # the photo's own radial lines beside the eye corner
        ru, rv = (fm.U - o[0]) * sgn, fm.V - o[1]
        rr = np.sqrt(ru * ru + rv * rv) + 1e-6
        tangential = np.stack([-rv / rr * sgn, ru / rr], -1)  # across a radial line
        reg = _smoothstep(0.06, 0.1, rr) * (1 - _smoothstep(0.18, 0.26, rr)) * (ru > 0)
        own -= 1.5 * np.minimum(ctx.oriented(ctx.vfine, ctx.nfine, tangential, reg > 0), 0.1) * reg
    return (cv.shading() + own) * ctx.texture


def _lower_lid(ctx: _Ctx) -> np.ndarray:
    """AU6: the skin below the lower lid bulges and the infraorbital furrow beneath it deepens."""
    rng = _rng(ctx.seed, "lower_lid")
    fp = ctx.ident
    g = face_topology().groups
    cv = ctx.canvas()
    for lower in (g.right_eye_lower, g.left_eye_lower):
        P = fp[list(lower), :2]
        P = P[np.argsort(P[:, 0])]
        xs = np.linspace(P[0, 0], P[-1, 0], 15)
        ys = np.interp(xs, P[:, 0], P[:, 1])
        lat = np.sign(xs.mean())
        t = (xs - xs.min()) / np.ptp(xs)
        tl = t if lat > 0 else 1 - t  # 0 at the inner corner, 1 at the outer
        # bulge (ridge) just below the lid margin
        yb = ys - 0.07 - 0.01 * tl
        cv.add(
            _Crease(
                np.stack([xs, yb], 1),
                -np.full(15, 0.11) * np.sin(np.pi * np.clip(tl * 1.05, 0, 1)),
                np.full(15, 0.03),
                shoulder=0.0,
                taper=0.3,
            )
        )
        # infraorbital furrow below it, curving down laterally
        xf = xs + lat * 0.04 * tl
        yf = ys - rng.uniform(0.12, 0.145) - 0.03 * tl**2 + 0.004 * _Noise1D(rng, 0.1)(xs)
        d = 0.17 * np.sin(np.pi * np.clip(0.15 + 0.85 * tl, 0, 1)) * rng.uniform(0.75, 1.0)
        cv.add(_Crease(np.stack([xf, yf], 1), d, np.full(15, 0.016), shoulder=0.5, taper=0.3))
    return cv.shading() * ctx.texture


def _chin(ctx: _Ctx) -> np.ndarray:
    """AU17: dimpled 'orange peel' chin boss (pits and the photo's own pores deepened) and the mentolabial furrow."""
    rng = _rng(ctx.seed, "chin")
    fp = ctx.ident
    fm = ctx.fm
    cv = ctx.canvas()
    top, bot = fp[_LOWER_LIP_BOTTOM, :2], fp[_CHIN_BOTTOM, :2]
    c = top + 0.58 * (bot - top)
    rx, ry = 0.21, 0.55 * np.linalg.norm(bot - top) * 0.5
    ell = ((fm.U - c[0]) / rx) ** 2 + ((fm.V - c[1]) / ry) ** 2
    reg = (1 - _smoothstep(0.45, 1.0, ell)) * fm.valid
    iy, ix = np.nonzero(reg > 0.01)
    U, V = fm.U[iy, ix].astype(np.float64), fm.V[iy, ix].astype(np.float64)
    n = 60
    ang = rng.uniform(0, 2 * np.pi, n)
    rad = np.sqrt(rng.uniform(0, 1, n))
    cx = c[0] + rx * rad * np.cos(ang)
    cy = c[1] + ry * rad * np.sin(ang)
    sig = rng.uniform(0.014, 0.028, n)
    amp = rng.uniform(0.4, 1.0, n)
    h = np.zeros_like(U)
    hx = np.zeros_like(U)
    hy = np.zeros_like(U)
    for k in range(n):
        dx, dy = U - cx[k], V - cy[k]
        gk = amp[k] * np.exp(-0.5 * (dx * dx + dy * dy) / sig[k] ** 2)
        h -= gk
        hx += gk * dx / sig[k]  # d(-g)/dx * sigma
        hy += gk * dy / sig[k]
    # broad bulge of the boss itself
    hb = 0.5 * np.exp(-0.5 * (((U - c[0]) / (0.7 * rx)) ** 2 + ((V - c[1]) / (0.8 * ry)) ** 2))
    r = reg[iy, ix]
    h = -np.tanh(-h)  # overlapping pits saturate
    ao = (0.07 * h + 0.04 * hb) * r
    # directional part: gradient in face frame -> image via J
    Jp = fm.J[iy, ix]
    gimg = np.einsum("nij,ni->nj", Jp, np.stack([hx, hy], 1))
    gimg /= np.maximum(np.linalg.norm(Jp.reshape(-1, 4), axis=1) / np.sqrt(2), 1e-9)[:, None]
    cv.add_field(iy, ix, ao)
    cv.dirn[iy, ix] -= (0.07 * r * (gimg @ ctx.light.direction.astype(np.float64))).astype(_F32)
    # the photo's own pores/texture on the chin, deepened (band-pass, dark part)
    bp = ctx.logy - _blur(ctx.logy, max(1.0, 0.03 * ctx.ipd))
    tex = np.clip(bp, -0.12, 0.04)
    own = 0.5 * tex * reg * ctx.skin_strict
    # mentolabial furrow below the lower lip, curved (∪)
    xs = np.linspace(-0.2, 0.2, 15)
    ys = top[1] - 0.09 + 0.12 * xs**2 / 0.04 * 0.3
    cv.add(_Crease(np.stack([xs + top[0], ys], 1), np.full(15, 0.2), np.full(15, 0.022), shoulder=0.6, taper=0.35))
    return cv.shading() + own.astype(_F32)
