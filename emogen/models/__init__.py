"""Learned motion models (diffusers ``ModelMixin`` classes) and their samplers."""

from emogen.models.attention import FrameAttention, naive_attention
from emogen.models.motion_denoiser import (
    MOTION_CHANNEL_GROUPS,
    MOTION_CHANNEL_NAMES,
    MotionDenoiser,
    MotionDenoiserOutput,
    pack_motion,
    unpack_motion,
)
from emogen.models.motion_sampling import (
    MotionWindow,
    frame_audio_features,
    motion_scheduler,
    plan_windows,
    sample_motion,
)

__all__ = [
    "MOTION_CHANNEL_GROUPS",
    "MOTION_CHANNEL_NAMES",
    "FrameAttention",
    "MotionDenoiser",
    "MotionDenoiserOutput",
    "MotionWindow",
    "frame_audio_features",
    "motion_scheduler",
    "naive_attention",
    "pack_motion",
    "plan_windows",
    "sample_motion",
    "unpack_motion",
]
