"""The mouth interior's anatomy in millimetres: tooth tables, dental arch, crowns, gums, tongue and the cavity, built
into one canonical mesh in the dental frame (sources in :mod:`emogen.head.mouth`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CAVITY",
    "GUM",
    "INNER_LIP_LOOP",
    "IPD_MM",
    "JAW_LANDMARKS",
    "LOWER_TEETH",
    "TEETH",
    "TONGUE",
    "UPPER_TEETH",
    "ToothSpec",
]

IPD_MM = 63.0  #: mean adult inter-pupil distance (Dodgson 2004), mm: the face frame's unit

# ----------------------------------------------------------------------------------------------------- materials
CAVITY, TEETH, GUM, TONGUE = 0, 1, 2, 3  #: material ids (attribute channel :data:`ATTR_MATERIAL`)


#: Inner lip loop (MediaPipe indices): upper lip from the right corner (78) to the left corner (308), then the lower
#: lip back (corners not repeated). The cavity's rim follows it.
INNER_LIP_LOOP = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
_UPPER_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
_LOWER_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)

#: Mandible landmarks and their weights for the jaw's rigid fit. The face oval below the mouth corners moves
#: exactly rigidly under jawOpen/jawLeft/jawRight/jawForward in emogen's fields; the points next to the chin's
#: midline are also lifted by mouthShrugLower (mentalis), so they count less.
JAW_LANDMARKS = {149: 1.0, 150: 1.0, 176: 1.0, 378: 1.0, 379: 1.0, 400: 1.0, 148: 0.5, 377: 0.5, 152: 0.25}


@dataclass(frozen=True)
class ToothSpec:
    """One tooth type (millimetres, degrees).

    Args:
        name: tooth name.
        width: mesiodistal crown width.
        height: clinical crown height, incisal edge (cusp tip) to the gingival margin.
        depth: labiolingual crown thickness at the neck.
        edge: labiolingual thickness at the incisal edge as a fraction of ``depth`` (thin incisors, thick premolars).
        cusp: how far the incisal corners sit above a pointed cusp tip (0: straight incisal edge).
        step: incisal edge recessed from the occlusal line (the smile arc: lateral incisors ≈0.8 mm shorter).
        torque: crown inclination (Andrews 1972); positive: the incisal edge is labial of the neck.
    """

    name: str
    width: float
    height: float
    depth: float
    edge: float
    cusp: float
    step: float
    torque: float


UPPER_TEETH = (
    ToothSpec("central incisor", 8.6, 10.2, 7.0, 0.14, 0.0, 0.0, 7.0),
    ToothSpec("lateral incisor", 6.6, 8.7, 6.0, 0.15, 0.0, 0.8, 3.0),
    ToothSpec("canine", 7.7, 10.0, 8.0, 0.30, 1.3, 0.3, -7.0),
    ToothSpec("first premolar", 7.0, 8.0, 9.0, 0.55, 0.9, 0.7, -7.0),
    ToothSpec("second premolar", 6.6, 7.0, 9.0, 0.60, 0.7, 1.0, -7.0),
)
LOWER_TEETH = (
    ToothSpec("central incisor", 5.4, 8.0, 6.0, 0.18, 0.0, 0.0, -1.0),
    ToothSpec("lateral incisor", 5.9, 8.3, 6.3, 0.18, 0.0, 0.0, -1.0),
    ToothSpec("canine", 6.9, 9.5, 7.5, 0.30, 1.1, -0.3, -11.0),
    ToothSpec("first premolar", 7.0, 7.3, 7.5, 0.55, 0.9, 0.4, -17.0),
    ToothSpec("second premolar", 7.1, 6.8, 8.0, 0.60, 0.7, 0.7, -22.0),
)

# Arch and occlusion (mm, degrees)
_ARCH_WIDTH = 63.0  # beta-function width W (mm), tuned: canine cusp tips 34 mm apart (see the module docstring)
_ARCH_DEPTH = 32.0  # beta-function depth D
_OVERJET = 2.5
_OVERBITE = 2.0
_FREEWAY = 1.5  # interocclusal gap at rest at the incisors
_CONTACT_GAP = 0.1  # gap between neighbouring crowns
_CONTACT_INSET = 0.8  # the curve of the contact points runs this far lingual of the labial surfaces
_OCCLUSAL_TILT = 8.0  # occlusal plane to the face's horizontal, rising backwards
_DISPLAY = 2.5  # upper incisal edge below the upper inner lip line at rest
_LIP_GAP = 3.0  # incisal edges behind the inner lip line
_LIP_CLEARANCE = 1.2  # minimum distance of any tooth/gum vertex behind the inner lip line...
_LIP_BAND = 4.0  # ...among those within this height of the inner lip lines
_BULGE = 0.35  # labial convexity of a crown
_SUPERELLIPSE = 2.6  # cross-section exponent of crowns (2: ellipse, larger: boxier)
# Gingiva (mm above the highest zenith of the arch, along the crown axis)
_GUM_ROWS = ((1.5, 0.5), (6.0, 0.3), (11.0, -2.5))  # (height above the gum line, labial offset)
_PAPILLA = 0.38  # papilla height (zenith to papilla tip) as a fraction of the crown height
# Tongue
_TONGUE_LENGTH = 50.0
_TONGUE_HALF_WIDTH = 21.0
_TONGUE_OUT = (0.0, 10.0, 26.0)  # tongueOut = 1 moves the tip up (over the lower incisors) and forward, mm
# Cavity rim (the rings behind it are laid out in _build_canonical)
_RIM_OUT = 1.5  # rim: beyond the inner lip line, mm
_RIM_BACK = 2.0  # rim: behind the inner lip line, mm
_APERTURE_DEPTH = 0.8  # aperture = gap / (gap + this × depth behind the lips)


# ================================================================================================ small helpers
def _smoothstep(e0: float, e1: float, x):
    t = np.clip((np.asarray(x, dtype=np.float64) - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _spow(x, p: float):
    """Signed power ``sign(x) |x|^p``."""
    return np.sign(x) * np.abs(x) ** p


class _Arch:
    """A symmetric dental arch curve in the occlusal plane (x lateral, z forward, mm), by signed arc length.

    Args:
        x (`np.ndarray` of shape `(n,)`), z: the curve sampled densely and in order of increasing x.
    """

    def __init__(self, x: np.ndarray, z: np.ndarray) -> None:
        seg = np.hypot(np.diff(x), np.diff(z))
        s = np.r_[0.0, np.cumsum(seg)]
        mid = np.interp(0.0, x, s)
        self.s, self.x, self.z = s - mid, x, z

    @classmethod
    def beta(cls, width: float, depth: float, n: int = 801) -> _Arch:
        """Braun et al.'s beta-function arch, apex (incisal point) at the origin, opening towards -z."""
        x = np.linspace(-0.499 * width, 0.499 * width, n)
        z = -depth * (1.0 - np.clip(1.0 - 4.0 * x**2 / width**2, 0.0, None) ** 0.8)
        return cls(x, z)

    def offset(self, d: float) -> _Arch:
        """The curve moved by ``d`` along its outward (labial) normal (negative: lingually)."""
        t = self.tangent(self.s)
        nx, nz = -t[:, 1], t[:, 0]  # outward: left-hand normal of a curve running -x → +x with the apex at +z
        return _Arch(self.x + d * nx, self.z + d * nz)

    def point(self, s) -> np.ndarray:
        return np.stack([np.interp(s, self.s, self.x), np.interp(s, self.s, self.z)], -1)

    def tangent(self, s) -> np.ndarray:
        dx, dz = np.gradient(self.x, self.s), np.gradient(self.z, self.s)
        t = np.stack([np.interp(s, self.s, dx), np.interp(s, self.s, dz)], -1)
        return t / np.linalg.norm(t, axis=-1, keepdims=True)

    def normal(self, s) -> np.ndarray:
        t = self.tangent(s)
        return np.stack([-t[..., 1], t[..., 0]], -1)

    def z_at(self, x) -> np.ndarray:
        return np.interp(x, self.x, self.z)


