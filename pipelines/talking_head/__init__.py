"""Talking-head pipeline: portrait + (audio | text) + emotion → frames, audio, MotionTrack, EmotionTrack."""

from .pipeline_talking_head import EmoTalkingHeadPipeline, TalkingHeadOutput

__all__ = ["EmoTalkingHeadPipeline", "TalkingHeadOutput"]
