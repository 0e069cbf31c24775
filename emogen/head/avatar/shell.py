"""The head shell: skull, back of the head, neck and ears completed around a photographed face.

The face itself is MediaPipe's 468-vertex mesh (:class:`~emogen.face.rig.FaceRig` identity, units of inter-pupil
distance, IPD; x to the subject's left, y up, z towards the camera). Everything a photo does not show is built here
in code, not loaded from an asset, so that every head is fitted to its face and nothing licensed has to ship:

* a **target surface**: a smooth union (polynomial smooth minimum of signed distances) of a cranium ellipsoid, a
  zygomatic/temporal block, a mandible block and an elliptic neck cylinder, sized by adult head proportions and
  scaled by the photographed face's width and height;
* a **grid** joining the face outline to the neck: seen from a centre inside the head, the face outline (MediaPipe's
  36-point face oval) is a closed curve of directions; the stereographic projection from the neck direction maps it
  to a plane curve, and straight rays from the curve's centre through its points are the grid's columns (they map
  back to circles through the face centre and the neck pole, so the columns fan out from the face over the scalp,
  behind the ears and down the neck without crossing). Each column is ray-cast onto the target surface, cut at the
  neck's base and resampled by arc length into rings (the first rings at a fixed spacing, so distances from the
  face are comparable on every column);
* a **seam-free join**: the first ring *is* the face oval (shared vertices), and the mismatch between the oval and
  the target surface is spread over the surrounding shell by a harmonic extension that fades to zero 1.2 IPD away;
* a **hair cap**: the scalp above a hairline curve is pushed outwards by the hair's thickness;
* **ears**: a closed, procedural pinna (helix rim, concha bowl, lobule) per side, tilted back and standing out
  from the head at the tragion.

Proportions (ratios to the inter-pupil distance, male means of ANSUR II, Gordon et al. 2014, "2012 Anthropometric
Survey of U.S. Army Personnel", NATICK/TR-15/007, computed from the public data: head length 199.5 mm, head
breadth 154.3 mm, tragion to top of head 131.1 mm, ear length 64.2 mm, ear breadth 36.1 mm, inter-pupil breadth
64.0 mm); neck circumference ≈ 380 mm (1988 US Army survey, men ≈ 380, women ≈ 320 mm); ear protrusion ≈ 20 mm
and the auricle's backward tilt of ≈ 15-20° (Alexander et al. 2011, "A morphometric study of the human ear",
J Plast Reconstr Aesthet Surg 64:41); scalp hair adds ≈ 5-10 mm over the vertex.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ...face.topology import landmark_groups

__all__ = ["HeadShape", "ShellGeometry", "EarGeometry", "build_shell", "build_ear", "smooth_extension"]

_ANSUR_IPD_MM = 64.0
#: The canonical face's outline width at the ears (landmarks 234-454) and height (10-152), IPD.
_CANON_WIDTH = 2.426
_CANON_HEIGHT = 2.796


@dataclass(frozen=True)
class HeadShape:
    """Head proportions, IPD units (see the module docstring for the sources).

    Args:
        head_length: glabella to opisthocranion.
        head_breadth: widest breadth of the cranium (euryon to euryon).
        vertex_above_tragion: height of the top of the head above the ear canal.
        neck_circumference: around the middle of the neck.
        neck_base: height of the neck's cut (below the eyes, IPD).
        ear_length, ear_breadth, ear_protrusion: the auricle.
        ear_tilt: backward tilt of the ear's long axis, degrees.
        hair_thickness: hair cap thickness over the vertex.
        hairline: height of the front hairline above the top of the face outline.
    """

    head_length: float = 199.5 / _ANSUR_IPD_MM
    head_breadth: float = 154.3 / _ANSUR_IPD_MM
    vertex_above_tragion: float = 131.1 / _ANSUR_IPD_MM
    neck_circumference: float = 380.0 / _ANSUR_IPD_MM
    neck_base: float = -3.35
    ear_length: float = 64.2 / _ANSUR_IPD_MM
    ear_breadth: float = 36.1 / _ANSUR_IPD_MM
    ear_protrusion: float = 20.0 / _ANSUR_IPD_MM
    ear_tilt: float = 17.0
    hair_thickness: float = 0.11
    hairline: float = 0.12


@dataclass(frozen=True)
class ShellGeometry:
    """The shell around one face (face frame, IPD). Vertex ``i`` of the shell is vertex ``468 + i`` of the head.

    Args:
        vertices (`np.ndarray` of shape `(S, 3)`): shell vertices (hair cap included).
        faces (`np.ndarray` of shape `(F, 3)`): triangles over the face (0-467) and shell (468+) vertices,
            counter-clockwise seen from outside.
        oval (`np.ndarray` of shape `(36,)`): the face-oval landmarks the shell is joined to.
        distance (`np.ndarray` of shape `(S,)`): geodesic distance from the face outline (IPD).
        hair (`np.ndarray` of shape `(S,)`): hair-cap mask in [0, 1].
        neck (`np.ndarray` of shape `(S,)`): 1 on the neck's lowest rings, 0 on the head (for skinning).
        centre (`np.ndarray` of shape `(3,)`): the point the shell was ray-cast from (inside the head).
        axis_z: depth of the head's vertical axis (for texture unwrapping).
        scale (`np.ndarray` of shape `(3,)`): the face's scale relative to the canonical face.
        ear_anchor (`np.ndarray` of shape `(3,)`): attachment point of the left ear (the right one is mirrored).
    """

    vertices: np.ndarray
    faces: np.ndarray
    oval: np.ndarray
    distance: np.ndarray
    hair: np.ndarray
    neck: np.ndarray
    centre: np.ndarray
    axis_z: float
    scale: np.ndarray
    ear_anchor: np.ndarray


@dataclass(frozen=True)
class EarGeometry:
    """One closed ear mesh (face frame, IPD).

    Args:
        vertices (`np.ndarray` of shape `(E, 3)`), faces (`np.ndarray` of shape `(G, 3)`).
        plane (`np.ndarray` of shape `(E, 2)`): coordinates in the ear's own plane, each in [0, 1] (for UVs).
        depth (`np.ndarray` of shape `(E,)`): how deep a vertex lies in the concha, in [0, 1] (for shading).
    """

    vertices: np.ndarray
    faces: np.ndarray
    plane: np.ndarray
    depth: np.ndarray


# ============================================================================================== target surface
def _smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Polynomial smooth minimum (Quilez): a union of two signed distances blended over ``k``."""
    h = np.clip(k - np.abs(a - b), 0.0, None) / k
    return np.minimum(a, b) - h * h * k * 0.25


