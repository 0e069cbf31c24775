"""``AvatarRenderer``: a :class:`~emogen.head.avatar.HeadAvatar` + a MotionTrack → frames, from any camera.

Per batch of frames, in torch: the avatar poses its vertices (:meth:`HeadAvatar.forward`), the normals are
recomputed (welded across texture seams), the mouth interior is shaded per vertex
(:func:`emogen.head.mouth.shade_mouth`, lit from the camera's light), everything is projected with an
:class:`~emogen.render.avatar.camera.OrbitCamera`, and a :class:`~emogen.render.renderer.MeshRenderer` rasterises
and shades it: moderngl/EGL with :class:`GLAvatarShader` in one pass (default on CPU), or the torch rasteriser with
:class:`TorchAvatarShader` (CUDA, or where EGL is missing). The silhouette is smoothed against the background
(coverage of each pixel's 3×3 neighbourhood), and ``supersample`` renders larger and scales down for stills.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ...emotion import EmotionTrack
from ...face.rig import IPD_METRES
from ...head.avatar import HeadAvatar
from ...motion import MotionTrack
from ..raster import get_rasterizer
from ..renderer import MeshRenderer
from .camera import Lighting, OrbitCamera, orbit_rotation, project
from .shader import AvatarShading, TorchAvatarShader, frame_weights, lid_shadow

logger = logging.getLogger(__name__)

__all__ = ["AvatarRenderer", "turntable"]

_MOUTH_DEPTH_BIAS = 0.012 / 0.5  # 12 mm, in the rasterisers' depth units (see camera.project)
_CLOSED_LIPS = 0.008  # IPD (0.5 mm): lips closer than this hide the mouth interior


class AvatarRenderer:
    """Render head avatars.

    Args:
        size: default output side in pixels (square frames).
        fov: vertical field of view, degrees.
        lighting: the :class:`Lighting`.
        background: sRGB background colour in [0, 1].
        backend: ``"auto"`` (moderngl on CPU when EGL works, else torch), ``"moderngl"`` or ``"torch"``.
        device: torch device for posing and shading.

    Example::

        renderer = AvatarRenderer()
        frames = renderer(avatar, motion, yaw=30.0, pitch=5.0, size=512)   # (T, 512, 512, 3) uint8
    """

    def __init__(
        self,
        size: int = 512,
        fov: float = 20.0,
        lighting: Lighting | None = None,
        background: tuple[float, float, float] = (0.86, 0.87, 0.89),
        backend: str = "auto",
        device: torch.device | str = "cpu",
    ) -> None:
        _check_size(size)
        OrbitCamera(fov=fov)  # validates
        if len(background) != 3 or not all(0.0 <= float(c) <= 1.0 for c in background):
            raise ValueError(f"background must be three values in [0, 1], got {background!r}.")
        self.size = int(size)
        self.fov = float(fov)
        self.lighting = Lighting() if lighting is None else lighting
        self.background = tuple(float(c) for c in background)
        self.device = torch.device(device)
        self.rasterizer = get_rasterizer(backend, self.device)
        if self.rasterizer.name == "moderngl":
            from .shader import GLAvatarShader

            shader = GLAvatarShader()
        else:
            shader = TorchAvatarShader()
        self.renderer = MeshRenderer(self.rasterizer, shader)
        self._static: dict[int, tuple] = {}
        self._lip_rgb: torch.Tensor | None = None

    @property
    def backend(self) -> str:
        return self.rasterizer.name

    # --------------------------------------------------------------------------------------------- framing
    @staticmethod
    def framing(avatar: HeadAvatar, fov: float = 20.0) -> tuple[tuple[float, float, float], float]:
        """``(target, distance)`` in metres that frame the avatar's head and neck."""
        v = avatar.skin_vertices.detach().cpu().double() * IPD_METRES
        lo, hi = v.amin(0), v.amax(0)
        centre = (lo + hi) / 2
        half = max(float(hi[1] - lo[1]), float(hi[0] - lo[0])) / 2 * 1.08
        distance = half / math.tan(math.radians(fov) / 2) + float(hi[2] - lo[2]) / 2
        return (float(centre[0]), float(centre[1]), float(centre[2])), distance

    # ----------------------------------------------------------------------------------------------- frames
    @torch.no_grad()
    def __call__(
        self,
        avatar: HeadAvatar,
        motion: MotionTrack | None = None,
        *,
        yaw: float | Sequence[float] | torch.Tensor = 0.0,
        pitch: float | Sequence[float] | torch.Tensor = 0.0,
        distance: float | None = None,
        size: int | None = None,
        emotion: EmotionTrack | None = None,
        supersample: int = 1,
        batch_size: int = 16,
        progress: bool = False,
        output_type: str = "np",
    ) -> np.ndarray | torch.Tensor:
        """Render ``motion`` (default: one neutral frame) on ``avatar``.

        Args:
            avatar: the :class:`HeadAvatar`.
            motion: the frames to render.
            yaw, pitch: camera orbit in degrees (see :class:`OrbitCamera`); one value, or one per frame.
            distance: camera distance in metres (default: frames the head and neck).
            size: output side in pixels (default: the renderer's).
            emotion: the emotion per frame (drives flush and pallor, as in the portrait animator).
            supersample: render ``supersample`` times larger and scale down (anti-aliasing for stills).
            batch_size: frames rendered together.
            progress: show a tqdm bar.
            output_type: ``"np"`` or ``"pt"``.

        Returns:
            uint8 frames ``(frames, size, size, 3)``.
        """
        from tqdm.auto import tqdm

        if not isinstance(avatar, HeadAvatar):
            raise TypeError(f"avatar must be a HeadAvatar, got {type(avatar).__name__}.")
        if motion is None:
            motion = MotionTrack.zeros(1)
        if not isinstance(motion, MotionTrack):
            raise TypeError(f"motion must be a MotionTrack or None, got {type(motion).__name__}.")
        size = self.size if size is None else size
        _check_size(size)
        if not isinstance(supersample, int) or not 1 <= supersample <= 4:
            raise ValueError(f"supersample must be an integer in [1, 4], got {supersample!r}.")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        if output_type not in ("np", "pt"):
            raise ValueError(f"output_type must be 'np' or 'pt', got {output_type!r}.")
        t = motion.num_frames
        yaws, pitches = _per_frame(yaw, t, "yaw"), _per_frame(pitch, t, "pitch")
        target, auto_distance = self.framing(avatar, self.fov)
        distance = auto_distance if distance is None else float(distance)
        OrbitCamera(distance=distance, fov=self.fov)  # validates
        colour = None
        if emotion is not None:
            if not isinstance(emotion, EmotionTrack):
                raise TypeError(f"emotion must be an EmotionTrack or None, got {type(emotion).__name__}.")
            from ..portrait.appearance.layers import emotion_colour_weights

            emotion = emotion.resample(fps=motion.fps, num_frames=t)
            colour = emotion_colour_weights(emotion.probs.float().cpu(), emotion.intensity.float().cpu())
        frames = []
        starts = range(0, t, batch_size)
        for s in tqdm(starts, desc="rendering avatar", unit="batch", disable=not progress or len(starts) < 2):
            e = min(s + batch_size, t)
            frames.append(
                self.render_batch(
                    avatar, motion.slice(s, e), yaws[s:e], pitches[s:e], target, distance, size * supersample,
                    None if colour is None else colour[s:e],
                )
            )  # fmt: skip
        out = torch.cat(frames)
        if supersample > 1:
            x = out.permute(0, 3, 1, 2).float()
            out = (F.avg_pool2d(x, supersample) + 0.5).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
        return out.cpu().numpy() if output_type == "np" else out

    def render_batch(
        self,
        avatar: HeadAvatar,
        motion: MotionTrack,
        yaw: torch.Tensor,
        pitch: torch.Tensor,
        target: tuple[float, float, float],
        distance: float,
        size: int,
        colour: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """One batch of frames, uint8 ``(B, size, size, 3)`` (angles in degrees)."""
        dev = avatar.skin_vertices.device
        out = avatar(motion.to(dev, torch.float32))
        b = out.vertices.shape[0]
        faces, weld, material, uv = self._static_of(avatar)
        view = orbit_rotation(torch.deg2rad(yaw.to(dev)), torch.deg2rad(pitch.to(dev)))  # (b, 3, 3)
        tgt = torch.tensor(target, device=dev, dtype=out.vertices.dtype)
        pos, _ = project(out.vertices, view, tgt, distance, self.fov, size, size)
        # the mouth interior lies behind the lips and cheeks: a depth bias (polygon offset) keeps the skin in front
        # where the two come within a few millimetres (it still shows through the lips' opening)
        pos[:, avatar.parts["mouth"], 2] -= _MOUTH_DEPTH_BIAS
        normals = _welded_normals(out.vertices, faces, weld)
        # the mouth, shaded per vertex from the camera's light (turned into the face's frame)
        p = avatar.parts
        attr = torch.zeros(b, out.vertices.shape[1], 8, device=dev)
        attr[..., 0:3] = torch.einsum("bij,bvj->bvi", view, normals)
        attr[..., 3] = material.to(attr)
        attr[:, p["skin"], 4:6] = uv.to(attr)
        for k, key in enumerate(("eye_left", "eye_right")):
            attr[:, p[key], 4:7] = avatar.eye_dirs.to(attr)
            attr[:, p[key], 7] = lid_shadow(out.below_lid[:, k].to(attr))
        attr[:, p["mouth"], 4:7] = self._mouth_colours(avatar, out, view)
        frame = frame_weights(out.weights, avatar.rest_weights, colour).to(dev)
        shading = AvatarShading(
            albedo=avatar.albedo, layers=avatar.layers, key=avatar.texture_key, iris=tuple(avatar.iris_rgb.tolist()),
            sclera=tuple(avatar.sclera_rgb.tolist()), lighting=self.lighting, frame=frame,
        )  # fmt: skip
        drawn = self._visible_faces(avatar, faces, pos, out)
        rgb, covered = self.renderer(pos, drawn, attr, shading, size, size, frame=frame)
        return self._composite(rgb.to(dev), covered.to(dev))

    @staticmethod
    def _visible_faces(avatar: HeadAvatar, faces: torch.Tensor, pos: torch.Tensor, out) -> torch.Tensor:
        """The triangles worth drawing for a batch: the skin's back faces (facing away from the camera in every
        frame) are dropped, and the mouth interior while the lips stay closed in every frame."""
        n_skin = avatar.skin_faces.shape[0]
        tri = pos[:, faces[:n_skin], :2]
        e1, e2 = tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0]
        front = (e1[..., 0] * e2[..., 1] - e1[..., 1] * e2[..., 0] < 0).any(0)  # clockwise in pixels (y down)
        keep = [faces[:n_skin][front]]
        n_mouth = avatar.mouth_faces.shape[0]
        lips = out.face_vertices[:, avatar.lip_loop]
        upper, lower = lips[:, 1 : len(avatar.lip_loop) // 2], lips[:, len(avatar.lip_loop) // 2 + 1 :].flip(1)
        mouth = faces[n_skin : n_skin + n_mouth]
        if float((upper[..., 1] - lower[..., 1]).amax()) > _CLOSED_LIPS:
            keep.append(mouth)
        else:  # the cavity and the inner lips still close the slit between the lips
            keep.append(mouth[avatar_cavity_faces(avatar)])
        keep.append(faces[n_skin + n_mouth :])
        return torch.cat(keep)

    def _composite(self, rgb: torch.Tensor, covered: torch.Tensor) -> torch.Tensor:
        """Put the frames on the background; the silhouette's pixels are blended by their 5-neighbourhood's
        coverage (a cheap anti-aliasing of the outline)."""
        bg = torch.tensor([round(255 * c) for c in self.background], dtype=torch.uint8, device=rgb.device)
        out = torch.where(covered.unsqueeze(-1), rgb, bg)
        c = F.pad(covered.to(torch.uint8), (1, 1, 1, 1), mode="replicate")
        count = c[:, 1:-1, 1:-1] + c[:, :-2, 1:-1] + c[:, 2:, 1:-1] + c[:, 1:-1, :-2] + c[:, 1:-1, 2:]
        edge = covered & (count < 5)
        idx = edge.nonzero(as_tuple=True)
        if idx[0].numel():
            alpha = (count[idx].float() / 5.0).unsqueeze(-1)
            out[idx] = (rgb[idx].float() * alpha + bg.float() * (1.0 - alpha) + 0.5).to(torch.uint8)
        return out

    # ------------------------------------------------------------------------------------------------ helpers
    def _static_of(self, avatar: HeadAvatar):
        key = avatar.texture_key
        if key not in self._static or self._static[key][0] is not avatar.skin_vertices:
            p = avatar.parts
            n = avatar.num_vertices
            dev = avatar.skin_vertices.device
            weld = torch.arange(n, device=dev) + int(avatar.skin_weld.max()) + 1
            weld[p["skin"]] = avatar.skin_weld
            material = avatar.material
            if len(self._static) > 4:
                self._static.pop(next(iter(self._static)))
            self._static[key] = (avatar.skin_vertices, avatar.faces, weld, material, avatar.skin_uv)
        return self._static[key][1:]

    def _mouth_colours(self, avatar: HeadAvatar, out, view: torch.Tensor) -> torch.Tensor:
        """The mouth's vertex colours ``(b, M, 3)``: :func:`shade_mouth` with its normals turned into camera axes,
        so one call lights the whole batch from the camera's light."""
        from ...head.mouth import ATTR_NORMAL, shade_mouth
        from ...head.mouth.shading import MUCOSA_LAB, lab_to_srgb

        n_int = avatar.mouth_vertices.shape[0]
        local = out.mouth_vertices[:, :n_int]
        attrs = avatar.mouth.vertex_attributes(avatar.mouth_geometry, local, out.face_vertices)
        rot = view @ out.head_rotation  # face frame → camera
        attrs[..., ATTR_NORMAL] = torch.einsum("bij,bvj->bvi", rot, attrs[..., ATTR_NORMAL])
        cols = shade_mouth(attrs, light=self.lighting.unit_direction().to(attrs), view=(0.0, 0.0, 1.0))
        if self._lip_rgb is None:
            self._lip_rgb = lab_to_srgb(torch.tensor(MUCOSA_LAB)) * 0.85
        lips = self._lip_rgb.to(cols).expand(cols.shape[0], out.mouth_vertices.shape[1] - n_int, 3)
        return torch.cat([cols, lips], 1)


def avatar_cavity_faces(avatar: HeadAvatar) -> torch.Tensor:
    """Mask ``(M,)`` of the mouth's triangles that belong to the cavity or the inner lips (not teeth, gums, tongue)."""
    from ...head.mouth import CAVITY

    lips = torch.full((avatar.lip_loop.shape[0],), CAVITY, dtype=torch.int64, device=avatar.mouth_material.device)
    mat = torch.cat([avatar.mouth_material, lips])
    return (mat[avatar.mouth_faces] == CAVITY).all(-1)


def _welded_normals(vertices: torch.Tensor, faces: torch.Tensor, weld: torch.Tensor) -> torch.Tensor:
    """Area-weighted vertex normals ``(b, V, 3)``, shared by vertices with the same ``weld`` id."""
    tri = vertices[:, faces]
    fn = torch.cross(tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0], dim=-1)
    g = int(weld.max()) + 1
    acc = torch.zeros(vertices.shape[0], g, 3, device=vertices.device, dtype=vertices.dtype)
    for k in range(3):
        acc.index_add_(1, weld[faces[:, k]], fn)
    n = acc[:, weld]
    return n / n.norm(dim=-1, keepdim=True).clamp(min=1e-12)