class _MeshBuilder:
    """Accumulates mesh parts and their per-vertex data."""

    def __init__(self) -> None:
        self.verts: list[np.ndarray] = []
        self.faces: list[np.ndarray] = []
        self.data: dict[str, list[np.ndarray]] = {}
        self.n = 0

    def add(self, verts: np.ndarray, faces: np.ndarray, **data) -> np.ndarray:
        """Add a part; returns the global indices of its vertices."""
        k = len(verts)
        self.verts.append(np.asarray(verts, dtype=np.float64))
        self.faces.append(np.asarray(faces, dtype=np.int64) + self.n)
        for key, val in data.items():
            val = np.asarray(val, dtype=np.float64)
            self.data.setdefault(key, []).append(
                np.broadcast_to(val, (k, *val.shape[1:])) if val.ndim else np.full(k, val)
            )
        ids = np.arange(self.n, self.n + k)
        self.n += k
        return ids

    def build(self) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        return (
            np.concatenate(self.verts),
            np.concatenate(self.faces),
            {k: np.concatenate(v) for k, v in self.data.items()},
        )


def _grid_faces(rows: int, cols: int, closed: bool = False, offset: int = 0) -> np.ndarray:
    """Two triangles per quad of a ``rows × cols`` vertex grid (row-major); ``closed`` wraps the columns."""
    out = []
    c_max = cols if closed else cols - 1
    for r in range(rows - 1):
        for c in range(c_max):
            a, b = r * cols + c, r * cols + (c + 1) % cols
            d, e = a + cols, b + cols
            out += [(a, b, e), (a, e, d)]
    return np.asarray(out, dtype=np.int64).reshape(-1, 3) + offset


