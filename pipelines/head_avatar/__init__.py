"""Head-avatar pipeline: portrait + (audio | text | nothing) + emotion → HeadAvatar, MotionTrack, frames."""

from .pipeline_head_avatar import EmoHeadAvatarPipeline, HeadAvatarOutput

__all__ = ["EmoHeadAvatarPipeline", "HeadAvatarOutput"]
