"""The 52 ARKit blendshape displacement fields on MediaPipe's canonical face mesh.

The fields are emogen's own, authored procedurally by :func:`emogen.face.authoring.author_blendshapes` (run by
``training/face_rig/make_blendshapes.py``, which saves them as ``weights/face_rig/blendshapes.safetensors``). Each
field is a set of *handles* (landmark groups of MediaPipe: lips, eyelids, brows, iris, oval, plus a few points
found by position such as the cheekbones) moved by a prescribed vector, extended smoothly over the rest of the mesh
by a harmonic (Laplace) interpolation that is pinned to zero beyond a geodesic radius. Geodesics and the Laplacian
use the mesh with its eye and mouth openings cut open, so the upper and lower lips (and lids) move independently.

Units are inter-pupil distances (IPD); the frame is the face's own: x to the subject's left, y up, z towards the
camera, origin between the eye centres. Amplitudes follow the measured ranges in DESIGN §5 (mouth corners
0.18-0.28 IPD down for frowns, brows ~0.10, upper lids ~0.06, jaw 0.10-0.25 at the prototypes' weights), and the
action-unit descriptions of the Facial Action Coding System (Ekman, Friesen & Hager 2002) for the directions:
AU12 (smile) pulls the corners up, out and back; AU15 (frown) down and slightly in; AU4 (brow lowerer) down and
together; AU1/AU2 raise the inner/outer brow; AU26/27 rotate the mandible about the temporomandibular joint.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..arkit import ARKIT_BLENDSHAPES, NUM_BLENDSHAPES
from .topology import NUM_LANDMARKS, LandmarkGroups, landmark_groups, load_canonical_mesh

__all__ = [
    "BLENDSHAPES_ASSET",
    "FaceTopology",
    "canonical_template",
    "face_topology",
    "load_blendshapes",
]

BLENDSHAPES_ASSET = "face_rig"
_EYEBALL_RADIUS = 0.19  # IPD: 12 mm eyeball radius / 63 mm mean inter-pupil distance
_IRIS_RADIUS = 0.094  # IPD: 5.9 mm
_SQUINT_LOWER = 0.30  # eyeSquint: lower-lid raise, fraction of the eye opening
_SQUINT_UPPER = 0.10  # eyeSquint: upper-lid drop, fraction of the eye opening
_JAW_CORNER = 0.4  # jawOpen: how far the mouth corners drop, as a fraction of the chin's drop


@dataclass(frozen=True)
class FaceTopology:
    """Connectivity of the 478-landmark face with the eye and mouth openings cut out.

    Args:
        faces (`np.ndarray` of shape `(F, 3)`): skin triangles (canonical triangles minus eye/mouth interiors).
        mouth_faces (`np.ndarray` of shape `(18, 3)`): the removed mouth-interior triangles (canonical).
        groups: MediaPipe landmark groups.
        laplacian: uniform graph Laplacian over the skin triangles (scipy sparse, 478×478; iris rows empty).
        graph: edge-length graph for geodesics (scipy sparse), built per vertex set by :meth:`geodesic`.
    """

    faces: np.ndarray
    mouth_faces: np.ndarray
    eye_faces: np.ndarray
    groups: LandmarkGroups
    edges: np.ndarray

    def geodesic(self, vertices: np.ndarray, sources: list[int] | np.ndarray) -> np.ndarray:
        """Geodesic (edge-path) distance from the nearest source vertex, shape ``(478,)``; inf if unreachable."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import dijkstra

        a, b = self.edges[:, 0], self.edges[:, 1]
        w = np.linalg.norm(vertices[a] - vertices[b], axis=-1) + 1e-9
        n = vertices.shape[0]
        graph = coo_matrix((np.r_[w, w], (np.r_[a, b], np.r_[b, a])), shape=(n, n)).tocsr()
        return dijkstra(graph, indices=np.asarray(sources), min_only=True)

    def laplacian(self, n: int):
        from scipy.sparse import coo_matrix, diags

        a, b = self.edges[:, 0], self.edges[:, 1]
        adj = coo_matrix((np.ones(2 * len(a)), (np.r_[a, b], np.r_[b, a])), shape=(n, n)).tocsr()
        adj.data[:] = 1.0
        return diags(np.asarray(adj.sum(1)).ravel()) - adj


