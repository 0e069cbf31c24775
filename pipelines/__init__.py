"""diffusers-style pipelines (installed as ``emogen.pipelines``); imported lazily, each pulls in diffusers.

:mod:`emogen.pipelines.defaults` holds the defaults and limits the pipelines, the CLI and the app share;
:mod:`emogen.pipelines.backbones` attaches an emotion adapter to users' own diffusers pipelines.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "EmotionAdapterHandle": ".backbones",
    "attach_emotion_adapter": ".backbones",
    "detach_emotion_adapter": ".backbones",
    "EmoHeadAvatarPipeline": ".head_avatar",
    "HeadAvatarOutput": ".head_avatar",
    "EmoSpeechPipeline": ".speech",
    "EmoVideoPipeline": ".emotion_video",
    "EmotionVideoOutput": ".emotion_video",
    "SpeechOutput": ".speech",
    "EmoTalkingHeadPipeline": ".talking_head",
    "TalkingHeadOutput": ".talking_head",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
