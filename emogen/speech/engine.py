"""TTS engines as diffusers pipeline components (config only, no weights).

Each class wraps a plain engine of :mod:`emogen.speech.engines` so that a pipeline can register it like any other
component: the engine's settings are its config (``save_pretrained`` writes them to ``tts/config.json``; it has no
parameters), and ``from_pretrained`` reads them back. Code that only speaks (``emogen speak``) uses the plain
engines and never imports diffusers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin

from .engines import EspeakEngine, TTSEngine
from .plan import SpeechPlanSegment
from .text import MAX_CHARS
from .types import SpeechResult

__all__ = ["EspeakTTS", "TTSComponent"]


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
