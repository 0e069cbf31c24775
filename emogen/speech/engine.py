"""The TTS engine as a diffusers pipeline component (config only, no weights).

:class:`EspeakTTS` wraps :func:`emogen.speech.synthesize` so that :class:`~emogen.pipelines.speech.EmoSpeechPipeline`
can register it like any other component: its settings are its config (``save_pretrained`` writes them to
``tts/config.json``; it has no parameters). A natural-voice engine (piper, …) would be another class with the same
``synthesize`` method.
"""

from __future__ import annotations

import os

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin

from emogen.speech.espeak import list_voices, parse_voice
from emogen.speech.synth import synthesize
from emogen.speech.text import MAX_CHARS
from emogen.speech.types import SpeechResult

__all__ = ["EspeakTTS"]


class EspeakTTS(ModelMixin, ConfigMixin):
    """espeak-ng (via ``espeakng-loader``) + WORLD prosody, as a pipeline component.

    Args:
        default_voice: voice used when a call names none (``"en-us"``, ``"en"``, ``"en-us+f3"`` …).
        max_chars: longest text one call accepts (longer texts: :func:`emogen.speech.synthesize_stream`).
    """

    config_name = "config.json"

    @register_to_config
    def __init__(self, default_voice: str = "en-us", max_chars: int = MAX_CHARS) -> None:
        super().__init__()
        if not isinstance(max_chars, int) or max_chars < 1:
            raise ValueError(f"max_chars must be a positive integer, got {max_chars!r}.")

    def save_pretrained(self, save_directory: str | os.PathLike, **kwargs) -> None:
        """Write ``config.json`` (the component has no weights)."""
        self.save_config(save_directory)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs) -> EspeakTTS:
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
    def sample_rate(self) -> int:
        from emogen.speech.espeak import get_engine

        return get_engine().sample_rate

    def check_voice(self, voice: str | None) -> str:
        """The voice to use (``default_voice`` if ``None``), validated."""
        voice = self.config.default_voice if voice is None else voice
        parse_voice(voice)
        return voice

    def voices(self) -> dict[str, str]:
        """Accepted voice names → descriptions."""
        return list_voices()

    def synthesize(self, segments, voice: str | None = None, speed: float = 1.0) -> SpeechResult:
        """:func:`emogen.speech.synthesize` with this component's default voice and length limit."""
        from emogen.speech.text import check_length

        if isinstance(segments, list):
            check_length(sum(len(t) for t, _ in segments), self.config.max_chars)
        return synthesize(segments, voice=self.check_voice(voice), speed=speed)
