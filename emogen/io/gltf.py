"""Reading GLB files written by :func:`emogen.export.gltf.write_glb` back into arrays (round trips, checks)."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["GlbPrimitive", "GlbContents", "read_glb"]

_NUM = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


@dataclass
class GlbPrimitive:
    """One primitive: ``attributes`` name → array, ``faces`` (F, 3), ``targets`` one dict per morph target."""

    attributes: dict[str, np.ndarray]
    faces: np.ndarray
    targets: list[dict[str, np.ndarray]]
    material: str | None


@dataclass
class GlbContents:
    """What a GLB holds, decoded.

    Args:
        meshes: mesh name → its primitives.
        target_names: mesh name → ``extras.targetNames``.
        texture (`np.ndarray` of shape `(H, W, 3)`, uint8): the first image, or ``None``.
        nodes: node name → ``{"parent", "translation", "mesh", "skin"}``.
        animation: channel ``"<node>.<path>"`` → ``(times (T,), values (T, C))``.
        skins: skin name → joint node names.
    """

    meshes: dict[str, list[GlbPrimitive]]
    target_names: dict[str, list[str]]
    texture: np.ndarray | None
    nodes: dict[str, dict]
    animation: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    skins: dict[str, list[str]] = field(default_factory=dict)
    asset: dict = field(default_factory=dict)


def _get(obj, key: str):
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


def read_glb(path: str | os.PathLike) -> GlbContents:
    """Decode a self-contained GLB (dense, sparse and buffer-less accessors) with ``pygltflib``.

    Raises:
        ValueError: not a GLB file, or one with external buffers.
    """
    import pygltflib as gl
    from PIL import Image

    path = Path(path)
    head = path.read_bytes()[:4] if path.is_file() else b""
    if head != b"glTF":
        raise ValueError(f"{str(path)!r} is not a GLB file (binary glTF 2.0).")
    doc = gl.GLTF2.load_binary(str(path))
    blob = doc.binary_blob() or b""
    dtypes = {gl.FLOAT: np.float32, gl.UNSIGNED_BYTE: np.uint8, gl.UNSIGNED_SHORT: np.uint16,
              gl.UNSIGNED_INT: np.uint32, gl.BYTE: np.int8, gl.SHORT: np.int16}  # fmt: skip

    def view(i: int) -> bytes:
        v = doc.bufferViews[i]
        if v.buffer != 0 or doc.buffers[0].uri is not None:
            raise ValueError(f"{str(path)!r} uses external buffers; only self-contained GLB files are read.")
        start = v.byteOffset or 0
        return blob[start : start + v.byteLength]

    def accessor(i: int) -> np.ndarray:
        a = doc.accessors[i]
        dt, n = np.dtype(dtypes[a.componentType]), _NUM[a.type]
        shape = (a.count,) if n == 1 else (a.count, n)
        if a.bufferView is None:
            out = np.zeros(shape, dt)
        else:
            stride = doc.bufferViews[a.bufferView].byteStride
            raw = view(a.bufferView)
            if stride and stride != dt.itemsize * n:
                rows = [raw[(a.byteOffset or 0) + k * stride :][: dt.itemsize * n] for k in range(a.count)]
                out = np.frombuffer(b"".join(rows), dt).reshape(shape).copy()
            else:
                out = np.frombuffer(raw, dt, count=a.count * n, offset=a.byteOffset or 0).reshape(shape).copy()
        if a.sparse is not None:
            sp = a.sparse
            idx = np.frombuffer(view(sp.indices.bufferView), dtypes[sp.indices.componentType], count=sp.count,
                                offset=sp.indices.byteOffset or 0).astype(np.int64)  # fmt: skip
            vals = np.frombuffer(view(sp.values.bufferView), dt, count=sp.count * n, offset=sp.values.byteOffset or 0)
            out[idx] = vals.reshape((sp.count,) + shape[1:])
        return out

    materials = [m.name for m in doc.materials or []]
    meshes, names = {}, {}
    for k, mesh in enumerate(doc.meshes or []):
        key = mesh.name or f"mesh_{k}"
        prims = []
        for p in mesh.primitives:
            attrs = {n: accessor(i) for n, i in vars(p.attributes).items() if isinstance(i, int)}
            faces = accessor(p.indices).astype(np.int64).reshape(-1, 3)
            targets = []
            for t in p.targets or []:
                items = t.items() if isinstance(t, dict) else vars(t).items()
                targets.append({n: accessor(i) for n, i in items if isinstance(i, int)})
            prims.append(
                GlbPrimitive(attrs, faces, targets, materials[p.material] if p.material is not None else None)
            )
        meshes[key] = prims
        names[key] = list((mesh.extras or {}).get("targetNames", []))
    texture = None
    if doc.images:
        img = doc.images[0]
        texture = np.asarray(Image.open(io.BytesIO(view(img.bufferView))).convert("RGB"))
    nodes: dict[str, dict] = {}
    labels = [n.name or f"node_{i}" for i, n in enumerate(doc.nodes or [])]
    for i, n in enumerate(doc.nodes or []):
        nodes.setdefault(labels[i], {"parent": None})
        nodes[labels[i]].update(translation=np.asarray(n.translation or [0.0, 0.0, 0.0]), mesh=n.mesh, skin=n.skin)
        for c in n.children or []:
            nodes.setdefault(labels[c], {})["parent"] = labels[i]
    animation = {}
    for anim in doc.animations or []:
        for ch in anim.channels:
            s = anim.samplers[ch.sampler]
            times, values = accessor(s.input), accessor(s.output)
            animation[f"{labels[ch.target.node]}.{ch.target.path}"] = (times, values.reshape(len(times), -1))
    skins = {(s.name or f"skin_{i}"): [labels[j] for j in s.joints] for i, s in enumerate(doc.skins or [])}
    asset = {"generator": doc.asset.generator, "version": doc.asset.version}
    return GlbContents(meshes, names, texture, nodes, animation, skins, asset)
