"""EmotionEncoder: EmotionTrack → EmotionConditioning for diffusion models."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from emogen.emotion import NUM_LABELS, EmotionConditioning, EmotionTrack

__all__ = ["EmotionEncoder"]


class EmotionEncoder(ModelMixin, ConfigMixin):
    """Encode emotion tracks into per-frame tokens, a pooled vector and a mask.

    Per frame the input features are: VAD ``(3)``, Fourier features of VAD ``(3 · 2 · num_frequencies)``, the label
    distribution ``(K)``, intensity ``(1)``, intensity-weighted labels ``(K)`` and the VAD velocity ``(3)``
    (from the track's dynamics, or finite differences). A per-frame MLP and a depthwise temporal convolution give the
    tokens; a masked mean and a projection give the pooled vector. ``null_embed`` / ``null_pooled`` are learned
    "no emotion" embeddings for classifier-free guidance (:meth:`null_conditioning`).

    Args:
        num_labels: size of the label set (:data:`emogen.emotion.LABELS`).
        embed_dim: token and pooled width ``D``.
        hidden_dim: width of the per-frame MLP.
        num_frequencies: Fourier frequencies per VAD axis.
        temporal_kernel: kernel size of the temporal convolution (odd).
    """

    @register_to_config
    def __init__(
        self,
        num_labels: int = NUM_LABELS,
        embed_dim: int = 128,
        hidden_dim: int = 256,
        num_frequencies: int = 4,
        temporal_kernel: int = 5,
    ) -> None:
        super().__init__()
        if temporal_kernel % 2 != 1:
            raise ValueError(f"temporal_kernel must be odd, got {temporal_kernel}.")
        in_dim = 3 + 3 * 2 * num_frequencies + 2 * num_labels + 1 + 3
        self.register_buffer(
            "frequencies", math.pi * 2.0 ** torch.arange(num_frequencies, dtype=torch.float32), persistent=False
        )
        self.frame_mlp = nn.Sequential(
            nn.Linear(in_dim, hidden_dim), nn.SiLU(), nn.Linear(hidden_dim, embed_dim), nn.LayerNorm(embed_dim)
        )
        self.temporal = nn.Conv1d(
            embed_dim, embed_dim, temporal_kernel, padding=temporal_kernel // 2, groups=embed_dim
        )
        self.pool_proj = nn.Sequential(nn.Linear(embed_dim, embed_dim), nn.SiLU(), nn.Linear(embed_dim, embed_dim))
        self.null_embed = nn.Parameter(torch.zeros(embed_dim))
        self.null_pooled = nn.Parameter(torch.zeros(embed_dim))
        nn.init.normal_(self.null_embed, std=0.02)
        nn.init.normal_(self.null_pooled, std=0.02)

    def features(self, track: EmotionTrack) -> torch.Tensor:
        """Per-frame input features, `torch.Tensor` of shape `(frames, in_dim)`."""
        if track.probs.shape[-1] != self.config.num_labels:
            raise ValueError(
                f"This encoder was built for {self.config.num_labels} labels; the track has {track.probs.shape[-1]}."
            )
        device, dtype = self.frequencies.device, self.dtype
        vad = track.vad.to(device, dtype)
        probs = track.probs.to(device, dtype)
        intensity = track.intensity.to(device, dtype).unsqueeze(-1)
        if track.velocity is not None:
            velocity = track.velocity.to(device, dtype)
        elif track.num_frames > 1:
            velocity = torch.gradient(vad, spacing=1.0 / track.fps, dim=0)[0]
        else:
            velocity = torch.zeros_like(vad)
        angles = vad.unsqueeze(-1) * self.frequencies.to(dtype)  # (T, 3, F)
        fourier = torch.cat([angles.sin(), angles.cos()], dim=-1).flatten(1)
        return torch.cat([vad, fourier, probs, intensity, intensity * probs, velocity], dim=-1)

    def forward(
        self,
        tracks: EmotionTrack | Sequence[EmotionTrack],
        num_frames: int | None = None,
        fps: float | None = None,
    ) -> EmotionConditioning:
        """Encode one track or a batch of tracks.

        Tracks are resampled to ``fps`` (default: the first track's) and padded to ``num_frames`` (default: the
        longest); ``mask`` marks the valid frames.

        Returns:
            :class:`EmotionConditioning` with ``embeds (batch, num_frames, D)``, ``pooled (batch, D)``,
            ``mask (batch, num_frames)``.
        """
        if isinstance(tracks, EmotionTrack):
            tracks = [tracks]
        tracks = list(tracks)
        if not tracks or not all(isinstance(t, EmotionTrack) for t in tracks):
            raise TypeError("EmotionEncoder expects an EmotionTrack or a non-empty list of them.")
        fps = float(fps or tracks[0].fps)
        tracks = [t if t.fps == fps else t.resample(fps=fps) for t in tracks]
        lengths = [t.num_frames for t in tracks]
        if num_frames is None:
            num_frames = max(lengths)
        tracks = [t if t.num_frames <= num_frames else t.slice(0, num_frames) for t in tracks]
        feats = [self.features(t) for t in tracks]
        x = torch.zeros(len(feats), num_frames, feats[0].shape[-1], device=feats[0].device, dtype=feats[0].dtype)
        mask = torch.zeros(len(feats), num_frames, dtype=torch.bool, device=x.device)
        for i, f in enumerate(feats):
            x[i, : f.shape[0]] = f
            x[i, f.shape[0] :] = f[-1]  # pad by holding the last state (keeps the convolution edge clean)
            mask[i, : f.shape[0]] = True
        h = self.frame_mlp(x)
        h = h + self.temporal(h.transpose(1, 2)).transpose(1, 2)
        return EmotionConditioning(embeds=h, pooled=self.pool(h, mask), mask=mask, fps=fps)

    def pool(self, embeds: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The pooled vector `(batch, D)` of per-frame ``embeds`` `(batch, frames, D)` over the valid frames."""
        m = mask.unsqueeze(-1).to(embeds.dtype)
        return self.pool_proj((embeds * m).sum(1) / m.sum(1).clamp(min=1.0))

    def window(self, conditioning: EmotionConditioning, start: int, stop: int) -> EmotionConditioning:
        """The conditioning of frames ``[start, stop)``, pooled over that window alone.

        The motion denoiser is trained on windows of a few seconds, each pooled on its own; sampling a long clip
        window by window conditions each window this way, so the clip's conditioning is one tensor of per-frame
        embeddings and passing it back reproduces the clip exactly.
        """
        embeds, mask = conditioning.embeds[:, start:stop], conditioning.mask[:, start:stop]
        return EmotionConditioning(embeds=embeds, pooled=self.pool(embeds, mask), mask=mask, fps=conditioning.fps)

    def null_conditioning(self, batch_size: int, num_frames: int, fps: float = 25.0) -> EmotionConditioning:
        """The learned "no emotion" conditioning (classifier-free guidance's unconditional branch)."""
        embeds = self.null_embed.reshape(1, 1, -1).expand(batch_size, num_frames, -1)
        pooled = self.null_pooled.reshape(1, -1).expand(batch_size, -1)
        mask = torch.ones(batch_size, num_frames, dtype=torch.bool, device=embeds.device)
        return EmotionConditioning(embeds=embeds, pooled=pooled, mask=mask, fps=fps)
