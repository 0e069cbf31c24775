"""The speech-emotion diarizer: audio → frame emotion (50 Hz) → smoothed segments → :class:`DiarizationResult`.

The SEDTalker idea (speech-emotion diarization drives the talking head's emotion from its own voice): a backend
gives emotion per 50 Hz frame, an HMM smooths the labels into segments with a minimum duration, and the result
converts to an :class:`~emogen.emotion.EmotionTrack` at a video frame rate.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import uniform_filter1d

from ..audio import SAMPLE_RATE, prosody_features
from ..io.audio import AudioInput, load_audio
from .backends import ProsodyEmotionBackend, TransformersEmotionBackend
from .features import SpeakerReference, speaker_reference
from .segment import merge_short_runs, refine_boundaries, segments_from_path, smooth_path
from .types import DiarizationResult, FrameEmotion, frame_intensity

logger = logging.getLogger(__name__)

__all__ = ["SpeechEmotionDiarizer", "diarize", "load_backend"]

Backend = ProsodyEmotionBackend | TransformersEmotionBackend


def load_backend(backend: str | os.PathLike | Backend = "prosody", **kwargs) -> Backend:
    """A backend from a name or path.

    Args:
        backend: ``"prosody"`` (the shipped offline default), a directory holding prosody-diarizer weights
            (``config.json`` with ``"backend": "prosody"``), a local ``transformers`` audio-classification model
            directory, or a backend object (returned as is).
        kwargs: passed to the backend's ``from_pretrained``.
    """
    if isinstance(backend, (ProsodyEmotionBackend, TransformersEmotionBackend)):
        return backend
    if not isinstance(backend, (str, os.PathLike)):
        raise TypeError(
            f"backend must be 'prosody', a model directory or a backend object, got {type(backend).__name__}."
        )
    if str(backend) == "prosody":
        return ProsodyEmotionBackend.from_pretrained(**kwargs)
    path = Path(backend)
    if not path.is_dir():
        raise ValueError(
            f"Unknown diarizer backend {str(backend)!r}: pass 'prosody' or the directory of a local transformers "
            "audio-classification model (or of prosody-diarizer weights)."
        )
    import json

    config_path = path / "config.json"
    if config_path.is_file():
        try:
            if json.loads(config_path.read_text()).get("backend") == "prosody":
                return ProsodyEmotionBackend.from_pretrained(path, **kwargs)
        except json.JSONDecodeError as err:
            raise ValueError(f"{str(config_path)!r} is not valid JSON: {err}") from None
    return TransformersEmotionBackend.from_pretrained(path, **kwargs)


class SpeechEmotionDiarizer:
    """Audio → emotion segments and per-frame emotion.

    Args:
        backend: a backend object, ``"prosody"`` (default) or a model directory (see :func:`load_backend`).
        min_segment_s: shortest segment in seconds; shorter runs merge into a neighbour.
        switch_rate: expected emotion changes per second (HMM transition prior).
        smoothing_s: moving-average width applied to the frame VAD / probabilities before segmentation.
        refine_s: how far (seconds) a label boundary may move to the VAD curve's change point (0: not at all).

    Example:
        >>> diarizer = SpeechEmotionDiarizer()                      # doctest: +SKIP
        >>> result = diarizer("speech.wav")                          # doctest: +SKIP
        >>> result.segments[0].label, result.to_track(fps=25)        # doctest: +SKIP
    """

    def __init__(
        self,
        backend: str | os.PathLike | Backend = "prosody",
        *,
        min_segment_s: float = 0.5,
        switch_rate: float = 0.3,
        smoothing_s: float = 0.3,
        refine_s: float = 0.5,
    ) -> None:
        checks = (("min_segment_s", min_segment_s), ("switch_rate", switch_rate), ("smoothing_s", smoothing_s))
        for name, value in (*checks, ("refine_s", refine_s)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a non-negative number, got {value!r}.")
        if switch_rate <= 0:
            raise ValueError(f"switch_rate must be > 0 changes per second, got {switch_rate!r}.")
        self.backend = load_backend(backend)
        self.min_segment_s = float(min_segment_s)
        self.switch_rate = float(switch_rate)
        self.smoothing_s = float(smoothing_s)
        self.refine_s = float(refine_s)

    @property
    def backend_name(self) -> str:
        return getattr(self.backend, "name", type(self.backend).__name__)

    def frame_emotion(
        self,
        audio: AudioInput,
        sample_rate: int | None = None,
        *,
        reference: AudioInput | SpeakerReference | None = None,
    ) -> tuple[FrameEmotion, np.ndarray]:
        """Backend output for ``audio`` (loaded / resampled to 16 kHz) and the 16 kHz waveform."""
        waveform, sr = load_audio(audio, SAMPLE_RATE, source_rate=sample_rate)
        ref = None
        if reference is not None:
            if isinstance(reference, SpeakerReference):
                ref = reference
            elif isinstance(self.backend, ProsodyEmotionBackend):
                ref_wave, _ = load_audio(reference, SAMPLE_RATE, source_rate=sample_rate)
                ref = speaker_reference(prosody_features(ref_wave, SAMPLE_RATE))
            else:
                logger.warning("A speaker reference only applies to the prosody backend; ignored.")
        return self.backend(waveform, sr, reference=ref), waveform

    def __call__(
        self,
        audio: AudioInput,
        sample_rate: int | None = None,
        *,
        reference: AudioInput | SpeakerReference | None = None,
    ) -> DiarizationResult:
        """Diarize ``audio`` by emotion.

        Args:
            audio: a file path, or samples (`np.ndarray` / `torch.Tensor`, mono or multichannel).
            sample_rate: rate of array input (default 16 kHz); ignored for files.
            reference: neutral speech of the same speaker (path / array at ``sample_rate`` / a
                :class:`~emogen.diarize.features.SpeakerReference`) for per-speaker normalisation; default: the
                recording's own medians.

        Returns:
            :class:`DiarizationResult` with segments covering the whole audio and 50 Hz frame tensors.
        """
        # 1. Backend: frame-level emotion at 50 Hz
        raw, waveform = self.frame_emotion(audio, sample_rate, reference=reference)
        duration = len(waveform) / SAMPLE_RATE

        # 2. Light temporal smoothing of the frame estimates
        size = max(1, int(round(self.smoothing_s * raw.fps)))
        vad = torch.from_numpy(uniform_filter1d(raw.vad.double().numpy(), size=size, axis=0, mode="nearest"))
        probs = torch.from_numpy(uniform_filter1d(raw.probs.double().numpy(), size=size, axis=0, mode="nearest"))
        probs = probs / probs.sum(-1, keepdim=True)
        frames = FrameEmotion(vad=vad.float(), probs=probs.float(), speech=raw.speech, fps=raw.fps)

        # 3. HMM (Viterbi) label path, then the minimum segment duration
        path = smooth_path(frames, switch_rate=self.switch_rate)
        path = merge_short_runs(path, probs.numpy(), max(1, int(round(self.min_segment_s * raw.fps))))
        path = refine_boundaries(path, frames.vad.double().numpy(), int(round(self.refine_s * raw.fps)))

        # 4. Segments and per-frame intensity
        segments = segments_from_path(path, frames, frames.vad, duration)
        intensity = frame_intensity(frames.vad, frames.probs)
        return DiarizationResult(
            segments=segments,
            vad=frames.vad,
            probs=frames.probs,
            intensity=intensity,
            speech=frames.speech,
            fps=frames.fps,
            duration=duration,
            backend=self.backend_name,
        )


def diarize(
    audio: AudioInput,
    sample_rate: int | None = None,
    *,
    backend: str | os.PathLike | Backend = "prosody",
    reference: AudioInput | SpeakerReference | None = None,
    **kwargs,
) -> DiarizationResult:
    """One-call form of :class:`SpeechEmotionDiarizer` (``kwargs`` go to its constructor)."""
    return SpeechEmotionDiarizer(backend, **kwargs)(audio, sample_rate, reference=reference)
