"""The emotion adapter on users' diffusers backbones (tiny random SD 1.5 / SDXL / AnimateDiff built here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from emogen.controls import resolve_emotion
from emogen.models import EmotionPromptAdapter
from emogen.pipelines.backbones import attach_emotion_adapter, detach_emotion_adapter, emotion_adapter_of

pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny_diffusers():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "tiny_diffusers.py"
    spec = importlib.util.spec_from_file_location("emogen_tiny_diffusers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


td = _tiny_diffusers()


def adapter(dim: int) -> EmotionPromptAdapter:
    """A tiny adapter with a random output projection (a fresh one is the identity)."""
    torch.manual_seed(1)
    a = EmotionPromptAdapter(embed_dim=dim, hidden_dim=16, num_layers=1, num_heads=2).eval()
    with torch.no_grad():
        a.out_proj.weight.normal_(0.0, 0.5)
    return a


def image(pipe, **kw) -> np.ndarray:
    kw = {"prompt": "a face", **kw}
    return pipe(
        num_inference_steps=2, height=32, width=32, output_type="np", generator=torch.Generator().manual_seed(0), **kw
    ).images


def video(pipe, num_frames: int = 4, **kw) -> np.ndarray:
    return pipe(
        "a face",
        num_frames=num_frames,
        num_inference_steps=2,
        height=16,
        width=16,
        output_type="np",
        generator=torch.Generator().manual_seed(0),
        **kw,
    ).frames


class Recorder:
    """Records the encoder_hidden_states (and added conditions) a module receives, one entry per call (a pipeline
    call with two denoising steps makes two); hooks run in registration order, so register it after attaching to
    see what the adapter's hooks made."""

    def __init__(self, module):
        self.calls = []
        module.register_forward_pre_hook(self, with_kwargs=True)

    def __call__(self, module, args, kwargs):
        added = kwargs.get("added_cond_kwargs") or {}
        self.calls.append((kwargs["encoder_hidden_states"].clone(), {k: v.clone() for k, v in added.items()}))


@pytest.fixture(scope="module")
def sd():
    return td.sd_pipeline()


def test_sd_detach_restores_the_pipeline_exactly(sd):
    before = image(sd)
    handle = attach_emotion_adapter(sd, adapter(32), "happy:0.9")
    assert emotion_adapter_of(sd) is handle
    happy = image(sd)
    handle.set_emotion("vad:-0.6,-0.3,-0.3")
    sad = image(sd)
    handle.detach()
    after = image(sd)
    assert emotion_adapter_of(sd) is None and "encode_prompt" not in sd.__dict__
    np.testing.assert_array_equal(before, after)
    assert np.abs(happy - before).max() > 1e-3 and np.abs(happy - sad).max() > 1e-3


def test_sd_zero_scale_and_fresh_adapter_are_the_identity(sd):
    before = image(sd)
    with attach_emotion_adapter(sd, adapter(32), "angry", scale=0.0):
        np.testing.assert_array_equal(image(sd), before)
    fresh = EmotionPromptAdapter(embed_dim=32, hidden_dim=16, num_layers=1, num_heads=2)
    with attach_emotion_adapter(sd, fresh, "angry"):
        np.testing.assert_array_equal(image(sd), before)
    assert emotion_adapter_of(sd) is None


def test_sd_only_positive_embeddings_change_and_per_prompt_emotions(sd):
    a = adapter(32)
    rec = Recorder(sd.unet)
    prompt_embeds, negative = sd.encode_prompt("a face", "cpu", 1, True, "")
    image(sd, prompt=["a face", "a face"])
    plain = rec.calls[-1][0]
    with attach_emotion_adapter(sd, a, ["happy", "sad"]) as handle:
        image(sd, prompt=["a face", "a face"])
        emotional = rec.calls[-1][0]
        # prompt_embeds passed directly go through the adapter as well
        handle.set_emotion("happy")
        image(sd, prompt=None, prompt_embeds=prompt_embeds, negative_prompt_embeds=negative)
    torch.testing.assert_close(emotional[:2], plain[:2])  # negative rows untouched
    tracks = [resolve_emotion(s) for s in ("happy", "sad")]
    expected = a(
        plain[2:],
        vad=torch.cat([t.vad for t in tracks]),
        probs=torch.cat([t.probs for t in tracks]),
        intensity=torch.cat([t.intensity for t in tracks]),
    ).prompt_embeds
    torch.testing.assert_close(emotional[2:], expected)
    happy_track = tracks[0]
    happy = a(prompt_embeds, vad=happy_track.vad, probs=happy_track.probs, intensity=happy_track.intensity)
    happy = happy.prompt_embeds
    torch.testing.assert_close(rec.calls[-1][0][1:], happy)
    with attach_emotion_adapter(sd, a, ["happy", "sad", "angry"]), pytest.raises(ValueError, match="3 emotions"):
        image(sd, prompt=["a face", "a face"])


