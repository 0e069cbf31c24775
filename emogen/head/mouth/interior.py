"""Fitting the mouth interior to a face and posing it per frame (see :mod:`emogen.head.mouth`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import torch
from torch import nn

from .anatomy import (
    _APERTURE_DEPTH,
    _DISPLAY,
    _LIP_BAND,
    _LIP_CLEARANCE,
    _LIP_GAP,
    _LOWER_INNER,
    _OCCLUSAL_TILT,
    _RIM_BACK,
    _RIM_OUT,
    _UPPER_INNER,
    CAVITY,
    INNER_LIP_LOOP,
    IPD_MM,
    JAW_LANDMARKS,
    _build_canonical,
    _orient,
)

__all__ = [
    "ATTR_AO",
    "ATTR_APERTURE",
    "ATTR_EDGE",
    "ATTR_HEIGHT",
    "ATTR_LIP",
    "ATTR_MATERIAL",
    "ATTR_NORMAL",
    "MouthGeometry",
    "MouthInterior",
    "NUM_ATTRIBUTES",
    "estimate_jaw_motion",
]

# ------------------------------------------------------------------------------------------- attribute channels
ATTR_MATERIAL = 0  #: material id (0 cavity, 1 teeth, 2 gum, 3 tongue); constant over every triangle
ATTR_NORMAL = slice(1, 4)  #: vertex normal in the face frame (unnormalised after interpolation)
ATTR_AO = 4  #: depth into the mouth in [0, 1]: 0 at the lips' plane, 1 at the back of the throat
ATTR_EDGE = 5  #: teeth: 0 mid-crown, 1 at the mesial/distal contacts (interproximal shading); 0 elsewhere
ATTR_HEIGHT = 6  #: teeth: 0 at the incisal edge, 1 at the gum; gum: 0 margin → 1 vestibule; tongue: 0 tip → 1 back
ATTR_LIP = 7  #: distance (IPD) below the upper inner lip line of the current frame (< 0: above it)
ATTR_APERTURE = 8  #: how open the lips are in front of the vertex, in [0, 1]: gap / (gap + depth behind the lips)
NUM_ATTRIBUTES = 9


# ================================================================================================ fitted geometry
@dataclass(frozen=True)
class MouthGeometry:
    """The interior fitted to one face (face frame, IPD units). Build with :meth:`MouthInterior.fit`.

    Args:
        vertices (`torch.Tensor` of shape `(V, 3)`): rest positions behind the neutral face's lips.
        jaw (`torch.Tensor` of shape `(V,)`): 0 = rigid with the skull, 1 = rigid with the mandible.
        tongue_field (`torch.Tensor` of shape `(V, 3)`): displacement at ``tongueOut = 1`` (mandible frame).
        rim_offset (`torch.Tensor` of shape `(R, 3)`): cavity rim = inner lip loop + this offset, per frame.
        ao (`torch.Tensor` of shape `(V,)`): depth into the mouth in [0, 1].
        edge (`torch.Tensor` of shape `(V,)`): tooth-gap factor in [0, 1].
        height (`torch.Tensor` of shape `(V,)`): height factor (see :data:`ATTR_HEIGHT`).
        material (`torch.Tensor` of shape `(V,)`, int64): material ids.
        scale (`torch.Tensor` of shape `(3,)`): per-axis scale of the canonical interior (1 = canonical face).
        anchor (`torch.Tensor` of shape `(3,)`): face-frame position of the upper incisal point.
    """

    vertices: torch.Tensor
    jaw: torch.Tensor
    tongue_field: torch.Tensor
    rim_offset: torch.Tensor
    ao: torch.Tensor
    edge: torch.Tensor
    height: torch.Tensor
    material: torch.Tensor
    scale: torch.Tensor
    anchor: torch.Tensor

    def to(self, device=None, dtype=None) -> MouthGeometry:
        """Move the tensors (floating-point ones also to ``dtype``)."""
        out = {}
        for f in fields(self):
            t = getattr(self, f.name)
            out[f.name] = t.to(device=device, dtype=dtype if (dtype is not None and t.is_floating_point()) else None)
        return MouthGeometry(**out)


def estimate_jaw_motion(
    rest_vertices: torch.Tensor, deformed_vertices: torch.Tensor, landmarks: dict[int, float] | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rigid motion of the mandible between the rest face and deformed faces (weighted Kabsch, Umeyama 1991).

    Args:
        rest_vertices (`torch.Tensor` of shape `(478, 3)` or `(batch, 478, 3)`): the neutral face (face frame).
        deformed_vertices (`torch.Tensor` of shape `(batch, 478, 3)`): the deformed faces.
        landmarks: landmark index → weight (default :data:`JAW_LANDMARKS`).

    Returns:
        ``(rotation (batch, 3, 3), translation (batch, 3))`` with ``deformed ≈ rest @ rotation.T + translation``.
    """
    lm = JAW_LANDMARKS if landmarks is None else landmarks
    idx = torch.tensor(list(lm), device=deformed_vertices.device)
    w = torch.tensor(list(lm.values()), device=deformed_vertices.device, dtype=torch.float64)
    w = w / w.sum()
    q = deformed_vertices[:, idx].double()  # (b, n, 3)
    p = rest_vertices.to(q)[..., idx, :]
    p = p.expand_as(q) if p.ndim == 3 else p.unsqueeze(0).expand_as(q)
    mp = torch.einsum("n,bnc->bc", w, p)
    mq = torch.einsum("n,bnc->bc", w, q)
    cov = torch.einsum("n,bni,bnj->bij", w, q - mq[:, None], p - mp[:, None])  # Σ w (q - q̄)(p - p̄)ᵀ
    u, _, vt = torch.linalg.svd(cov)
    d = torch.sign(torch.linalg.det(u @ vt))
    fix = torch.diag_embed(torch.stack([torch.ones_like(d), torch.ones_like(d), d], -1))
    rot = u @ fix @ vt
    trans = mq - torch.einsum("bij,bj->bi", rot, mp)
    return rot.to(deformed_vertices.dtype), trans.to(deformed_vertices.dtype)