def _fan(center: int, ring: np.ndarray) -> np.ndarray:
    k = len(ring)
    return np.asarray([(center, ring[i], ring[(i + 1) % k]) for i in range(k)], dtype=np.int64)


def _orient(verts: np.ndarray, faces: np.ndarray, towards: np.ndarray, outward: bool = True) -> np.ndarray:
    """Flip triangles so their normals point away from (``outward``) or towards the points ``towards`` (F, 3)."""
    tri = verts[faces]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    d = tri.mean(1) - towards
    flip = (np.einsum("fc,fc->f", n, d) < 0) == outward
    faces = faces.copy()
    faces[flip] = faces[flip][:, [0, 2, 1]]
    return faces


# ================================================================================================ canonical mesh
def _tooth(spec: ToothSpec, upper: bool, arch: _Arch, s_center: float, y_occlusal: float):
    """One crown in the dental frame (mm) centred at arc length ``s_center`` of the contact-point curve ``arch``:
    returns vertices, faces, edge factor, height factor."""
    n_phi = (0.0, 38.0, 72.0, 110.0, 180.0, -110.0, -72.0, -38.0)  # around the crown, 0 = labial, denser in front
    t_levels = (0.0, 0.12, 0.45, 1.0, 1.22)  # incisal edge → neck → inside the gum
    h, w, d = spec.height, spec.width, spec.depth
    phi = np.radians(n_phi)
    p = 2.0 / _SUPERELLIPSE
    su, cn = _spow(np.sin(phi), p), _spow(np.cos(phi), p)
    rings, edge, height = [], [], []
    tan_t = math.tan(math.radians(spec.torque))
    premolar = spec.edge > 0.4
    for t in t_levels:
        v = t * h
        a = 0.5 * w * (1.0 - 0.22 * min(t, 1.0) ** 2) * (0.9 if t == 0.0 else 1.0)
        if premolar:  # occlusal table: thick right from the cusp
            b = 0.5 * d * (spec.edge + (1.0 - spec.edge) * math.sin(0.5 * math.pi * min(t / 0.35, 1.0)))
        else:  # incisal wedge with a lingual fossa: nearly linear thickening
            b = 0.5 * d * (spec.edge + (1.0 - spec.edge) * min(t, 1.0) ** 1.1)
        n_lab = -tan_t * v + _BULGE * math.sin(math.pi * min(t, 1.0))
        u = a * su
        n = n_lab - b + b * cn
        # incisal profile: cusp tips (canines, premolars) and rounded incisal corners
        lift = np.zeros(len(phi))
        if t <= 0.12:
            k = 1.0 if t == 0.0 else 0.4
            lift = k * (spec.cusp * np.abs(su) ** 1.3 + (0.6 if spec.cusp == 0.0 else 0.0) * np.abs(su) ** 6)
        rings.append((u, n, v + lift + spec.step))
        edge.append(np.abs(su))
        height.append(np.full(len(phi), min(t, 1.2)))
    # caps: incisal (slightly beyond the edge) and cervical (hidden in the gum)
    b0 = rings[0]
    cap_lo = (0.0, float(np.mean(b0[1])), float(np.min(b0[2])) - 0.25)
    bn = rings[-1]
    cap_hi = (0.0, float(np.mean(bn[1])), float(np.max(bn[2])) + 0.3)
    u = np.concatenate([r[0] for r in rings] + [np.array([cap_lo[0], cap_hi[0]])])
    n = np.concatenate([r[1] for r in rings] + [np.array([cap_lo[1], cap_hi[1]])])
    v = np.concatenate([r[2] for r in rings] + [np.array([cap_lo[2], cap_hi[2]])])
    edge = np.concatenate(edge + [np.zeros(2)])
    height = np.concatenate(height + [np.array([0.0, 1.2])])
    k = len(phi)
    nr = len(t_levels)
    faces = np.concatenate(
        [
            _grid_faces(nr, k, closed=True),
            _fan(nr * k, np.arange(k)),
            _fan(nr * k + 1, np.arange((nr - 1) * k, nr * k)),
        ]
    )
    # place on the arch: tangent along u, outward normal along n, v up (upper) or down (lower) from the occlusal line;
    # crowns are laid side by side on the curve of their contact points, which runs lingual of the labial surfaces
    tg = arch.tangent(s_center)
    nm = arch.normal(s_center)
    p0 = arch.point(s_center) + _CONTACT_INSET * nm
    x = p0[0] + u * tg[0] + n * nm[0]
    z = p0[1] + u * tg[1] + n * nm[1]
    y = y_occlusal + (v if upper else -v)
    verts = np.stack([x, y, z], -1)
    centre = np.array(
        [p0[0] + nm[0] * (-0.5 * d), y_occlusal + (1 if upper else -1) * 0.5 * h, p0[1] - nm[1] * 0.5 * d]
    )
    faces = _orient(verts, faces, centre, outward=True)
    return verts, faces, edge, height