def test_sd_img2img_and_controlnet_take_the_adapter():
    from diffusers import ControlNetModel, StableDiffusionControlNetPipeline, StableDiffusionImg2ImgPipeline

    from emogen.controls import face_control_images

    parts = td.sd_components()
    i2i = StableDiffusionImg2ImgPipeline(**parts, safety_checker=None, feature_extractor=None)
    i2i.set_progress_bar_config(disable=True)
    init = np.full((1, 32, 32, 3), 0.5, dtype=np.float32)
    before = image(i2i, image=init, strength=0.9)
    with attach_emotion_adapter(i2i, adapter(32), "surprised"):
        assert np.abs(image(i2i, image=init, strength=0.9) - before).max() > 1e-3
    np.testing.assert_array_equal(image(i2i, image=init, strength=0.9), before)

    torch.manual_seed(0)
    controlnet = ControlNetModel(
        block_out_channels=(4, 8),
        layers_per_block=1,
        in_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        cross_attention_dim=32,
        conditioning_embedding_out_channels=(16, 32),
        norm_num_groups=2,
    ).eval()
    cn = StableDiffusionControlNetPipeline(**parts, controlnet=controlnet, safety_checker=None, feature_extractor=None)
    cn.set_progress_bar_config(disable=True)
    face = face_control_images("happy", height=32, width=32, output_type="pil").images[0]
    with attach_emotion_adapter(cn, adapter(32), "happy"):
        out = image(cn, image=face)
    assert out.shape == (1, 32, 32, 3) and np.isfinite(out).all()


def test_sdxl_pooled_embeddings_are_untouched():
    pipe = td.sdxl_pipeline()
    rec = Recorder(pipe.unet)
    before = image(pipe)
    with attach_emotion_adapter(pipe, adapter(64), "sad"):
        sad = image(pipe)
    after = image(pipe)
    np.testing.assert_array_equal(before, after)
    assert np.abs(sad - before).max() > 1e-4
    (plain_states, plain_added), (sad_states, sad_added) = rec.calls[0], rec.calls[2]
    torch.testing.assert_close(sad_added["text_embeds"], plain_added["text_embeds"])  # pooled: untouched
    torch.testing.assert_close(sad_added["time_ids"], plain_added["time_ids"])
    assert not torch.allclose(sad_states[1:], plain_states[1:]) and torch.equal(sad_states[:1], plain_states[:1])


def test_animatediff_per_frame_schedule():
    pipe = td.animatediff_pipeline()
    a = adapter(8)
    before = video(pipe)
    with attach_emotion_adapter(pipe, a, "0s sad, 0.375s happy", fps=8.0) as handle:
        assert handle.video
        rec = Recorder(pipe.unet)  # runs after the adapter's hook
        scheduled = video(pipe)
    np.testing.assert_array_equal(video(pipe), before)
    assert np.abs(scheduled - before).max() > 1e-4
    # the UNet saw (negative × 4 frames, positive × 4 frames) with each positive frame's own emotion
    emotional, plain = rec.calls[0][0], rec.calls[2][0]
    assert emotional.shape == plain.shape and emotional.shape[0] == 8
    torch.testing.assert_close(emotional[:4], plain[:4])
    track = resolve_emotion("0s sad, 0.375s happy", fps=8.0, num_frames=4)
    expected = a.frame_embeds(plain[4:5], track)[0]
    torch.testing.assert_close(emotional[4:], expected)
    assert not torch.allclose(emotional[4], emotional[7], atol=1e-4)