def _ellipsoid(p: np.ndarray, c: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Approximate signed distance to an axis-aligned ellipsoid (exact on the axes)."""
    q = (p - c) / r
    k0 = np.sqrt((q * q).sum(-1))
    q = q / r
    k1 = np.sqrt((q * q).sum(-1))
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-9)


class _Target:
    """The smooth target surface of one head, scaled by the face (see the module docstring)."""

    def __init__(self, shape: HeadShape, scale: np.ndarray) -> None:
        sx, sy, sz = scale
        s = np.asarray(scale)
        half_len, half_br = shape.head_length / 2, shape.head_breadth / 2
        top = -0.31 + shape.vertex_above_tragion  # the tragion lies ~0.31 IPD below the eyes (canonical face)
        self.cranium = (np.array([0.0, 0.42, 0.28 - half_len]) * s, np.array([half_br, top - 0.42, half_len]) * s)
        self.zygoma = (np.array([0.0, -0.15, -0.85]) * s, np.array([1.23, 0.95, 1.05]) * s)
        self.jaw = (np.array([0.0, -1.22, -0.62]) * s, np.array([0.93, 0.8, 0.92]) * s)
        r = shape.neck_circumference / (2 * math.pi)
        self.neck_r = np.array([1.04 * r * sx, 0.94 * r * sz])
        self.neck_z = (-1.5 * sz, -1.25 * sz)  # axis depth at the top (y = 0) and at y = -4 (a slight forward lean)
        self.base = shape.neck_base * sy
        self.sy = sy

    def sdf(self, p: np.ndarray) -> np.ndarray:
        d = _ellipsoid(p, *self.cranium)
        d = _smin(d, _ellipsoid(p, *self.zygoma), 0.3)
        d = _smin(d, _ellipsoid(p, *self.jaw), 0.35)
        y = p[..., 1]
        t = np.clip(-y / 4.0, 0.0, 1.5)
        zc = self.neck_z[0] + (self.neck_z[1] - self.neck_z[0]) * t
        flare = 1.0 + 0.22 * _smooth(self.base + 0.8 * self.sy, self.base, y)  # the trapezius starts at the base
        q = np.stack([p[..., 0] / (self.neck_r[0] * flare), (p[..., 2] - zc) / (self.neck_r[1] * flare)], -1)
        k0 = np.sqrt((q * q).sum(-1))
        neck = (k0 - 1.0) * self.neck_r.min() * flare
        neck = np.maximum(neck, y + 0.2)  # capped inside the cranium
        return _smin(d, neck, 0.45)

    def cast(self, origin: np.ndarray, dirs: np.ndarray, far: float = 9.0, steps: int = 24) -> np.ndarray:
        """First crossing of rays ``origin + t d`` (``origin`` inside) with the surface; ``(N, 3)`` points."""
        ts = np.linspace(0.0, far, steps + 1)[1:]
        pts = origin + ts[None, :, None] * dirs[:, None, :]
        inside = self.sdf(pts) < 0
        first = np.argmax(~inside, axis=1)  # first outside sample
        first = np.where(inside.all(1), steps - 1, first)
        lo = np.where(first > 0, ts[np.maximum(first - 1, 0)], 0.0)
        hi = ts[first]
        for _ in range(16):
            mid = 0.5 * (lo + hi)
            out = self.sdf(origin + mid[:, None] * dirs) >= 0
            hi = np.where(out, mid, hi)
            lo = np.where(out, lo, mid)
        return origin + (0.5 * (lo + hi))[:, None] * dirs


def _smooth(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


# ==================================================================================================== the grid
def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


class _Stereo:
    """Stereographic projection of unit directions from the pole ``b`` onto the plane through the origin."""

    def __init__(self, b: np.ndarray) -> None:
        self.b = _unit(b)
        e1 = np.array([1.0, 0.0, 0.0])
        self.e1 = _unit(e1 - (e1 @ self.b) * self.b)
        self.e2 = np.cross(self.b, self.e1)

    def forward(self, d: np.ndarray) -> np.ndarray:
        k = 1.0 / (1.0 - d @ self.b)
        return np.stack([(d @ self.e1) * k, (d @ self.e2) * k], -1)

    def inverse(self, q: np.ndarray) -> np.ndarray:
        s = (q * q).sum(-1, keepdims=True)
        plane = q[..., :1] * self.e1 + q[..., 1:] * self.e2
        return (2.0 * plane + (s - 1.0) * self.b) / (s + 1.0)


def smooth_extension(
    vertices: np.ndarray,
    faces: np.ndarray,
    known: np.ndarray,
    values: np.ndarray,
    zero: np.ndarray | None = None,
) -> np.ndarray:
    """Harmonic extension of per-vertex ``values`` from the ``known`` vertices over a mesh.

    Solves ``L x = 0`` on the unknown vertices, with ``x = values`` on ``known`` and ``x = 0`` on ``zero`` (a graph
    Laplacian with inverse-edge-length weights, so anisotropic grids extend evenly).

    Args:
        vertices (`np.ndarray` of shape `(V, 3)`), faces (`np.ndarray` of shape `(F, 3)`).
        known (`np.ndarray` of shape `(V,)`, bool): where the values are given.
        values (`np.ndarray` of shape `(V, C)`): the values (read where ``known``).
        zero (`np.ndarray` of shape `(V,)`, bool, *optional*): vertices pinned to zero.

    Returns:
        `np.ndarray` of shape `(V, C)`.
    """
    from scipy.sparse import coo_matrix, diags
    from scipy.sparse.linalg import splu

    n = len(vertices)
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    e = np.unique(np.sort(e, axis=1), axis=0)
    w = 1.0 / np.maximum(np.linalg.norm(vertices[e[:, 0]] - vertices[e[:, 1]], axis=-1), 1e-6)
    adj = coo_matrix((np.r_[w, w], (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])), shape=(n, n)).tocsr()
    lap = (diags(np.asarray(adj.sum(1)).ravel()) - adj).tocsr()
    fixed = known.copy() if zero is None else known | zero
    out = np.zeros((n, values.shape[1]))
    out[known] = values[known]
    free = ~fixed
    if free.any():
        coupling = lap[free][:, fixed].tocsc()
        used = np.flatnonzero(np.diff(coupling.indptr) > 0)  # fixed vertices next to free ones
        lu = splu(lap[free][:, free].tocsc())
        values_used = out[fixed][used]
        if len(used) < values.shape[1]:  # fewer boundary vertices than channels: solve per boundary vertex
            out[free] = lu.solve(-coupling[:, used].toarray()) @ values_used
        else:
            out[free] = lu.solve(-(coupling[:, used] @ values_used))
    return out


def _geodesic(vertices: np.ndarray, faces: np.ndarray, sources: np.ndarray) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    w = np.linalg.norm(vertices[e[:, 0]] - vertices[e[:, 1]], axis=-1) + 1e-9
    n = len(vertices)
    g = coo_matrix((np.r_[w, w], (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])), shape=(n, n)).tocsr()
    return dijkstra(g, indices=sources, min_only=True)


@functools.lru_cache(maxsize=1)
def _oval() -> np.ndarray:
    return np.asarray(landmark_groups().face_oval, dtype=np.int64)


def _resample(path: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Points at arc lengths ``at`` along a polyline ``(n, 3)`` (clamped to its ends)."""
    seg = np.linalg.norm(np.diff(path, axis=0), axis=-1)
    s = np.r_[0.0, np.cumsum(seg)]
    return np.stack([np.interp(at, s, path[:, c]) for c in range(3)], -1)


def _hairline(p: np.ndarray, axis_z: float, top: float, sy: float) -> np.ndarray:
    """Height of the hairline above which ``p`` is scalp, by the azimuth around the head's vertical axis."""
    az = np.abs(np.degrees(np.arctan2(p[..., 0], p[..., 2] - axis_z)))
    knots = np.array([0.0, 35.0, 62.0, 88.0, 112.0, 128.0, 150.0, 180.0])
    # front hairline, the temples' recession, above the ear, behind it, the nape (hairline ~2 IPD under the crown)
    hgt = np.array([top, top - 0.05, 0.55 * sy, 0.32 * sy, 0.34 * sy, -0.35 * sy, -0.95 * sy, -1.15 * sy])
    return np.interp(az, knots, hgt)


def build_shell(
    face: np.ndarray,
    shape: HeadShape | None = None,
    columns: int = 72,
    rings: int = 34,
    first_rings: int = 8,
    ring_spacing: float = 0.1,
) -> ShellGeometry:
    """Build the shell around a neutral face.

    Args:
        face (`np.ndarray` of shape `(478, 3)` or `(468, 3)`): the face in its own frame (IPD), e.g.
            ``FaceRig.identity``.
        shape: head proportions (default :class:`HeadShape`).
        columns: grid columns around the face outline (a multiple of 36).
        rings: grid rings from the face outline to the base of the neck.
        first_rings: rings laid at a fixed ``ring_spacing`` (IPD) next to the face.

    Returns:
        :class:`ShellGeometry`.
    """
    shape = HeadShape() if shape is None else shape
    face = np.asarray(face, dtype=np.float64)[:468]
    if face.shape != (468, 3) or not np.isfinite(face).all():
        raise ValueError(f"face must be a finite (478, 3) or (468, 3) array, got shape {face.shape}.")
    if columns % 36 or columns < 36:
        raise ValueError(f"columns must be a positive multiple of 36 (the face oval has 36 points), got {columns}.")
    oval = _oval()
    o = face[oval]
    width = np.linalg.norm(face[454] - face[234])
    height = face[10, 1] - face[152, 1]
    sx = float(np.clip(width / _CANON_WIDTH, 0.85, 1.2))
    sy = float(np.clip(height / _CANON_HEIGHT, 0.85, 1.2))
    scale = np.array([sx, sy, float(np.sqrt(sx * sy))])
    target = _Target(shape, scale)
    centre = np.array([0.0, -0.6 * sy, -1.3 * scale[2]])
    stereo = _Stereo(np.array([0.0, -1.0, -0.12]))
    # column directions: the oval points and (for denser columns) points between them
    sub = columns // 36
    t = np.arange(sub) / sub
    ring0 = (o[:, None] * (1 - t[None, :, None]) + np.roll(o, -1, 0)[:, None] * t[None, :, None]).reshape(-1, 3)
    gamma = stereo.forward(_unit(ring0 - centre))
    p0 = gamma.mean(0)
    tau = np.linspace(0.0, math.log(80.0), 130)
    q = p0 + np.exp(tau)[None, :, None] * (gamma - p0)[:, None, :]  # (C, n, 2)
    dirs = _unit(stereo.inverse(q.reshape(-1, 2)))
    hits = target.cast(centre, dirs).reshape(columns, len(tau), 3)
    base = target.base
    grid = np.zeros((columns, rings + 1, 3))
    for c in range(columns):
        path = hits[c]
        below = np.flatnonzero(path[:, 1] < base)
        if len(below) and below[0] > 0:
            k = below[0]
            a = (path[k - 1, 1] - base) / (path[k - 1, 1] - path[k, 1])
            path = np.vstack([path[:k], path[k - 1] + a * (path[k] - path[k - 1])])
        seg = np.linalg.norm(np.diff(path, axis=0), axis=-1)
        length = float(seg.sum())
        near = np.arange(first_rings + 1) * ring_spacing
        far = np.linspace(near[-1], length, rings - first_rings + 1)[1:]
        grid[c] = _resample(path, np.r_[near, far])
    # vertices: ring 0 is the face oval itself (only every `sub`-th column has a vertex there)
    n_shell = columns * rings + 1
    verts = np.concatenate([grid[:, 1:].transpose(1, 0, 2).reshape(-1, 3), [grid[:, -1].mean(0)]])
    verts[-1, 1] = base

    def sv(ring: int, col: int) -> int:  # shell vertex id in the head's numbering
        return 468 + (ring - 1) * columns + col % columns

    tris = []
    mid = sub // 2
    for i in range(36):  # the first strip: oval edge (a, b) against the `sub` + 1 ring-1 vertices beside it
        a, b = int(oval[i]), int(oval[(i + 1) % 36])
        for j in range(sub):
            tris.append((a if j < mid else b, sv(1, i * sub + j), sv(1, i * sub + j + 1)))
        tris.append((a, sv(1, i * sub + mid), b))
    for r in range(1, rings):
        for c in range(columns):
            a, b, cc, d = sv(r, c), sv(r, c + 1), sv(r + 1, c + 1), sv(r + 1, c)
            tris += [(a, cc, b), (a, d, cc)]
    apex = 468 + n_shell - 1
    tris += [(sv(rings, c), apex, sv(rings, c + 1)) for c in range(columns)]
    faces = np.asarray(tris, dtype=np.int64)
    allv = np.concatenate([face, verts])
    faces = _orient_outward(allv, faces, centre)
    # the seam-free join: spread the oval's mismatch with the target surface over the shell
    known = np.zeros(len(allv), bool)
    known[:468] = True
    values = np.zeros((len(allv), 3))
    values[oval] = o - grid[::sub, 0]
    dist = _geodesic(allv, faces, oval)
    ring_of = np.r_[np.zeros(468, int), np.repeat(np.arange(1, rings + 1), columns), rings]
    zero = (dist > 1.2) & (ring_of > 0)
    disp = smooth_extension(allv, faces, known, values, zero)
    allv[468:] += disp[468:]
    # the hair cap
    top = face[10, 1] + shape.hairline * sy
    hair = _smooth(-0.08, 0.2, allv[:, 1] - _hairline(allv, -1.26 * scale[2], top, sy))
    hair[:468] = 0.0
    normals = _vertex_normals(allv, faces)
    allv += (shape.hair_thickness * hair * _smooth(0.0, 0.6, dist))[:, None] * normals
    neck = _smooth(base + 1.6 * sy, base + 0.3 * sy, allv[:, 1])
    ear = np.array([1.0, -0.28 * sy, -1.08 * scale[2]])
    ear[0] = float(target.cast(np.array([0.0, ear[1], ear[2]]), np.array([[1.0, 0.0, 0.0]]))[0, 0])
    return ShellGeometry(
        vertices=allv[468:],
        faces=faces,
        oval=oval,
        distance=dist[468:],
        hair=hair[468:],
        neck=neck[468:],
        centre=centre,
        axis_z=float(-1.26 * scale[2]),
        scale=scale,
        ear_anchor=ear,
    )


def _vertex_normals(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    n = np.zeros_like(v)
    for k in range(3):
        np.add.at(n, f[:, k], fn)
    return n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)


def _orient_outward(v: np.ndarray, f: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Flip triangles whose normal points towards ``centre`` (the shell is star-shaped about it)."""
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    out = ((v[f].mean(1) - centre) * fn).sum(-1) < 0
    f = f.copy()
    f[out] = f[out][:, ::-1]
    return f


# ======================================================================================================== ears
def build_ear(shape: HeadShape, anchor: np.ndarray, scale: float = 1.0, rings: int = 6, segments: int = 28):
    """A closed left ear (+x side) attached at ``anchor`` (mirror x for the right ear).

    The auricle is an egg-shaped flap (``ear_length`` × ``ear_breadth``, the lobule narrower) whose lateral
    surface carries the helix rim and the concha bowl and whose medial surface is flat; the flap leans back by
    ``ear_tilt`` and stands ``ear_protrusion`` out from the head at its back edge, hinged at the front edge.

    Returns:
        :class:`EarGeometry`.
    """
    half_h, half_w = 0.5 * shape.ear_length * scale, 0.5 * shape.ear_breadth * scale
    phi = np.linspace(0.0, 2 * math.pi, segments, endpoint=False)
    rho = np.linspace(0.0, 1.0, rings + 1)[1:]
    rr, pp = np.meshgrid(rho, phi, indexing="ij")  # (rings, segments)
    lobe = np.clip(-np.sin(pp), 0.0, 1.0) ** 2
    u = rr * half_w * (1.0 - 0.3 * lobe) * np.cos(pp)  # + towards the back of the head
    w = rr * half_h * np.sin(pp)  # + up
    helix = 0.07 * scale * np.exp(-(((rr - 0.86) / 0.09) ** 2)) * (1.0 - 0.7 * lobe)
    concha = np.exp(-(((u + 0.05 * scale) / (0.13 * scale)) ** 2) - (((w + 0.04 * scale) / (0.2 * scale)) ** 2))
    lat = 0.035 * scale * (1.0 - rr**4) + helix - 0.08 * scale * concha * (1.0 - rr**2)
    med = -0.03 * scale * (1.0 - rr**4)
    edge = rings - 1
    # vertices: lateral centre, lateral rings 0..rings-1 (last = rim), medial centre, medial rings 0..rings-2
    lat_pts = np.stack([u, w, lat], -1).reshape(-1, 3)
    med_pts = np.stack([u[:edge], w[:edge], med[:edge]], -1).reshape(-1, 3)
    c_lat = np.array([[0.0, 0.0, 0.035 * scale - 0.08 * scale * np.exp(-((0.05 / 0.13) ** 2) - (0.04 / 0.2) ** 2)]])
    c_med = np.array([[0.0, 0.0, -0.03 * scale]])
    local = np.concatenate([c_lat, lat_pts, c_med, med_pts])
    n_lat = 1 + rings * segments
    depth = np.concatenate([[1.0], (concha * (1.0 - rr**2)).ravel(), np.zeros(1 + edge * segments)])

    def lat_id(r: int, s: int) -> int:
        return 1 + r * segments + s % segments

    def med_id(r: int, s: int) -> int:
        return lat_id(r, s) if r == edge else n_lat + 1 + r * segments + s % segments

    tris = []
    for s in range(segments):
        tris.append((0, lat_id(0, s), lat_id(0, s + 1)))
        tris.append((n_lat, med_id(0, s + 1), med_id(0, s)))
        for r in range(rings - 1):
            tris += [(lat_id(r, s), lat_id(r + 1, s), lat_id(r + 1, s + 1)), (lat_id(r, s), lat_id(r + 1, s + 1),
                     lat_id(r, s + 1))]  # fmt: skip
            tris += [(med_id(r, s), med_id(r + 1, s + 1), med_id(r + 1, s)), (med_id(r, s), med_id(r, s + 1),
                     med_id(r + 1, s + 1))]  # fmt: skip
    faces = np.asarray(tris, dtype=np.int64)
    plane = np.stack([0.5 + local[:, 0] / (2 * half_w), 0.5 + local[:, 1] / (2 * half_h)], -1)
    # place: the local frame (u back, w up, h out) → face frame (-z, y, +x), hinged at the front edge
    hinge = -half_w
    opening = math.asin(min(0.95, shape.ear_protrusion * scale / (2 * half_w)))
    x_out = (local[:, 2]) * math.cos(opening) + (local[:, 0] - hinge) * math.sin(opening)
    back = (local[:, 0] - hinge) * math.cos(opening) - local[:, 2] * math.sin(opening)
    tilt = math.radians(shape.ear_tilt)
    y = local[:, 1] * math.cos(tilt) - back * math.sin(tilt) * 0.3
    z = -(back * math.cos(tilt) + local[:, 1] * math.sin(tilt))
    verts = np.stack([x_out, y, z], -1) + anchor - np.array([0.02 * scale, 0.0, 0.0])
    # the lateral surface must face +x
    fn = np.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]])
    if fn[: 2 * segments : 2, 0].mean() < 0:
        faces = faces[:, ::-1].copy()
    return EarGeometry(vertices=verts, faces=faces, plane=plane, depth=depth)
