"""Building a head avatar from a portrait: tracking, the shell, the rig, the eyes, the mouth and the texture.

:func:`build_avatar` returns the tensors :class:`~emogen.head.avatar.HeadAvatar` keeps as buffers; see the class for
what they are. The steps (with their cost on a 2-core CPU, astronaut photo):

1. track the face (MediaPipe FaceLandmarker, ≈ 0.5-0.9 s with the model load) and rig it (:class:`FaceRig`, 0.1 s);
2. build the shell, the ears, the eye sockets (≈ 0.2 s) and continue the 52 fields over them;
3. unwrap and bake the texture, and the expression layers (≈ 0.6 s);
4. fit the mouth interior and read the eye colours.
"""

from __future__ import annotations

import copy
import functools
import logging
import math

import numpy as np
import torch

from ...arkit import ARKIT_INDEX
from ...face.blendshapes import face_topology
from ...face.rig import FaceRig
from ...io.image import to_rgb_uint8
from ..mouth import INNER_LIP_LOOP
from .eyes import EYEBALL_RADIUS, eye_contours, eyeball_mesh, fit_eye_centres, sample_eye_colours
from .morphs import (
    extend_fields,
    eye_sockets,
    lip_sleeve,
    locate_under_skin,
    orient_sockets,
    undo_foreshortening,
)
from .shell import HeadShape, build_ear, build_shell
from .texture import (
    PART_EAR,
    PART_FACE,
    PART_SHELL,
    PART_SOCKET,
    TextureLayout,
    bake_texture,
    equirect_uv,
    split_seams,
)

logger = logging.getLogger(__name__)

__all__ = ["MAX_YAW_DEGREES", "MIN_IPD_PIXELS", "build_avatar", "check_portrait"]

#: Photos turned further than this (the far half of the face hidden) are refused.
MAX_YAW_DEGREES = 40.0
#: Faces smaller than this (pixels between the pupils) are refused.
MIN_IPD_PIXELS = 16.0


@functools.lru_cache(maxsize=1)
def _mouth_template():
    from ..mouth import MouthInterior

    return MouthInterior()


def check_portrait(face, max_yaw: float = MAX_YAW_DEGREES, min_ipd: float = MIN_IPD_PIXELS) -> None:
    """Refuse faces an avatar cannot be built from (``ValueError`` naming the problem)."""
    yaw = math.degrees(float(face.head_rotation[1]))
    pitch = math.degrees(float(face.head_rotation[0]))
    if abs(yaw) > max_yaw:
        raise ValueError(
            f"The face is turned {abs(yaw):.0f}° to the side (a profile or three-quarter view); a head avatar needs "
            f"a roughly frontal photo, turned at most {max_yaw:.0f}°."
        )
    if abs(pitch) > 45.0:
        raise ValueError(
            f"The face is tilted {abs(pitch):.0f}° up or down; a head avatar needs a roughly frontal photo "
            "(tilted at most 45°)."
        )
    ipd = face.inter_pupil_distance
    if ipd < min_ipd:
        raise ValueError(
            f"The face is too small: {ipd:.1f} pixels between the pupils; a head avatar needs at least "
            f"{min_ipd:.0f} (a face roughly {4 * min_ipd:.0f} pixels wide or more)."
        )


