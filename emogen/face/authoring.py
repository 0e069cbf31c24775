"""Authoring the 52 ARKit blendshape displacement fields on MediaPipe's canonical face mesh (the recipe).

:func:`author_blendshapes` is run by ``training/face_rig/make_blendshapes.py``, which saves the fields as
``weights/face_rig/blendshapes.safetensors``; :class:`~emogen.face.rig.FaceRig` reuses the author's helpers to fit
per-photo corrections. See :mod:`emogen.face.blendshapes` for the method and units.
"""

from __future__ import annotations

import math

import numpy as np

from ..arkit import ARKIT_BLENDSHAPES
from .blendshapes import (
    _JAW_CORNER,
    _SQUINT_LOWER,
    _SQUINT_UPPER,
    canonical_template,
    face_topology,
)

__all__ = ["author_blendshapes", "eye_fields"]


class _Author:
    """Harmonic-extension deformer on one face geometry (IPD units, face frame)."""

    def __init__(self, vertices: np.ndarray) -> None:
        self.v = np.asarray(vertices, dtype=np.float64)
        self.topo = face_topology()
        self.g = self.topo.groups
        self.L = self.topo.laplacian(self.v.shape[0]).tocsr()
        g = self.g
        self.mesh_ids = np.arange(468)
        self.corner = {+1: 291, -1: 61}
        self.corner_in = {+1: 308, -1: 78}
        self.upper_lip = np.array(sorted(set(g.lips_outer_upper[1:-1] + g.lips_inner_upper[1:-1])))
        self.lower_lip = np.array(sorted(set(g.lips_outer_lower[1:-1] + g.lips_inner_lower[1:-1])))
        self.lips = np.array(sorted(set(self.upper_lip) | set(self.lower_lip) | {61, 291, 78, 308}))
        self.eye_upper = {+1: np.array(g.left_eye_upper), -1: np.array(g.right_eye_upper)}
        self.eye_lower = {+1: np.array(g.left_eye_lower), -1: np.array(g.right_eye_lower)}
        self.brow = {+1: np.array(g.left_brow), -1: np.array(g.right_brow)}
        self.iris = {+1: np.arange(473, 478), -1: np.arange(468, 473)}
        self.mouth_halfwidth = abs(self.v[291, 0] - self.v[61, 0]) / 2
        self.mouth_center = self.v[[61, 291, 13, 14]].mean(0)

    # ------------------------------------------------------------------------------------------------- helpers
    def near(self, x: float, y: float, r: float) -> np.ndarray:
        """Front-facing mesh vertices within ``r`` of ``(x, y)`` in the image plane."""
        v = self.v[:468]
        d = np.hypot(v[:, 0] - x, v[:, 1] - y)
        front = v[:, 2] > np.percentile(v[:, 2], 30)
        ids = np.nonzero((d < r) & front)[0]
        if ids.size == 0:
            ids = np.array([int(np.argmin(d + (~front) * 10))])
        return ids

    def side(self, ids: np.ndarray, s: int, soft: float = 0.15) -> np.ndarray:
        """Weights in [0, 1] of ``ids`` for side ``s`` (smooth across the midline over ``soft`` IPD)."""
        x = self.v[ids, 0] * s
        return np.clip(0.5 + x / (2 * soft), 0.0, 1.0)

    def deform(
        self,
        handles: list[tuple[np.ndarray, np.ndarray]],
        radius: float,
        anchors: np.ndarray | list[int] = (),
    ) -> np.ndarray:
        """Harmonic extension of handle displacements, zero beyond ``radius`` (geodesic) and on ``anchors``.

        Args:
            handles: ``(indices (k,), displacement (3,) or (k, 3))`` pairs; later pairs add to earlier ones.
            radius: geodesic radius (IPD) of the region that follows the handles.
            anchors: vertices held fixed.

        Returns:
            `np.ndarray` of shape `(478, 3)`.
        """
        n = self.v.shape[0]
        fixed = np.zeros(n, dtype=bool)
        value = np.zeros((n, 3))
        mesh_handles = []
        for ids, disp in handles:
            ids = np.asarray(ids, dtype=np.int64)
            disp = np.broadcast_to(np.asarray(disp, dtype=np.float64), (len(ids), 3))
            np.add.at(value, ids, disp)
            fixed[ids] = True
            mesh_handles += [i for i in ids.tolist() if i < 468]
        out = value.copy()
        if not mesh_handles:
            return out
        dist = self.topo.geodesic(self.v[:468], sorted(set(mesh_handles)))
        far = np.zeros(n, dtype=bool)
        far[:468] = dist > radius
        anchor_mask = np.zeros(n, dtype=bool)
        anchor_mask[np.asarray(list(anchors), dtype=np.int64)] = True
        pinned = fixed | far | anchor_mask
        pinned[468:] = True  # iris points only move when they are handles
        value[(far | anchor_mask) & ~fixed] = 0.0
        free = np.nonzero(~pinned)[0]
        if free.size:
            from scipy.sparse.linalg import spsolve

            lff = self.L[free][:, free].tocsc()
            rhs = -self.L[free][:, np.nonzero(pinned)[0]] @ value[pinned]
            sol = spsolve(lff, rhs)
            out[free] = np.asarray(sol).reshape(-1, 3)
        out[pinned] = value[pinned]
        # Soften the harmonic field's kink at the outer radius with a smooth taper.
        taper = np.ones(n)
        taper[:468] = np.clip(1.0 - (dist / radius) ** 4, 0.0, 1.0)
        taper[fixed] = 1.0
        return out * taper[:, None]

    def jaw_weights(self, lip_opening: bool = False) -> np.ndarray:
        """Harmonic weights: 1 on the lower lip and chin, 0 on the upper lip and above the mouth.

        With ``lip_opening``, the lips instead take the profile of an opening mouth: the corners, which both lips
        share, drop by ``_JAW_CORNER`` of the jaw, and the lips part by ``sin(pi t)`` across the mouth (``t`` from
        corner to corner): the lower lip drops ``c + (1 - c) sin``, the upper lip near the corners follows them
        down by ``c (1 - sin)``. The opening is then a lens, closing gradually into the corners, rather than a
        slot of nearly constant height with blunt ends (a stretched, teeth-baring look).
        """
        n = self.v.shape[0]
        v = self.v
        y_corner = (v[61, 1] + v[291, 1]) / 2
        ones = set(self.lower_lip.tolist()) | set(self.near(0.0, v[152, 1] + 0.1, 0.35).tolist())
        oval = np.array(self.g.face_oval)
        ones |= set(oval[v[oval, 1] < y_corner - 0.45].tolist())
        zeros = set(self.upper_lip.tolist()) | set(np.nonzero(v[:468, 1] > v[1, 1] - 0.05)[0].tolist())
        zeros |= set(oval[v[oval, 1] > y_corner + 0.05].tolist())
        w = np.zeros(n)
        fixed = np.zeros(n, dtype=bool)
        for i in ones:
            w[i], fixed[i] = 1.0, True
        for i in zeros:
            w[i], fixed[i] = 0.0, True
        if lip_opening:
            c = _JAW_CORNER
            part = self.lip_taper(self.lips)
            lower = np.isin(self.lips, self.lower_lip)
            w[self.lips] = np.where(lower, c + (1 - c) * part, c * (1 - part))
            fixed[self.lips] = True
        fixed[468:] = True
        free = np.nonzero(~fixed)[0]
        from scipy.sparse.linalg import spsolve

        sol = spsolve(self.L[free][:, free].tocsc(), -self.L[free][:, np.nonzero(fixed)[0]] @ w[fixed])
        w[free] = sol
        return np.clip(w, 0.0, 1.0)

    def jaw_rotation(self, degrees: float) -> np.ndarray:
        """Displacement of rotating the jaw region about the temporomandibular axis by ``degrees`` (opening)."""
        v = self.v
        pivot = np.array([0.0, v[1, 1] + 0.05, v[234, 2] - 0.55])  # behind the cheek oval, at nose-tip level
        th = math.radians(degrees)
        rel = v - pivot
        rot = np.stack(
            [
                rel[:, 0],
                rel[:, 1] * math.cos(th) - rel[:, 2] * math.sin(th),
                rel[:, 1] * math.sin(th) + rel[:, 2] * math.cos(th),
            ],
            axis=-1,
        )
        w = self.jaw_weights(lip_opening=True)
        return (rot - rel) * w[:, None]

    def lip_taper(self, ids: np.ndarray, power: float = 1.0) -> np.ndarray:
        """``sin(pi t) ** power`` across the mouth (``t`` from the right to the left outer corner), shape ``(k,)``:
        1 in the middle, falling to 0 at the corners."""
        v = self.v
        t = np.clip((v[ids, 0] - v[61, 0]) / (v[291, 0] - v[61, 0]), 0, 1)
        return np.sin(np.pi * t) ** power

    def brow_parts(self, s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inner, middle and outer thirds of brow ``s`` (by |x|)."""
        ids = self.brow[s]
        order = ids[np.argsort(np.abs(self.v[ids, 0]))]
        k = len(order) // 3
        return order[: k + 1], order[k + 1 : 2 * k + 1], order[2 * k + 1 :]

    def lid_profile(self, ids: np.ndarray) -> np.ndarray:
        """sin-shaped weights along an eyelid arc (0 at the corners, 1 at the middle), shape ``(k,)``."""
        x = self.v[ids, 0]
        t = (x - x.min()) / max(np.ptp(x), 1e-9)
        return np.sin(np.pi * t)


def eye_fields(vertices: np.ndarray) -> dict[str, np.ndarray]:
    """Eyelid fields computed from a face's own geometry (calibrated per face).

    ``eyeBlink*`` closes the lids exactly: the upper lid meets the lower lid a fifth of the opening above it.
    ``eyeWide*`` raises the upper lid by 60 % of the opening (≈0.065 IPD on an average eye), ``eyeSquint*``
    raises the lower lid by 30 % and lowers the upper lid by 10 % (AU7, lid tightener).

    Args:
        vertices (`np.ndarray` of shape `(478, 3)`): the face in IPD units (face frame).

    Returns:
        name → `np.ndarray` of shape `(478, 3)`.
    """
    a = _Author(vertices)
    v = a.v
    out: dict[str, np.ndarray] = {}
    for s, side in ((+1, "Left"), (-1, "Right")):
        up, lo = a.eye_upper[s], a.eye_lower[s]  # both ordered from -x to +x, corners shared
        up_mid, lo_mid = up[1:-1], lo[1:-1]
        # pair each upper-lid vertex with the lower lid at the same x (linear interpolation along the lower arc)
        lx, ly, lz = v[lo, 0], v[lo, 1], v[lo, 2]
        order = np.argsort(lx)
        below = np.stack([np.interp(v[up_mid, 0], lx[order], c[order]) for c in (lx, ly, lz)], -1)
        above = np.stack(
            [
                np.interp(v[lo_mid, 0], v[up, 0][np.argsort(v[up, 0])], v[up, c][np.argsort(v[up, 0])])
                for c in range(3)
            ],
            -1,
        )
        meet_up = below + 0.2 * (v[up_mid] - below)
        meet_lo = v[lo_mid] + 0.2 * (above - v[lo_mid])
        brows = a.brow[s]
        blink = a.deform([(up_mid, meet_up - v[up_mid]), (lo_mid, meet_lo - v[lo_mid])], radius=0.28, anchors=brows)
        out[f"eyeBlink{side}"] = blink
        opening = np.linalg.norm(v[up_mid] - below, axis=-1)
        wide_up = np.zeros((len(up_mid), 3))
        wide_up[:, 1] = 0.6 * opening.max() * a.lid_profile(up_mid) ** 0.7
        out[f"eyeWide{side}"] = a.deform(
            [(up_mid, wide_up), (lo_mid, np.array([0.0, -0.008, 0.0]))], radius=0.3, anchors=brows
        )
        sq_lo = np.zeros((len(lo_mid), 3))
        sq_lo[:, 1] = _SQUINT_LOWER * opening.max() * a.lid_profile(lo_mid)
        sq_up = np.zeros((len(up_mid), 3))
        sq_up[:, 1] = -_SQUINT_UPPER * opening.max() * a.lid_profile(up_mid)
        out[f"eyeSquint{side}"] = a.deform([(lo_mid, sq_lo), (up_mid, sq_up)], radius=0.25, anchors=brows)
    return out


def author_blendshapes(vertices: np.ndarray | None = None) -> np.ndarray:
    """Author the 52 fields on ``vertices`` (default: the canonical template).

    Returns:
        `np.ndarray` of shape `(52, 478, 3)` in :data:`emogen.arkit.ARKIT_BLENDSHAPES` order, IPD units.
    """
    v0 = canonical_template() if vertices is None else np.asarray(vertices, dtype=np.float64)
    a = _Author(v0)
    v = a.v
    f: dict[str, np.ndarray] = {}
    np.zeros_like(v)
    lips = a.lips

    def lip_corner_weights(s: int, reach: float = 1.0) -> np.ndarray:
        """Weights of the lip vertices for moving corner ``s``: 1 at the corner, 0 at the far corner."""
        x = v[lips, 0] * s
        t = (x + a.mouth_halfwidth) / (2 * a.mouth_halfwidth)
        return np.clip(t, 0, 1) ** (2.5 / reach)

    for s, side in ((+1, "Left"), (-1, "Right")):
        inner, middle, outer = a.brow_parts(s)
        lids = np.r_[a.eye_upper[s], a.eye_lower[s]]
        other_corner = [a.corner[-s], a.corner_in[-s]]
        # --- brows (AU4, AU2). Amplitudes from real posed expressions read back through the same landmarker as
        # our renders (a 21-expression reference sheet): surprise raises the inner brows 0.15 IPD (≈ 10 mm),
        # anger lowers them 0.09 IPD and pulls them 0.04 IPD together. Landmarks on the brows' lower edge move
        # about half as far as the peak of a field, hence peaks of 0.16-0.19 IPD.
        f[f"browDown{side}"] = a.deform(
            [(inner, [-s * 0.09, -0.18, 0.0]), (middle, [-s * 0.045, -0.15, 0.0]), (outer, [0.0, -0.075, 0.0])],
            radius=0.38,
            anchors=lids,
        )
        f[f"browOuterUp{side}"] = a.deform(
            [(outer, [s * 0.016, 0.16, 0.0]), (middle, [0.0, 0.096, 0.0]), (inner, [0.0, 0.032, 0.0])],
            radius=0.4,
            anchors=lids,
        )
        # --- cheeks (AU6): the raised cheek pushes the lower lid up and narrows the eye. Real broad smiles raise the
        # lower lid 0.03-0.04 IPD (seven people's photos against eight resting faces, and one person's own neutral
        # -> smile) and narrow the aperture by a third or more; 0.02 here gave a tenth
        cheek = a.near(s * 0.52, -0.42, 0.16)
        lo_mid = a.eye_lower[s][1:-1]
        lift = np.zeros((len(lo_mid), 3))
        lift[:, 1] = 0.08 * a.lid_profile(lo_mid) ** 0.5
        f[f"cheekSquint{side}"] = a.deform(
            [(cheek, [0.0, 0.055, 0.015]), (lo_mid, lift)],
            radius=0.38,
            anchors=a.eye_upper[s],
        )
        # --- gaze (iris moves; the upper lid follows vertical gaze)
        up_mid = a.eye_upper[s][1:-1]
        lo_mid = a.eye_lower[s][1:-1]
        f[f"eyeLookDown{side}"] = a.deform(
            [(a.iris[s], [0.0, -0.09, -0.02]), (up_mid, [0.0, -0.035, 0.0]), (lo_mid, [0.0, -0.012, 0.0])],
            radius=0.22,
            anchors=a.brow[s],
        )
        f[f"eyeLookUp{side}"] = a.deform(
            [(a.iris[s], [0.0, 0.08, -0.01]), (up_mid, [0.0, 0.025, 0.0])], radius=0.22, anchors=a.brow[s]
        )
        f[f"eyeLookIn{side}"] = a.deform([(a.iris[s], [-s * 0.10, 0.0, -0.01])], radius=0.1)
        f[f"eyeLookOut{side}"] = a.deform([(a.iris[s], [s * 0.10, 0.0, -0.01])], radius=0.1)
        # --- jaw sideways
        # --- mouth corners
        wc = lip_corner_weights(s)
        f[f"mouthSmile{side}"] = a.deform(
            [
                (lips, wc[:, None] * np.array([s * 0.14, 0.14, -0.045])),
                (a.near(s * 0.42, -0.78, 0.1), [s * 0.015, 0.035, 0.02]),
            ],
            radius=0.5,
            anchors=np.r_[other_corner, a.eye_lower[s]],
        )
        # AU15 at its maximum: the corners go down ≈ 11 mm and a little outward (FACS: "some lateral pulling"); the
        # chin stays where it is (the lip, not the jaw, moves)
        chin_boss = a.near(0.0, v[152, 1] + 0.12, 0.22)
        f[f"mouthFrown{side}"] = a.deform(
            [(lips, wc[:, None] * np.array([s * 0.025, -0.17, -0.005]))],
            radius=0.42,
            anchors=np.r_[other_corner, a.eye_lower[s], chin_boss],
        )
        f[f"mouthDimple{side}"] = a.deform(
            [(lips, wc[:, None] ** 2 * np.array([s * 0.035, 0.0, -0.04]))], radius=0.35, anchors=other_corner
        )
        # AU20: the corners are pulled horizontally towards the ears, "not down (15), not up (12)" (FACS manual)
        f[f"mouthStretch{side}"] = a.deform(
            [(lips, wc[:, None] * np.array([s * 0.11, -0.015, -0.02]))], radius=0.45, anchors=other_corner
        )
        # AU16: the lower lip pulled down on its side, exposing the lower teeth; the corner (held by the modiolus)
        # stays, so the lip bows down between the corners
        ws_lo = a.side(a.lower_lip, s) * a.lip_taper(a.lower_lip, 0.5)
        f[f"mouthLowerDown{side}"] = a.deform(
            [(a.lower_lip, ws_lo[:, None] * np.array([0.0, -0.10, 0.01]))], radius=0.3, anchors=a.upper_lip
        )
        ws_up = a.side(a.upper_lip, s)
        f[f"mouthUpperUp{side}"] = a.deform(
            [(a.upper_lip, ws_up[:, None] * np.array([0.0, 0.065, 0.01]))], radius=0.3, anchors=a.lower_lip
        )
        wl = a.side(lips, s)
        press = np.where(np.isin(lips, a.upper_lip), -0.018, 0.022)
        f[f"mouthPress{side}"] = a.deform(
            [(lips, wl[:, None] * np.stack([np.zeros_like(press), press, np.full_like(press, -0.01)], -1))],
            radius=0.22,
        )
        # --- nose (AU9)
        # AU9: the skin on the sides of the nose and the nostril wings pulled up, the upper lip raised a little, the
        # inner brow lowered (FACS manual)
        ala = a.near(s * 0.2, v[1, 1] - 0.15, 0.11)
        nose_side = a.near(s * 0.12, v[1, 1] + 0.12, 0.08)
        f[f"noseSneer{side}"] = a.deform(
            [
                (ala, [-s * 0.01, 0.06, 0.005]),
                (nose_side, [0.0, 0.025, 0.0]),
                (a.upper_lip, a.side(a.upper_lip, s)[:, None] * [0.0, 0.03, 0.0]),
                (inner, [0.0, -0.03, 0.0]),
            ],
            radius=0.32,
            anchors=a.eye_lower[s],
        )

    # --- symmetric shapes
    inner_l, _, _ = a.brow_parts(+1)
    inner_r, _, _ = a.brow_parts(-1)
    mid_l, mid_r = a.brow_parts(+1)[1], a.brow_parts(-1)[1]
    lids_all = np.r_[a.eye_upper[1], a.eye_lower[1], a.eye_upper[-1], a.eye_lower[-1]]
    f["browInnerUp"] = a.deform(
        [(np.r_[inner_l, inner_r], [0.0, 0.19, 0.0]), (np.r_[mid_l, mid_r], [0.0, 0.096, 0.0])],
        radius=0.45,
        anchors=lids_all,
    )
    cheeks = np.r_[a.near(0.62, -0.72, 0.18), a.near(-0.62, -0.72, 0.18)]
    f["cheekPuff"] = a.deform(
        [
            (cheeks, np.c_[np.sign(v[cheeks, 0]) * 0.06, np.zeros(len(cheeks)), np.full(len(cheeks), 0.05)]),
            (lips, [0.0, 0.0, 0.015]),
        ],
        radius=0.45,
        anchors=lids_all,
    )
    jaw_open = a.jaw_rotation(13.0)
    # the lips stretch vertically as the jaw drops: the corners come in (AU26/27)
    x_rel = (v[lips, 0] - a.mouth_center[0]) / a.mouth_halfwidth
    jaw_open = jaw_open + a.deform(
        [(lips, np.c_[-0.09 * np.sign(x_rel) * np.abs(x_rel) ** 2, np.zeros((len(lips), 2))])], radius=0.3
    )
    f["jawOpen"] = jaw_open
    jw = a.jaw_weights()[:, None]
    f["jawForward"] = jw * np.array([0.0, -0.01, 0.10])
    f["jawLeft"] = jw * np.array([0.09, 0.0, 0.0])
    f["jawRight"] = jw * np.array([-0.09, 0.0, 0.0])
    f["mouthClose"] = a.deform([(a.lower_lip, -0.9 * jaw_open[a.lower_lip])], radius=0.3, anchors=a.upper_lip)
    rel = v[lips] - a.mouth_center
    f["mouthFunnel"] = a.deform(
        [
            (
                lips,
                np.c_[
                    -0.3 * rel[:, 0],  # corners in
                    # lips part into a rounded opening: upper up, lower down, most in the middle
                    np.where(np.isin(lips, a.upper_lip), 0.05, -0.07)
                    * np.sin(np.pi * np.clip(0.5 + rel[:, 0] / (2 * a.mouth_halfwidth), 0, 1)) ** 0.7,
                    np.full(len(lips), 0.06),
                ],
            )
        ],
        radius=0.4,
    )
    f["mouthPucker"] = a.deform(
        [(lips, np.c_[-0.28 * rel[:, 0], -0.15 * rel[:, 1], np.full(len(lips), 0.07)])], radius=0.45
    )
    f["mouthLeft"] = a.deform([(lips, [0.10, 0.0, 0.0])], radius=0.45)
    f["mouthRight"] = a.deform([(lips, [-0.10, 0.0, 0.0])], radius=0.45)
    g = a.g
    outer_lo = np.array(g.lips_outer_lower[1:-1])
    outer_up = np.array(g.lips_outer_upper[1:-1])
    f["mouthRollLower"] = a.deform(
        [(outer_lo, [0.0, 0.035, -0.02]), (np.array(g.lips_inner_lower[1:-1]), [0.0, 0.008, -0.02])], radius=0.2
    )
    f["mouthRollUpper"] = a.deform(
        [(outer_up, [0.0, -0.03, -0.02]), (np.array(g.lips_inner_upper[1:-1]), [0.0, -0.006, -0.02])], radius=0.2
    )
    chin = a.near(0.0, v[152, 1] + 0.25, 0.22)
    f["mouthShrugLower"] = a.deform(
        [(a.lower_lip, [0.0, 0.045, 0.01]), (chin, [0.0, 0.05, 0.02])], radius=0.4, anchors=a.upper_lip
    )
    f["mouthShrugUpper"] = a.deform([(a.upper_lip, [0.0, 0.035, 0.01])], radius=0.25, anchors=a.lower_lip)
    f["tongueOut"] = a.deform([(a.lower_lip, [0.0, -0.03, 0.01])], radius=0.2, anchors=a.upper_lip)
    f.update(eye_fields(v))
    missing = [n for n in ARKIT_BLENDSHAPES if n not in f]
    if missing:
        raise RuntimeError(f"Blendshape recipe is missing {missing}.")
    return np.stack([f[n] for n in ARKIT_BLENDSHAPES]).astype(np.float32)


# ----------------------------------------------------------------------------------------------------- loading
