"""Tiny random Stable Diffusion / SDXL / AnimateDiff components, built from the real classes at the sizes of
diffusers' own fast tests, and a tiny CLIP tokenizer written here (nothing comes from a hub).

Tests load this file with ``importlib`` (see :func:`load`), as they load training scripts.
"""

from __future__ import annotations

import importlib.util
import string
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def load():
    """This module, imported by path (tests run with ``--import-mode=importlib``)."""
    spec = importlib.util.spec_from_file_location("emogen_tiny_diffusers", HERE / "tiny_diffusers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_tokenizer(max_length: int = 77):
    """A CLIP BPE tokenizer over single characters (no merges): ids 0 = start, 1 = end/pad."""
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in string.ascii_lowercase + string.digits + ",.:;'-":
        vocab.setdefault(c, len(vocab))
        vocab.setdefault(c + "</w>", len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=max_length)


def _text_config(hidden: int, **kw):
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
        hidden_size=hidden,
        intermediate_size=37,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=100,
        **kw,
    )


def _vae(channels=(4, 8)):
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        block_out_channels=list(channels),
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2,
        latent_channels=4,
        norm_num_groups=2,
    )


def _scheduler():
    from diffusers import DDIMScheduler

    return DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )


def sd_components(seed: int = 0) -> dict:
    """Stable Diffusion 1.x components: ``unet, vae, text_encoder, tokenizer, scheduler`` (prompt width 32)."""
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(4, 8),
        layers_per_block=1,
        sample_size=16,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=2,
    )
    torch.manual_seed(seed)
    vae = _vae()
    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(_text_config(32))
    return dict(
        unet=unet.eval(),
        vae=vae.eval(),
        text_encoder=text_encoder.eval(),
        tokenizer=tiny_tokenizer(),
        scheduler=_scheduler(),
    )


def sd_pipeline(seed: int = 0):
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline(
        **sd_components(seed), safety_checker=None, feature_extractor=None, requires_safety_checker=False
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def sdxl_pipeline(seed: int = 0):
    """SDXL with both text encoders (prompt width 32 + 32 = 64, pooled width 32)."""
    from diffusers import StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(2, 4),
        layers_per_block=1,
        sample_size=16,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 1),
        projection_class_embeddings_input_dim=80,  # 6 · 8 time ids + 32 pooled
        cross_attention_dim=64,
        norm_num_groups=1,
    )
    torch.manual_seed(seed)
    vae = _vae()
    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(_text_config(32))
    torch.manual_seed(seed)
    text_encoder_2 = CLIPTextModelWithProjection(_text_config(32, projection_dim=32))
    pipe = StableDiffusionXLPipeline(
        unet=unet.eval(),
        vae=vae.eval(),
        text_encoder=text_encoder.eval(),
        text_encoder_2=text_encoder_2.eval(),
        tokenizer=tiny_tokenizer(),
        tokenizer_2=tiny_tokenizer(),
        scheduler=_scheduler(),
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def animatediff_pipeline(seed: int = 0, controlnet: bool = False):
    """AnimateDiff (optionally with a ControlNet) at diffusers' fast-test sizes (prompt width 8)."""
    from diffusers import AnimateDiffControlNetPipeline, AnimateDiffPipeline, MotionAdapter, UNet2DConditionModel
    from transformers import CLIPTextModel

    channels = (8, 8)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=channels,
        layers_per_block=1,
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=8,
        norm_num_groups=2,
    )
    torch.manual_seed(seed)
    vae = _vae(channels)
    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(_text_config(8))
    torch.manual_seed(seed)
    motion_adapter = MotionAdapter(
        block_out_channels=channels, motion_layers_per_block=1, motion_norm_num_groups=2, motion_num_attention_heads=4
    )
    kwargs = dict(
        unet=unet,
        vae=vae.eval(),
        text_encoder=text_encoder.eval(),
        tokenizer=tiny_tokenizer(),
        motion_adapter=motion_adapter,
        scheduler=_scheduler(),
        feature_extractor=None,
        image_encoder=None,
    )
    if controlnet:
        from diffusers import ControlNetModel

        torch.manual_seed(seed)
        kwargs["controlnet"] = ControlNetModel(
            block_out_channels=channels,
            layers_per_block=1,
            in_channels=4,
            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
            cross_attention_dim=8,
            conditioning_embedding_out_channels=(8, 8),
            norm_num_groups=2,
        ).eval()
        pipe = AnimateDiffControlNetPipeline(**kwargs)
    else:
        pipe = AnimateDiffPipeline(**kwargs)
    pipe.unet.eval()
    pipe.set_progress_bar_config(disable=True)
    return pipe
