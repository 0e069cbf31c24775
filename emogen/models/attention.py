"""Attention over frames: one function, three interchangeable implementations.

``"sdpa"`` is :func:`torch.nn.functional.scaled_dot_product_attention` (flash / memory-efficient kernels on GPU,
a fused kernel on CPU), ``"xformers"`` is ``xformers.ops.memory_efficient_attention`` (used only when xformers is
importable and the tensors are on CUDA; otherwise SDPA runs and a debug message says so), and ``"naive"`` is the
textbook ``softmax(q kᵀ / √d + mask) v``: the reference the other two are tested and benchmarked against.

Positions are rotary (RoPE; Su et al. 2021, "RoFormer: Enhanced Transformer with Rotary Position Embedding"), so a
model trained on 4-second clips attends by *relative* frame offset and runs on windows of any length.
"""

from __future__ import annotations

import importlib.util
import logging
import math

import torch
import torch.nn.functional as F
from diffusers.models.embeddings import apply_rotary_emb, get_1d_rotary_pos_embed
from torch import nn

__all__ = [
    "ATTN_IMPLEMENTATIONS",
    "FrameAttention",
    "attention",
    "band_mask",
    "naive_attention",
    "rotary_embedding",
    "xformers_available",
]

logger = logging.getLogger(__name__)

#: Accepted values of ``attn_implementation``.
ATTN_IMPLEMENTATIONS: tuple[str, ...] = ("sdpa", "xformers", "naive")


def xformers_available() -> bool:
    """Whether ``xformers`` can be imported (checked without importing it)."""
    return importlib.util.find_spec("xformers") is not None


