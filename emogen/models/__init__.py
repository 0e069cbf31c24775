"""Learned models (diffusers ``ModelMixin``, ``ConfigMixin``) and their samplers."""

from emogen.models.attention import FrameAttention, naive_attention
from emogen.models.motion_denoiser import MotionDenoiser, MotionDenoiserOutput
from emogen.models.motion_sampling import (
    MotionWindow,
    frame_audio_features,
    motion_scheduler,
    plan_windows,
    sample_motion,
)

__all__ = [
    "FrameAttention",
    "MotionDenoiser",
    "MotionDenoiserOutput",
    "MotionWindow",
    "frame_audio_features",
    "motion_scheduler",
    "naive_attention",
    "plan_windows",
    "sample_motion",
]
