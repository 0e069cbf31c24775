"""Forced alignment of user audio with its transcript: pocketsphinx → ARPAbet phones with times.

pocketsphinx 5 (CMU Sphinx; BSD) ships its US-English acoustic model and the CMU Pronouncing Dictionary inside
the wheel. Alignment runs the decoder twice, as pocketsphinx's own ``align`` example does: a word-level pass over
the transcript's word graph (``Decoder.set_align_text``), then a phone/state-level pass (``set_alignment``) that
returns phone segments at 100 frames per second. Words missing from the dictionary get a pronunciation from
espeak-ng (its phonemes mapped to ARPAbet with :data:`~emogen.speech.visemes.ESPEAK_TO_ARPABET`).

The acoustic model expects 16 kHz mono: other audio is downmixed and resampled with librosa.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path

import numpy as np

from emogen.speech.types import PhoneSegment

__all__ = ["align", "load_audio_16k", "ALIGN_SAMPLE_RATE"]

logger = logging.getLogger(__name__)

#: The sample rate pocketsphinx's en-us model was trained on.
ALIGN_SAMPLE_RATE: int = 16_000
_FRAME_RATE = 100  # pocketsphinx default -frate
_lock = threading.Lock()
_WORD = re.compile(r"[a-z0-9']+")
# Alignment search only follows the transcript's word graph, so it can afford (and with synthetic or expressive
# speech needs) far wider beams than recognition: with the defaults the first pass often ends off the grammar
# ("Final result does not match the grammar") and the phone pass cannot start.
_WIDE_BEAMS = {"beam": 1e-200, "wbeam": 1e-200, "pbeam": 1e-200, "lpbeam": 1e-200, "lponlybeam": 1e-200}


def load_audio_16k(audio: str | os.PathLike | np.ndarray, sample_rate: int | None = None) -> np.ndarray:
    """Audio as 16 kHz mono float32.

    Args:
        audio: a file path (anything soundfile reads: wav, flac, ogg …) or an array ``(N,)`` / ``(N, channels)``.
        sample_rate: the array's sample rate (required for arrays).

    Returns:
        `np.ndarray` of shape `(M,)`, float32 at 16 kHz.
    """
    import librosa
    import soundfile as sf

    if isinstance(audio, (str, os.PathLike)):
        path = Path(audio)
        if not path.is_file():
            raise ValueError(f"Audio file {str(path)!r} does not exist.")
        try:
            data, sample_rate = sf.read(str(path), dtype="float32", always_2d=True)
        except RuntimeError as err:
            raise ValueError(f"Could not read audio file {str(path)!r}: {err}") from None
        data = data.mean(axis=1)
    elif isinstance(audio, np.ndarray):
        if sample_rate is None:
            raise ValueError("sample_rate is required when audio is an array.")
        data = np.asarray(audio, dtype=np.float32)
        if data.ndim == 2:
            data = data.mean(axis=1) if data.shape[1] <= 8 else data.mean(axis=0)
        if data.ndim != 1:
            raise ValueError(f"audio must have shape (N,) or (N, channels), got {audio.shape}.")
    else:
        raise TypeError(f"audio must be a file path or a numpy array, got {type(audio).__name__}.")
    if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}.")
    if len(data) == 0:
        raise ValueError("The audio is empty.")
    if sample_rate != ALIGN_SAMPLE_RATE:
        data = librosa.resample(data, orig_sr=int(sample_rate), target_sr=ALIGN_SAMPLE_RATE)
    return data.astype(np.float32)


def _words(transcript: str) -> list[str]:
    text = transcript.lower().replace("’", "'")
    return [w.strip("'") for w in _WORD.findall(text) if w.strip("'")]


def _espeak_pronunciation(word: str) -> str:
    from emogen.speech.espeak import get_engine
    from emogen.speech.visemes import phone_to_arpabet

    _, events = get_engine().synth(word, "en-us")
    phones = [phone_to_arpabet(e.phone, "espeak") for e in events]
    return " ".join(p for p in phones if p != "SIL")


def align(
    audio: str | os.PathLike | np.ndarray, transcript: str, sample_rate: int | None = None
) -> list[PhoneSegment]:
    """Phone timings of ``audio`` speaking ``transcript``.

    Args:
        audio: path or array (see :func:`load_audio_16k`).
        transcript: what is said (English; punctuation and case are ignored; numbers should be written as words).
        sample_rate: the array's sample rate.

    Returns:
        ARPAbet :class:`~emogen.speech.PhoneSegment` s in seconds (``"SIL"`` for silences), covering the audio.

    Raises:
        ValueError: empty transcript or audio, unreadable file, or when pocketsphinx cannot align (the text does
            not match the audio).
    """
    import pocketsphinx

    if not isinstance(transcript, str):
        raise TypeError(f"transcript must be a string, got {type(transcript).__name__}.")
    words = _words(transcript)
    if not words:
        raise ValueError(f"The transcript {transcript[:80]!r} has no words to align.")
    pcm = load_audio_16k(audio, sample_rate)
    raw = (np.clip(pcm, -1.0, 1.0) * 32767).astype(np.int16).tobytes()
    with _lock:
        decoder = pocketsphinx.Decoder(samprate=ALIGN_SAMPLE_RATE, bestpath=False, loglevel="ERROR", **_WIDE_BEAMS)
        for word in sorted(set(words)):
            if decoder.lookup_word(word) is None:
                pron = _espeak_pronunciation(word)
                if not pron:
                    raise ValueError(f"Cannot pronounce the word {word!r} of the transcript.")
                logger.info("Word %r is not in CMUdict; using espeak's pronunciation %r.", word, pron)
                decoder.add_word(word, pron, False)
        try:
            decoder.set_align_text(" ".join(words))
            decoder.start_utt()
            decoder.process_raw(raw, full_utt=True)
            decoder.end_utt()
            decoder.set_alignment()
            decoder.start_utt()
            decoder.process_raw(raw, full_utt=True)
            decoder.end_utt()
            alignment = decoder.get_alignment()
        except RuntimeError as err:
            raise ValueError(f"pocketsphinx could not align the transcript with the audio: {err}") from None
        if alignment is None:
            raise ValueError("pocketsphinx found no alignment: does the transcript match the audio?")
        phones = [
            PhoneSegment(p.name, p.start / _FRAME_RATE, (p.start + p.duration) / _FRAME_RATE)
            for p in alignment.phones()
        ]
    if not phones:
        raise ValueError("pocketsphinx found no alignment: does the transcript match the audio?")
    return phones
