"""Emotional speech pipeline: text + emotion (per segment) → waveform, phone timings, SpeechPlan."""

from .pipeline_speech import EmoSpeechPipeline, SpeechOutput

__all__ = ["EmoSpeechPipeline", "SpeechOutput"]