@functools.lru_cache(maxsize=1)
def face_topology() -> FaceTopology:
    """The canonical mesh with its mouth and eye interiors removed (cached)."""
    mesh = load_canonical_mesh()
    g = landmark_groups()
    holes = [
        set(g.lips_inner_upper + g.lips_inner_lower),
        set(g.left_eye_upper + g.left_eye_lower),
        set(g.right_eye_upper + g.right_eye_lower),
    ]
    inside = [np.array([set(f.tolist()) <= h for f in mesh.faces]) for h in holes]
    skin = ~(inside[0] | inside[1] | inside[2])
    faces = mesh.faces[skin]
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    e = np.unique(np.sort(e, axis=1), axis=0)
    return FaceTopology(
        faces=faces,
        mouth_faces=mesh.faces[inside[0]],
        eye_faces=mesh.faces[inside[1] | inside[2]],
        groups=g,
        edges=e,
    )


def _eye_center(v: np.ndarray, upper, lower) -> np.ndarray:
    return v[list(upper) + list(lower)].mean(0)


@functools.lru_cache(maxsize=1)
def canonical_template() -> np.ndarray:
    """The canonical face in IPD units, origin between the eye centres: ``np.ndarray`` of shape ``(478, 3)``.

    The canonical mesh has no iris landmarks; they are placed at the eye-opening centres (centre, then four
    points on a circle of the mean iris radius), slightly in front of the lids.
    """
    mesh = load_canonical_mesh()
    g = landmark_groups()
    v = mesh.vertices
    le = _eye_center(v, g.left_eye_upper, g.left_eye_lower)
    re = _eye_center(v, g.right_eye_upper, g.right_eye_lower)
    ipd = np.linalg.norm(le - re)
    origin = (le + re) / 2
    out = np.zeros((NUM_LANDMARKS, 3))
    out[:468] = (v - origin) / ipd
    for base, c in ((468, re), (473, le)):
        c = (c - origin) / ipd + np.array([0, 0, 0.02])
        out[base] = c
        for k, ang in enumerate((0.0, 0.5 * math.pi, math.pi, 1.5 * math.pi)):
            out[base + 1 + k] = c + _IRIS_RADIUS * np.array([math.cos(ang), math.sin(ang), 0.0])
    return out


# --------------------------------------------------------------------------------------------- authoring tools


def _asset_dir() -> Path:
    import importlib.resources

    return Path(str(importlib.resources.files("emogen.weights") / BLENDSHAPES_ASSET))


@functools.lru_cache(maxsize=2)
def _load(path: str) -> tuple[torch.Tensor, torch.Tensor, dict]:
    from safetensors.torch import load_file

    tensors = load_file(str(Path(path) / "blendshapes.safetensors"))
    config = json.loads((Path(path) / "config.json").read_text())
    names = tuple(config["names"])
    if names != ARKIT_BLENDSHAPES:
        raise ValueError(f"{path}: blendshape names/order differ from emogen.arkit.ARKIT_BLENDSHAPES.")
    return tensors["template"], tensors["blendshapes"], config


def load_blendshapes(path: str | Path | None = None) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Load the shipped fields.

    Returns:
        ``(template (478, 3), blendshapes (52, 478, 3), config)``; tensors are float32, IPD units.
    """
    path = _asset_dir() if path is None else Path(path)
    if not (path / "blendshapes.safetensors").is_file():
        raise FileNotFoundError(
            f"No blendshapes.safetensors in {path}. Generate it with `python training/face_rig/make_blendshapes.py`."
        )
    template, shapes, config = _load(str(path))
    if shapes.shape != (NUM_BLENDSHAPES, NUM_LANDMARKS, 3):
        raise ValueError(f"{path}: blendshapes have shape {tuple(shapes.shape)}, expected (52, 478, 3).")
    return template.clone(), shapes.clone(), dict(config)
