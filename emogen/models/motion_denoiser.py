"""MotionDenoiser: a diffusion transformer over frames that turns speech audio and emotion into facial motion.

The model denoises a motion clip ``x`` of shape ``(batch, frames, 60)`` at 25 fps, channels laid out as
:data:`MOTION_CHANNEL_GROUPS` (52 ARKit blendshapes in :data:`emogen.arkit.ARKIT_BLENDSHAPES` order, head rotation
(3), head translation (3), gaze (2)) and normalised per channel with the ``motion_mean`` / ``motion_std`` buffers
(corpus statistics saved with the weights).

Architecture (DiT-style; Peebles & Xie 2023, "Scalable Diffusion Models with Transformers"):

* input tokens: ``Linear([x_t, prefix · m, m])`` where ``prefix`` is known motion on the first frames and ``m`` its
  mask (the continuity channel used by windowed sampling of long audio);
* audio: frame-aligned log-mel features ``(batch, frames, audio_dim)`` → Linear + residual temporal convolutions →
  **added** to the tokens (optionally also attended to by cross-attention in every block); a learned null audio
  embedding replaces them for classifier-free guidance;
* emotion: :class:`~emogen.emotion.EmotionConditioning` — per-frame ``embeds`` projected and **added** to the tokens;
  ``pooled`` projected and added to the timestep embedding, which drives adaptive LayerNorm (shift, scale and a
  zero-initialised gate per sub-layer: adaLN-Zero) in every block;
* self-attention over frames with rotary positions (full, or local within ``attention_window`` frames), computed with
  :func:`torch.nn.functional.scaled_dot_product_attention` (or xformers, or the naive reference).

**Prediction target: the clean sample** (``prediction_type="sample"`` in the scheduler config; MDM, Tevet et al.
2023, and EDGE, Tseng et al. 2023, do the same for motion). Predicting ``x0`` lets training add a velocity loss on
the motion itself, and classifier-free guidance on ``x0`` equals guidance on ε because the two are affine in each
other at a fixed ``x_t`` and the guidance weights sum to one.

Guidance (:meth:`MotionDenoiser.guided_forward`) composes two scales:
``x̂ = x̂_∅ + s_a (x̂_audio − x̂_∅) + s_e (x̂_audio+emotion − x̂_audio)``; raising ``s_e`` only adds the emotion
direction measured *with* audio present, so stronger emotion never removes lip sync. The passes with a non-zero
weight run as one batched forward.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from diffusers.models.modeling_utils import ModelMixin
from diffusers.utils import BaseOutput
from torch import nn

from emogen.emotion import EmotionConditioning
from emogen.models.attention import ATTN_IMPLEMENTATIONS, FrameAttention, band_mask, rotary_embedding
from emogen.motion.track import MOTION_CHANNEL_GROUPS, channel_slices, pack_motion, unpack_motion

__all__ = ["MotionDenoiser", "MotionDenoiserOutput"]

logger = logging.getLogger(__name__)


@dataclass
class MotionDenoiserOutput(BaseOutput):
    """Output of :class:`MotionDenoiser`.

    Args:
        sample (`torch.Tensor` of shape `(batch, frames, channels)`): the predicted clean motion (normalised).
    """

    sample: torch.Tensor


def _modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1.0 + scale) + shift


class AudioEncoder(nn.Module):
    """Frame-aligned audio features → tokens: Linear, then residual temporal convolutions, then LayerNorm.

    Args:
        audio_dim: input features per frame (e.g. 160 = two 80-bin log-mel frames at 50 Hz per 25-fps frame).
        dim: model width.
        kernel_size: temporal kernel (odd; 5 frames = ±80 ms of coarticulation context).
        num_layers: residual conv layers.
    """

    def __init__(self, audio_dim: int, dim: int, kernel_size: int = 5, num_layers: int = 2) -> None:
        super().__init__()
        self.proj = nn.Linear(audio_dim, dim)
        self.convs = nn.ModuleList(
            nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(dim)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """`(batch, frames, audio_dim)` → `(batch, frames, dim)`."""
        h = self.proj(features).transpose(1, 2)
        for conv in self.convs:
            h = h + conv(F.silu(h))
        return self.norm(h.transpose(1, 2))


class MotionTransformerBlock(nn.Module):
    """Self-attention (+ optional audio cross-attention) + MLP, each modulated by adaLN-Zero from ``cond``."""

    def __init__(self, dim: int, num_heads: int, ff_dim: int, cross_attention: bool, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = FrameAttention(dim, num_heads)
        self.cross_attention = cross_attention
        if cross_attention:
            self.norm_cross = nn.LayerNorm(dim, eps=1e-6)
            self.cross_attn = FrameAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.ff = nn.Sequential(
            nn.Linear(dim, ff_dim), nn.GELU(approximate="tanh"), nn.Dropout(dropout), nn.Linear(ff_dim, dim)
        )
        self.dropout = nn.Dropout(dropout)
        self.modulation = nn.Linear(dim, 6 * dim)
        nn.init.zeros_(self.modulation.weight)
        nn.init.zeros_(self.modulation.bias)

    def forward(
        self,
        hidden_states: torch.Tensor,
        cond: torch.Tensor,
        rope: tuple[torch.Tensor, torch.Tensor],
        attn_mask: torch.Tensor | None,
        audio_tokens: torch.Tensor | None = None,
    ) -> torch.Tensor:
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(F.silu(cond)).unsqueeze(1).chunk(6, dim=-1)
        h = hidden_states
        h = h + gate1 * self.dropout(
            self.attn(_modulate(self.norm1(h), shift1, scale1), rope=rope, attn_mask=attn_mask)
        )
        if self.cross_attention and audio_tokens is not None:
            h = h + self.dropout(
                self.cross_attn(self.norm_cross(h), context=audio_tokens, rope=rope, attn_mask=attn_mask)
            )
        h = h + gate2 * self.dropout(self.ff(_modulate(self.norm2(h), shift2, scale2)))
        return h


class MotionDenoiser(ModelMixin, ConfigMixin):
    """Diffusion transformer over frames: noisy motion + audio + emotion → clean motion.

    Args:
        motion_channels: channels of the motion tensor (60 for the default layout).
        channel_groups: layout as ``[[field, width], …]``; widths must sum to ``motion_channels``.
        audio_dim: frame-aligned audio features per frame
            (:func:`emogen.models.motion_sampling.frame_audio_features`).
        emotion_embed_dim: width of :class:`~emogen.emotion.EmotionConditioning` tokens (the encoder's ``embed_dim``).
        hidden_dim: transformer width.
        num_layers: transformer blocks.
        num_heads: attention heads (``hidden_dim / num_heads`` must be even).
        ff_mult: MLP width as a multiple of ``hidden_dim``.
        audio_kernel_size: temporal kernel of the audio encoder.
        audio_conv_layers: residual conv layers of the audio encoder.
        audio_cross_attention: also cross-attend to the audio tokens in every block.
        attention_window: local attention half-width in frames (``None``: full attention).
        rope_theta: RoPE base.
        dropout: dropout in blocks (training only).
        fps: frame rate the model was trained at.
        mel_bins: log-mel bins per audio frame (``audio_dim`` is a multiple of it).
        mel_fps: frame rate of the log-mel features.
    """

    _supports_gradient_checkpointing = False

    @register_to_config
    def __init__(
        self,
        motion_channels: int = 60,
        channel_groups: Sequence[Sequence] = MOTION_CHANNEL_GROUPS,
        audio_dim: int = 160,
        emotion_embed_dim: int = 64,
        hidden_dim: int = 128,
        num_layers: int = 4,
        num_heads: int = 4,
        ff_mult: int = 4,
        audio_kernel_size: int = 5,
        audio_conv_layers: int = 2,
        audio_cross_attention: bool = False,
        attention_window: int | None = None,
        rope_theta: float = 10000.0,
        dropout: float = 0.0,
        fps: float = 25.0,
        mel_bins: int = 80,
        mel_fps: float = 50.0,
    ) -> None:
        super().__init__()
        widths = [int(w) for _, w in channel_groups]
        if sum(widths) != motion_channels:
            raise ValueError(f"channel_groups widths sum to {sum(widths)}, but motion_channels={motion_channels}.")
        if attention_window is not None and attention_window < 1:
            raise ValueError(f"attention_window must be None or >= 1, got {attention_window!r}.")
        if audio_dim % mel_bins:
            raise ValueError(f"audio_dim={audio_dim} must be a multiple of mel_bins={mel_bins}.")
        d = hidden_dim
        self.register_buffer("motion_mean", torch.zeros(motion_channels))
        self.register_buffer("motion_std", torch.ones(motion_channels))
        self.register_buffer("audio_mean", torch.zeros(audio_dim))
        self.register_buffer("audio_std", torch.ones(audio_dim))

        self.proj_in = nn.Linear(2 * motion_channels + 1, d)
        self.time_proj = Timesteps(d, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embedding = TimestepEmbedding(d, d)
        self.pooled_proj = nn.Sequential(nn.Linear(emotion_embed_dim, d), nn.SiLU(), nn.Linear(d, d))
        self.emotion_proj = nn.Linear(emotion_embed_dim, d)
        self.audio_encoder = AudioEncoder(audio_dim, d, audio_kernel_size, audio_conv_layers)
        self.null_audio_embedding = nn.Parameter(torch.randn(d) * 0.02)
        self.blocks = nn.ModuleList(
            MotionTransformerBlock(d, num_heads, ff_mult * d, audio_cross_attention, dropout)
            for _ in range(num_layers)
        )
        self.norm_out = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.modulation_out = nn.Linear(d, 2 * d)
        self.proj_out = nn.Linear(d, motion_channels)
        for layer in (self.modulation_out, self.proj_out):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    # ------------------------------------------------------------------------------------------- attention switches
    def set_attn_implementation(self, implementation: str) -> None:
        """Use ``"sdpa"`` (default), ``"xformers"`` or ``"naive"`` attention in every block."""
        if implementation not in ATTN_IMPLEMENTATIONS:
            raise ValueError(
                f"Unknown attention implementation {implementation!r}; accepted: {', '.join(ATTN_IMPLEMENTATIONS)}."
            )
        if implementation == "xformers":
            self.set_use_xformers(True)
            return
        for module in self.modules():
            if isinstance(module, FrameAttention):
                module.set_attn_implementation(implementation)

    def set_use_xformers(self, enabled: bool = True, attention_op=None) -> None:
        """Switch xformers attention on/off (same as ``enable_xformers_memory_efficient_attention``).

        Raises:
            ModuleNotFoundError: if ``enabled`` and xformers is not importable.
        """
        self.set_use_memory_efficient_attention_xformers(enabled, attention_op)

    @property
    def attn_implementation(self) -> str:
        impls = {m.attn_implementation for m in self.modules() if isinstance(m, FrameAttention)}
        return impls.pop() if len(impls) == 1 else "mixed"

    # ------------------------------------------------------------------------------------------------ normalisation
    @property
    def channel_slices(self) -> dict[str, slice]:
        """Field name → slice of the channel axis."""
        return channel_slices(self.config.channel_groups)

    def set_normalization(
        self,
        motion_mean: torch.Tensor,
        motion_std: torch.Tensor,
        audio_mean: torch.Tensor | None = None,
        audio_std: torch.Tensor | None = None,
        min_std: float = 1e-2,
    ) -> None:
        """Store corpus statistics (std floored at ``min_std`` so constant channels stay finite)."""
        c, a = self.config.motion_channels, self.config.audio_dim
        for name, value, n in (
            ("motion_mean", motion_mean, c),
            ("motion_std", motion_std, c),
            ("audio_mean", audio_mean, a),
            ("audio_std", audio_std, a),
        ):
            if value is None:
                continue
            value = torch.as_tensor(value, dtype=torch.float32).reshape(-1)
            if value.numel() != n:
                raise ValueError(f"{name} must have {n} values, got {value.numel()}.")
            if name.endswith("std"):
                value = value.clamp_min(min_std)
            getattr(self, name).copy_(value.to(getattr(self, name).device))

    def normalize_motion(self, motion: torch.Tensor) -> torch.Tensor:
        """Physical motion `(…, channels)` → model space."""
        return (motion - self.motion_mean.to(motion.dtype)) / self.motion_std.to(motion.dtype)

    def denormalize_motion(self, motion: torch.Tensor) -> torch.Tensor:
        """Model space `(…, channels)` → physical motion (ARKit weights, radians, …)."""
        return motion * self.motion_std.to(motion.dtype) + self.motion_mean.to(motion.dtype)

    def pack_motion(self, motions, normalize: bool = True) -> torch.Tensor:
        """One or more ``MotionTrack`` of equal length → `(batch, frames, channels)` (normalised by default)."""
        motions = list(motions) if isinstance(motions, (list, tuple)) else [motions]
        x = torch.stack([pack_motion(m, self.config.channel_groups) for m in motions]).to(self.motion_mean.device)
        return self.normalize_motion(x) if normalize else x

    def unpack_motion(self, x: torch.Tensor, fps: float | None = None, denormalize: bool = True) -> list:
        """`(batch, frames, channels)` → list of ``MotionTrack`` (denormalised by default)."""
        if x.ndim == 2:
            x = x.unsqueeze(0)
        x = x.float()
        if denormalize:
            x = self.denormalize_motion(x)
        fps = self.config.fps if fps is None else fps
        return [unpack_motion(clip.cpu(), fps, self.config.channel_groups) for clip in x]

    # ------------------------------------------------------------------------------------------------------ forward
    def _attention_mask(self, num_frames: int, frame_mask: torch.Tensor | None, device) -> torch.Tensor | None:
        mask = None
        window = self.config.attention_window
        if window is not None and num_frames > window + 1:
            mask = band_mask(num_frames, window, device)
        if frame_mask is not None and not bool(frame_mask.all()):
            keys = frame_mask.bool()[:, None, None, :]
            mask = keys if mask is None else mask & keys
            # a padded query still attends to itself, so no row is fully masked (no NaN)
            mask = mask | torch.eye(num_frames, dtype=torch.bool, device=device)[None, None]
        return mask

    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor | float | int,
        audio_features: torch.Tensor | None = None,
        emotion_embeds: torch.Tensor | None = None,
        emotion_pooled: torch.Tensor | None = None,
        emotion_mask: torch.Tensor | None = None,
        audio_mask: torch.Tensor | None = None,
        prefix: torch.Tensor | None = None,
        prefix_mask: torch.Tensor | None = None,
        frame_mask: torch.Tensor | None = None,
        return_dict: bool = True,
    ) -> MotionDenoiserOutput | tuple:
        """Predict the clean motion from a noisy one.

        Args:
            sample (`torch.Tensor` of shape `(batch, frames, channels)`): noisy normalised motion ``x_t``.
            timestep (`torch.Tensor` of shape `()` or `(batch,)`, or a number): diffusion timestep(s).
            audio_features (`torch.Tensor` of shape `(batch, frames, audio_dim)`, *optional*): frame-aligned log-mel
                features, unnormalised (the model applies ``audio_mean``/``audio_std``). ``None``: null audio.
            emotion_embeds (`torch.Tensor` of shape `(batch, frames, emotion_embed_dim)`, *optional*): per-frame
                emotion tokens (pass the encoder's null conditioning for "no emotion").
            emotion_pooled (`torch.Tensor` of shape `(batch, emotion_embed_dim)`, *optional*): clip-level emotion.
            emotion_mask (`torch.Tensor` of shape `(batch, frames)`, bool, *optional*): valid emotion frames.
            audio_mask (`torch.Tensor` of shape `(batch,)`, bool, *optional*): False replaces a clip's audio by the
                learned null embedding (condition dropout / guidance).
            prefix (`torch.Tensor` of shape `(batch, frames, channels)`, *optional*): known normalised motion.
            prefix_mask (`torch.Tensor` of shape `(batch, frames)`, *optional*): 1 where ``prefix`` is known.
            frame_mask (`torch.Tensor` of shape `(batch, frames)`, bool, *optional*): False on padding frames.
            return_dict: return a :class:`MotionDenoiserOutput` instead of a tuple.

        Returns:
            :class:`MotionDenoiserOutput` (or ``(sample,)``) with the predicted clean normalised motion.
        """
        if sample.ndim != 3 or sample.shape[-1] != self.config.motion_channels:
            raise ValueError(
                f"sample must have shape (batch, frames, {self.config.motion_channels}), got {tuple(sample.shape)}."
            )
        b, t, c = sample.shape
        dtype, device = self.proj_in.weight.dtype, sample.device
        sample = sample.to(dtype)

        # timestep (+ pooled emotion) → conditioning vector for adaLN
        timestep = torch.as_tensor(timestep, device=device)
        if timestep.ndim == 0:
            timestep = timestep[None]
        timestep = timestep.expand(b)
        cond = self.time_embedding(self.time_proj(timestep).to(dtype))
        if emotion_pooled is not None:
            if emotion_pooled.shape != (b, self.config.emotion_embed_dim):
                raise ValueError(
                    f"emotion_pooled must have shape ({b}, {self.config.emotion_embed_dim}), "
                    f"got {tuple(emotion_pooled.shape)}."
                )
            cond = cond + self.pooled_proj(emotion_pooled.to(dtype))

        # input tokens: noisy motion + known prefix + its mask
        if prefix is None:
            prefix = torch.zeros_like(sample)
            prefix_mask = torch.zeros(b, t, device=device, dtype=dtype)
        elif prefix_mask is None:
            raise ValueError("prefix_mask is required with prefix.")
        pm = prefix_mask.to(dtype).reshape(b, t, 1)
        h = self.proj_in(torch.cat([sample, prefix.to(dtype) * pm, pm], dim=-1))

        # audio tokens (frame-aligned), null embedding where absent / dropped
        null_audio = self.null_audio_embedding.to(dtype).expand(b, t, -1)
        if audio_features is None:
            audio_tokens = null_audio
        else:
            if audio_features.shape != (b, t, self.config.audio_dim):
                raise ValueError(
                    f"audio_features must have shape ({b}, {t}, {self.config.audio_dim}), "
                    f"got {tuple(audio_features.shape)}; frame-align them first (frame_audio_features)."
                )
            audio = (audio_features.to(dtype) - self.audio_mean.to(dtype)) / self.audio_std.to(dtype)
            audio_tokens = self.audio_encoder(audio)
            if audio_mask is not None:
                audio_tokens = torch.where(audio_mask.bool().to(device).reshape(b, 1, 1), audio_tokens, null_audio)
        h = h + audio_tokens

        # per-frame emotion tokens
        if emotion_embeds is not None:
            if emotion_embeds.shape != (b, t, self.config.emotion_embed_dim):
                raise ValueError(
                    f"emotion_embeds must have shape ({b}, {t}, {self.config.emotion_embed_dim}), "
                    f"got {tuple(emotion_embeds.shape)}."
                )
            tokens = self.emotion_proj(emotion_embeds.to(dtype))
            if emotion_mask is not None:
                tokens = tokens * emotion_mask.to(dtype).unsqueeze(-1)
            h = h + tokens

        rope = rotary_embedding(self.config.hidden_dim // self.config.num_heads, t, self.config.rope_theta, device)
        attn_mask = self._attention_mask(t, frame_mask, device)
        context = audio_tokens if self.config.audio_cross_attention else None
        for block in self.blocks:
            h = block(h, cond, rope, attn_mask, context)

        shift, scale = self.modulation_out(F.silu(cond)).unsqueeze(1).chunk(2, dim=-1)
        out = self.proj_out(_modulate(self.norm_out(h), shift, scale))
        if not return_dict:
            return (out,)
        return MotionDenoiserOutput(sample=out)

    # ---------------------------------------------------------------------------------------------------- guidance
    def guided_forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor | float | int,
        audio_features: torch.Tensor | None,
        emotion: EmotionConditioning | None,
        null_emotion: EmotionConditioning | None = None,
        audio_guidance_scale: float = 2.0,
        emotion_guidance_scale: float = 3.0,
        prefix: torch.Tensor | None = None,
        prefix_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Classifier-free guidance with separate audio and emotion scales, in one batched forward.

        ``x̂ = x̂(∅, ∅) + s_a [x̂(a, ∅) − x̂(∅, ∅)] + s_e [x̂(a, e) − x̂(a, ∅)]``, i.e. weights
        ``(1 − s_a, s_a − s_e, s_e)`` on the three passes; passes with weight 0 are skipped (``s_a = s_e = 1`` runs
        only the fully conditional pass, ``s_a = s_e = 0`` only the unconditional one).

        Args:
            sample, timestep, prefix, prefix_mask: as in :meth:`forward`.
            audio_features (`torch.Tensor` of shape `(batch, frames, audio_dim)`, *optional*).
            emotion: the clip's conditioning (``None``: the null conditioning is used for every pass).
            null_emotion: the emotion encoder's ``null_conditioning(batch, frames)`` (``None``: zeros).
            audio_guidance_scale: ``s_a`` (lip sync strength).
            emotion_guidance_scale: ``s_e`` (emotion intensity).

        Returns:
            `torch.Tensor` of shape `(batch, frames, channels)`: guided clean-motion prediction.
        """
        b, t, _ = sample.shape
        if emotion is not None and emotion.embeds.shape[:2] != (b, t):
            raise ValueError(f"emotion conditioning covers {tuple(emotion.embeds.shape[:2])}, expected ({b}, {t}).")
        if null_emotion is None:
            dim = self.config.emotion_embed_dim
            null_emotion = EmotionConditioning(
                embeds=sample.new_zeros(b, t, dim),
                pooled=sample.new_zeros(b, dim),
                mask=torch.ones(b, t, dtype=torch.bool, device=sample.device),
                fps=self.config.fps,
            )
        if emotion is None:
            emotion = null_emotion
        s_a, s_e = float(audio_guidance_scale), float(emotion_guidance_scale)
        # (weight, use audio, emotion conditioning) per pass
        passes = [(1.0 - s_a, False, null_emotion), (s_a - s_e, True, null_emotion), (s_e, True, emotion)]
        if audio_features is None:  # no audio: the audio passes equal the unconditional one
            passes = [(1.0 - s_e, False, null_emotion), (s_e, False, emotion)]
        passes = [p for p in passes if p[0] != 0.0]
        n = len(passes)

        def cat(xs):
            return None if xs[0] is None else torch.cat(xs, dim=0)

        out = self(
            sample.repeat(n, 1, 1),
            torch.as_tensor(timestep, device=sample.device).reshape(-1).expand(b).repeat(n),
            audio_features=None if audio_features is None else audio_features.repeat(n, 1, 1),
            emotion_embeds=cat([p[2].embeds for p in passes]),
            emotion_pooled=cat([p[2].pooled for p in passes]),
            emotion_mask=cat([p[2].mask for p in passes]),
            audio_mask=torch.tensor([p[1] for p in passes], device=sample.device).repeat_interleave(b),
            prefix=None if prefix is None else prefix.repeat(n, 1, 1),
            prefix_mask=None if prefix_mask is None else prefix_mask.repeat(n, 1),
        ).sample
        chunks = out.float().chunk(n, dim=0)
        result = passes[0][0] * chunks[0]
        for (weight, _, _), chunk in zip(passes[1:], chunks[1:], strict=True):
            result = result + weight * chunk
        return result
