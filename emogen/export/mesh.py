"""OBJ and PLY export of a head avatar's neutral mesh (written atomically; ``trimesh`` does the formats).

* :func:`write_obj` — the skin with its texture (``.obj`` + ``.mtl`` + ``.png`` beside it), the mouth and the
  eyes as separate objects with flat materials;
* :func:`write_ply` — one binary PLY of everything with per-vertex colours (the texture sampled at the vertices).

Metres, +Y up, the face along +Z (the GLB's axes). Blendshapes and animation need the GLB
(:func:`emogen.export.gltf.write_glb`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_output
from ..io.output import check_output_path
from ..utils import linear_to_srgb

__all__ = ["avatar_trimesh", "write_obj", "write_ply"]


def avatar_trimesh(avatar, textured: bool = True) -> dict:
    """The neutral avatar as ``trimesh.Trimesh`` objects: ``{"skin", "mouth", "eye_left", "eye_right"}``.

    Args:
        textured: give the skin its texture (``TextureVisuals``); otherwise colours sampled at the vertices.
    """
    import trimesh
    from PIL import Image

    from .gltf import avatar_mesh_arrays

    data = avatar_mesh_arrays(avatar)
    sk, mo, ey = data["skin"], data["mouth"], data["eye"]
    tex = data["texture"]
    if textured:
        uv = sk["uv"].copy()
        uv[:, 1] = 1.0 - uv[:, 1]  # OBJ's v runs up the image; u wraps around the head (repeat past 1)
        material = trimesh.visual.material.SimpleMaterial(image=Image.fromarray(tex), diffuse=(255, 255, 255, 255))
        visual = trimesh.visual.TextureVisuals(uv=uv, material=material)
    else:
        h, w = tex.shape[:2]
        px = np.clip((np.mod(sk["uv"][:, 0], 1.0) * w).astype(int), 0, w - 1)
        py = np.clip((sk["uv"][:, 1] * h).astype(int), 0, h - 1)
        visual = trimesh.visual.ColorVisuals(vertex_colors=np.c_[tex[py, px], np.full(len(px), 255)])
    out = {"skin": trimesh.Trimesh(sk["positions"], sk["faces"], visual=visual, process=False)}
    m_col = (linear_to_srgb(mo["colors"]) * 255).astype(np.uint8)
    out["mouth"] = trimesh.Trimesh(mo["positions"], mo["faces"], vertex_colors=m_col, process=False)
    e_col = (linear_to_srgb(ey["colors"]) * 255).astype(np.uint8)
    for k, key in enumerate(("eye_left", "eye_right")):
        out[key] = trimesh.Trimesh(ey["positions"] + data["eye_centres"][k], ey["faces"], vertex_colors=e_col,
                                   process=False)  # fmt: skip
    return out


def write_obj(path: str | os.PathLike, avatar) -> Path:
    """Write the neutral avatar as Wavefront OBJ; ``<stem>.mtl`` and ``<stem>.png`` are written beside it.

    Returns:
        The ``.obj`` path.
    """
    import trimesh

    path = check_output_path(path, (".obj",), "path")
    parts = avatar_trimesh(avatar, textured=True)
    scene = trimesh.Scene()
    for name, mesh in parts.items():
        scene.add_geometry(mesh, geom_name=name, node_name=name)
    text, files = trimesh.exchange.obj.export_obj(
        scene, include_texture=True, return_texture=True, mtl_name=f"{path.stem}.mtl", include_color=False
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    for name, blob in files.items():
        target = path.parent / name
        if target.suffix.lower() == ".mtl":
            blob = blob.replace(b"material_0.png", f"{path.stem}.png".encode())
        elif target.suffix.lower() == ".png" and name == "material_0.png":
            target = path.parent / f"{path.stem}.png"
        with atomic_output(target) as tmp:
            tmp.write_bytes(blob)
    with atomic_output(path) as tmp:
        tmp.write_text(text)
    return path


def write_ply(path: str | os.PathLike, avatar) -> Path:
    """Write the neutral avatar as one binary PLY with per-vertex colours.

    Returns:
        The path written.
    """
    import trimesh

    path = check_output_path(path, (".ply",), "path")
    parts = avatar_trimesh(avatar, textured=False)
    merged = trimesh.util.concatenate(list(parts.values()))
    blob = trimesh.exchange.ply.export_ply(merged, encoding="binary", include_attributes=False)
    with atomic_output(path) as tmp:
        tmp.write_bytes(blob)
    return path
