"""Frame-level speech-emotion backends: waveform (16 kHz) → :class:`~emogen.diarize.types.FrameEmotion` at 50 Hz.

* :class:`ProsodyEmotionBackend` (default, offline, shipped in ``weights/diarizer``): prosodic window features
  (:mod:`emogen.diarize.features`) → standardised → a linear map to valence/arousal/dominance (ridge
  regression) and a multinomial logistic map to label probabilities, both calibrated on speech synthesised with
  emogen's own emotional TTS (``training/diarizer/calibrate.py``; numbers in ``weights/diarizer/README.md``).

  What it can and cannot recover: prosody carries **arousal** well (rate, F0 level and range, loudness, spectral
  tilt all rise with it), **dominance** partly (loudness up and F0 down at equal arousal), and **valence** only
  weakly (happy and angry speech share most of their prosody; valence lives mostly in the words and in voice
  details a linear prosodic map does not see). Its labels are therefore reliable along the arousal axis
  (sad / neutral vs. angry / happy / surprised / fearful) and often confused within each group. It was calibrated
  on synthetic speech; on recorded speech, expect the ordering by arousal to transfer better than absolute
  values (absolute loudness in dBFS depends on the recording gain: pass a ``reference`` recording of the same
  speaker speaking neutrally when you can).

* :class:`TransformersEmotionBackend`: any local ``transformers`` audio-classification model directory (e.g. a
  wav2vec2 / HuBERT speech-emotion model you downloaded yourself). Its labels are mapped to emogen's by name
  (IEMOCAP-style abbreviations and synonyms included); dimensional models whose outputs are named arousal /
  valence / dominance are read as VAD. Windows slide over the audio and overlap-add into 50 Hz frames.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

import numpy as np
import torch

from ..assets import shipped_weights_dir
from ..audio import FEATURE_FPS, SAMPLE_RATE, num_feature_frames, prosody_features
from ..emotion import LABELS, canonical_label, label_centroids, vad_to_probs
from .features import SpeakerReference, window_features
from .types import FrameEmotion

logger = logging.getLogger(__name__)

__all__ = [
    "ProsodyEmotionBackend",
    "TransformersEmotionBackend",
    "default_weights_dir",
    "map_model_label",
]


def default_weights_dir() -> Path:
    """``weights/diarizer`` shipped with emogen (the ``emogen.weights`` package)."""
    return shipped_weights_dir("diarizer")


# --------------------------------------------------------------------------------------------------------- prosody
class ProsodyEmotionBackend:
    """Prosodic window features → VAD (ridge) and label probabilities (logistic), per 50 Hz frame.

    Feature extraction (:mod:`emogen.diarize.features`) around a calibrated
    :class:`~emogen.models.prosody_emotion.ProsodyEmotionHead`: its ``head`` reads a recording on its own (absolute
    loudness and F0 level included, so the recording gain matters); its ``reference_head`` is used when a neutral
    ``reference`` recording of the same speaker is given: it ignores absolute loudness and F0 level and reads them
    relative to the reference instead (speaker- and gain-normalised).

    Args:
        model: the calibrated heads.
    """

    name = "prosody"

    def __init__(self, model) -> None:
        from ..models.prosody_emotion import ProsodyEmotionHead

        if not isinstance(model, ProsodyEmotionHead):
            raise TypeError(f"model must be a ProsodyEmotionHead, got {type(model).__name__}.")
        self.model = model.eval()

    @property
    def window_s(self) -> float:
        return float(self.model.config.window_s)

    @property
    def label_mode(self) -> str:
        return self.model.config.label_mode

    def save_pretrained(self, path: str | os.PathLike) -> None:
        """Write the heads (``config.json`` + ``diffusion_pytorch_model.safetensors``) to the directory ``path``."""
        self.model.save_pretrained(path)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike | None = None, **overrides) -> ProsodyEmotionBackend:
        """Load the heads from a directory (default: the shipped weights); ``overrides`` replace config values
        (``label_mode="vad"``)."""
        from ..models.prosody_emotion import ProsodyEmotionHead

        path = default_weights_dir() if path is None else Path(path)
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"No prosody diarizer weights in {str(path)!r} (need config.json).")
        config = json.loads((path / "config.json").read_text())
        if config.get("_class_name") != ProsodyEmotionHead.__name__:
            raise ValueError(
                f"{str(path)!r} does not hold a ProsodyEmotionHead (its config names {config.get('_class_name')!r})."
            )
        return cls(ProsodyEmotionHead.from_pretrained(path, **overrides))

    # ----------------------------------------------------------------------------------------------------- apply
    def predict_features(
        self, features: torch.Tensor, with_reference: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Apply a calibrated head to window features `(frames, F)` → ``(vad (frames, 3), probs (frames, K))``.

        ``with_reference`` selects the reference head (features computed against a neutral reference).
        """
        with torch.no_grad():
            return self.model(features.float().cpu(), with_reference=with_reference)

    def __call__(
        self,
        waveform: np.ndarray | torch.Tensor,
        sample_rate: int = SAMPLE_RATE,
        *,
        reference: SpeakerReference | None = None,
    ) -> FrameEmotion:
        """Frame-level emotion of a mono waveform.

        Args:
            waveform (`np.ndarray` or `torch.Tensor` of shape `(samples,)`): mono, at ``sample_rate``.
            sample_rate: its rate (16 kHz expected; any multiple of 50 Hz works).
            reference: the speaker's neutral reference (see :func:`~emogen.diarize.features.speaker_reference`);
                default: this recording's own medians and the reference-free head.
        """
        prosody = prosody_features(waveform, sample_rate)
        feats, speech = window_features(prosody, window_s=self.window_s, reference=reference)
        if not speech.any():  # nothing to read an emotion from: neutral, flat
            logger.warning("No voiced speech found; the emotion is reported as neutral.")
            vad = torch.zeros(prosody.num_frames, 3)
            probs = torch.zeros(prosody.num_frames, len(LABELS))
            probs[:, LABELS.index("neutral")] = 1.0
            return FrameEmotion(vad=vad, probs=probs, speech=speech, fps=prosody.fps)
        vad, probs = self.predict_features(feats, with_reference=reference is not None)
        return FrameEmotion(vad=vad, probs=probs, speech=speech, fps=prosody.fps)


