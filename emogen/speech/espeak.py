"""A thin ctypes driver for the espeak-ng engine shipped in the ``espeakng-loader`` wheel.

espeak-ng (GPL-3) is loaded at run time from the wheel's ``libespeak-ng`` with its ``espeak-ng-data`` folder; nothing
is installed system-wide. The engine is initialised in synchronous mode (``AUDIO_OUTPUT_SYNCHRONOUS``) with phoneme
events enabled (``espeakINITIALIZE_PHONEME_EVENTS``), so every call to :meth:`EspeakEngine.synth` returns the
16-bit samples and the phoneme events the synth callback received: events of type ``espeakEVENT_PHONEME`` (7) carry
the phoneme mnemonic in ``id.string`` and the position of the phone in the audio (``sample``, and ``audio_position``
in ms). The API is described in espeak-ng's ``speak_lib.h``.

espeak-ng is one global engine per process (voice and parameters are global state), so every call is serialised by
one module-level lock: :func:`get_engine` is safe to use from several threads.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from dataclasses import dataclass
from functools import cache

import numpy as np

__all__ = ["EspeakEngine", "EspeakPhoneme", "get_engine", "list_voices", "parse_voice", "VOICE_VARIANTS"]

logger = logging.getLogger(__name__)

# speak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_ENDPAUSE = 0x1000
_EVENT_LIST_TERMINATED = 0
_EVENT_PHONEME = 7
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH, _PARAM_RANGE, _PARAM_WORDGAP = 1, 2, 3, 4, 7

#: espeak-ng voice variants shipped in ``espeak-ng-data/voices/!v`` that give clearly male / female voices
#: (``lang+variant``, e.g. ``en-us+f3``). The full list is in :func:`list_voices` (``all_variants=True``).
VOICE_VARIANTS: dict[str, str] = {
    "m1": "male",
    "m2": "male",
    "m3": "male",
    "m4": "male",
    "m5": "male",
    "m6": "male",
    "m7": "male",
    "f1": "female",
    "f2": "female",
    "f3": "female",
    "f4": "female",
    "f5": "female",
}

#: English languages offered by default (espeak-ng language names) and what they are.
_ENGLISH = {
    "en-us": "American English",
    "en": "British English",
    "en-gb-x-rp": "British English (Received Pronunciation)",
    "en-gb-scotland": "Scottish English",
    "en-029": "Caribbean English",
    "en-us-nyc": "American English (New York)",
}

_lock = threading.RLock()


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _VoiceStruct(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class EspeakPhoneme:
    """One phoneme event: the espeak mnemonic (stress marks kept, e.g. ``'oU``) and its onset in samples."""

    phone: str
    sample: int


class EspeakEngine:
    """The process-wide espeak-ng engine. Use :func:`get_engine` rather than constructing it.

    Raises:
        RuntimeError: if the library from ``espeakng-loader`` cannot be loaded or initialised.
    """

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as err:  # pragma: no cover - hard dependency
            raise RuntimeError(
                "The espeak-ng TTS needs the 'espeakng-loader' package: pip install espeakng-loader"
            ) from err
        self.data_path = espeakng_loader.get_data_path()
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_VoiceStruct))
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        with _lock:
            sample_rate = lib.espeak_Initialize(
                _AUDIO_OUTPUT_SYNCHRONOUS, 0, self.data_path.encode(), _INITIALIZE_PHONEME_EVENTS
            )
        if sample_rate <= 0:
            raise RuntimeError(f"espeak_Initialize failed (returned {sample_rate}) with data at {self.data_path}.")
        self.lib = lib
        self.sample_rate: int = int(sample_rate)
        self._chunks: list[np.ndarray] = []
        self._events: list[EspeakPhoneme] = []
        self._callback = _SynthCallback(self._on_synth)  # keep a reference: ctypes must not collect it
        lib.espeak_SetSynthCallback(self._callback)

    def _on_synth(self, wav, num_samples, events) -> int:
        if num_samples > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == _EVENT_PHONEME:
                name = event.id.string.decode("utf-8", errors="replace")
                self._events.append(EspeakPhoneme(name, int(event.sample)))
            i += 1
        return 0

    @cache  # noqa: B019 - one engine per process, never collected
    def languages(self) -> dict[str, str]:
        """espeak-ng language identifiers → voice names (e.g. ``"en-us" → "English (America)"``)."""
        with _lock:
            voices = self.lib.espeak_ListVoices(None)
            out: dict[str, str] = {}
            i = 0
            while voices[i]:
                v = voices[i].contents
                # languages: a sequence of (priority byte, NUL-terminated name), ending with a zero byte
                lang = ctypes.string_at(v.languages + 1).decode(errors="replace")
                name = v.name.decode(errors="replace")
                out[lang.lower()] = name
                # the voice file name ("gmw/en" → "en") selects the same voice
                out.setdefault(v.identifier.decode(errors="replace").rsplit("/", 1)[-1].lower(), name)
                i += 1
        return out

    def variants(self) -> list[str]:
        """Names of the voice variants in ``espeak-ng-data/voices/!v``."""
        folder = os.path.join(self.data_path, "voices", "!v")
        return sorted(os.listdir(folder)) if os.path.isdir(folder) else []

    def synth(
        self,
        text: str,
        voice: str = "en-us",
        *,
        rate: int = 175,
        pitch: int = 50,
        pitch_range: int = 50,
        volume: int = 100,
        word_gap: int = 0,
    ) -> tuple[np.ndarray, list[EspeakPhoneme]]:
        """Synthesise ``text`` with the given espeak parameters (speak_lib.h units).

        Args:
            text: UTF-8 text (plain text, not SSML).
            voice: ``lang`` or ``lang+variant`` (see :func:`parse_voice`).
            rate: words per minute, 80…450 (espeak default 175).
            pitch: base pitch 0…100 (50 = the voice's own).
            pitch_range: pitch range 0…100 (50 = the voice's own, 0 = monotone).
            volume: amplitude 0…200 (100 = normal).
            word_gap: extra pause between words, in units of 10 ms.

        Returns:
            ``(samples, phonemes)``: ``np.int16`` array of shape ``(N,)`` at :attr:`sample_rate` and the phoneme
            events in order.
        """
        lang, variant = parse_voice(voice)
        name = lang if variant is None else f"{lang}+{variant}"
        data = text.encode("utf-8")
        with _lock:
            if self.lib.espeak_SetVoiceByName(name.encode()) != 0:
                raise ValueError(f"espeak-ng could not select voice {voice!r}; see emogen.speech.list_voices().")
            for key, value in (
                (_PARAM_RATE, int(np.clip(rate, 80, 450))),
                (_PARAM_VOLUME, int(np.clip(volume, 0, 200))),
                (_PARAM_PITCH, int(np.clip(pitch, 0, 100))),
                (_PARAM_RANGE, int(np.clip(pitch_range, 0, 100))),
                (_PARAM_WORDGAP, int(max(0, word_gap))),
            ):
                self.lib.espeak_SetParameter(key, value, 0)
            self._chunks, self._events = [], []
            status = self.lib.espeak_Synth(
                data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _ENDPAUSE, None, None
            )
            chunks, events = self._chunks, self._events
            self._chunks, self._events = [], []
        if status != 0:
            raise RuntimeError(f"espeak_Synth failed with status {status} for voice {voice!r}.")
        samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
        return samples.astype(np.int16, copy=False), events