def _tooth_layout(specs: tuple[ToothSpec, ...], arch: _Arch) -> list[tuple[ToothSpec, int, float, float, float]]:
    """Teeth of one arch from the midline outwards on both sides: (spec, side, s_mesial, s_centre, s_distal)."""
    out = []
    for side in (-1, 1):
        s = 0.5 * _CONTACT_GAP
        for spec in specs:
            out.append((spec, side, side * s, side * (s + 0.5 * spec.width), side * (s + spec.width)))
            s += spec.width + _CONTACT_GAP
    return out


def _gum(specs, layout, upper: bool, arch: _Arch, y_occlusal: float):
    """Gingiva strip of one arch (dental frame, mm): vertices, faces, height factor."""
    sign = 1.0 if upper else -1.0
    line = max(sp.step + sp.height for sp in specs)  # gum line above the occlusal line (highest zenith)
    stations = []  # (s, v_margin, n_offset)
    for side in (-1, 1):
        teeth = [t for t in layout if t[1] == side]
        for i, (sp, _, s0, sc, s1) in enumerate(teeth):
            tan_t = math.tan(math.radians(sp.torque))
            n_cerv = -tan_t * (sp.step + sp.height) + 0.3
            for f in (-1.0, -0.7, -0.35, 0.0, 0.35, 0.7):
                if side == 1 and i == 0 and f == -1.0:
                    continue  # the midline contact is shared with the other side
                s = sc + f * (sc - s0) if f <= 0 else sc + f * (s1 - sc)
                papilla = _PAPILLA * sp.height * abs(f) ** 2.2  # rounded arc over the crown, pointed papilla
                stations.append((s, sp.step + sp.height - papilla, n_cerv))
        last = teeth[-1]
        sp = last[0]
        n_cerv = -math.tan(math.radians(sp.torque)) * (sp.step + sp.height) + 0.3
        stations.append((last[4], sp.step + sp.height - _PAPILLA * sp.height, n_cerv))
        stations.append((last[4] + side * 4.0, sp.step + sp.height, n_cerv - 1.0))
    stations.sort(key=lambda r: r[0])
    s = np.array([r[0] for r in stations])
    v_margin = np.array([r[1] for r in stations])
    n_off = np.array([r[2] for r in stations])
    rows = [(v_margin, n_off + 0.2)] + [(np.full_like(s, line + dv), n_off + dn) for dv, dn in _GUM_ROWS]
    pts, hf = [], []
    nm = arch.normal(s)
    p0 = arch.point(s) + _CONTACT_INSET * nm
    for k, (v, n) in enumerate(rows):
        x = p0[:, 0] + n * nm[:, 0]
        z = p0[:, 1] + n * nm[:, 1]
        pts.append(np.stack([x, y_occlusal + sign * v, z], -1))
        hf.append(np.full(len(s), (0.0, 0.25, 0.6, 1.0)[k]))
    verts = np.concatenate(pts)
    faces = _grid_faces(len(rows), len(s))
    # labial side out: normals away from a point well inside the arch
    inside = np.array([0.0, y_occlusal + sign * (line + 4.0), -30.0])
    faces = _orient(verts, faces, np.broadcast_to(inside, (len(faces), 3)), outward=True)
    return verts, faces, np.concatenate(hf)