def _check_size(size) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or not 16 <= size <= 4096:
        raise ValueError(f"size must be an integer number of pixels in [16, 4096], got {size!r}.")


def _per_frame(value, t: int, name: str) -> torch.Tensor:
    x = torch.as_tensor(value, dtype=torch.float32).reshape(-1)
    if x.numel() == 1:
        x = x.expand(t)
    if x.numel() != t:
        raise ValueError(f"{name} must be one angle or one per frame ({t}), got {x.numel()} values.")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} must be finite angles in degrees.")
    return x.clone()


def turntable(
    avatar: HeadAvatar,
    renderer: AvatarRenderer | None = None,
    frames: int = 36,
    motion: MotionTrack | None = None,
    pitch: float = 0.0,
    size: int = 512,
    **kwargs,
) -> np.ndarray:
    """A full turn of the camera around the avatar: ``frames`` views at ``360° · i / frames``.

    Args:
        avatar: the :class:`HeadAvatar`.
        renderer: an :class:`AvatarRenderer` (default: a new one).
        frames: number of views.
        motion: one frame (held) or ``frames`` frames to play while turning (default: neutral).
        pitch: camera elevation, degrees.
        size: output side in pixels.
        **kwargs: passed to :meth:`AvatarRenderer.__call__` (``supersample``, ``emotion``, ``distance``, ...).

    Returns:
        uint8 frames ``(frames, size, size, 3)``.
    """
    if not isinstance(frames, int) or frames < 1:
        raise ValueError(f"frames must be a positive integer, got {frames!r}.")
    renderer = AvatarRenderer() if renderer is None else renderer
    motion = MotionTrack.zeros(1) if motion is None else motion
    if motion.num_frames == 1 and frames > 1:
        motion = MotionTrack(
            blendshapes=motion.blendshapes.expand(frames, -1).clone(),
            head_rotation=motion.head_rotation.expand(frames, -1).clone(),
            head_translation=motion.head_translation.expand(frames, -1).clone(),
            gaze=motion.gaze.expand(frames, -1).clone(),
            fps=motion.fps,
        )
    if motion.num_frames != frames:
        raise ValueError(f"motion must have 1 or {frames} frames, got {motion.num_frames}.")
    yaws = torch.arange(frames, dtype=torch.float32) * (360.0 / frames)
    return renderer(avatar, motion, yaw=yaws, pitch=pitch, size=size, **kwargs)