def naive_attention(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, attn_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Reference attention ``softmax(q kᵀ / √d) v``, materialising the full score matrix.

    Args:
        query (`torch.Tensor` of shape `(batch, heads, frames_q, head_dim)`)
        key (`torch.Tensor` of shape `(batch, heads, frames_k, head_dim)`)
        value (`torch.Tensor` of shape `(batch, heads, frames_k, head_dim)`)
        attn_mask (`torch.Tensor` of shape broadcastable to `(batch, heads, frames_q, frames_k)`, bool, *optional*):
            True where a query may attend to a key.

    Returns:
        `torch.Tensor` of shape `(batch, heads, frames_q, head_dim)`.
    """
    scores = (query @ key.transpose(-1, -2)) * (1.0 / math.sqrt(query.shape[-1]))
    if attn_mask is not None:
        scores = scores.masked_fill(~attn_mask, float("-inf"))
    return scores.softmax(dim=-1) @ value


def _xformers_attention(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, attn_mask: torch.Tensor | None, op=None
) -> torch.Tensor:
    import xformers.ops  # noqa: PLC0415  (optional dependency, imported only on use)

    b, h, tq, d = query.shape
    tk = key.shape[2]
    bias = None
    if attn_mask is not None:
        # xformers wants an additive bias whose last dim is allocated in multiples of 8 (then sliced back).
        padded = (tk + 7) // 8 * 8
        storage = torch.zeros(b, h, tq, padded, device=query.device, dtype=query.dtype)
        bias = storage[..., :tk]
        bias.masked_fill_(~attn_mask.expand(b, h, tq, tk), float("-inf"))
    out = xformers.ops.memory_efficient_attention(
        query.transpose(1, 2), key.transpose(1, 2), value.transpose(1, 2), attn_bias=bias, op=op
    )
    return out.transpose(1, 2)


def attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attn_mask: torch.Tensor | None = None,
    implementation: str = "sdpa",
    xformers_op=None,
) -> torch.Tensor:
    """Multi-head attention with the chosen implementation (shapes as in :func:`naive_attention`)."""
    if implementation == "xformers":
        if query.is_cuda:
            return _xformers_attention(query, key, value, attn_mask, xformers_op)
        logger.debug("xformers attention needs CUDA tensors; using scaled_dot_product_attention on %s.", query.device)
        implementation = "sdpa"
    if implementation == "sdpa":
        return F.scaled_dot_product_attention(query, key, value, attn_mask=attn_mask)
    if implementation == "naive":
        return naive_attention(query, key, value, attn_mask)
    raise ValueError(
        f"Unknown attention implementation {implementation!r}; accepted: {', '.join(ATTN_IMPLEMENTATIONS)}."
    )


def band_mask(num_frames: int, window: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Local attention: frame ``i`` sees frames ``j`` with ``|i - j| <= window``.

    Returns:
        `torch.Tensor` of shape `(1, 1, frames, frames)`, bool.
    """
    idx = torch.arange(num_frames, device=device)
    return ((idx[:, None] - idx[None, :]).abs() <= window)[None, None]


def rotary_embedding(
    head_dim: int, num_frames: int, theta: float = 10000.0, device: torch.device | str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """RoPE tables (cos, sin), each `(frames, head_dim)`, via diffusers' ``get_1d_rotary_pos_embed``."""
    pos = torch.arange(num_frames, device=device, dtype=torch.float32)
    return get_1d_rotary_pos_embed(head_dim, pos, theta=theta, use_real=True, repeat_interleave_real=True)


class FrameAttention(nn.Module):
    """Multi-head (self- or cross-) attention over frames with rotary positions.

    Args:
        dim: model width.
        num_heads: heads; ``dim`` must be divisible by it and the head size must be even (RoPE).
        context_dim: width of the keys/values' source for cross-attention (``None``: self-attention).
    """

    def __init__(self, dim: int, num_heads: int, context_dim: int | None = None) -> None:
        super().__init__()
        if dim % num_heads or (dim // num_heads) % 2:
            raise ValueError(f"dim={dim} must split into {num_heads} heads of even size.")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        context_dim = dim if context_dim is None else context_dim
        self.to_q = nn.Linear(dim, dim)
        self.to_k = nn.Linear(context_dim, dim)
        self.to_v = nn.Linear(context_dim, dim)
        self.to_out = nn.Linear(dim, dim)
        self.attn_implementation = "sdpa"
        self.xformers_op = None

    def set_attn_implementation(self, implementation: str) -> None:
        if implementation not in ATTN_IMPLEMENTATIONS:
            raise ValueError(
                f"Unknown attention implementation {implementation!r}; accepted: {', '.join(ATTN_IMPLEMENTATIONS)}."
            )
        self.attn_implementation = implementation

    def set_use_memory_efficient_attention_xformers(self, valid: bool, attention_op=None) -> None:
        """The hook diffusers' ``ModelMixin.enable_xformers_memory_efficient_attention`` calls on every module."""
        if valid and not xformers_available():
            raise ModuleNotFoundError(
                "xformers is not installed: install it (`pip install xformers`, CUDA only) or keep the default "
                "scaled_dot_product_attention."
            )
        self.attn_implementation = "xformers" if valid else "sdpa"
        self.xformers_op = attention_op if valid else None

    def forward(
        self,
        hidden_states: torch.Tensor,
        context: torch.Tensor | None = None,
        rope: tuple[torch.Tensor, torch.Tensor] | None = None,
        attn_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Attend.

        Args:
            hidden_states (`torch.Tensor` of shape `(batch, frames, dim)`): queries.
            context (`torch.Tensor` of shape `(batch, frames_k, context_dim)`, *optional*): keys/values source
                (default: ``hidden_states``). RoPE is applied to keys too, so a frame-aligned context attends by
                relative time.
            rope: ``(cos, sin)`` tables of shape `(frames, head_dim)` (requires ``frames_k == frames``).
            attn_mask (`torch.Tensor`, bool, broadcastable to `(batch, heads, frames, frames_k)`, *optional*).

        Returns:
            `torch.Tensor` of shape `(batch, frames, dim)`.
        """
        b, t, _ = hidden_states.shape
        context = hidden_states if context is None else context
        tk = context.shape[1]
        q = self.to_q(hidden_states).view(b, t, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.to_k(context).view(b, tk, self.num_heads, self.head_dim).transpose(1, 2)
        v = self.to_v(context).view(b, tk, self.num_heads, self.head_dim).transpose(1, 2)
        if rope is not None:
            q = apply_rotary_emb(q, rope, use_real=True, use_real_unbind_dim=-1, sequence_dim=2)
            k = apply_rotary_emb(k, rope, use_real=True, use_real_unbind_dim=-1, sequence_dim=2)
        out = attention(q, k, v, attn_mask, self.attn_implementation, self.xformers_op)
        return self.to_out(out.transpose(1, 2).reshape(b, t, -1))