@cache
def get_engine() -> EspeakEngine:
    """The process-wide :class:`EspeakEngine` (created, and the library loaded, on first use)."""
    with _lock:
        return EspeakEngine()


def parse_voice(voice: str) -> tuple[str, str | None]:
    """Split ``"en-us+f3"`` into ``("en-us", "f3")``, validating both parts against the shipped voice data.

    Raises:
        TypeError: if ``voice`` is not a string.
        ValueError: naming the unknown language or variant and where to find the accepted ones.
    """
    if not isinstance(voice, str):
        raise TypeError(f"voice must be a string such as 'en-us' or 'en-us+f3', got {type(voice).__name__}.")
    lang, _, variant = voice.strip().lower().partition("+")
    engine = get_engine()
    languages = engine.languages()
    if lang not in languages:
        import difflib

        close = difflib.get_close_matches(lang, list(languages), n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(
            f"Unknown espeak-ng voice language {lang!r} in voice {voice!r}.{hint} "
            "List the accepted voices with emogen.speech.list_voices() or `emogen speak --list-voices`."
        )
    if variant:
        variants = {v.lower(): v for v in engine.variants()}
        if variant not in variants:
            raise ValueError(
                f"Unknown espeak-ng voice variant {variant!r} in voice {voice!r}. Accepted variants: "
                f"{', '.join(sorted(VOICE_VARIANTS))} (and the others listed by list_voices(all_variants=True))."
            )
        return lang, variants[variant]
    return lang, None


def list_voices(all_languages: bool = False, all_variants: bool = False) -> dict[str, str]:
    """Voices accepted by the ``voice`` argument, name → description.

    By default the English languages with their male (``+m1…+m7``) and female (``+f1…+f5``) variants.

    Args:
        all_languages: also list every other language espeak-ng ships (English phone timings and visemes are
            tuned for English; other languages speak but their phones map to visemes by a generic fallback).
        all_variants: also list the novelty variants (``+whisper``, ``+croak``, ``+klatt`` …).
    """
    engine = get_engine()
    languages = engine.languages()
    langs = {k: v for k, v in _ENGLISH.items() if k in languages}
    if all_languages:
        langs.update({k: v for k, v in sorted(languages.items()) if k not in langs})
    variants = dict(VOICE_VARIANTS)
    if all_variants:
        variants.update({v.lower(): "variant" for v in engine.variants() if v.lower() not in variants})
    out: dict[str, str] = {}
    for lang, desc in langs.items():
        out[lang] = f"{desc}, default (male) voice"
        for var, kind in variants.items():
            out[f"{lang}+{var}"] = f"{desc}, {kind} variant {var}"
    return out