# ---------------------------------------------------------------------------------------------------- transformers
#: Label names used by common speech-emotion corpora / models that are not emogen synonyms
#: (IEMOCAP: ang, hap, exc, neu, sad, fru, sur, fea, dis; RAVDESS: calm; TESS: "ps" = pleasant surprise).
_MODEL_LABEL_ALIASES: dict[str, str] = {
    "ang": "angry", "hap": "happy", "exc": "happy", "excited": "happy", "neu": "neutral", "fru": "angry",
    "sur": "surprised", "fea": "fearful", "dis": "disgusted", "con": "contempt", "ps": "surprised",
    "pleasant_surprise": "surprised", "pleasant surprise": "surprised", "boredom": "neutral", "bored": "neutral",
}  # fmt: skip
_DIMENSIONS = ("valence", "arousal", "dominance")


def map_model_label(name: str) -> str | None:
    """emogen label for a model's label name (case-insensitive; abbreviations such as IEMOCAP's ``ang``, ``hap``),
    or ``None`` when it has none (``other``, ``unknown``, …)."""
    key = str(name).strip().lower().replace("-", "_")
    if key in _MODEL_LABEL_ALIASES:
        return _MODEL_LABEL_ALIASES[key]
    try:
        return canonical_label(key.replace("_", " "))
    except ValueError:
        return None


def _energy_speech_mask(waveform: np.ndarray, sample_rate: int) -> torch.Tensor:
    """Frames (50 Hz) whose centred 1 s window holds energy within 35 dB of the loud frames."""
    from scipy.ndimage import uniform_filter1d

    from ..audio import _power_spectrogram

    power = _power_spectrogram(torch.as_tensor(waveform, dtype=torch.float32).unsqueeze(0), sample_rate)[0]
    e = 10.0 * torch.log10(power.sum(-1).double() + 1e-10).numpy()
    active = (e > np.percentile(e, 95) - 35.0).astype(np.float64)
    return torch.from_numpy(uniform_filter1d(active, size=int(FEATURE_FPS), mode="constant") > 0.04)


