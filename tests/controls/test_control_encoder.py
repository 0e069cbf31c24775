import pytest
import torch

from emogen.controls import EmotionEncoder, resolve_emotion


def _tiny():
    torch.manual_seed(0)
    return EmotionEncoder(embed_dim=16, hidden_dim=32, num_frequencies=2).eval()


def test_shapes_padding_and_mask():
    enc = _tiny()
    a = resolve_emotion("0s sad, 1s happy", fps=25)  # 50 frames
    b = resolve_emotion("angry", duration=1.0, fps=25)  # 25 frames
    cond = enc([a, b])
    assert cond.embeds.shape == (2, 50, 16) and cond.pooled.shape == (2, 16)
    assert cond.mask[0].all() and cond.mask[1, :25].all() and not cond.mask[1, 25:].any()
    assert enc(a, num_frames=80).embeds.shape == (1, 80, 16)


def test_different_emotions_give_different_conditioning_and_batch_equals_single():
    enc = _tiny()
    happy = resolve_emotion("happy", duration=1.0)
    sad = resolve_emotion("sad", duration=1.0)
    both = enc([happy, sad])
    single = enc(sad)
    assert not torch.allclose(both.pooled[0], both.pooled[1], atol=1e-4)
    assert torch.allclose(both.embeds[1], single.embeds[0], atol=1e-5)


def test_fps_is_matched():
    enc = _tiny()
    a = resolve_emotion("happy", duration=1.0, fps=50)
    cond = enc([resolve_emotion("sad", duration=1.0, fps=25), a])
    assert cond.fps == 25 and cond.embeds.shape[1] == 25


def test_null_conditioning_is_learned_and_differs():
    enc = _tiny()
    null = enc.null_conditioning(batch_size=3, num_frames=7)
    assert null.embeds.shape == (3, 7, 16) and null.pooled.shape == (3, 16)
    assert null.embeds.requires_grad  # a parameter, trained with condition dropout


def test_gradients_flow_for_fitting():
    enc = _tiny().train()
    cond = enc(resolve_emotion("fearful", duration=0.4))
    cond.pooled.sum().backward()
    assert enc.frame_mlp[0].weight.grad is not None and enc.frame_mlp[0].weight.grad.abs().sum() > 0


def test_save_load_round_trip(tmp_path):
    enc = _tiny()
    track = resolve_emotion("0s neutral, 0.5s surprised:0.7", fps=25)
    before = enc(track)
    enc.save_pretrained(tmp_path / "enc")
    assert (tmp_path / "enc" / "config.json").exists()
    assert (tmp_path / "enc" / "diffusion_pytorch_model.safetensors").exists()
    loaded = EmotionEncoder.from_pretrained(tmp_path / "enc").eval()
    assert loaded.config.embed_dim == 16
    after = loaded(track)
    assert torch.allclose(before.embeds, after.embeds) and torch.allclose(before.pooled, after.pooled)
    assert torch.allclose(enc.null_embed, loaded.null_embed)


def test_bad_input():
    enc = _tiny()
    with pytest.raises(TypeError, match="EmotionTrack"):
        enc([])
    with pytest.raises(ValueError, match="odd"):
        EmotionEncoder(temporal_kernel=4)


def test_dtype_follows_model():
    enc = _tiny().to(torch.bfloat16)
    cond = enc(resolve_emotion("happy", duration=0.5))
    assert cond.embeds.dtype == torch.bfloat16 and torch.isfinite(cond.embeds.float()).all()
