"""Emotion (and speech) → per-frame face-landmark conditioning images for MediaPipe-face ControlNets.

The bridge to users' ControlNet backbones (``StableDiffusionControlNetPipeline``, ``AnimateDiffControlNetPipeline``
with a MediaPipe-face ControlNet such as ``CrucibleAI/ControlNetMediaPipeFace``): an
:class:`~emogen.emotion.EmotionTrack` goes through the :class:`~controls.expression.ExpressionPrior` (EMFACS action
units → ARKit-52 weights), optionally layered on a :class:`~emogen.motion.MotionTrack` (speech articulation, blinks,
head pose, gaze), deforms a :class:`~emogen.face.rig.FaceRig` — a portrait's rig or the canonical face — and every
frame's 478 landmarks are drawn in the annotator's convention (:mod:`emogen.render.mediapipe_face`).

Example::

    >>> frames = face_control_images("0s neutral, 1s happy, 2s surprised", duration=3.0, fps=8)
    >>> pipe(prompt, image=frames.images[12])                     # StableDiffusionControlNetPipeline
    >>> pipe(prompt, conditioning_frames=frames.images, num_frames=len(frames.images))  # AnimateDiff + ControlNet
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from emogen.motion.track import MotionTrack

from .expression import ExpressionPrior
from .resolve import resolve_emotion

__all__ = ["FaceControlFrames", "face_control_images", "image_array", "OUTPUT_TYPES"]

#: Accepted ``output_type`` values.
OUTPUT_TYPES: tuple[str, ...] = ("pil", "np", "pt")


@dataclass(frozen=True)
class FaceControlFrames:
    """Conditioning frames and what made them.

    Args:
        images: ``output_type="pil"``: a list of ``PIL.Image``; ``"np"``: `np.ndarray` of shape
            `(frames, height, width, 3)` uint8; ``"pt"``: `torch.Tensor` of shape `(frames, 3, height, width)` in
            [0, 1] (what diffusers' ControlNet pipelines accept).
        landmarks (`torch.Tensor` of shape `(frames, 478, 2)`): normalised landmark coordinates that were drawn.
        blendshapes (`torch.Tensor` of shape `(frames, 52)`): the ARKit weights that deformed the face.
        fps: frames per second.
    """

    images: Any
    landmarks: torch.Tensor
    blendshapes: torch.Tensor
    fps: float


def face_control_images(
    emotion: Any = None,
    motion: MotionTrack | None = None,
    *,
    rig: torch.nn.Module | None = None,
    height: int = 512,
    width: int = 512,
    fps: float | None = None,
    duration: float | None = None,
    num_frames: int | None = None,
    prior: ExpressionPrior | None = None,
    output_type: str = "pil",
) -> FaceControlFrames:
    """Render an emotion (and a motion track) as MediaPipe-face ControlNet conditioning frames.

    Args:
        emotion: anything :func:`~controls.resolve.resolve_emotion` accepts, or ``None`` (no emotion prior: only
            ``motion``, or a neutral face). With ``motion`` the track is resampled to the motion's frames; without
            it, ``fps`` / ``duration`` / ``num_frames`` choose the frames (one frame for a constant emotion).
        motion: per-frame ARKit weights, head pose and gaze, e.g. the ``motion`` of
            :class:`~emogen.pipelines.EmoTalkingHeadPipeline` (speech). The emotion's prior weights are *added* to its
            weights (clipped to [0, 1]); pass ``emotion=None`` when the motion already carries the emotion.
        rig: a :class:`~emogen.face.rig.FaceRig`; default the canonical face framed in the image
            (:func:`~emogen.render.mediapipe_face.canonical_face_rig`). A portrait's rig
            (``FaceRig.from_tracking(track_face(photo))``) works in the photo's pixels: pass the photo's ``height``
            and ``width``.
        height: image height in pixels (the rig's pixel frame).
        width: image width in pixels.
        fps: frame rate when there is no ``motion`` (default 25).
        duration: seconds, when there is no ``motion``.
        num_frames: exact frame count, when there is no ``motion``.
        prior: the expression prior (default :class:`ExpressionPrior`).
        output_type: ``"pil"``, ``"np"`` or ``"pt"``.

    Returns:
        :class:`FaceControlFrames`.

    Raises:
        ValueError: a bad spec or output type, or ``duration``/``num_frames``/``fps`` given with ``motion``.
        TypeError: ``motion`` that is not a :class:`MotionTrack`.
    """
    from emogen.render.mediapipe_face import canonical_face_rig, draw_face_landmarks_batch

    # 1. Check inputs
    if output_type not in OUTPUT_TYPES:
        raise ValueError(f"output_type must be one of {OUTPUT_TYPES}, got {output_type!r}.")
    if motion is not None and not isinstance(motion, MotionTrack):
        raise TypeError(f"motion must be a MotionTrack, got {type(motion).__name__}.")
    if motion is not None and any(v is not None for v in (fps, duration, num_frames)):
        raise ValueError("fps, duration and num_frames come from the motion track; do not pass them with motion.")
    if rig is not None and not (isinstance(rig, torch.nn.Module) and hasattr(rig, "identity")):
        raise TypeError(f"rig must be a FaceRig, got {type(rig).__name__}.")
    rig = canonical_face_rig(height, width) if rig is None else rig
    prior = ExpressionPrior() if prior is None else prior

    # 2. Blendshapes, head pose and gaze per frame
    if motion is None:
        track = resolve_emotion(emotion, fps=fps or 25.0, duration=duration, num_frames=num_frames)
        motion = MotionTrack.from_blendshapes(prior(track).float(), fps=track.fps)
    elif emotion is not None:
        track = resolve_emotion(emotion, fps=motion.fps, num_frames=motion.num_frames)
        motion = motion.to(dtype=torch.float32) + MotionTrack.from_blendshapes(prior(track).float(), fps=motion.fps)
    motion = motion.to(rig.identity.device, torch.float32)

    # 3. Deform the face and project it to the image
    with torch.no_grad():
        vertices = rig(
            blendshapes=motion.blendshapes,
            head_rotation=motion.head_rotation,
            head_translation=motion.head_translation,
            gaze=motion.gaze,
        ).vertices
    scale = torch.tensor([float(width), float(height)], dtype=torch.float64, device=vertices.device)
    landmarks = (vertices[..., :2].double() / scale).float().cpu()

    # 4. Draw in the MediaPipe-face ControlNet convention
    images = draw_face_landmarks_batch(landmarks, height, width)
    if output_type == "pil":
        from PIL import Image

        images = [Image.fromarray(frame) for frame in images]
    elif output_type == "pt":
        images = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    return FaceControlFrames(
        images=images, landmarks=landmarks, blendshapes=motion.blendshapes.detach().cpu(), fps=motion.fps
    )


def image_array(frames: FaceControlFrames) -> np.ndarray:
    """The frames as `(frames, H, W, 3)` uint8, whatever their ``output_type``."""
    images = frames.images
    if isinstance(images, np.ndarray):
        return images
    if isinstance(images, torch.Tensor):
        return (images.permute(0, 2, 3, 1) * 255.0).round().clamp(0, 255).to(torch.uint8).numpy()
    return np.stack([np.asarray(im) for im in images])