def _tongue(y_lower: float, z_lower_front: float):
    """Tongue in the dental frame (mm): vertices, faces, length parameter (0 tip → 1 back), tongueOut field."""
    s_levels = np.array([0.0, 0.03, 0.08, 0.16, 0.27, 0.40, 0.55, 0.72, 0.88, 1.0])
    theta = np.radians(np.array([90, 60, 35, 15, 0, -25, -60, -90, -120, -155, 180, 165, 145, 120]))
    # (counter-clockwise around the cross-section seen from the front: 90 = top, 0 = subject's left edge)
    p = 2.0 / 2.3
    cx, sy = _spow(np.cos(theta), p), _spow(np.sin(theta), p)
    z_tip = z_lower_front - 6.5
    rings, sv = [], []
    for s in s_levels[1:]:
        hw = _TONGUE_HALF_WIDTH * math.sin(0.5 * math.pi * min(s / 0.42, 1.0)) ** 0.8
        # dorsum: nearly level in the face frame (the occlusal plane rises backwards), below the lower incisal
        # edges, so an open mouth shows the throat above it
        top = (
            y_lower - 3.5 + 4.5 * (1.0 - (1.0 - s) ** 2) - _TONGUE_LENGTH * s * math.tan(math.radians(_OCCLUSAL_TILT))
        )
        bottom = y_lower - 9.0 - 12.0 * min(s / 0.4, 1.0) - _TONGUE_LENGTH * s * math.tan(math.radians(_OCCLUSAL_TILT))
        thick = top - bottom
        yc = top - 0.45 * thick
        y = np.where(sy > 0, yc + 0.45 * thick * sy, yc + 0.55 * thick * sy)
        x = hw * cx
        y = y - 0.8 * np.exp(-((x / 3.0) ** 2)) * (sy > 0.5) * min(s / 0.15, 1.0)  # median sulcus
        z = np.full_like(x, z_tip - _TONGUE_LENGTH * s)
        # rounded tip: the front rings bulge forward in the middle of the cross-section
        z = z + (2.0 * (1.0 - np.abs(cx)) * (1.0 - min(s / 0.3, 1.0)))
        rings.append(np.stack([x, y, z], -1))
        sv.append(np.full(len(theta), s))
    tip = np.array([[0.0, y_lower - 3.5 - 2.2, z_tip + 1.0]])
    back = rings[-1].mean(0, keepdims=True) + np.array([[0.0, 0.0, -2.0]])
    verts = np.concatenate([tip] + rings + [back])
    k = len(theta)
    nr = len(rings)
    faces = np.concatenate(
        [
            _fan(0, 1 + np.arange(k)),
            _grid_faces(nr, k, closed=True, offset=1),
            _fan(1 + nr * k, 1 + (nr - 1) * k + np.arange(k)),
        ]
    )
    s_all = np.concatenate([[0.0]] + sv + [[1.0]])
    centre = np.array([0.0, y_lower - 10.0, z_tip - 0.5 * _TONGUE_LENGTH])
    axis = np.stack([np.zeros(len(faces)), np.full(len(faces), centre[1]), verts[faces].mean(1)[:, 2]], -1)
    faces = _orient(verts, faces, axis, outward=True)
    # tongueOut: the front of the tongue slides forward (and up, to pass over the lower incisors) and narrows
    g = 1.0 - _smoothstep(0.0, 0.75, s_all)
    field = np.zeros_like(verts)
    field[:, 0] = -0.25 * verts[:, 0] * g
    field[:, 1] = _TONGUE_OUT[1] * g
    field[:, 2] = _TONGUE_OUT[2] * g
    return verts, faces, s_all, field


