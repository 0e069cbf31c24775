"""Portrait animator: a photo + a :class:`~emogen.motion.MotionTrack` → video frames (DESIGN §5).

Per frame, batched in torch: the :class:`~emogen.face.rig.FaceRig` gives the target landmarks; the warp mesh
(:mod:`~emogen.render.portrait.geometry`) is rasterised at the target positions with the source positions as
attributes and shaded by the portrait shader (:mod:`~emogen.render.portrait.shading`) through a
:class:`~emogen.render.renderer.MeshRenderer`: the OpenGL rasteriser with the GLSL shader in one pass, or the torch
rasteriser with the torch shader.

Backends (``benchmarks/bench_animator.py``, astronaut, idle motion + expression, 2 CPU cores shared with other
jobs (load average ~3.5), so numbers vary ±30 % between runs):

==============================  =========  =========
method                          256² fps   512² fps
==============================  =========  =========
moderngl (EGL, llvmpipe)         46-47      34-41
torch rasteriser + grid_sample    9-23       4-6
naive per-triangle cv2 warp      12         9-14
==============================  =========  =========

moderngl is the default on CPU: llvmpipe rasterises and shades in one pass and only 8-bit colour comes back,
while the torch path spends its time gathering attributes per pixel. The torch path is the default on CUDA
(everything stays on the device), is differentiable in the vertex attributes, and is the automatic fallback
(with a logged warning) where no EGL context can be created. Both give the same frames (mean |Δ| < 0.01/255).
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import torch

from ...arkit import ARKIT_INDEX
from ...emotion import EmotionTrack
from ...face.blendshapes import face_topology
from ...face.rig import FaceRig
from ...face.tracking import FaceTracker, FaceTrackingResult
from ...io.image import PortraitInput, to_rgb_uint8
from ...motion import MotionTrack
from ..raster import Rasterizer, get_rasterizer
from ..renderer import MeshRenderer
from .appearance import LAYER_NAMES
from .appearance.layers import arkit_layer_weights, emotion_colour_weights
from .canvas import Canvas, build_canvas, rig_rest_smile
from .geometry import warp_attributes, warp_targets
from .mouth import cull_interior
from .shading import FRAME_SLOTS, FRAME_VALUES, PortraitShading, TorchPortraitShader, own_mouth_weight

logger = logging.getLogger(__name__)

__all__ = ["FRAMINGS", "PortraitAnimator", "PreparedPortrait"]

#: How a frame is framed: the whole photo, or a square around the face.
FRAMINGS = ("full", "portrait")


@dataclass(frozen=True)
class PreparedPortrait:
    """A tracked and rigged photo, ready to animate (cache it; preparing costs ~0.1-0.5 s).

    Args:
        image (`np.ndarray` of shape `(H, W, 3)`, uint8): the photo.
        face: its tracked face.
        rig: its :class:`FaceRig`.
    """

    image: np.ndarray
    face: FaceTrackingResult
    rig: FaceRig
    _canvases: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def rest_smile(self) -> float:
        """How much the photographed face smiles (0 … 1)."""
        return rig_rest_smile(self.rig)


class PortraitAnimator:
    """Animate portraits with a face rig and a 2D mesh warp.

    Args:
        backend: rasteriser, ``"auto"`` (moderngl on CPU when EGL works, torch otherwise), ``"moderngl"`` or
            ``"torch"``.
        device: torch device for the rig and shading.
        framing: ``"full"`` keeps the whole photo (output long side = ``size``); ``"portrait"`` crops a square
            around the face (``size`` × ``size``).
        relax: strength of the relaxed-skin layer used when the motion removes the photo's smile (0 disables).
        cache_size: prepared photos kept in memory.
    """

    def __init__(
        self,
        backend: str = "auto",
        device: torch.device | str = "cpu",
        framing: str = "full",
        relax: float = 1.0,
        cache_size: int = 4,
    ) -> None:
        if framing not in FRAMINGS:
            raise ValueError(f"framing must be one of {FRAMINGS}, got {framing!r}.")
        self.device = torch.device(device)
        self.rasterizer: Rasterizer = get_rasterizer(backend, self.device)
        if self.rasterizer.name == "moderngl":
            from .shading_gl import GLPortraitShader

            shader = GLPortraitShader()
        else:
            shader = TorchPortraitShader()
        self.renderer = MeshRenderer(self.rasterizer, shader)
        self.framing = framing
        self.relax = float(relax)
        self._cache: OrderedDict[str, PreparedPortrait] = OrderedDict()
        self.cache_size = int(cache_size)

    @property
    def backend(self) -> str:
        return self.rasterizer.name

    # ============================================================================================ preparation
    def prepare(
        self, image: PortraitInput, face_index: int | None = None, tracker: FaceTracker | None = None
    ) -> PreparedPortrait:
        """Track and rig the face in ``image`` (cached per image content and face index).

        Args:
            image: path, PIL image, array or tensor (grayscale and RGBA are converted).
            face_index: which face (largest first); default the largest.
            tracker: an open :class:`FaceTracker` to reuse.

        Raises:
            NoFaceFoundError: (``ValueError``) when the photo has no face.
        """
        rgb = to_rgb_uint8(image)
        key = hashlib.sha1(rgb.tobytes()).hexdigest() + f":{rgb.shape}:{face_index}"
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        if tracker is None:
            with FaceTracker() as own:
                face = own.track(rgb, face_index=face_index)
        else:
            face = tracker.track(rgb, face_index=face_index)
        if face.inter_pupil_distance < 8:
            raise ValueError(
                f"The face is too small to animate ({face.inter_pupil_distance:.1f} px between the pupils); "
                "use a photo where the face is at least ~60 pixels wide."
            )
        rig = FaceRig.from_tracking(face).to(self.device)
        prepared = PreparedPortrait(image=rgb, face=face, rig=rig)
        self._cache[key] = prepared
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return prepared

    def _canvas(self, prepared: PreparedPortrait, size: int | None) -> Canvas:
        key = (size, self.framing, str(self.device))
        if key not in prepared._canvases:
            prepared._canvases[key] = build_canvas(
                prepared.image, prepared.rig, prepared.face.bbox, size, self.framing, self.relax, self.device
            )
        return prepared._canvases[key]

    # ================================================================================================ framing
    def frame_size(self, prepared: PreparedPortrait, height: int | None, width: int | None) -> tuple[int, int]:
        """``(height, width)`` of the frames for a requested size: neither given — long side 512 (``"portrait"``
        framing: a 512 square); one — the other follows the rendered aspect."""
        ph, pw = prepared.image.shape[:2] if self.framing == "full" else (1, 1)
        if height is None and width is None:
            k = 512 / max(ph, pw)
            return max(1, round(ph * k)), max(1, round(pw * k))
        if height is None:
            height = max(16, round(ph * width / pw))
        if width is None:
            width = max(16, round(pw * height / ph))
        return int(height), int(width)

    def _render_plan(self, prepared: PreparedPortrait, height: int, width: int) -> tuple[int, tuple[int, int] | None]:
        """Canvas size and the top-left corner of the ``height`` × ``width`` crop (``None``: no crop).

        A requested size of another aspect than the canvas is rendered just large enough to cover it and cropped,
        centred on the face where the frame allows (so a wide crop of a tall portrait keeps the face).
        """
        ph, pw = prepared.image.shape[:2] if self.framing == "full" else (1, 1)
        size = min(8192, math.ceil(max(ph, pw) * max(height / ph, width / pw) - 1e-6))
        rh, rw = (max(1, round(ph * size / max(ph, pw))), max(1, round(pw * size / max(ph, pw))))
        if (rh, rw) == (height, width):
            return size, None
        cy, cx = rh / 2, rw / 2
        if self.framing == "full":
            k = size / max(ph, pw)
            x0, y0, x1, y1 = (float(v) * k for v in prepared.face.bbox)
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        top = min(max(0, round(cy - height / 2)), max(0, rh - height))
        left = min(max(0, round(cx - width / 2)), max(0, rw - width))
        return size, (top, left)

    # ================================================================================================ frames
    @torch.no_grad()
    def __call__(
        self,
        prepared: PreparedPortrait,
        motion: MotionTrack,
        size: int | None = 512,
        *,
        height: int | None = None,
        width: int | None = None,
        emotion: EmotionTrack | None = None,
        batch_size: int = 8,
        progress: bool = True,
        output_type: str = "np",
    ) -> np.ndarray | torch.Tensor:
        """Render ``motion`` on the prepared photo.

        Args:
            prepared: from :meth:`prepare`.
            motion: per-frame ARKit weights, head pose and gaze.
            size: output long side in pixels (``None``: the photo's own resolution); ignored when ``height`` or
                ``width`` is given.
            height, width: exact output size in pixels (see :meth:`frame_size`; another aspect than the photo's is
                rendered to cover it and cropped around the face).
            emotion: the emotion per frame (resampled to the motion's frames); drives the autonomic colour cues,
                flush and pallor (:data:`~emogen.render.portrait.appearance.FLUSH_BY_LABEL`). ``None``: none.
            batch_size: frames rendered together.
            progress: show a tqdm bar.
            output_type: ``"np"`` (``np.ndarray``) or ``"pt"`` (``torch.Tensor`` on the animator's device).

        Returns:
            uint8 frames of shape ``(frames, H, W, 3)``.
        """
        from tqdm.auto import tqdm

        if not isinstance(prepared, PreparedPortrait):
            raise TypeError(f"prepared must come from PortraitAnimator.prepare(), got {type(prepared).__name__}.")
        if not isinstance(motion, MotionTrack):
            raise TypeError(f"motion must be a MotionTrack, got {type(motion).__name__}.")
        if size is not None and (not isinstance(size, int) or not 16 <= size <= 8192):
            raise ValueError(f"size must be an integer in [16, 8192] or None, got {size!r}.")
        for name, value in (("height", height), ("width", width)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not 16 <= value <= 4096
            ):
                raise ValueError(f"{name} must be None or an integer number of pixels in [16, 4096], got {value!r}.")
        if output_type not in ("np", "pt"):
            raise ValueError(f"output_type must be 'np' or 'pt', got {output_type!r}.")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        crop = None
        if height is not None or width is not None:
            height, width = self.frame_size(prepared, height, width)
            size, crop = self._render_plan(prepared, height, width)
        canvas = self._canvas(prepared, size)
        motion = motion.to(self.device, torch.float32)
        colour = None
        if emotion is not None:
            if not isinstance(emotion, EmotionTrack):
                raise TypeError(f"emotion must be an EmotionTrack or None, got {type(emotion).__name__}.")
            emotion = emotion.resample(fps=motion.fps, num_frames=motion.num_frames)
            colour = emotion_colour_weights(emotion.probs.float().cpu(), emotion.intensity.float().cpu())
        frames = []
        starts = range(0, motion.num_frames, batch_size)
        for s in tqdm(starts, desc="animating", unit="batch", disable=not progress or len(starts) < 2):
            stop = min(s + batch_size, motion.num_frames)
            chunk = self.render_batch(
                prepared, canvas, motion.slice(s, stop), None if colour is None else colour[s:stop]
            )
            if crop is not None:
                chunk = chunk[:, crop[0] : crop[0] + height, crop[1] : crop[1] + width]
            frames.append(chunk)
        out = torch.cat(frames)
        return out.cpu().numpy() if output_type == "np" else out

    def still(
        self,
        prepared: PreparedPortrait,
        weights: dict[str, float] | torch.Tensor,
        size: int | None = 512,
        emotion: EmotionTrack | None = None,
    ) -> np.ndarray:
        """One frame with the given ARKit weights (dict or ``(52,)`` tensor), head as photographed (``emotion``: its
        colour cues, see :meth:`__call__`)."""
        if isinstance(weights, dict):
            motion = MotionTrack.from_weights(weights)
        else:
            motion = MotionTrack.from_blendshapes(torch.as_tensor(weights, dtype=torch.float32).reshape(1, -1))
        return self(prepared, motion, size=size, emotion=emotion, progress=False)[0]

    def render_batch(
        self, prepared: PreparedPortrait, canvas: Canvas, motion: MotionTrack, colour: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Frames for one batch, uint8 ``(B, H, W, 3)`` on the animator's device (``colour``: ``(B, 2)`` flush and
        pallor weights)."""
        pos, tgt, mouth_rgb = warp_targets(prepared.rig, canvas, motion)
        attr = warp_attributes(canvas, pos, tgt, mouth_rgb)
        frame = self._frame_values(prepared, motion, colour)
        shading = PortraitShading(canvas.texture, canvas.key, canvas.ipd_px, canvas.teeth_rgb, frame, canvas.lip_rgb)
        x0, y0, x1, y1 = canvas.window
        faces = torch.cat([canvas.faces, self._mouth_faces(canvas, pos, tgt)])
        rgb, covered = self.renderer(pos, faces, attr, shading, y1 - y0, x1 - x0, frame=frame)
        rgb, covered = rgb.to(self.device), covered.to(self.device)
        out = canvas.frame.unsqueeze(0).expand(rgb.shape[0], -1, -1, -1).clone()
        window = out[:, y0:y1, x0:x1]
        out[:, y0:y1, x0:x1] = torch.where(covered.unsqueeze(-1), rgb, window)
        return out

    @staticmethod
    def _mouth_faces(canvas: Canvas, pos: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        """The mouth interior's triangles that can show through the lip opening of some frame of the batch."""
        g = face_topology().groups
        up, lo = list(g.lips_inner_upper), list(g.lips_inner_lower)
        gap = (tgt[:, up] - tgt[:, lo]).norm(dim=-1).amax(1)
        return cull_interior(canvas.mouth_faces, pos, tgt[:, up + lo], gap)

    # ------------------------------------------------------------------------------------ per-frame shading
    def _frame_values(
        self, prepared: PreparedPortrait, motion: MotionTrack, colour: torch.Tensor | None
    ) -> torch.Tensor:
        """``(B, 4 · FRAME_SLOTS)`` per-frame shading values (:data:`~emogen.render.portrait.shading.FRAME_VALUES`)."""
        b = motion.num_frames
        creases = arkit_layer_weights(motion.blendshapes.cpu(), prepared.rig.rest_weights.cpu())
        out = torch.zeros(b, 4 * FRAME_SLOTS)
        out[:, 0] = self._relax_weight(prepared, motion).cpu()
        out[:, FRAME_VALUES.index("own_mouth")] = own_mouth_weight(out[:, 0], prepared.rest_smile)
        for name in LAYER_NAMES:
            w = creases[name]
            if name == "nasolabial":
                out[:, 5:7] = w
            else:
                out[:, FRAME_VALUES.index(name)] = w.mean(-1)
        if colour is not None:
            out[:, 10:12] = colour.to(out)
        for name in ("cover_inner", "cover_outer"):
            out[:, FRAME_VALUES.index(name)] = creases[name].mean(-1)
        return out.to(self.device)

    @staticmethod
    def _relax_weight(prepared: PreparedPortrait, motion: MotionTrack) -> torch.Tensor:
        """(B,) weight of the relaxed-skin layer: how much of the photo's smile the frame takes away."""
        rest = prepared.rest_smile
        if rest < 0.2:
            return motion.blendshapes.new_zeros(motion.num_frames)
        smile = (
            motion.blendshapes[:, ARKIT_INDEX["mouthSmileLeft"]]
            + motion.blendshapes[:, ARKIT_INDEX["mouthSmileRight"]]
        ) / 2
        return ((rest - smile) / rest).clamp(0.0, 1.0)
