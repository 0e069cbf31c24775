"""Talking-head pipeline: portrait + (audio | text) + emotion → frames, audio, MotionTrack, EmotionTrack."""

from .pipeline import EmoTalkingHeadPipeline, TalkingHeadOutput

__all__ = ["EmoTalkingHeadPipeline", "TalkingHeadOutput"]
