"""Learned models (diffusers ``ModelMixin``, ``ConfigMixin``) and their samplers.

* :class:`MotionDenoiser` — audio + emotion → facial motion (diffusion transformer), sampled by :func:`sample_motion`;
* :class:`TextEmotionModel` — free text → valence/arousal/dominance;
* :class:`ProsodyEmotionHead` — prosodic features → VAD and labels (the diarizer's calibrated heads);
* :class:`EmotionPromptAdapter` — prompt embeddings + VAD → emotional prompt embeddings for users' diffusion
  backbones (EmotiCrafter-style).

Each class is imported on first use (they pull in diffusers and, for the text model, transformers).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "EmotionPromptAdapter": ".emotion_adapter",
    "EmotionPromptAdapterOutput": ".emotion_adapter",
    "FrameAttention": ".attention",
    "naive_attention": ".attention",
    "MotionDenoiser": ".motion_denoiser",
    "MotionDenoiserOutput": ".motion_denoiser",
    "MotionWindow": ".motion_sampling",
    "frame_audio_features": ".motion_sampling",
    "motion_scheduler": ".motion_sampling",
    "plan_windows": ".motion_sampling",
    "sample_motion": ".motion_sampling",
    "ProsodyEmotionHead": ".prosody_emotion",
    "TextEmotionModel": ".text_emotion",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
