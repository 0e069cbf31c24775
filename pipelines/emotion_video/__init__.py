"""Emotion-video pipeline: a face speaking, listening or idle through an emotion timeline → frames + soundtrack."""

from .pipeline_emotion_video import VIDEO_MODES, EmotionVideoOutput, EmoVideoPipeline

__all__ = ["EmoVideoPipeline", "EmotionVideoOutput", "VIDEO_MODES"]
