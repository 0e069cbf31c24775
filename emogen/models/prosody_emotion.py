"""``ProsodyEmotionHead``: prosodic window features → valence/arousal/dominance and label probabilities.

The learned part of the default speech-emotion diarizer (:class:`~emogen.diarize.ProsodyEmotionBackend`): per head,
a standardisation, a ridge map to VAD and a multinomial logistic map to :data:`~emogen.emotion.LABELS`, calibrated on
speech synthesised with emogen's own emotional TTS (``training/diarizer/calibrate.py``; numbers in
``weights/diarizer/README.md``). Two heads: ``head`` reads a recording on its own (absolute loudness and F0 level
included), ``reference_head`` reads it relative to a neutral reference recording of the same speaker.
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from ..diarize.features import FEATURE_NAMES
from ..emotion import LABELS, vad_to_probs

__all__ = ["LABEL_MODES", "LinearHead", "ProsodyEmotionHead"]

#: ``"logistic"``: the calibrated classifier; ``"vad"``: soft assignment of the predicted VAD to the label centroids.
LABEL_MODES = ("logistic", "vad")


class LinearHead(nn.Module):
    """Standardisation + ridge map to VAD + logistic map to labels, over ``num_features`` window features.

    Buffers: ``feature_mean``, ``feature_std`` `(F,)`; ``vad_weight`` `(3, F)`, ``vad_bias`` `(3,)`;
    ``label_weight`` `(K, F)`, ``label_bias`` `(K,)`.
    """

    TENSORS = ("feature_mean", "feature_std", "vad_weight", "vad_bias", "label_weight", "label_bias")

    def __init__(self, num_features: int, num_labels: int) -> None:
        super().__init__()
        f, k = num_features, num_labels
        for name, shape in zip(self.TENSORS, ((f,), (f,), (3, f), (3,), (k, f), (k,)), strict=True):
            self.register_buffer(name, torch.ones(shape) if name == "feature_std" else torch.zeros(shape))

    def set_tensors(self, **tensors: torch.Tensor) -> LinearHead:
        """Fill the head (all six tensors, shapes as the buffers); returns ``self``."""
        missing = [n for n in self.TENSORS if n not in tensors]
        if missing or set(tensors) - set(self.TENSORS):
            raise ValueError(f"LinearHead needs exactly the tensors {self.TENSORS}; missing {missing}.")
        for name, value in tensors.items():
            buf = getattr(self, name)
            value = torch.as_tensor(value, dtype=torch.float32)
            if tuple(value.shape) != tuple(buf.shape):
                raise ValueError(f"LinearHead.{name} must have shape {tuple(buf.shape)}, got {tuple(value.shape)}.")
            if not torch.isfinite(value).all():
                raise ValueError(f"LinearHead.{name} holds NaN or infinite values.")
            buf.copy_(value.clamp_min(1e-6) if name == "feature_std" else value)
        return self

    def forward(self, features: torch.Tensor, label_mode: str = "logistic") -> tuple[torch.Tensor, torch.Tensor]:
        """``(vad, probs)``, shapes `(frames, 3)` (clipped to [-1, 1]) and `(frames, K)`, of features `(frames, F)`."""
        z = (features.to(self.feature_mean) - self.feature_mean) / self.feature_std
        z = z.clamp(-6.0, 6.0)  # out-of-range inputs (odd recordings) must not extrapolate wildly
        vad = (z @ self.vad_weight.T + self.vad_bias).clamp(-1.0, 1.0)
        if label_mode == "logistic":
            probs = torch.softmax(z @ self.label_weight.T + self.label_bias, dim=-1)
        else:
            probs = vad_to_probs(vad)
        return vad, probs


class ProsodyEmotionHead(ModelMixin, ConfigMixin):
    """The calibrated heads of the prosodic diarizer.

    Args:
        feature_names: the window features the heads read, in order (must equal this emogen's
            :data:`~emogen.diarize.features.FEATURE_NAMES`).
        labels: the label set of ``probs`` (must equal :data:`~emogen.emotion.LABELS`).
        window_s: analysis window of the features in seconds.
        label_mode: one of :data:`LABEL_MODES`.
        with_reference_head: whether a second head for reference-normalised features exists.
    """

    @register_to_config
    def __init__(
        self,
        feature_names: tuple[str, ...] = FEATURE_NAMES,
        labels: tuple[str, ...] = LABELS,
        window_s: float = 1.0,
        label_mode: str = "logistic",
        with_reference_head: bool = True,
    ) -> None:
        super().__init__()
        if tuple(feature_names) != FEATURE_NAMES:
            raise ValueError(
                f"These weights were made for features {tuple(feature_names)}, this emogen computes {FEATURE_NAMES}."
            )
        if tuple(labels) != LABELS:
            raise ValueError(f"These weights were made for labels {tuple(labels)}, emogen uses {LABELS}.")
        if label_mode not in LABEL_MODES:
            raise ValueError(f"label_mode must be one of {LABEL_MODES}, got {label_mode!r}.")
        if isinstance(window_s, bool) or not isinstance(window_s, (int, float)) or not 0.1 <= window_s <= 10:
            raise ValueError(f"window_s must be in [0.1, 10] seconds, got {window_s!r}.")
        self.head = LinearHead(len(FEATURE_NAMES), len(LABELS))
        self.reference_head = LinearHead(len(FEATURE_NAMES), len(LABELS)) if with_reference_head else None

    def forward(self, features: torch.Tensor, with_reference: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Apply a head to window features `(frames, F)` → ``(vad (frames, 3), probs (frames, K))``.

        ``with_reference`` selects the reference head (features computed against a neutral reference).
        """
        head = self.reference_head if (with_reference and self.reference_head is not None) else self.head
        return head(features, self.config.label_mode)
