"""TTS engines as diffusers pipeline components (config only, no weights).

Each class wraps a plain engine of :mod:`emogen.speech.engines` so that a pipeline can register it like any other
component: the engine's settings are its config (``save_pretrained`` writes them to ``tts/config.json``; it has no
parameters), and ``from_pretrained`` reads them back. Code that only speaks (``emogen speak``) uses the plain
engines and never imports diffusers.

* :class:`HibariTTS` — hibari's neural voice ``"heart"`` (the model is the hibari-tts wheel's own, never copied into
  a pipeline folder), with espeak-ng as the fallback for every espeak voice name. The default (:func:`default_tts`).
* :class:`EspeakTTS` — espeak-ng only; pipeline folders saved with it keep loading as they were.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin

from .engines import EspeakEngine, TTSEngine, VoiceRouter
from .plan import SpeechPlanSegment
from .text import MAX_CHARS
from .types import SpeechResult

__all__ = ["EspeakTTS", "HibariTTS", "TTSComponent", "default_tts"]


class TTSComponent(ModelMixin, ConfigMixin):
    """Base of the TTS pipeline components: a config holder delegating to :attr:`engine`."""

    config_name = "config.json"

    @property
    def engine(self) -> TTSEngine:
        raise NotImplementedError

    def save_pretrained(self, save_directory: str | os.PathLike, **kwargs) -> None:
        """Write ``config.json`` (the component has no weights)."""
        self.save_config(save_directory)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs) -> TTSComponent:
        """Read ``config.json`` from a folder (loading options meant for weights are ignored)."""
        subfolder = kwargs.get("subfolder")
        path = os.path.join(pretrained_model_name_or_path, subfolder) if subfolder else pretrained_model_name_or_path
        return cls.from_config(cls.load_config(path))

    # The engine has no tensors: diffusers still asks every component for its dtype and device (``pipe.to``,
    # ``pipe.dtype``, offloading), and ModelMixin's default looks for a parameter.
    @property
    def dtype(self) -> torch.dtype:
        return torch.float32

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    @property
    def name(self) -> str:
        return self.engine.name

    @property
    def default_voice(self) -> str:
        return self.engine.default_voice

    @property
    def max_chars(self) -> int:
        return self.engine.max_chars

    @property
    def sample_rate(self) -> int:
        return self.engine.sample_rate

    def voices(self) -> dict[str, str]:
        return self.engine.voices()

    def check_voice(self, voice: str | None) -> str:
        return self.engine.check_voice(voice)

    def synthesize(
        self, segments: Sequence[tuple[str, SpeechPlanSegment]], voice: str | None = None, speed: float = 1.0
    ) -> SpeechResult:
        return self.engine.synthesize(segments, voice=voice, speed=speed)


class EspeakTTS(TTSComponent):
    """espeak-ng (via ``espeakng-loader``) + WORLD prosody, as a pipeline component.

    Args:
        default_voice: voice used when a call names none (``"en-us"``, ``"en"``, ``"en-us+f3"`` …).
        max_chars: longest text one call accepts (longer texts: :func:`emogen.speech.synthesize_stream`).
    """

    @register_to_config
    def __init__(self, default_voice: str = "en-us", max_chars: int = MAX_CHARS) -> None:
        super().__init__()
        self._engine = EspeakEngine(default_voice, max_chars)

    @property
    def engine(self) -> EspeakEngine:
        return self._engine


class HibariTTS(TTSComponent):
    """hibari-tts's neural voice (+ espeak-ng for espeak voice names), as a pipeline component.

    The config holds settings only: the model is read from the installed ``hibari-tts`` wheel (Apache-2.0, see its
    ``NOTICE``) and patched in memory when the first sentence is spoken, so a saved pipeline folder stays small and
    never redistributes it.

    Args:
        default_voice: voice used when a call names none: ``"heart"`` (hibari), or an espeak-ng voice such as
            ``"en-us+f3"`` when ``espeak_fallback`` is on.
        threads: onnxruntime intra-op threads for hibari (1 is fastest on small shared machines).
        max_chars: longest text one call accepts.
        espeak_fallback: route espeak-ng voice names (``"en-us"``, ``"en-us+f3"``, other languages) to espeak-ng;
            off, only ``"heart"`` is accepted.
    """

    @register_to_config
    def __init__(
        self, default_voice: str = "heart", threads: int = 1, max_chars: int = MAX_CHARS, espeak_fallback: bool = True
    ) -> None:
        super().__init__()
        from .hibari import HibariEngine

        if not isinstance(espeak_fallback, bool):
            raise ValueError(f"espeak_fallback must be True or False, got {espeak_fallback!r}.")
        if espeak_fallback:
            hibari = HibariEngine(threads=threads, max_chars=max_chars)
            self._engine: TTSEngine = VoiceRouter(
                [hibari, EspeakEngine(max_chars=max_chars)], default_voice=default_voice
            )
        else:
            self._engine = HibariEngine(default_voice, threads=threads, max_chars=max_chars)

    @property
    def engine(self) -> TTSEngine:
        return self._engine


def default_tts() -> TTSComponent:
    """The component pipelines use when none is given: :class:`HibariTTS` if hibari-tts is installed, else
    :class:`EspeakTTS`."""
    from .hibari.model import hibari_installed

    return HibariTTS() if hibari_installed() else EspeakTTS()
