"""Shaping a predicted motion before it is rendered: lips from phone timings, head scale, frame rate, blinks, gaze.

The talking-head and video pipelines share these steps; each is a pure function of its inputs and one
``torch.Generator``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch

from ..arkit import ARKIT_INDEX
from ..emotion import EmotionTrack
from .idle import IdleSettings, add_idle, idle_motion
from .track import MotionTrack, resample_motion

__all__ = ["GAZE_MODES", "check_gaze", "cpu_generator", "lip_sync_from_phones", "shape_motion"]

#: String values of ``gaze`` (besides ``None`` and a ``(yaw, pitch)`` tuple).
GAZE_MODES = ("camera", "model")
#: The eight ``eyeLook*`` blendshapes (they add to the gaze angles in the rig; cleared for a fixed gaze).
_EYE_LOOK = [i for name, i in ARKIT_INDEX.items() if name.startswith("eyeLook")]


def cpu_generator(generator: torch.Generator | None) -> torch.Generator | None:
    """``generator`` itself on CPU; a CPU generator seeded from it otherwise (procedural motion samples on CPU)."""
    if generator is None or generator.device.type == "cpu":
        return generator
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
    return torch.Generator().manual_seed(seed)


def check_gaze(gaze) -> None:
    """Raise ``ValueError`` unless ``gaze`` is ``None``, one of :data:`GAZE_MODES` or a ``(yaw, pitch)`` pair of
    finite radians within ±π/2."""
    if gaze is None or (isinstance(gaze, str) and gaze in GAZE_MODES):
        return
    ok = isinstance(gaze, (tuple, list)) and len(gaze) == 2
    ok = ok and all(not isinstance(g, bool) and isinstance(g, (int, float)) and math.isfinite(g) for g in gaze)
    if not ok or any(abs(g) > math.pi / 2 for g in gaze):
        raise ValueError(
            f"gaze must be None (model + natural saccades), 'camera', 'model' or a (yaw, pitch) tuple in radians "
            f"within ±π/2, got {gaze!r}."
        )


def lip_sync_from_phones(
    motion: MotionTrack,
    phones: Sequence,
    emotion: EmotionTrack,
    expression: torch.Tensor,
    articulation: float,
    audio: tuple[np.ndarray, int] | None = None,
) -> MotionTrack:
    """Replace the lip and jaw channels of ``motion`` by visemes from phone timings, blended with the emotion's own
    mouth shape as in the motion model's teacher (:func:`emogen.motion.teacher.teacher_motion`).

    Args:
        motion: the predicted motion.
        phones: phone timings of the speech (:class:`~emogen.speech.PhoneSegment`).
        emotion: the emotion over the clip (resampled to the motion's frames).
        expression (`torch.Tensor` of shape `(frames, 52)`): the emotion's ARKit expression (control layer's
            ``ExpressionPrior``), at the motion's frames.
        articulation: amplitude of lips and jaw (1 = the viseme table's full shapes).
        audio: the speech ``(waveform, sample_rate)`` the phones time: louder syllables open wider.
    """
    from ..speech.visemes import viseme_targets
    from .teacher import SPEECH_OWNED, TeacherConfig, teacher_motion

    n = motion.num_frames
    teacher = teacher_motion(
        n,
        fps=motion.fps,
        phones=phones,
        audio=audio,
        emotion=emotion.resample(fps=motion.fps, num_frames=n),
        expression=expression,
        generator=torch.Generator().manual_seed(0),  # only its deterministic lip/jaw channels are used
        config=TeacherConfig(articulation_scale=articulation),
    )
    # the visemes' channels and the expression's channels that recede while speaking (chin raise, lip press)
    mouth = viseme_targets().abs().sum(0) > 0
    mouth[[ARKIT_INDEX[name] for name in SPEECH_OWNED]] = True
    blendshapes = motion.blendshapes.clone()
    blendshapes[:, mouth] = teacher.blendshapes[:, mouth].to(blendshapes)
    return replace(motion, blendshapes=blendshapes)


def shape_motion(
    motion: MotionTrack,
    num_frames: int,
    fps: float,
    head_motion_scale: float = 1.0,
    blink_rate: float = 17.0,
    gaze: str | tuple[float, float] | None = None,
    generator: torch.Generator | None = None,
) -> MotionTrack:
    """Head motion scale → resample to ``fps`` (``num_frames`` frames) → stochastic blinks and saccades → fixed gaze.

    Args:
        head_motion_scale: factor on head rotation and translation (0 = still head).
        blink_rate: blinks per minute added on top (0 adds none); the procedural blink model of
            :mod:`emogen.motion.procedural`, the one the motion model's teacher uses.
        gaze: ``None``: the motion's gaze plus natural saccades; ``"model"``: the motion's gaze only; ``"camera"``:
            look into the camera; ``(yaw, pitch)`` in radians: hold that direction in camera space. A fixed gaze
            counter-rotates the eyes against the head and clears the ``eyeLook*`` blendshapes.
        generator: seeds the blinks and saccades.
    """
    motion = replace(
        motion,
        head_rotation=motion.head_rotation * head_motion_scale,
        head_translation=motion.head_translation * head_motion_scale,
    )
    motion = resample_motion(motion, fps, num_frames)
    blinks, saccades = blink_rate > 0, gaze is None
    if blinks or saccades:
        settings = IdleSettings(blinks=blinks, head=False, gaze=saccades, blink_rate=float(blink_rate or 17.0))
        motion = add_idle(motion, idle_motion(num_frames, fps, settings, cpu_generator(generator)))
    if gaze is not None and gaze != "model":
        yaw, pitch = (0.0, 0.0) if gaze == "camera" else (float(gaze[0]), float(gaze[1]))
        # gaze is relative to the head: counter-rotate the eyes so they hold the direction in camera space
        target = torch.tensor([yaw, pitch]) - motion.head_rotation[:, [1, 0]]
        blend = motion.blendshapes.clone()
        blend[:, _EYE_LOOK] = 0.0
        motion = replace(motion, gaze=target.to(motion.gaze), blendshapes=blend)
    return motion