def test_animatediff_constant_schedule_equals_emotional_prompt_embeds():
    """A constant emotion through the hooks gives exactly what passing the adapter's embeddings directly gives."""
    pipe = td.animatediff_pipeline()
    a = adapter(8)
    with attach_emotion_adapter(pipe, a, "happy:0.7"):
        hooked = video(pipe, num_frames=3)
    positive, negative = pipe.encode_prompt("a face", "cpu", 1, True, None)
    t = resolve_emotion("happy:0.7")
    emotional = a(positive, vad=t.vad, probs=t.probs, intensity=t.intensity).prompt_embeds
    direct = pipe(
        prompt_embeds=emotional,
        negative_prompt_embeds=negative,
        num_frames=3,
        num_inference_steps=2,
        height=16,
        width=16,
        output_type="np",
        generator=torch.Generator().manual_seed(0),
    ).frames
    np.testing.assert_allclose(hooked, direct, atol=1e-6)


def test_animatediff_video_to_video_schedule():
    """Video-to-video prepares the latents before encoding the prompt; the schedule does not depend on the order."""
    from diffusers import AnimateDiffVideoToVideoPipeline
    from PIL import Image

    base = td.animatediff_pipeline()
    parts = {k: getattr(base, k) for k in ("vae", "text_encoder", "tokenizer", "unet", "motion_adapter", "scheduler")}
    pipe = AnimateDiffVideoToVideoPipeline(**parts)
    pipe.set_progress_bar_config(disable=True)
    clip = [Image.fromarray(np.full((16, 16, 3), 100 + 20 * i, np.uint8)) for i in range(4)]

    def run():
        return pipe(
            video=clip, prompt="a face", num_inference_steps=2, strength=0.8, height=16, width=16,
            output_type="np", generator=torch.Generator().manual_seed(0),
        ).frames  # fmt: skip

    before = run()
    with attach_emotion_adapter(pipe, adapter(8), "0s sad, 0.375s happy"):
        rec = Recorder(pipe.unet)
        scheduled = run()
    np.testing.assert_array_equal(run(), before)
    assert np.abs(scheduled - before).max() > 1e-4
    states = rec.calls[0][0]
    assert states.shape[0] == 8 and not torch.allclose(states[4], states[7], atol=1e-4)


def test_animatediff_controlnet_with_face_frames():
    from emogen.controls import face_control_images

    pipe = td.animatediff_pipeline(controlnet=True)
    frames = face_control_images("0s neutral, 0.5s surprised", num_frames=4, fps=8, height=64, width=64).images
    frames = [f.resize((16, 16)) for f in frames]
    with attach_emotion_adapter(pipe, adapter(8), "0s neutral, 0.5s surprised"):
        rec = Recorder(pipe.controlnet)
        out = video(pipe, conditioning_frames=frames)
    assert out.shape == (1, 4, 16, 16, 3)
    states = rec.calls[-1][0]
    assert states.shape[0] == 8 and not torch.allclose(states[4], states[7], atol=1e-4)


def test_errors():
    pipe = td.sd_pipeline()
    with pytest.raises(ValueError, match="width 64"):
        attach_emotion_adapter(pipe, adapter(64), "happy")
    with pytest.raises(TypeError, match="EmotionPromptAdapter"):
        attach_emotion_adapter(pipe, torch.nn.Linear(2, 2), "happy")
    handle = attach_emotion_adapter(pipe, adapter(32), "happy")
    with pytest.raises(ValueError, match="already attached"):
        attach_emotion_adapter(pipe, adapter(32), "sad")
    with pytest.raises(ValueError, match="emotion is required"):
        handle.set_emotion(None)
    detach_emotion_adapter(pipe)
    detach_emotion_adapter(pipe)  # no-op
    with pytest.raises(ValueError):
        attach_emotion_adapter(pipe, adapter(32), "vad:2,0,0")
    video_pipe = td.animatediff_pipeline()
    with pytest.raises(ValueError, match="fps"):
        attach_emotion_adapter(video_pipe, adapter(8), "happy", fps=0)
    video_pipe.enable_free_noise(context_length=2, context_stride=1)
    with attach_emotion_adapter(video_pipe, adapter(8), "happy"), pytest.raises(ValueError, match="FreeNoise"):
        video(video_pipe)