def _ring(phi: np.ndarray, half_width: float, top: float, bottom: float, z) -> np.ndarray:
    """Points of a boxy cavity ring at angles ``phi`` (0: subject's left, pi/2: top), dental frame (mm)."""
    c, s = _spow(np.cos(phi), 2.0 / 3.0), _spow(np.sin(phi), 2.0 / 3.0)
    y = np.where(s > 0, top * s, bottom * s)
    x = half_width * c
    z = z(x) if callable(z) else np.full_like(x, z)
    return np.stack([x, y, z], -1)


@dataclass(frozen=True)
class _Canonical:
    """The interior in the dental frame (mm): origin at the upper incisal point (labial surface, midline), x to the
    subject's left, y up, z forwards, occlusal plane horizontal."""

    vertices: np.ndarray  # (V, 3)
    faces: np.ndarray  # (F, 3)
    material: np.ndarray  # (V,)
    jaw: np.ndarray  # (V,) 0 skull .. 1 mandible
    edge: np.ndarray
    height: np.ndarray
    tongue_field: np.ndarray  # (V, 3)
    tooth: np.ndarray  # (V,) tooth index (0-9 upper, 10-19 lower) or -1
    rim: np.ndarray  # (R,) vertex indices of the rim, in INNER_LIP_LOOP order
    rim_phi: np.ndarray  # (R,) ring angle of each rim vertex
    y_lower: float  # lower occlusal line (mm)


