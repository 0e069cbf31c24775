"""Speech-emotion diarization: audio → emotion per 50 Hz frame → segments → :class:`~emogen.emotion.EmotionTrack`.

Drives a talking head's emotion from its own voice (the SEDTalker idea)::

    from emogen.diarize import diarize

    result = diarize("speech.wav")            # offline prosodic backend (weights/diarizer)
    for seg in result.segments:               # EmotionSegment(start, end, label, intensity, vad, confidence)
        print(seg.start, seg.end, seg.label, seg.intensity)
    track = result.to_track(fps=25)           # EmotionTrack for a 25 fps video
    # writers: emogen.export.write_rttm(result, "out.rttm"), plot_diarization(result, wave, "out.png")

Backends: ``"prosody"`` (default; arousal is recovered well, dominance partly, valence weakly — see
:mod:`emogen.diarize.backends` and ``weights/diarizer/README.md``) or the directory of a local ``transformers``
audio-classification model.
"""

from .backends import (
    ProsodyEmotionBackend,
    TransformersEmotionBackend,
    default_weights_dir,
    map_model_label,
)
from .diarizer import SpeechEmotionDiarizer, diarize, load_backend
from .features import FEATURE_NAMES, SpeakerReference, speaker_reference, window_features
from .types import DiarizationResult, EmotionSegment, FrameEmotion

__all__ = [
    "DiarizationResult",
    "EmotionSegment",
    "FEATURE_NAMES",
    "FrameEmotion",
    "ProsodyEmotionBackend",
    "SpeakerReference",
    "SpeechEmotionDiarizer",
    "TransformersEmotionBackend",
    "default_weights_dir",
    "diarize",
    "load_backend",
    "map_model_label",
    "speaker_reference",
    "window_features",
]
