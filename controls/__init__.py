"""The emotion control layer: every way of saying an emotion → typed tracks and conditioning.

Inputs (labels with intensity, mixtures, VAD, free text, keyframed timelines, tracks) resolve to an
:class:`~emogen.emotion.EmotionTrack` (:func:`resolve_emotion`); an :class:`EmotionEncoder` turns tracks into
:class:`~emogen.emotion.EmotionConditioning` for diffusion models, and the :class:`ExpressionPrior` turns them into
ARKit-52 blendshape weights. Bridges to users' own diffusion backbones: :func:`expand_emotion_prompt` (facial muscle
movements as prompt text) and :func:`face_control_images` (MediaPipe-face ControlNet conditioning frames).
"""

from emogen.emotion import LABELS, VAD, EmotionConditioning, EmotionLabel, EmotionTrack, Keyframe

from .dynamics import FirstOrderDynamics, SecondOrderDynamics, make_dynamics
from .expression import ExpressionPrior
from .parse import parse_emotion_spec, parse_state_spec, parse_timeline
from .resolve import (
    TextEmotion,
    analyze_text,
    emotion_state,
    keyframes_to_track,
    mirror_emotion,
    resolve_emotion,
    smooth_track,
    text_states,
)
from .speech import speech_pieces

__all__ = [
    "LABELS",
    "VAD",
    "EmotionConditioning",
    "EmotionEncoder",
    "EmotionLabel",
    "EmotionPrompt",
    "EmotionTrack",
    "ExpressionPrior",
    "FaceControlFrames",
    "FirstOrderDynamics",
    "Keyframe",
    "SecondOrderDynamics",
    "TextEmotion",
    "analyze_text",
    "emotion_prompt_schedule",
    "emotion_state",
    "expand_emotion_prompt",
    "face_control_images",
    "keyframes_to_track",
    "make_dynamics",
    "mirror_emotion",
    "parse_emotion_spec",
    "parse_state_spec",
    "parse_timeline",
    "resolve_emotion",
    "smooth_track",
    "speech_pieces",
    "text_states",
]


_LAZY = {
    "EmotionPrompt": ".prompt",
    "emotion_prompt_schedule": ".prompt",
    "expand_emotion_prompt": ".prompt",
    "FaceControlFrames": ".face_control",
    "face_control_images": ".face_control",
}


def __getattr__(name: str):
    # The encoder pulls in diffusers (seconds to import); load it only when asked for.
    if name == "EmotionEncoder":
        from .encoder import EmotionEncoder

        return EmotionEncoder
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