def _vertex_normals(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Area-weighted vertex normals ``(b, V, 3)`` of ``vertices (b, V, 3)``."""
    tri = vertices[:, faces]  # (b, F, 3, 3)
    fn = torch.cross(tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0], dim=-1)
    vn = torch.zeros_like(vertices)
    for k in range(3):
        vn.index_add_(1, faces[:, k], fn)
    return vn / vn.norm(dim=-1, keepdim=True).clamp(min=1e-12)


def _interp_batched(xq: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear ``y(xq)`` per batch (constant beyond the ends): ``xq (b, V)``, ``xs, ys (b, n)``."""
    xs, order = torch.sort(xs, dim=1)
    ys = torch.gather(ys, 1, order)
    i = torch.searchsorted(xs.contiguous(), xq.contiguous()).clamp(1, xs.shape[1] - 1)
    x0, x1 = torch.gather(xs, 1, i - 1), torch.gather(xs, 1, i)
    y0, y1 = torch.gather(ys, 1, i - 1), torch.gather(ys, 1, i)
    t = ((xq - x0) / (x1 - x0).clamp(min=1e-9)).clamp(0.0, 1.0)
    return y0 + t * (y1 - y0)


class MouthInterior(nn.Module):
    """Procedural 3D mouth interior (teeth, gums, tongue, cavity) that follows emogen's face rig.

    Buffers (move with ``.to()``): ``faces`` (F, 3) int64, ``material`` (V,) int64, ``vertices`` (V, 3) the
    interior fitted to :func:`emogen.face.blendshapes.canonical_template` (face frame, IPD), ``dental`` (V, 3) the
    same in the dental frame (mm, origin at the upper incisal point, occlusal plane horizontal), ``jaw`` (V,),
    ``edge`` (V,), ``height`` (V,), ``tongue_field`` (V, 3) (mm), ``tooth`` (V,) tooth index or -1 (0-4: upper
    teeth on the subject's right from the central incisor to the second premolar, 5-9 upper left, 10-14 lower
    right, 15-19 lower left; see :data:`UPPER_TEETH`, :data:`LOWER_TEETH`), ``rim`` (R,) the cavity rim's vertex
    indices (following :data:`INNER_LIP_LOOP`).

    Args:
        occlusal_tilt: occlusal plane to the face frame's horizontal, degrees (rising backwards).
        display: upper incisal edge below the upper inner lip line at rest, mm.
        lip_gap: incisal edges behind the inner lip line, mm.
    """

    def __init__(
        self, occlusal_tilt: float = _OCCLUSAL_TILT, display: float = _DISPLAY, lip_gap: float = _LIP_GAP
    ) -> None:
        super().__init__()
        from ...face.blendshapes import canonical_template

        self.occlusal_tilt = float(occlusal_tilt)
        self.display = float(display)
        self.lip_gap = float(lip_gap)
        template = np.asarray(canonical_template(), dtype=np.float64)
        self._template = template
        loop = np.asarray(INNER_LIP_LOOP)
        lip_t = (template[loop, 0] - template[78, 0]) / (template[308, 0] - template[78, 0])
        upper = np.isin(loop, _UPPER_INNER)
        canon = _build_canonical(np.clip(lip_t, 0.0, 1.0), upper)
        self._canon = canon
        self.register_buffer("dental", torch.from_numpy(canon.vertices).float())
        self.register_buffer("material", torch.from_numpy(canon.material))
        self.register_buffer("jaw", torch.from_numpy(canon.jaw).float())
        self.register_buffer("edge", torch.from_numpy(canon.edge).float())
        self.register_buffer("height", torch.from_numpy(canon.height).float())
        self.register_buffer("tongue_field", torch.from_numpy(canon.tongue_field).float())
        self.register_buffer("tooth", torch.from_numpy(canon.tooth))
        self.register_buffer("rim", torch.from_numpy(canon.rim))
        self.register_buffer("faces", torch.from_numpy(canon.faces))
        geometry = self.fit(template)
        # the cavity is seen from inside: its triangles face the mouth's axis
        verts = geometry.vertices.double().numpy()
        faces = canon.faces.copy()
        cav = np.all(canon.material[faces] == CAVITY, axis=1)
        centre = verts[canon.rim].mean(0)
        cen = verts[faces[cav]].mean(1)
        axis = np.stack([np.full(len(cen), centre[0]), np.full(len(cen), centre[1] - 0.05), cen[:, 2]], -1)
        faces[cav] = _orient(verts, faces[cav], axis, outward=False)
        self.faces = torch.from_numpy(faces)
        self.register_buffer("vertices", geometry.vertices.clone())

    @property
    def num_vertices(self) -> int:
        return int(self.dental.shape[0])

    # ------------------------------------------------------------------------------------------------- fitting
    def _dental_to_face(self, scale: np.ndarray) -> np.ndarray:
        """Linear map (3, 3) from dental millimetres to face-frame IPD units (tilt, then per-axis scale)."""
        a = math.radians(self.occlusal_tilt)
        tilt = np.array([[1.0, 0.0, 0.0], [0.0, math.cos(a), -math.sin(a)], [0.0, math.sin(a), math.cos(a)]])
        return np.diag(scale) @ tilt / IPD_MM

    def fit(self, identity: torch.Tensor | np.ndarray) -> MouthGeometry:
        """Place and scale the interior behind the lips of one face.

        The upper incisal point goes :attr:`display` mm below the upper inner lip midpoint (13) and
        :attr:`lip_gap` mm behind the more posterior of the two inner lip midpoints (13, 14). The arch is widened
        with the mouth (61-291), deepened with the curvature of the inner lip line (midpoints vs. inner corners 78,
        308) and lengthened with the lower face (subnasale 2 to chin 152), each by the square root of the ratio to
        the canonical face (tooth size correlates only loosely with soft tissue). Finally the whole interior is
        pushed back where any tooth, gum or tongue vertex within 4 mm (vertically) of the inner lip lines would
        come closer than 1.2 mm to them in depth.

        Args:
            identity (`torch.Tensor` or `np.ndarray` of shape `(478, 3)`): the face's NEUTRAL vertices in the face
                frame (e.g. ``FaceRig.identity``).

        Returns:
            :class:`MouthGeometry` on the module's device.
        """
        v = identity.detach().cpu().double().numpy() if torch.is_tensor(identity) else np.asarray(identity, np.float64)
        if v.shape != (478, 3):
            raise ValueError(f"identity must have shape (478, 3), got {tuple(v.shape)}.")
        c = self._template

        def ratio(a: float, b: float, lo: float, hi: float) -> float:
            return float(np.clip(a / b, lo, hi) ** 0.5) if b > 1e-9 else 1.0

        def arc_depth(x: np.ndarray) -> float:
            return float(x[[13, 14], 2].mean() - x[[78, 308], 2].mean())

        sx = ratio(v[291, 0] - v[61, 0], c[291, 0] - c[61, 0], 0.75, 1.35)
        sy = ratio(v[2, 1] - v[152, 1], c[2, 1] - c[152, 1], 0.8, 1.25)
        sz = ratio(arc_depth(v), arc_depth(c), 0.6, 1.5)
        scale = np.array([sx, sy, sz])
        m = self._dental_to_face(scale)
        anchor = np.array(
            [
                v[[13, 14, 0, 17], 0].mean(),
                v[13, 1] - self.display * sy / IPD_MM,
                min(v[13, 2], v[14, 2]) - self.lip_gap * sz / IPD_MM,
            ]
        )
        dental = self._canon.vertices
        verts = anchor + dental @ m.T
        mat = self._canon.material
        # keep every solid part behind the inner lip line (both lips; MediaPipe depths vary between faces)
        up, lo = np.asarray(_UPPER_INNER), np.asarray(_LOWER_INNER)
        xs = np.linspace(v[78, 0], v[308, 0], 64)
        z_lip = np.minimum(
            np.interp(xs, *_sorted_xy(v[up, 0], v[up, 2])), np.interp(xs, *_sorted_xy(v[lo, 0], v[lo, 2]))
        )
        y_up = np.interp(verts[:, 0], *_sorted_xy(v[up, 0], v[up, 1]))
        y_lo = np.interp(verts[:, 0], *_sorted_xy(v[lo, 0], v[lo, 1]))
        band = _LIP_BAND / IPD_MM  # only what lies near the opening; higher up the lips are thicker
        near = (verts[:, 1] < np.maximum(y_up, y_lo) + band) & (verts[:, 1] > np.minimum(y_up, y_lo) - band)
        inside = (mat != CAVITY) & near & (verts[:, 0] > v[78, 0]) & (verts[:, 0] < v[308, 0])
        if inside.any():
            limit = np.interp(verts[inside, 0], xs, z_lip) - _LIP_CLEARANCE / IPD_MM
            push = float(np.max(verts[inside, 2] - limit))
            if push > 0:
                verts[:, 2] -= push
                anchor[2] -= push
        # the cavity rim: the inner lip loop, a little outside it and behind it
        loop = np.asarray(INNER_LIP_LOOP)
        t = (c[loop, 0] - c[[78, 308], 0].mean()) / (0.5 * (c[308, 0] - c[78, 0]))
        t = np.clip(t, -1.0, 1.0)
        upper = np.isin(loop, _UPPER_INNER)
        out_dir = np.stack([np.sign(t) * np.abs(t) ** 4, np.where(upper, 1.0, -1.0) * (1.0 - np.abs(t) ** 4)], -1)
        out_dir /= np.linalg.norm(out_dir, axis=-1, keepdims=True)
        rim_offset = np.concatenate([out_dir * _RIM_OUT, np.full((len(loop), 1), -_RIM_BACK)], -1) / IPD_MM
        rim_offset[:, 0] *= sx
        rim_offset[:, 1] *= sy
        verts[self._canon.rim] = v[loop] + rim_offset
        # depth into the mouth: 0 at the lips' front, 1 at the back of the throat
        z_front = float(v[loop, 2].max())
        z_back = float(verts[:, 2].min())
        ao = np.clip((z_front - verts[:, 2]) / max(z_front - z_back, 1e-6), 0.0, 1.0)
        ao[self._canon.rim] = 0.0
        field = self._canon.tongue_field @ m.T
        dev = self.dental.device

        def tt(x, dtype=torch.float32):
            return torch.as_tensor(np.ascontiguousarray(x), dtype=dtype, device=dev)

        return MouthGeometry(
            vertices=tt(verts),
            jaw=self.jaw.clone(),
            tongue_field=tt(field),
            rim_offset=tt(rim_offset),
            ao=tt(ao),
            edge=self.edge.clone(),
            height=self.height.clone(),
            material=self.material.clone(),
            scale=tt(scale),
            anchor=tt(anchor),
        )

    # ------------------------------------------------------------------------------------------------- posing
    def pose(
        self,
        geometry: MouthGeometry,
        rest_vertices: torch.Tensor,
        deformed_vertices: torch.Tensor,
        tongue_out: torch.Tensor | float | None = None,
    ) -> torch.Tensor:
        """Pose the interior for a batch of deformed faces.

        Args:
            geometry: from :meth:`fit` (for the same face as ``rest_vertices``).
            rest_vertices (`torch.Tensor` of shape `(478, 3)`): the neutral face (``FaceRig.identity``).
            deformed_vertices (`torch.Tensor` of shape `(batch, 478, 3)`): ``FaceRig.deform(weights)``.
            tongue_out (`torch.Tensor` of shape `(batch,)`, *optional*): ARKit ``tongueOut`` weights.

        Returns:
            `torch.Tensor` of shape `(batch, V, 3)`: face-frame vertices (project with ``FaceRig.project``).
        """
        if deformed_vertices.ndim != 3 or deformed_vertices.shape[1:] != (478, 3):
            raise ValueError(
                f"deformed_vertices must have shape (batch, 478, 3), got {tuple(deformed_vertices.shape)}."
            )
        b = deformed_vertices.shape[0]
        dt, dev = deformed_vertices.dtype, deformed_vertices.device
        g = geometry.to(dev, dt)
        rot, trans = estimate_jaw_motion(rest_vertices.to(dev, dt), deformed_vertices)
        base = g.vertices.expand(b, -1, -1)
        local = base
        if tongue_out is not None:
            w = torch.as_tensor(tongue_out, dtype=dt, device=dev).reshape(-1).expand(b)
            local = base + w[:, None, None] * g.tongue_field
        jawed = torch.einsum("bij,bvj->bvi", rot, local) + trans[:, None]
        wj = g.jaw[None, :, None]
        out = base * (1.0 - wj) + jawed * wj
        rim = self.rim.to(dev)
        loop = torch.as_tensor(INNER_LIP_LOOP, device=dev)
        out = out.clone()
        out[:, rim] = deformed_vertices[:, loop] + g.rim_offset
        return out

    def vertex_attributes(
        self, geometry: MouthGeometry, vertices: torch.Tensor, deformed_vertices: torch.Tensor
    ) -> torch.Tensor:
        """Per-vertex G-buffer channels for the rasteriser.

        Args:
            geometry: from :meth:`fit`.
            vertices (`torch.Tensor` of shape `(batch, V, 3)`): posed interior (:meth:`pose`).
            deformed_vertices (`torch.Tensor` of shape `(batch, 478, 3)`): the deformed faces (for the lip line).

        Returns:
            `torch.Tensor` of shape `(batch, V, NUM_ATTRIBUTES)`: channels :data:`ATTR_MATERIAL`,
            :data:`ATTR_NORMAL` (face frame), :data:`ATTR_AO`, :data:`ATTR_EDGE`, :data:`ATTR_HEIGHT`,
            :data:`ATTR_LIP`, :data:`ATTR_APERTURE`.
        """
        b, n, _ = vertices.shape
        dt, dev = vertices.dtype, vertices.device
        g = geometry.to(dev, dt)
        normals = _vertex_normals(vertices, self.faces.to(dev))
        up = deformed_vertices[:, list(_UPPER_INNER)]
        lo = deformed_vertices[:, list(_LOWER_INNER)]
        x = vertices[..., 0]
        lip_y = _interp_batched(x, up[..., 0], up[..., 1])
        lip = lip_y - vertices[..., 1]
        # light and sky reach the inside through the opening: the wider the lips are apart above a point and the
        # less deep it lies behind them, the more (an aperture term; 0 behind closed lips and the mouth corners)
        gap = (lip_y - _interp_batched(x, lo[..., 0], lo[..., 1])).clamp(min=0.0)
        z_lip = torch.minimum(_interp_batched(x, up[..., 0], up[..., 2]), _interp_batched(x, lo[..., 0], lo[..., 2]))
        depth = (z_lip - vertices[..., 2]).clamp(min=0.0)
        aperture = gap / (gap + _APERTURE_DEPTH * depth + 1e-4)
        corner = (x - up[..., 0].amin(1, keepdim=True)).clamp(min=0) * (up[..., 0].amax(1, keepdim=True) - x).clamp(
            min=0
        )
        aperture = torch.where(corner > 0, aperture, torch.zeros_like(aperture))

        def col(x: torch.Tensor) -> torch.Tensor:
            return x.to(dt).reshape(1, n, 1).expand(b, n, 1)

        return torch.cat(
            [
                col(g.material),
                normals,
                col(g.ao),
                col(g.edge),
                col(g.height),
                lip.unsqueeze(-1),
                aperture.unsqueeze(-1),
            ],
            dim=-1,
        )

    def forward(
        self,
        geometry: MouthGeometry,
        rest_vertices: torch.Tensor,
        deformed_vertices: torch.Tensor,
        tongue_out: torch.Tensor | float | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`pose` then :meth:`vertex_attributes`: ``(vertices (b, V, 3), attributes (b, V, C))``."""
        verts = self.pose(geometry, rest_vertices, deformed_vertices, tongue_out)
        return verts, self.vertex_attributes(geometry, verts, deformed_vertices)


def _sorted_xy(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    o = np.argsort(x)
    return x[o], y[o]