def _build_canonical(lip_t: np.ndarray, lip_upper: np.ndarray) -> _Canonical:
    """Build the interior. ``lip_t`` (R,): position of each inner-lip loop point from the right (0) to the left (1)
    corner; ``lip_upper`` (R,) bool: whether it is on the upper lip."""
    mb = _MeshBuilder()
    upper_arch = _Arch.beta(_ARCH_WIDTH, _ARCH_DEPTH)
    lower_arch = upper_arch.offset(-_OVERJET)
    y_upper = 0.0
    y_lower = y_upper + _OVERBITE - _FREEWAY  # lower incisal edges (mm), relative to the upper ones
    # --- teeth
    tooth_index = 0
    for specs, labial, upper, y0 in (
        (UPPER_TEETH, upper_arch, True, y_upper),
        (LOWER_TEETH, lower_arch, False, y_lower),
    ):
        arch = labial.offset(-_CONTACT_INSET)
        layout = _tooth_layout(specs, arch)
        for sp, _side, _s0, sc, _s1 in layout:
            v, f, e, h = _tooth(sp, upper, arch, sc, y0)
            mb.add(v, f, material=TEETH, jaw=0.0 if upper else 1.0, edge=e, height=h, tooth=tooth_index)
            tooth_index += 1
        v, f, h = _gum(specs, layout, upper, arch, y0)
        mb.add(v, f, material=GUM, jaw=0.0 if upper else 1.0, edge=0.0, height=h, tooth=-1)
    # --- tongue
    z_lower_front = float(lower_arch.z_at(0.0))
    tv, tf, ts, tfield = _tongue(y_lower, z_lower_front)
    tongue_ids = mb.add(tv, tf, material=TONGUE, jaw=1.0, edge=0.0, height=ts, tooth=-1)
    # --- cavity: rim (placeholder positions, set per face/frame) + rings + back cap
    phi = np.where(lip_upper, np.pi * (1.0 - lip_t), -np.pi * (1.0 - lip_t))
    gum_top = max(sp.step + sp.height for sp in UPPER_TEETH) + _GUM_ROWS[-1][0]
    gum_bottom = -y_lower + max(sp.step + sp.height for sp in LOWER_TEETH) + _GUM_ROWS[-1][0]

    def vestibule_z(x):
        return upper_arch.z_at(np.clip(x, -25.0, 25.0)) + 4.0 - 1.2 * np.clip(np.abs(x) - 25.0, 0.0, None)

    rings = [
        _ring(phi, 33.0, gum_top + 1.0, gum_bottom + 1.0, vestibule_z),  # vestibule fornix, around the gums
        _ring(phi, 31.0, 19.0, 28.0 - y_lower, -30.0),  # cheeks, palate, floor under the tongue
        _ring(phi, 17.0, 9.0, 26.0 - y_lower, -52.0),  # oropharynx
    ]
    r = len(phi)
    rim = np.zeros((r, 3))
    cap = np.array([[0.0, -8.0, -60.0]])
    cv = np.concatenate([rim] + rings + [cap])
    cf = np.concatenate(
        [_grid_faces(len(rings) + 1, r, closed=True), _fan((len(rings) + 1) * r, (len(rings)) * r + np.arange(r))]
    )
    jaw_ring = (1.0 - np.sin(phi)) / 2.0  # top with the skull, bottom with the jaw, corners half-way
    cj = np.concatenate([jaw_ring] * (len(rings) + 1) + [np.array([0.5])])
    cavity_ids = mb.add(cv, cf, material=CAVITY, jaw=cj, edge=0.0, height=0.0, tooth=-1)
    verts, faces, data = mb.build()
    # the tongue field lives on the tongue vertices only
    field = np.zeros_like(verts)
    field[tongue_ids] = tfield
    return _Canonical(
        vertices=verts,
        faces=faces,
        material=data["material"].astype(np.int64),
        jaw=data["jaw"],
        edge=data["edge"],
        height=data["height"],
        tongue_field=field,
        tooth=data["tooth"].astype(np.int64),
        rim=cavity_ids[:r],
        rim_phi=phi,
        y_lower=y_lower,
    )
