"""``EmotionConditioning``: what diffusion models consume from the control layer (also in :mod:`emogen.emotion`)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from .utils import dataclass_to

__all__ = ["EmotionConditioning"]


@dataclass(frozen=True)
class EmotionConditioning:
    """What diffusion models consume: per-frame emotion tokens, a pooled vector and a mask.

    Args:
        embeds (`torch.Tensor` of shape `(batch, frames, dim)`): per-frame tokens.
        pooled (`torch.Tensor` of shape `(batch, dim)`): one vector per clip (for AdaLN).
        mask (`torch.Tensor` of shape `(batch, frames)`, bool): True where a frame is valid.
        fps: frame rate of ``embeds``.
    """

    embeds: torch.Tensor
    pooled: torch.Tensor
    mask: torch.Tensor
    fps: float

    def __post_init__(self) -> None:
        if self.embeds.ndim != 3:
            raise ValueError(f"embeds must have shape (batch, frames, dim), got {tuple(self.embeds.shape)}.")
        b, t, d = self.embeds.shape
        if self.pooled.shape != (b, d):
            raise ValueError(f"pooled must have shape ({b}, {d}), got {tuple(self.pooled.shape)}.")
        if self.mask.shape != (b, t):
            raise ValueError(f"mask must have shape ({b}, {t}), got {tuple(self.mask.shape)}.")

    @property
    def batch_size(self) -> int:
        return self.embeds.shape[0]

    @property
    def num_frames(self) -> int:
        return self.embeds.shape[1]

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> EmotionConditioning:
        return dataclass_to(self, device, dtype)

    def repeat_interleave(self, repeats: int) -> EmotionConditioning:
        """Repeat each clip ``repeats`` times along the batch (``num_videos_per_prompt`` style)."""
        return replace(
            self,
            embeds=self.embeds.repeat_interleave(repeats, 0),
            pooled=self.pooled.repeat_interleave(repeats, 0),
            mask=self.mask.repeat_interleave(repeats, 0),
        )
