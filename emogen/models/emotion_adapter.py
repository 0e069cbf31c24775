"""EmotionPromptAdapter: valence/arousal/dominance → emotional prompt embeddings for text-to-image backbones.

After EmotiCrafter (Dang, He, Ling, Qian, Zhao & Cao 2025, "EmotiCrafter: Text-to-Emotional-Image Generation based
on Valence-Arousal Model", ICCV, arXiv:2501.05710): an emotion-embedding mapping network fuses continuous emotion
values into the *token embeddings* of the prompt, and the diffusion backbone is left untouched. Here:

* each VAD axis is encoded on its own (the value and its Fourier features → one token per axis, plus a learned
  axis embedding), and the label distribution with its intensity gives a fourth token;
* the prompt tokens (projected to ``hidden_dim``) and the four emotion tokens go through a small pre-norm transformer
  whose blocks are also modulated by the pooled emotion vector (adaptive LayerNorm, as in DiT: Peebles & Xie 2023);
* the result is read off the prompt positions and projected back to the backbone's width as a **residual**:
  ``prompt_embeds + scale · Δ``. The output projection starts at zero, so a fresh adapter is exactly the identity
  (any emotion), and ``scale = 0`` always is.

The pooled prompt embedding (SDXL's ``pooled_prompt_embeds``) is not an input and is never changed. Attention runs
through :func:`torch.nn.functional.scaled_dot_product_attention` (flash / memory-efficient kernels on GPU in
fp16/bf16). Attaching the adapter to diffusers pipelines is :func:`emogen.pipelines.backbones.attach_emotion_adapter`;
training it on images with VAD labels is ``training/emotion_adapter/train.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from diffusers.utils import BaseOutput
from torch import nn

from emogen.emotion import NUM_LABELS, EmotionTrack, vad_intensity, vad_to_probs

__all__ = ["EmotionPromptAdapter", "EmotionPromptAdapterOutput"]

#: Emotion tokens prepended to the prompt tokens: valence, arousal, dominance, labels.
NUM_EMOTION_TOKENS = 4


@dataclass
class EmotionPromptAdapterOutput(BaseOutput):
    """Output of :class:`EmotionPromptAdapter`.

    Args:
        prompt_embeds (`torch.Tensor` of shape `(batch, tokens, embed_dim)`): the emotional prompt embeddings.
    """

    prompt_embeds: torch.Tensor


class _AdapterBlock(nn.Module):
    """Pre-norm transformer block with adaptive LayerNorm shift/scale from the emotion vector."""

    def __init__(self, dim: int, num_heads: int, ff_mult: int, dropout: float) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.attn_out = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False)
        self.ff = nn.Sequential(nn.Linear(dim, ff_mult * dim), nn.GELU(), nn.Linear(ff_mult * dim, dim))
        self.modulation = nn.Linear(dim, 4 * dim)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, emotion: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        shift1, scale1, shift2, scale2 = self.modulation(emotion).unsqueeze(1).chunk(4, dim=-1)
        h = self.norm1(x) * (1 + scale1) + shift1
        q, k, v = self.qkv(h).reshape(b, n, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)
        p = self.dropout if self.training else 0.0
        h = F.scaled_dot_product_attention(q, k, v, dropout_p=p)  # (b, heads, n, head_dim)
        x = x + self.attn_out(h.transpose(1, 2).reshape(b, n, d))
        return x + self.ff(self.norm2(x) * (1 + scale2) + shift2)


class EmotionPromptAdapter(ModelMixin, ConfigMixin):
    """Map prompt embeddings and an emotion (VAD, label distribution, intensity) to emotional prompt embeddings.

    Args:
        embed_dim: width of the backbone's prompt embeddings (768 for SD 1.5, 1024 for SD 2.x, 2048 for SDXL).
        hidden_dim: width of the adapter's transformer.
        num_layers: transformer blocks.
        num_heads: attention heads (``hidden_dim`` must be divisible by it).
        ff_mult: feed-forward expansion.
        num_labels: size of the label set (:data:`emogen.emotion.LABELS`).
        num_frequencies: Fourier frequencies per VAD axis.
        use_labels: also condition on the label distribution and intensity (otherwise VAD only).
        dropout: attention dropout while training.

    Example::

        >>> adapter = EmotionPromptAdapter(embed_dim=768)
        >>> out = adapter(prompt_embeds, vad=torch.tensor([[0.8, 0.5, 0.4]])).prompt_embeds  # (1, 77, 768)
    """

    @register_to_config
    def __init__(
        self,
        embed_dim: int = 768,
        hidden_dim: int = 512,
        num_layers: int = 4,
        num_heads: int = 8,
        ff_mult: int = 4,
        num_labels: int = NUM_LABELS,
        num_frequencies: int = 4,
        use_labels: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        for name, value in (("embed_dim", embed_dim), ("hidden_dim", hidden_dim), ("num_heads", num_heads)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if hidden_dim % num_heads:
            raise ValueError(f"hidden_dim ({hidden_dim}) must be divisible by num_heads ({num_heads}).")
        if not isinstance(num_layers, int) or num_layers < 0:
            raise ValueError(f"num_layers must be a non-negative integer, got {num_layers!r}.")
        self.register_buffer(
            "frequencies", math.pi * 2.0 ** torch.arange(num_frequencies, dtype=torch.float32), persistent=False
        )
        axis_dim = 1 + 2 * num_frequencies
        self.axis_proj = nn.Sequential(nn.Linear(axis_dim, hidden_dim), nn.SiLU(), nn.Linear(hidden_dim, hidden_dim))
        self.axis_embed = nn.Parameter(torch.randn(3, hidden_dim) * 0.02)
        self.label_proj = nn.Sequential(
            nn.Linear(2 * num_labels + 1, hidden_dim), nn.SiLU(), nn.Linear(hidden_dim, hidden_dim)
        )
        self.emotion_mlp = nn.Sequential(
            nn.Linear(3 * axis_dim + 2 * num_labels + 1, hidden_dim), nn.SiLU(), nn.Linear(hidden_dim, hidden_dim)
        )
        self.in_proj = nn.Linear(embed_dim, hidden_dim)
        self.blocks = nn.ModuleList(_AdapterBlock(hidden_dim, num_heads, ff_mult, dropout) for _ in range(num_layers))
        self.norm_out = nn.LayerNorm(hidden_dim)
        self.out_proj = nn.Linear(hidden_dim, embed_dim)
        nn.init.zeros_(self.out_proj.weight)  # a fresh adapter is the identity
        nn.init.zeros_(self.out_proj.bias)

    # ------------------------------------------------------------------------------------------------- inputs
    def _emotion_inputs(
        self, vad: torch.Tensor, probs: torch.Tensor | None, intensity: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Validated ``(vad (B, 3), probs (B, K), intensity (B,))`` in float32 on the adapter's device."""
        if not isinstance(vad, torch.Tensor):
            vad = torch.as_tensor(vad, dtype=torch.float32)
        if vad.ndim == 1:
            vad = vad.unsqueeze(0)
        if vad.ndim != 2 or vad.shape[-1] != 3:
            raise ValueError(f"vad must have shape (batch, 3), got {tuple(vad.shape)}.")
        vad = vad.to(self.frequencies.device, torch.float32)
        if not torch.isfinite(vad).all() or vad.abs().max() > 1.0 + 1e-4:
            raise ValueError("vad must be finite and within [-1, 1] (valence, arousal, dominance).")
        k = self.config.num_labels
        if probs is None:
            if k != NUM_LABELS:
                raise ValueError(f"This adapter uses {k} labels: pass probs of shape (batch, {k}).")
            probs = vad_to_probs(vad)
        probs = torch.as_tensor(probs).to(vad.device, torch.float32)
        if probs.ndim == 1:
            probs = probs.unsqueeze(0)
        if probs.shape != (vad.shape[0], k):
            raise ValueError(f"probs must have shape ({vad.shape[0]}, {k}), got {tuple(probs.shape)}.")
        if intensity is None:
            intensity = vad_intensity(vad, probs) if k == NUM_LABELS else vad.norm(dim=-1).clamp(max=1.0)
        intensity = torch.as_tensor(intensity).to(vad.device, torch.float32).reshape(-1)
        if intensity.shape[0] == 1 and vad.shape[0] > 1:
            intensity = intensity.expand(vad.shape[0])
        if intensity.shape != (vad.shape[0],):
            raise ValueError(f"intensity must have shape ({vad.shape[0]},), got {tuple(intensity.shape)}.")
        if not (torch.isfinite(probs).all() and torch.isfinite(intensity).all()):
            raise ValueError("probs and intensity must be finite.")
        return vad, probs, intensity

    def emotion_tokens(
        self, vad: torch.Tensor, probs: torch.Tensor | None = None, intensity: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The emotion tokens `(batch, 4, hidden_dim)` and pooled emotion vector `(batch, hidden_dim)`."""
        vad, probs, intensity = self._emotion_inputs(vad, probs, intensity)
        if not self.config.use_labels:
            probs, intensity = torch.zeros_like(probs), torch.zeros_like(intensity)
        dtype = self.in_proj.weight.dtype
        angles = vad.unsqueeze(-1) * self.frequencies  # (B, 3, F)
        axes = torch.cat([vad.unsqueeze(-1), angles.sin(), angles.cos()], dim=-1).to(dtype)  # (B, 3, 1 + 2F)
        labels = torch.cat([probs, intensity.unsqueeze(-1), intensity.unsqueeze(-1) * probs], dim=-1).to(dtype)
        tokens = torch.cat([self.axis_proj(axes) + self.axis_embed.to(dtype), self.label_proj(labels).unsqueeze(1)], 1)
        pooled = self.emotion_mlp(torch.cat([axes.flatten(1), labels], dim=-1))
        return tokens, pooled

    # ------------------------------------------------------------------------------------------------- forward
    def forward(
        self,
        prompt_embeds: torch.Tensor,
        vad: torch.Tensor,
        probs: torch.Tensor | None = None,
        intensity: torch.Tensor | None = None,
        scale: float = 1.0,
        return_dict: bool = True,
    ) -> EmotionPromptAdapterOutput | tuple[torch.Tensor]:
        """Emotional prompt embeddings.

        Args:
            prompt_embeds (`torch.Tensor` of shape `(batch, tokens, embed_dim)`): the text encoder's prompt
                embeddings (SDXL: both encoders' hidden states concatenated, as its pipelines build them).
            vad (`torch.Tensor` of shape `(batch, 3)` or `(3,)`): valence, arousal, dominance in [-1, 1].
            probs (`torch.Tensor` of shape `(batch, K)`, *optional*): label distribution; default: the soft
                assignment of ``vad`` (:func:`emogen.emotion.vad_to_probs`).
            intensity (`torch.Tensor` of shape `(batch,)`, *optional*): default :func:`emogen.emotion.vad_intensity`.
            scale: emotion strength; the residual is multiplied by it (0 gives ``prompt_embeds`` back).

        A batch of one on either side broadcasts against the other (one prompt, many emotions, or the reverse).

        Returns:
            :class:`EmotionPromptAdapterOutput` (or a one-tuple) in the dtype and device of ``prompt_embeds``.
        """
        if not isinstance(prompt_embeds, torch.Tensor) or prompt_embeds.ndim != 3:
            got = tuple(prompt_embeds.shape) if isinstance(prompt_embeds, torch.Tensor) else type(prompt_embeds)
            raise ValueError(f"prompt_embeds must be a tensor of shape (batch, tokens, embed_dim), got {got}.")
        if prompt_embeds.shape[-1] != self.config.embed_dim:
            raise ValueError(
                f"This adapter was built for embed_dim={self.config.embed_dim}; prompt_embeds have width "
                f"{prompt_embeds.shape[-1]}."
            )
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale):
            raise ValueError(f"scale must be a finite number, got {scale!r}.")
        tokens, pooled = self.emotion_tokens(vad, probs, intensity)
        bp, be = prompt_embeds.shape[0], tokens.shape[0]
        if bp != be and 1 not in (bp, be):
            raise ValueError(f"prompt_embeds hold {bp} prompts but {be} emotions were given; pass 1 or {bp}.")
        b = max(bp, be)
        dtype = self.in_proj.weight.dtype
        x = self.in_proj(prompt_embeds.to(tokens.device, dtype)).expand(b, -1, -1)
        tokens, pooled = tokens.expand(b, -1, -1), pooled.expand(b, -1)
        h = torch.cat([tokens, x], dim=1)
        for block in self.blocks:
            h = block(h, pooled)
        delta = self.out_proj(self.norm_out(h[:, NUM_EMOTION_TOKENS:]))
        out = prompt_embeds.expand(b, -1, -1) + (scale * delta).to(prompt_embeds.device, prompt_embeds.dtype)
        if not return_dict:
            return (out,)
        return EmotionPromptAdapterOutput(prompt_embeds=out)

    def frame_embeds(self, prompt_embeds: torch.Tensor, track: EmotionTrack, scale: float = 1.0) -> torch.Tensor:
        """Per-frame emotional prompt embeddings for every prompt: one emotion state per frame of ``track``.

        Args:
            prompt_embeds (`torch.Tensor` of shape `(batch, tokens, embed_dim)`)
            track: an :class:`~emogen.emotion.EmotionTrack` of ``frames`` frames.

        Returns:
            `torch.Tensor` of shape `(batch, frames, tokens, embed_dim)`.
        """
        if not isinstance(track, EmotionTrack):
            raise TypeError(f"track must be an EmotionTrack, got {type(track).__name__}.")
        if track.probs.shape[-1] != self.config.num_labels:
            raise ValueError(
                f"The track has {track.probs.shape[-1]} labels; this adapter uses {self.config.num_labels}."
            )
        b, t = prompt_embeds.shape[0], track.num_frames
        rows = prompt_embeds.repeat_interleave(t, dim=0)  # (b·t, L, D): prompt-major, frame-minor
        out = self(
            rows,
            vad=track.vad.repeat(b, 1),
            probs=track.probs.repeat(b, 1),
            intensity=track.intensity.repeat(b),
            scale=scale,
        ).prompt_embeds
        return out.reshape(b, t, *prompt_embeds.shape[1:])