class TransformersEmotionBackend:
    """A local ``transformers`` audio-classification model as a frame-level backend.

    Args:
        model: an ``AutoModelForAudioClassification`` model (eval mode).
        feature_extractor: its feature extractor.
        window_s: length of each analysis window in seconds.
        hop_s: hop between windows in seconds.
        batch_size: windows per forward pass.
        name: a name for reports (the model path).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        feature_extractor,
        *,
        window_s: float = 2.0,
        hop_s: float = 0.5,
        batch_size: int = 8,
        name: str = "transformers",
    ) -> None:
        if not (window_s > 0 and hop_s > 0 and hop_s <= window_s):
            raise ValueError(f"Need 0 < hop_s <= window_s, got window_s={window_s!r}, hop_s={hop_s!r}.")
        if not (isinstance(batch_size, int) and batch_size >= 1):
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        self.model = model.eval()
        self.feature_extractor = feature_extractor
        self.window_s, self.hop_s, self.batch_size, self.name = float(window_s), float(hop_s), batch_size, name
        self.sample_rate = int(getattr(feature_extractor, "sampling_rate", SAMPLE_RATE) or SAMPLE_RATE)
        id2label = {int(k): str(v) for k, v in model.config.id2label.items()}
        names = [id2label[i] for i in range(len(id2label))]
        lowered = [n.strip().lower() for n in names]
        if set(lowered) <= set(_DIMENSIONS) and len(lowered) >= 2:
            self.mode = "dimensional"
            self.dim_index = {d: lowered.index(d) for d in _DIMENSIONS if d in lowered}
            self.label_matrix = None
            logger.info("%s: dimensional model with outputs %s (read as [0, 1] → [-1, 1]).", name, names)
            return
        self.mode = "categorical"
        matrix = torch.zeros(len(names), len(LABELS))
        dropped = []
        for i, label in enumerate(names):
            mapped = map_model_label(label)
            if mapped is None:
                dropped.append(label)
            else:
                matrix[i, LABELS.index(mapped)] = 1.0
        if matrix.sum() == 0:
            raise ValueError(
                f"None of the model's labels {names} maps to emogen's labels {LABELS} (or to arousal/valence/"
                "dominance); rename them in the model's config.json id2label."
            )
        if dropped:
            logger.warning("%s: labels %s have no emogen equivalent; their probability is dropped.", name, dropped)
        self.label_matrix = matrix
        self.mapping = {n: (map_model_label(n) or None) for n in names}

    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        **kwargs,
    ) -> TransformersEmotionBackend:
        """Load a local model directory (never the hub: ``local_files_only=True``)."""
        from transformers import AutoFeatureExtractor, AutoModelForAudioClassification

        path = Path(path)
        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"{str(path)!r} is not a transformers model directory (no config.json). Pass 'prosody' or the path "
                "of a local audio-classification model."
            )
        try:
            extractor = AutoFeatureExtractor.from_pretrained(str(path), local_files_only=True)
            model = AutoModelForAudioClassification.from_pretrained(str(path), local_files_only=True)
        except (OSError, ValueError, KeyError) as err:
            raise ValueError(f"Could not load an audio-classification model from {str(path)!r}: {err}") from None
        model = model.to(device=device, dtype=dtype) if (device is not None or dtype is not None) else model
        return cls(model, extractor, name=str(path), **kwargs)

    @torch.no_grad()
    def __call__(
        self, waveform: np.ndarray | torch.Tensor, sample_rate: int = SAMPLE_RATE, **_: object
    ) -> FrameEmotion:
        """Frame-level emotion of a mono waveform (resampled to the model's rate if needed)."""
        from tqdm.auto import tqdm

        from ..io.audio import load_audio

        x = waveform.detach().cpu().numpy() if isinstance(waveform, torch.Tensor) else np.asarray(waveform)
        num_frames = num_feature_frames(len(x), sample_rate)
        speech = _energy_speech_mask(x, sample_rate)
        if sample_rate != self.sample_rate:
            x, _ = load_audio(x, self.sample_rate, source_rate=sample_rate, min_duration=0.0)
        sr = self.sample_rate
        win, hop = int(round(self.window_s * sr)), int(round(self.hop_s * sr))
        starts = list(range(0, max(1, len(x) - win + hop), hop)) if len(x) > win else [0]
        if len(x) > win and starts[-1] + win < len(x):
            starts.append(len(x) - win)
        device = next(self.model.parameters()).device
        dtype = next(self.model.parameters()).dtype
        outputs = []
        for b in tqdm(
            range(0, len(starts), self.batch_size), desc="emotion windows", disable=len(starts) <= self.batch_size
        ):
            chunk = [x[s : s + win] for s in starts[b : b + self.batch_size]]
            inputs = self.feature_extractor(chunk, sampling_rate=sr, return_tensors="pt", padding=True)
            inputs = {k: (v.to(device, dtype) if v.is_floating_point() else v.to(device)) for k, v in inputs.items()}
            outputs.append(self.model(**inputs).logits.float().cpu())
        logits = torch.cat(outputs)  # (windows, L)

        # Overlap-add window outputs onto the 50 Hz frame centres with a Hann weight (flat for a single window).
        times = torch.arange(num_frames, dtype=torch.float64) / FEATURE_FPS
        centres = torch.tensor([(s + min(win, len(x)) / 2) / sr for s in starts], dtype=torch.float64)
        half = min(win, len(x)) / sr / 2
        dist = (times[:, None] - centres[None, :]).abs() / max(half, 1e-6)
        weight = torch.where(dist < 1, 0.5 + 0.5 * torch.cos(math.pi * dist.clamp(max=1)), torch.zeros(()))
        weight = weight + 1e-6 * (dist == dist.min(1, keepdim=True).values)  # every frame sees its nearest window
        weight = (weight / weight.sum(1, keepdim=True)).float()

        if self.mode == "dimensional":
            values = (2.0 * logits - 1.0).clamp(-1, 1)
            vad_w = torch.zeros(len(starts), 3)
            for j, d in enumerate(_DIMENSIONS):
                if d in self.dim_index:
                    vad_w[:, j] = values[:, self.dim_index[d]]
            vad = (weight @ vad_w).clamp(-1, 1)
            probs = vad_to_probs(vad)
        else:
            p = torch.softmax(logits, dim=-1) @ self.label_matrix
            p = p / p.sum(-1, keepdim=True).clamp_min(1e-8)
            probs = weight @ p
            probs = probs / probs.sum(-1, keepdim=True)
            vad = (probs @ label_centroids()).clamp(-1, 1)
        return FrameEmotion(vad=vad, probs=probs, speech=speech, fps=FEATURE_FPS)
