"""GLB (binary glTF 2.0) export of a :class:`~emogen.head.avatar.HeadAvatar`, with its 52 ARKit morph targets,
its texture, a neck and eye rig, and an animation of a :class:`~emogen.motion.MotionTrack`.

What the file holds (glTF's conventions: metres, +Y up, the face looks along +Z, the subject's left is +X,
quaternions ``(x, y, z, w)``, texture ``v`` from the image's top):

* mesh ``head`` with two primitives sharing the 52 morph targets, named in ARKit order in
  ``mesh.extras.targetNames`` (three.js, Babylon.js and Blender read them): the **skin** (face, shell, ears, eye
  sockets; ``POSITION``, ``NORMAL``, ``TEXCOORD_0``, PNG base-colour texture; morph ``POSITION`` and ``NORMAL``
  deltas) and the **mouth** (teeth, gums, tongue, cavity, inner lips; ``COLOR_0``; morph ``POSITION`` deltas — the
  jaw's rotation of the lower teeth linearised per target);
* a **skin** (skeleton) of two joints, ``neck`` at the base of the neck and ``head`` at the atlas joint, with per
  vertex weights, so turning the head bends the neck and leaves the shoulders where they are;
* nodes ``eye_L`` / ``eye_R`` under ``head`` carrying a shared eyeball mesh (``COLOR_0``: sclera, iris, pupil),
  each turning about its own centre;
* optionally an animation clip: morph weights on the mesh node (gaze folded into ``eyeLook*``), the head joint's
  and the eyes' rotations, and the root's translation, all LINEAR at the track's frame rate.

Written with ``pygltflib``; checked with the Khronos glTF validator (0 errors, 0 warnings), three.js and trimesh
(``tests/emogen/export/test_gltf.py``). Pitfalls handled: accessor bounds are taken from the float32 data
actually stored, buffer-less accessors carry no ``byteOffset``, the asset block is not overwritten on save, numpy
scalars are converted before JSON, normals and quaternions are unit length.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch

from ..arkit import ARKIT_BLENDSHAPES
from ..io.atomic import atomic_output
from ..io.output import check_output_path
from ..motion import MotionTrack
from ..utils import srgb_to_linear

__all__ = ["GLB_GENERATOR", "write_glb", "avatar_mesh_arrays", "rotation_to_quaternion"]

GLB_GENERATOR = "emogen"
_ALIGN = 4


def rotation_to_quaternion(r: np.ndarray) -> np.ndarray:
    """Unit quaternions ``(..., 4)`` ``(x, y, z, w)`` of rotation matrices ``(..., 3, 3)`` (w ≥ 0)."""
    r = np.asarray(r, dtype=np.float64)
    m = r.reshape(-1, 3, 3)
    q = np.zeros((len(m), 4))
    tr = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    cands = np.stack(
        [
            np.stack([m[:, 2, 1] - m[:, 1, 2], m[:, 0, 2] - m[:, 2, 0], m[:, 1, 0] - m[:, 0, 1], 1 + tr], -1),
            np.stack([1 + m[:, 0, 0] - m[:, 1, 1] - m[:, 2, 2], m[:, 0, 1] + m[:, 1, 0], m[:, 0, 2] + m[:, 2, 0],
                      m[:, 2, 1] - m[:, 1, 2]], -1),
            np.stack([m[:, 0, 1] + m[:, 1, 0], 1 + m[:, 1, 1] - m[:, 0, 0] - m[:, 2, 2], m[:, 1, 2] + m[:, 2, 1],
                      m[:, 0, 2] - m[:, 2, 0]], -1),
            np.stack([m[:, 0, 2] + m[:, 2, 0], m[:, 1, 2] + m[:, 2, 1], 1 + m[:, 2, 2] - m[:, 0, 0] - m[:, 1, 1],
                      m[:, 1, 0] - m[:, 0, 1]], -1),
        ],
        1,
    )  # fmt: skip
    best = np.argmax(np.stack([tr, m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]], -1), -1)
    q = cands[np.arange(len(m)), best]
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    q = np.where(q[:, 3:4] < 0, -q, q)
    return q.reshape(*r.shape[:-2], 4)


def _normals(v: np.ndarray, f: np.ndarray, groups: np.ndarray) -> np.ndarray:
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    acc = np.zeros((int(groups.max()) + 1, 3))
    for k in range(3):
        for c in range(3):
            acc[:, c] += np.bincount(groups[f[:, k]], weights=fn[:, c], minlength=len(acc))
    n = acc[groups]
    length = np.linalg.norm(n, axis=-1, keepdims=True)
    n = np.where(length > 1e-30, n / np.maximum(length, 1e-30), [0.0, 0.0, 1.0])
    return n.astype(np.float32)


# ================================================================================================= the data
def _on_cpu(avatar):
    """The avatar itself if it lives on the CPU, else a CPU copy (``Module.to`` would move the caller's)."""
    import copy

    return avatar if avatar.skin_vertices.device.type == "cpu" else copy.deepcopy(avatar).cpu()


@torch.no_grad()
def avatar_mesh_arrays(avatar) -> dict:
    """The avatar as plain arrays in metres (what :func:`write_glb`, OBJ and PLY writers store).

    Returns:
        dict with ``skin`` (``positions``, ``normals``, ``uv``, ``faces``, ``morphs`` (52, S, 3), ``weight``
        (the head joint's share), ``groups`` (weld ids)), ``mouth`` (``positions``, ``colors`` (linear RGB),
        ``faces``, ``morphs``), ``eye`` (``positions``, ``normals``, ``colors``, ``faces``; one eyeball at the
        origin looking along +Z), ``eye_centres`` (2, 3), ``pivot`` (3,), ``neck_base`` (3,), ``texture`` (T, T, 3)
        uint8.
    """
    from ..arkit import ARKIT_INDEX
    from ..head.avatar.eyes import IRIS_ANGLE, PUPIL_ANGLE
    from ..head.mouth import shade_mouth

    a = _on_cpu(avatar)
    u = float(a.metres_per_unit)
    skin_v = a.skin_vertices.double().numpy() * u
    groups = a.skin_weld.numpy()
    skin_f = a.skin_faces.numpy()
    eye = np.eye(52)
    # the mouth (interior + inner lips) posed at each target alone, linearised around the neutral pose
    w = torch.cat([torch.zeros(1, 52), torch.from_numpy(eye).float()])
    mouth = a.pose_mouth(w).double().numpy() * u
    # mouth colours: shaded half open (lit through the lips), in linear RGB
    w_open = torch.zeros(1, 52)
    w_open[0, ARKIT_INDEX["jawOpen"]] = 0.6
    f_open = a.identity + torch.einsum("bk,kvc->bvc", w_open, a.shapedirs)
    m_open = a.pose_mouth(w_open, f_open)[:, : a.mouth_vertices.shape[0]]
    attrs = a.mouth.vertex_attributes(a.mouth_geometry, m_open, f_open)
    cols = shade_mouth(attrs[0]).double().numpy()
    from ..head.mouth.shading import MUCOSA_LAB, lab_to_srgb

    lips = np.tile(lab_to_srgb(torch.tensor(MUCOSA_LAB)).double().numpy() * 0.85, (a.lip_loop.shape[0], 1))
    mouth_cols = srgb_to_linear(np.concatenate([cols, lips]))
    # the eyeball: vertex colours (sclera, iris, pupil) by the angle from its axis
    dirs = a.eye_dirs.double().numpy()
    ang = np.degrees(np.arccos(np.clip(dirs[:, 2], -1.0, 1.0)))
    iris = a.iris_rgb.double().numpy()
    sclera = a.sclera_rgb.double().numpy()
    eye_cols = np.where((ang <= IRIS_ANGLE)[:, None], iris * (0.75 + 0.4 * (ang / IRIS_ANGLE))[:, None], sclera)
    eye_cols = np.where((ang <= PUPIL_ANGLE)[:, None], 0.02, eye_cols)
    return {
        "skin": {
            "positions": skin_v,
            "normals": _normals(skin_v, skin_f, groups),
            "uv": a.skin_uv.double().numpy(),
            "faces": skin_f,
            "morphs": a.skin_morphs.double().numpy() * u,
            "weight": a.skin_weight.double().numpy(),
            "groups": groups,
        },
        "mouth": {
            "positions": mouth[0],
            "colors": mouth_cols,
            "faces": a.mouth_faces.numpy(),
            "morphs": mouth[1:] - mouth[:1],
        },
        "eye": {
            "positions": dirs * float(a.eye_radius) * u,
            "normals": dirs.astype(np.float32),
            "colors": srgb_to_linear(np.clip(eye_cols, 0.0, 1.0)),
            "faces": a.eye_faces.numpy(),
        },
        "eye_centres": a.eye_centres.double().numpy() * u,
        "pivot": a.pivot.double().numpy() * u,
        "neck_base": a.neck_base.double().numpy() * u,
        "texture": a.albedo.numpy(),
    }


def _animation_arrays(avatar, motion: MotionTrack) -> dict:
    """Per-frame morph weights (gaze folded in), head and eye quaternions, root translations."""
    from ..face.rig import euler_to_rotation

    with torch.no_grad():
        out = _on_cpu(avatar)(motion.to("cpu", torch.float32))
    eye_r = euler_to_rotation(torch.cat([out.eye_angles, torch.zeros_like(out.eye_angles[..., :1])], -1))
    return {
        "weights": out.weights.double().numpy(),
        "head": rotation_to_quaternion(out.head_rotation.double().numpy()),
        "eye_left": rotation_to_quaternion(eye_r[:, 0].double().numpy()),
        "eye_right": rotation_to_quaternion(eye_r[:, 1].double().numpy()),
        "translation": motion.head_translation.detach().double().cpu().numpy(),
    }


# =============================================================================================== the writer
class _Buffer:
    """Accumulates buffer views and accessors over one GLB binary chunk."""

    def __init__(self, gl) -> None:
        self.gl = gl
        self.parts: list[bytes] = []
        self.size = 0
        self.views: list = []
        self.accessors: list = []

    def view(self, data: bytes, target: int | None = None) -> int:
        pad = -self.size % _ALIGN
        if pad:
            self.parts.append(b"\0" * pad)
            self.size += pad
        self.views.append(self.gl.BufferView(buffer=0, byteOffset=self.size, byteLength=len(data), target=target))
        self.parts.append(data)
        self.size += len(data)
        return len(self.views) - 1

    def accessor(self, array: np.ndarray, kind: str, target: int | None = None, bounds: bool = False) -> int:
        gl = self.gl
        array = np.ascontiguousarray(array)
        ctype = {np.float32: gl.FLOAT, np.uint8: gl.UNSIGNED_BYTE, np.uint16: gl.UNSIGNED_SHORT,
                 np.uint32: gl.UNSIGNED_INT}[array.dtype.type]  # fmt: skip
        extra = _bounds(array) if bounds else {}
        self.accessors.append(
            gl.Accessor(
                bufferView=self.view(array.tobytes(), target),
                componentType=ctype,
                count=len(array),
                type=kind,
                **extra,
            )  # fmt: skip
        )
        return len(self.accessors) - 1

    def morph(self, deltas: np.ndarray, sparse: bool, bounds: bool) -> int:
        """A VEC3 morph accessor: buffer-less when all zero, else dense or sparse."""
        gl = self.gl
        d = np.ascontiguousarray(deltas, dtype=np.float32)
        rows = np.flatnonzero(np.any(d != 0, axis=1))
        extra = _bounds(d) if bounds else {}
        if rows.size and not sparse:
            return self.accessor(d, "VEC3", gl.ARRAY_BUFFER, bounds=bounds)
        info = None
        if rows.size:
            idx_t = np.uint16 if len(d) <= 65536 else np.uint32
            info = gl.Sparse(
                count=int(rows.size),
                indices=gl.AccessorSparseIndices(
                    bufferView=self.view(rows.astype(idx_t).tobytes()),
                    componentType=gl.UNSIGNED_SHORT if idx_t is np.uint16 else gl.UNSIGNED_INT,
                ),
                values=gl.AccessorSparseValues(bufferView=self.view(d[rows].tobytes())),
            )
        # pygltflib defaults byteOffset to 0, which the spec forbids on an accessor without a bufferView
        self.accessors.append(gl.Accessor(bufferView=None, byteOffset=None, componentType=gl.FLOAT, count=len(d),
                                          type="VEC3", sparse=info, **extra))  # fmt: skip
        return len(self.accessors) - 1

    def blob(self) -> bytes:
        return b"".join(self.parts) + b"\0" * (-self.size % _ALIGN)


def _bounds(a: np.ndarray) -> dict:
    flat = a.reshape(len(a), -1)
    return {"min": [float(x) for x in flat.min(0)], "max": [float(x) for x in flat.max(0)]}


def _morph_normal_deltas(pos: np.ndarray, faces: np.ndarray, groups: np.ndarray, morphs: np.ndarray) -> np.ndarray:
    base = _normals(pos, faces, groups).astype(np.float64)
    out = np.zeros_like(morphs, dtype=np.float32)
    for k, d in enumerate(morphs):
        if np.any(d != 0):
            moved = (pos + d).astype(np.float32).astype(np.float64)
            out[k] = _normals(moved, faces, groups) - base
    return out


def write_glb(
    path: str | os.PathLike,
    avatar,
    motion: MotionTrack | None = None,
    fps: float | None = None,
    *,
    sparse: bool = False,
    morph_normals: bool = True,
    name: str = "head",
) -> Path:
    """Write ``avatar`` (and optionally an animation of ``motion``) as a self-contained GLB file (atomic).

    Args:
        path: the ``.glb`` file.
        avatar: a :class:`~emogen.head.avatar.HeadAvatar`.
        motion: frames to store as an animation clip (morph weights, head and eye rotations, root translation).
        fps: resample ``motion`` to this frame rate first (default: the track's own).
        sparse: store morph deltas as sparse accessors (about 10× smaller; three.js, Blender and the validator
            read them, some loaders do not).
        morph_normals: store the skin's normal deltas per target (lighting follows the deformation).
        name: the mesh's name.

    Returns:
        The path written.
    """
    import pygltflib as gl
    from PIL import Image

    from ..head.avatar import HeadAvatar

    if not isinstance(avatar, HeadAvatar):
        raise TypeError(f"avatar must be a HeadAvatar, got {type(avatar).__name__}.")
    if motion is not None and not isinstance(motion, MotionTrack):
        raise TypeError(f"motion must be a MotionTrack or None, got {type(motion).__name__}.")
    if fps is not None and not (isinstance(fps, (int, float)) and not isinstance(fps, bool) and 0 < fps <= 1000):
        raise ValueError(f"fps must be a positive number of frames per second (at most 1000), got {fps!r}.")
    path = check_output_path(path, (".glb",), "path")
    data = avatar_mesh_arrays(avatar)
    buf = _Buffer(gl)
    sk, mo, ey = data["skin"], data["mouth"], data["eye"]
    names = list(ARKIT_BLENDSHAPES)
    # ---- the skin primitive
    f32 = np.float32
    s_pos = sk["positions"].astype(f32)
    s_targets = []
    s_normals = (
        _morph_normal_deltas(s_pos.astype(np.float64), sk["faces"], sk["groups"], sk["morphs"])
        if morph_normals
        else None
    )
    for k in range(len(names)):
        t = {"POSITION": buf.morph(sk["morphs"][k].astype(f32), sparse, bounds=True)}
        if s_normals is not None:
            t["NORMAL"] = buf.morph(s_normals[k], sparse, bounds=False)
        s_targets.append(t)
    w_head = np.clip(sk["weight"], 0.0, 1.0)
    joints = np.tile(np.array([[0, 1, 0, 0]], np.uint8), (len(s_pos), 1))
    joints[w_head <= 0.0, 1] = 0  # an unused joint slot must point at joint 0
    weights = np.stack([1.0 - w_head, w_head, np.zeros_like(w_head), np.zeros_like(w_head)], -1).astype(f32)
    skin_attrs = gl.Attributes(
        POSITION=buf.accessor(s_pos, "VEC3", gl.ARRAY_BUFFER, bounds=True),
        NORMAL=buf.accessor(sk["normals"], "VEC3", gl.ARRAY_BUFFER),
        TEXCOORD_0=buf.accessor(sk["uv"].astype(f32), "VEC2", gl.ARRAY_BUFFER),
        JOINTS_0=buf.accessor(joints, "VEC4", gl.ARRAY_BUFFER),
        WEIGHTS_0=buf.accessor(weights, "VEC4", gl.ARRAY_BUFFER),
    )
    # ---- the mouth primitive
    m_pos = mo["positions"].astype(f32)
    m_targets = [{"POSITION": buf.morph(mo["morphs"][k].astype(f32), sparse, bounds=True)} for k in range(len(names))]
    m_joints = np.tile(np.array([[1, 0, 0, 0]], np.uint8), (len(m_pos), 1))
    m_weights = np.tile(np.array([[1.0, 0.0, 0.0, 0.0]], f32), (len(m_pos), 1))
    m_normals = _normals(m_pos.astype(np.float64), mo["faces"], np.arange(len(m_pos)))
    mouth_attrs = gl.Attributes(
        POSITION=buf.accessor(m_pos, "VEC3", gl.ARRAY_BUFFER, bounds=True),
        NORMAL=buf.accessor(m_normals, "VEC3", gl.ARRAY_BUFFER),
        COLOR_0=buf.accessor(mo["colors"].astype(f32), "VEC3", gl.ARRAY_BUFFER),
        JOINTS_0=buf.accessor(m_joints, "VEC4", gl.ARRAY_BUFFER),
        WEIGHTS_0=buf.accessor(m_weights, "VEC4", gl.ARRAY_BUFFER),
    )

    def indices(f: np.ndarray, n: int) -> int:
        dtype = np.uint16 if n < 65535 else np.uint32  # 65535 is the primitive-restart value of uint16
        return buf.accessor(f.astype(dtype).reshape(-1), "SCALAR", gl.ELEMENT_ARRAY_BUFFER)

    prims = [
        gl.Primitive(attributes=skin_attrs, indices=indices(sk["faces"], len(s_pos)), material=0, targets=s_targets),
        gl.Primitive(attributes=mouth_attrs, indices=indices(mo["faces"], len(m_pos)), material=1, targets=m_targets),
    ]
    # ---- the eyeball (shared by both eyes)
    eye_attrs = gl.Attributes(
        POSITION=buf.accessor(ey["positions"].astype(f32), "VEC3", gl.ARRAY_BUFFER, bounds=True),
        NORMAL=buf.accessor(ey["normals"].astype(f32), "VEC3", gl.ARRAY_BUFFER),
        COLOR_0=buf.accessor(ey["colors"].astype(f32), "VEC3", gl.ARRAY_BUFFER),
    )
    eye_prim = gl.Primitive(attributes=eye_attrs, indices=indices(ey["faces"], len(ey["positions"])), material=2)
    # ---- texture
    png = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(data["texture"]), mode="RGB").save(png, format="PNG", compress_level=6)
    image_view = buf.view(png.getvalue())
    # ---- skeleton: neck (fixed) → head (turns) → eyes
    neck, pivot = data["neck_base"], data["pivot"]
    centres = data["eye_centres"]

    def inverse_bind(p: np.ndarray) -> np.ndarray:
        m = np.eye(4, dtype=f32)
        m[3, :3] = -p  # column-major: the translation is the last column
        return m.reshape(16)

    ibm = buf.accessor(np.stack([inverse_bind(neck), inverse_bind(pivot)]).astype(f32), "MAT4")
    nodes = [
        gl.Node(name="root", children=[1]),
        gl.Node(name="neck", translation=[float(x) for x in neck], children=[2]),
        gl.Node(name="head", translation=[float(x) for x in pivot - neck], children=[3, 4]),
        gl.Node(name="eye_L", mesh=1, translation=[float(x) for x in centres[0] - pivot]),
        gl.Node(name="eye_R", mesh=1, translation=[float(x) for x in centres[1] - pivot]),
        gl.Node(name=f"{name}_mesh", mesh=0, skin=0),
    ]
    doc = gl.GLTF2()
    doc.asset = gl.Asset(version="2.0", generator=GLB_GENERATOR)
    doc.scenes = [gl.Scene(name="avatar", nodes=[0, 5])]
    doc.scene = 0
    doc.nodes = nodes
    doc.skins = [gl.Skin(name="neck", joints=[1, 2], skeleton=1, inverseBindMatrices=ibm)]
    doc.meshes = [
        gl.Mesh(name=name, primitives=prims, weights=[0.0] * len(names), extras={"targetNames": names}),
        gl.Mesh(name="eyeball", primitives=[eye_prim]),
    ]
    doc.samplers = [gl.Sampler(magFilter=gl.LINEAR, minFilter=gl.LINEAR_MIPMAP_LINEAR, wrapS=gl.REPEAT,
                               wrapT=gl.CLAMP_TO_EDGE)]  # fmt: skip
    doc.images = [gl.Image(bufferView=image_view, mimeType=gl.IMAGEPNG, name=f"{name}_basecolor")]
    doc.textures = [gl.Texture(sampler=0, source=0)]
    pbr = gl.PbrMetallicRoughness
    doc.materials = [
        gl.Material(
            name="skin",
            pbrMetallicRoughness=pbr(
                baseColorTexture=gl.TextureInfo(index=0), metallicFactor=0.0, roughnessFactor=0.65
            ),
        ),  # fmt: skip
        gl.Material(name="mouth", doubleSided=True, pbrMetallicRoughness=pbr(metallicFactor=0.0, roughnessFactor=0.5)),
        gl.Material(name="eye", pbrMetallicRoughness=pbr(metallicFactor=0.0, roughnessFactor=0.15)),
    ]
    if motion is not None:
        if fps is not None and abs(float(fps) - motion.fps) > 1e-9:
            from ..motion import resample_motion

            frames = max(1, int(round(motion.duration * float(fps))))
            motion = resample_motion(motion, float(fps), frames)
        anim = _animation_arrays(avatar, motion)
        times = (np.arange(motion.num_frames) / motion.fps).astype(f32)
        t_acc = buf.accessor(times, "SCALAR", bounds=True)

        def sampler(values: np.ndarray, kind: str) -> object:
            return gl.AnimationSampler(input=t_acc, interpolation=gl.ANIM_LINEAR,
                                       output=buf.accessor(values.astype(f32), kind))  # fmt: skip

        samplers = [
            sampler(anim["weights"].reshape(-1), "SCALAR"),
            sampler(anim["head"], "VEC4"),
            sampler(anim["eye_left"], "VEC4"),
            sampler(anim["eye_right"], "VEC4"),
            sampler(anim["translation"], "VEC3"),
        ]
        targets = [(5, gl.WEIGHTS), (2, gl.ROTATION), (3, gl.ROTATION), (4, gl.ROTATION), (0, gl.TRANSLATION)]
        channels = [
            gl.AnimationChannel(sampler=i, target=gl.AnimationChannelTarget(node=n, path=p))
            for i, (n, p) in enumerate(targets)
        ]
        doc.animations = [gl.Animation(name="motion", samplers=samplers, channels=channels)]
    blob = buf.blob()
    doc.bufferViews = buf.views
    doc.accessors = buf.accessors
    doc.buffers = [gl.Buffer(byteLength=len(blob))]
    doc.set_binary_blob(blob)
    chunks = doc.save_to_bytes()  # not save(): it would overwrite the asset block
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
    return path
