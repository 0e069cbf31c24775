"""Emotional speech pipeline: text + emotion (per segment) → waveform, phone timings, SpeechPlan."""

from .pipeline import EmoSpeechPipeline, SpeechOutput

__all__ = ["EmoSpeechPipeline", "SpeechOutput"]