def build_avatar(
    image,
    face=None,
    tracker=None,
    face_index: int | None = None,
    shape: HeadShape | None = None,
    texture_size: int | None = None,
    appearance: bool = True,
    max_yaw: float = MAX_YAW_DEGREES,
    rasterizer=None,
    progress: bool = True,
) -> dict:
    """All tensors of one avatar (see :class:`~emogen.head.avatar.HeadAvatar`)."""
    from tqdm.auto import tqdm

    from ...face.tracking import FaceTracker

    if texture_size is not None and (
        not isinstance(texture_size, int) or isinstance(texture_size, bool) or not 256 <= texture_size <= 4096
    ):
        raise ValueError(
            "texture_size must be None (automatic) or an integer number of pixels in [256, 4096], "
            f"got {texture_size!r}."
        )
    rgb = to_rgb_uint8(image)
    if min(rgb.shape[:2]) < 64:
        raise ValueError(
            f"The image is {rgb.shape[1]}×{rgb.shape[0]} pixels; a head avatar needs a photo of at least 64×64 pixels "
            "with a face of roughly 60 pixels or more."
        )
    shape = HeadShape() if shape is None else shape
    bar = tqdm(total=5, desc="head avatar", unit="step", disable=not progress)
    # 1. track and rig the face
    if face is None:
        if tracker is None:
            with FaceTracker(max_faces=max(1, (face_index or 0) + 1)) as own:
                face = own.track(rgb, face_index=face_index)
        else:
            face = tracker.track(rgb, face_index=face_index)
    check_portrait(face, max_yaw=max_yaw)
    if texture_size is None:
        # the face spans ~0.18 texture sides per IPD: match the photo's resolution, up to 1024
        texture_size = 512 if face.inter_pupil_distance < 75 else 1024
    rig = FaceRig.from_tracking(face)
    identity = rig.identity.double().numpy()
    photo_fields = rig.shapedirs.double().numpy()
    rot = rig.rotation.double().numpy()
    fields = undo_foreshortening(photo_fields, rot)
    rest = rig.rest_weights.double().numpy()
    bar.update()
    # 2. shell, ears, eye sockets; the fields over all of them
    shell = build_shell(identity, shape)
    ear_l = build_ear(shape, shell.ear_anchor, scale=float(shell.scale.mean()))
    mirror = np.array([-1.0, 1.0, 1.0])
    centres = fit_eye_centres(identity, fields)
    contours = eye_contours()
    sock_v, sock_f, sock_rim = eye_sockets(identity, contours, centres, EYEBALL_RADIUS)
    n_face, n_shell, n_ear = 468, len(shell.vertices), len(ear_l.vertices)
    o_ear_l = n_face + n_shell
    o_ear_r = o_ear_l + n_ear
    o_sock = o_ear_r + n_ear
    geo = np.concatenate([identity[:468], shell.vertices, ear_l.vertices, ear_l.vertices * mirror, sock_v])
    sock_faces = np.where(sock_f < 0, -1 - sock_f, sock_f + o_sock)
    sock_faces = orient_sockets(geo, sock_faces, centres)
    head_faces = np.concatenate([face_topology().faces, shell.faces])
    ear_faces = np.concatenate([ear_l.faces + o_ear_l, ear_l.faces[:, ::-1] + o_ear_r])
    part = np.r_[
        np.full(n_face, PART_FACE, float), np.full(n_shell, PART_SHELL, float),
        PART_EAR + 0.9 * ear_l.depth, PART_EAR + 0.9 * ear_l.depth, np.full(len(sock_v), PART_SOCKET, float),
    ]  # fmt: skip
    # signed distance from the face outline: negative inside the face (how far in), positive on the shell
    oval_pts = identity[shell.oval, :2]
    seg_a, seg_b = oval_pts, np.roll(oval_pts, -1, 0)
    q = identity[:468, None, :2]
    t_seg = np.clip(((q - seg_a) * (seg_b - seg_a)).sum(-1) / ((seg_b - seg_a) ** 2).sum(-1), 0.0, 1.0)
    inside = np.linalg.norm(q - (seg_a + t_seg[..., None] * (seg_b - seg_a)), axis=-1).min(1)
    distance = np.r_[-inside, shell.distance, np.full(len(geo) - n_face - n_shell, 9.0)]
    morphs = np.zeros((52, len(geo), 3))
    morphs[:, : n_face + n_shell] = extend_fields(geo[: n_face + n_shell], head_faces, fields[:, :468],
                                                  np.maximum(distance[: n_face + n_shell], 0.0))  # fmt: skip
    head_weight = np.r_[np.ones(n_face), 1.0 - shell.neck, np.ones(len(geo) - n_face - n_shell)]
    bar.update()
    # 3. texture space: one equirectangular chart for face and shell, islands for ears and sockets
    layout = TextureLayout(size=texture_size, axis_z=shell.axis_z)
    uv_head = equirect_uv(geo[: n_face + n_shell], layout)
    r_faces, vmap, uv = split_seams(head_faces, uv_head, geo[: n_face + n_shell])
    render_faces = [r_faces]
    extra_map, extra_uv = [], []
    n_render = len(vmap)
    for k, (offset, ear) in enumerate(((o_ear_l, ear_l), (o_ear_r, ear_l))):
        u0, v0, u1, v1 = layout.island(k)
        plane = ear.plane if k == 0 else ear.plane * [-1, 1] + [1, 0]
        extra_uv.append(np.stack([u0 + (u1 - u0) * plane[:, 0], v0 + (v1 - v0) * (1 - plane[:, 1])], -1))
        extra_map.append(np.arange(offset, offset + n_ear))
        render_faces.append(ear_faces[k * len(ear.faces) : (k + 1) * len(ear.faces)] - offset + n_render)
        n_render += n_ear
    sock_ids = np.unique(sock_faces)
    u0, v0, u1, v1 = layout.island(2)
    local = {int(g): n_render + j for j, g in enumerate(sock_ids)}
    ang = np.linspace(0, 2 * np.pi, len(sock_ids), endpoint=False)
    extra_uv.append(
        np.stack([(u0 + u1) / 2 + 0.35 * (u1 - u0) * np.cos(ang), (v0 + v1) / 2 + 0.35 * (v1 - v0) * np.sin(ang)], -1)
    )
    extra_map.append(sock_ids)
    render_faces.append(np.vectorize(local.get)(sock_faces))
    vmap = np.concatenate([vmap, *extra_map])
    uv = np.concatenate([uv, *extra_uv])
    render_faces = np.concatenate(render_faces).astype(np.int64)
    # the photo's own pose (for projecting the photo) and its normals
    photo_geo = geo + np.einsum("k,kvc->vc", rest, morphs)
    photo_geo[:468] = identity[:468] + np.einsum("k,kvc->vc", rest, photo_fields[:, :468])
    all_geo_faces = np.concatenate([head_faces, ear_faces, sock_faces])
    normals = _normals(photo_geo, all_geo_faces)
    layers = None
    if appearance:
        from ...render.portrait.appearance import expression_layers

        layers = expression_layers(rgb, face.landmarks.numpy(), float(rig.scale), identity)
    bar.update()
    if rasterizer is None:
        from ...render.raster import get_rasterizer

        rasterizer = get_rasterizer("auto")
    groups = face_topology().groups
    baked = bake_texture(
        rasterizer, render_faces, uv, photo_geo[vmap], normals[vmap], geo[vmap], part[vmap], distance[vmap],
        _relaxed_photo(rgb, face, rig), (rot, float(rig.scale), rig.origin.double().numpy()), layers=layers,
        layout=layout, seed=int(np.asarray(rgb[::16, ::16]).sum()) & 0xFFFF, lip_line=identity[list(INNER_LIP_LOOP)],
        lash_lines=[identity[list(ids)] for ids in (groups.left_eye_upper, groups.right_eye_upper)],
    )  # fmt: skip
    bar.update()
    # 4. mouth and eyes
    mouth = copy.deepcopy(_mouth_template())
    geometry = mouth.fit(torch.from_numpy(identity).float())
    m_vertices = geometry.vertices.double().numpy()
    n_m = len(m_vertices)
    loop = np.arange(n_m, n_m + len(INNER_LIP_LOOP))
    with_loop = np.concatenate([m_vertices, identity[list(INNER_LIP_LOOP)]])
    sleeve = lip_sleeve(loop, mouth.rim.numpy(), with_loop, None)
    # which skin lies in front of each interior vertex, found with the mouth half open (where the lips part, the
    # interior is seen and left alone; elsewhere it is kept behind the lips and the chin, see keep_behind_skin)
    w_ref = torch.zeros(1, 52, dtype=torch.float64)
    w_ref[0, ARKIT_INDEX["jawOpen"]] = 0.6
    face_ref = torch.from_numpy(identity) + torch.einsum("bk,kvc->bvc", w_ref, torch.from_numpy(fields))
    m_ref = mouth.pose(geometry, torch.from_numpy(identity).float(), face_ref.float())[0].double().numpy()
    skin_tri, skin_bary = locate_under_skin(m_ref, face_ref[0, :468].numpy(), face_topology().faces)
    # what follows the jaw (lower teeth, tongue, floor) keeps the skin in front of it at rest (the lower lip, the
    # chin), which moves with the same jaw
    rest_tri, rest_bary = locate_under_skin(m_vertices, identity[:468], face_topology().faces)
    use_rest = (geometry.jaw.numpy() > 0.5) & (rest_tri >= 0)
    skin_tri = np.where(use_rest, rest_tri, skin_tri)
    skin_bary = np.where(use_rest[:, None], rest_bary, skin_bary)
    mouth_faces = np.concatenate([mouth.faces.numpy(), sleeve])
    iris, sclera = sample_eye_colours(rgb, face.landmarks.numpy())
    eye_dirs, eye_faces = eyeball_mesh()
    bar.update()
    bar.close()

    def t(x, dtype=torch.float32):
        return torch.as_tensor(np.ascontiguousarray(x), dtype=dtype)

    return {
        "identity": t(identity),
        "shapedirs": t(fields),
        "rest_weights": t(rest),
        "pivot": rig.pivot.clone().float(),
        "photo_rotation": t(rot),
        "skin_vertices": t(geo[vmap]),
        "skin_morphs": t(morphs[:, vmap]),
        "skin_weight": t(head_weight[vmap]),
        "skin_weld": t(vmap, torch.int64),
        "skin_uv": t(uv),
        "skin_faces": t(render_faces, torch.int64),
        "skin_part": t(part[vmap]),
        "mouth_faces": t(mouth_faces, torch.int64),
        "lip_loop": t(list(INNER_LIP_LOOP), torch.int64),
        "mouth_skin_faces": t(face_topology().faces, torch.int64),
        "mouth_skin_triangle": t(skin_tri, torch.int64),
        "mouth_skin_barycentric": t(skin_bary),
        "eye_centres": t(centres),
        "eye_dirs": t(eye_dirs),
        "eye_faces": t(eye_faces, torch.int64),
        "eye_radius": t(EYEBALL_RADIUS),
        "iris_rgb": t(iris),
        "sclera_rgb": t(sclera),
        "skin_rgb": t(baked.skin_rgb),
        "hair_rgb": t(baked.hair_rgb),
        "albedo": t(baked.albedo, torch.uint8),
        "layers": t(baked.layers, torch.uint8),
        "neck_base": t([0.0, shape.neck_base * float(shell.scale[1]), -1.35 * float(shell.scale[2])]),
        "_mouth": mouth,
        "_geometry": geometry,
    }


def _relaxed_photo(rgb: np.ndarray, face, rig: FaceRig) -> np.ndarray:
    """The photo to bake the neutral head's texture from: a smiling photo's smile creases and cheek bulges lightened
    (the portrait animator's relaxed-skin layer at full strength), since the avatar's rest pose is neutral and a
    smile comes back through the morph targets and the expression layers."""
    import cv2

    from ...render.portrait.canvas import rig_rest_smile, working_copy
    from ...render.portrait.layers import relax_delta

    small, pts, ipd = working_copy(rgb, face.landmarks.numpy()[:, :2], float(face.inter_pupil_distance))
    delta = relax_delta(small, pts, ipd, rig.identity.double().numpy(), rig_rest_smile(rig))
    if not delta.any():
        return rgb
    if small is not rgb:  # the layer is smooth: computed small, upsampled
        delta = cv2.resize(delta, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
    return np.clip(np.rint((rgb.astype(np.float32) / 255 + delta) * 255), 0, 255).astype(np.uint8)


def _normals(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    n = np.zeros_like(v)
    for k in range(3):
        np.add.at(n, f[:, k], fn)
    return n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
