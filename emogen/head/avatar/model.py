"""``HeadAvatar``: one portrait as a textured, rigged full-head mesh (an ``nn.Module`` whose assets are buffers)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, fields

import numpy as np
import torch
from torch import nn

from ...arkit import ARKIT_INDEX, NUM_BLENDSHAPES
from ...face.rig import IPD_METRES, euler_to_rotation, gaze_to_blendshapes
from ...motion import MotionTrack
from ...utils import dataclass_to
from ..mouth import MouthGeometry, MouthInterior
from .eyes import below_upper_lid, eye_rotations
from .morphs import keep_behind_skin, pose_rigid
from .shell import HeadShape

__all__ = ["AvatarOutput", "HeadAvatar", "MATERIAL_SKIN", "MATERIAL_EYE", "MATERIAL_MOUTH"]

MATERIAL_SKIN, MATERIAL_EYE, MATERIAL_MOUTH = 0, 1, 2


@dataclass(frozen=True)
class AvatarOutput:
    """A posed avatar, batched over frames.

    Args:
        vertices (`torch.Tensor` of shape `(batch, V, 3)`): every vertex of :attr:`HeadAvatar.faces` in metres
            (x to the subject's left, y up, z out of the face: glTF's axes), parts in the order of
            :attr:`HeadAvatar.parts`.
        weights (`torch.Tensor` of shape `(batch, 52)`): the ARKit weights used (gaze folded into ``eyeLook*``).
        head_rotation (`torch.Tensor` of shape `(batch, 3, 3)`): the neck joint's rotation.
        eye_angles (`torch.Tensor` of shape `(batch, 2, 2)`): pitch, yaw (radians) of the left and right eye.
        face_vertices (`torch.Tensor` of shape `(batch, 478, 3)`): the deformed face landmarks before the head pose
            (face frame, inter-pupil-distance units).
        mouth_vertices (`torch.Tensor` of shape `(batch, M, 3)`): the mouth part before the head pose, likewise.
        below_lid (`torch.Tensor` of shape `(batch, 2, E)`): how far each vertex of the left and right eyeball lies
            below its upper lid's margin (IPD; negative above it), for the lid's shadow on the eye.
    """

    vertices: torch.Tensor
    weights: torch.Tensor
    head_rotation: torch.Tensor
    eye_angles: torch.Tensor
    face_vertices: torch.Tensor | None = None
    mouth_vertices: torch.Tensor | None = None
    below_lid: torch.Tensor | None = None

    def to(self, device=None, dtype=None) -> AvatarOutput:
        return dataclass_to(self, device, dtype)


_MOUTH_FIELDS = [f.name for f in fields(MouthGeometry)]
_TEXTURE_KEYS = itertools.count()


class HeadAvatar(nn.Module):
    """A full head built from one portrait: the photographed face completed into a closed head (skull, hair cap,
    ears, neck), eyeballs that turn for gaze, teeth, gums and tongue that follow the jaw, a texture projected from
    the photo, and the 52 ARKit blendshapes on all of it.

    Build with :meth:`from_portrait`; call with a :class:`~emogen.motion.MotionTrack` to pose it::

        avatar = HeadAvatar.from_portrait(skimage.data.astronaut())
        out = avatar(MotionTrack.from_weights({"jawOpen": 0.6, "mouthSmileLeft": 0.8, "mouthSmileRight": 0.8}))
        out.vertices  # (1, V, 3) metres

    Parts (:attr:`parts`, in vertex order): ``skin`` (face, shell, ears, eye sockets; textured), ``mouth`` (teeth,
    gums, tongue, cavity, inner lips; :class:`~emogen.head.mouth.MouthInterior`), ``eye_left``, ``eye_right``.

    Buffers (move with ``.to()``), IPD units in the face frame unless noted: ``identity`` (478, 3) and ``shapedirs``
    (52, 478, 3) the neutral face and its fields; ``rest_weights`` (52,) the photo's own expression; ``pivot`` (3,)
    the neck joint; ``skin_vertices`` (S, 3), ``skin_morphs`` (52, S, 3), ``skin_weight`` (S,) the head's share of
    the neck rotation, ``skin_weld`` (S,) the geometric vertex of each texture vertex (duplicates along texture
    seams share it), ``skin_uv`` (S, 2), ``skin_faces`` (F, 3); ``mouth_*`` the fitted
    :class:`~emogen.head.mouth.MouthGeometry`, ``mouth_faces`` and ``lip_loop``; ``eye_centres`` (2, 3),
    ``eye_dirs`` (E, 3) unit eyeball directions, ``eye_faces``; ``iris_rgb``, ``sclera_rgb``, ``skin_rgb``,
    ``hair_rgb`` (3,) sRGB colours; ``albedo`` (T, T, 3) and ``layers`` (T, T, 20) uint8 textures
    (:data:`~emogen.head.avatar.texture.LAYER_CHANNELS`).
    """

    def __init__(self, tensors: dict, mouth: MouthInterior | None = None) -> None:
        super().__init__()
        tensors = dict(tensors)
        geometry = tensors.pop("_geometry", None)
        mouth_module = tensors.pop("_mouth", None) or mouth
        if mouth_module is None:
            mouth_module = MouthInterior()
        self.mouth = mouth_module
        if geometry is None:
            geometry = mouth_module.fit(tensors["identity"])
        for name in _MOUTH_FIELDS:
            tensors["mouth_" + name] = getattr(geometry, name)
        required = ("identity", "shapedirs", "skin_vertices", "skin_morphs", "skin_faces", "eye_centres", "albedo")
        missing = [k for k in required if k not in tensors]
        if missing:
            raise ValueError(f"HeadAvatar needs the tensors {missing} (build it with HeadAvatar.from_portrait).")
        if tensors["skin_morphs"].shape[0] != NUM_BLENDSHAPES:
            raise ValueError(f"skin_morphs must hold 52 fields, got {tuple(tensors['skin_morphs'].shape)}.")
        for name, value in tensors.items():
            self.register_buffer(name, torch.as_tensor(value))
        #: identifies this avatar's textures in renderers' caches (ids of collected objects are reused)
        self.texture_key = next(_TEXTURE_KEYS)

    # ------------------------------------------------------------------------------------------- construction
    @classmethod
    def from_portrait(
        cls,
        image,
        *,
        face_index: int | None = None,
        tracker=None,
        face=None,
        shape: HeadShape | None = None,
        texture_size: int | None = None,
        appearance: bool = True,
        max_yaw: float = 40.0,
        progress: bool = True,
    ) -> HeadAvatar:
        """Build the avatar of the face in ``image`` (about 2 s on a 2-core CPU).

        Args:
            image: path, PIL image, array or tensor (see :func:`emogen.io.image.to_rgb_uint8`).
            face_index: which face (largest first).
            tracker: an open :class:`~emogen.face.tracking.FaceTracker` to reuse.
            face: an already tracked :class:`~emogen.face.tracking.FaceTrackingResult` of ``image`` (skips tracking).
            shape: head proportions (:class:`~emogen.head.avatar.shell.HeadShape`).
            texture_size: side of the texture in pixels (default: 512 or 1024, matching the photo's face size).
            appearance: bake the expression appearance layers (furrows, folds, flush, pallor).
            max_yaw: refuse photos turned further than this (degrees).
            progress: show a tqdm bar.

        Raises:
            ValueError: no face (:class:`~emogen.face.tracking.NoFaceFoundError`), a face turned too far or too
                small, or an image that is too small.
        """
        from .build import build_avatar

        tensors = build_avatar(
            image, face=face, tracker=tracker, face_index=face_index, shape=shape, texture_size=texture_size,
            appearance=appearance, max_yaw=max_yaw, progress=progress,
        )  # fmt: skip
        return cls(tensors)

    # ---------------------------------------------------------------------------------------------- structure
    @property
    def metres_per_unit(self) -> float:
        """Metres per internal unit (the inter-pupil distance)."""
        return IPD_METRES

    @property
    def parts(self) -> dict[str, slice]:
        """Vertex ranges of the parts in :attr:`faces` / :attr:`AvatarOutput.vertices`."""
        s = self.skin_vertices.shape[0]
        m = self.mouth_vertices.shape[0] + self.lip_loop.shape[0]
        e = self.eye_dirs.shape[0]
        return {
            "skin": slice(0, s),
            "mouth": slice(s, s + m),
            "eye_left": slice(s + m, s + m + e),
            "eye_right": slice(s + m + e, s + m + 2 * e),
        }

    @property
    def num_vertices(self) -> int:
        return self.parts["eye_right"].stop

    @property
    def faces(self) -> torch.Tensor:
        """All triangles ``(F, 3)`` over the parts' vertices (counter-clockwise seen from outside)."""
        p = self.parts
        return torch.cat(
            [
                self.skin_faces,
                self.mouth_faces + p["mouth"].start,
                self.eye_faces + p["eye_left"].start,
                self.eye_faces + p["eye_right"].start,
            ]
        )

    @property
    def material(self) -> torch.Tensor:
        """Per-vertex material ``(V,)``: 0 skin (textured), 1 eye, 2 mouth."""
        p = self.parts
        out = torch.zeros(self.num_vertices, dtype=torch.int64, device=self.skin_vertices.device)
        out[p["mouth"]] = MATERIAL_MOUTH
        out[p["eye_left"].start :] = MATERIAL_EYE
        return out

    @property
    def mouth_geometry(self) -> MouthGeometry:
        return MouthGeometry(**{name: getattr(self, "mouth_" + name) for name in _MOUTH_FIELDS})

    def texture(self) -> np.ndarray:
        """The albedo texture ``(T, T, 3)`` uint8 (sRGB, row 0 at ``v = 0``)."""
        return self.albedo.cpu().numpy()

    # --------------------------------------------------------------------------------------------------- pose
    def forward(
        self,
        motion: MotionTrack | None = None,
        *,
        blendshapes: torch.Tensor | None = None,
        head_rotation: torch.Tensor | None = None,
        head_translation: torch.Tensor | None = None,
        gaze: torch.Tensor | None = None,
    ) -> AvatarOutput:
        """Pose the avatar.

        Args:
            motion: the frames (its blendshapes, head rotation and translation, gaze); or the tensors below.
            blendshapes (`torch.Tensor` of shape `(batch, 52)`): ARKit weights (0 = neutral).
            head_rotation (`torch.Tensor` of shape `(batch, 3)`): pitch, yaw, roll (radians) of the neck joint.
            head_translation (`torch.Tensor` of shape `(batch, 3)`): metres.
            gaze (`torch.Tensor` of shape `(batch, 2)`): yaw, pitch (radians), added to the ``eyeLook*`` weights.

        Returns:
            :class:`AvatarOutput`.
        """
        dev, dt = self.skin_vertices.device, self.skin_vertices.dtype
        if motion is not None:
            if not isinstance(motion, MotionTrack):
                raise TypeError(f"motion must be a MotionTrack, got {type(motion).__name__}.")
            if any(x is not None for x in (blendshapes, head_rotation, head_translation, gaze)):
                raise ValueError("Pass either motion or the blendshapes/head_rotation/head_translation/gaze tensors.")
            m = motion.to(dev, dt)
            blendshapes, head_rotation, head_translation, gaze = (
                m.blendshapes, m.head_rotation, m.head_translation, m.gaze,
            )  # fmt: skip
        if blendshapes is None:
            batch = next((x.shape[0] for x in (head_rotation, head_translation, gaze) if x is not None), 1)
            blendshapes = torch.zeros(batch, NUM_BLENDSHAPES, device=dev, dtype=dt)
        w = torch.as_tensor(blendshapes).to(dev, dt)
        if w.ndim != 2 or w.shape[1] != NUM_BLENDSHAPES:
            raise ValueError(f"blendshapes must have shape (batch, 52), got {tuple(w.shape)}.")
        b = w.shape[0]
        if gaze is not None:
            w = w + gaze_to_blendshapes(torch.as_tensor(gaze).to(dev, dt))
        # skin: (b, v, c) = (v, c) + (b, k) · (k, v, c)
        skin = self.skin_vertices + (w @ self.skin_morphs.reshape(NUM_BLENDSHAPES, -1)).reshape(b, -1, 3)
        face = self.identity + (w @ self.shapedirs.reshape(NUM_BLENDSHAPES, -1)).reshape(b, -1, 3)
        mouth = self.pose_mouth(w, face)
        angles = eye_rotations(w)
        r_eye = euler_to_rotation(torch.cat([angles, torch.zeros_like(angles[..., :1])], -1))  # (b, 2, 3, 3)
        balls = torch.einsum("beij,vj->bevi", r_eye, self.eye_dirs) * self.eye_radius
        balls = balls + self.eye_centres[None, :, None]
        if head_rotation is not None:
            r_head = euler_to_rotation(torch.as_tensor(head_rotation).to(dev, dt))
        else:
            r_head = torch.eye(3, device=dev, dtype=dt).expand(b, 3, 3)
        skin = pose_rigid(skin, r_head, self.pivot, self.skin_weight)
        rest = pose_rigid(torch.cat([mouth, balls.reshape(b, -1, 3)], 1), r_head, self.pivot)
        verts = torch.cat([skin, rest], 1)
        if head_translation is not None:
            verts = verts + torch.as_tensor(head_translation).to(dev, dt)[:, None] / IPD_METRES
        return AvatarOutput(
            vertices=verts * IPD_METRES, weights=w, head_rotation=r_head, eye_angles=angles, face_vertices=face,
            mouth_vertices=mouth, below_lid=below_upper_lid(face, balls),
        )  # fmt: skip

    def pose_mouth(self, weights: torch.Tensor, face: torch.Tensor | None = None) -> torch.Tensor:
        """The mouth part (interior, then the inner lip line) in the face frame (IPD), ``(batch, M, 3)``.

        Args:
            weights (`torch.Tensor` of shape `(batch, 52)`): ARKit weights.
            face (`torch.Tensor` of shape `(batch, 478, 3)`, *optional*): the deformed face, if already computed.
        """
        if face is None:
            face = self.identity + torch.einsum("bk,kvc->bvc", weights, self.shapedirs)
        inner = self.mouth.pose(self.mouth_geometry, self.identity, face, weights[:, ARKIT_INDEX["tongueOut"]])
        inner = keep_behind_skin(
            inner, face, self.mouth_skin_faces, self.mouth_skin_triangle, self.mouth_skin_barycentric
        )
        return torch.cat([inner, face[:, self.lip_loop]], 1)

    def neutral_vertices(self) -> torch.Tensor:
        """The neutral, unposed avatar ``(V, 3)`` in metres."""
        return self.forward().vertices[0]
