"""EmotionPromptAdapter: identity at init, residual emotion, broadcasting, save/load, validation; fp16/bf16 SDPA."""

from __future__ import annotations

import pytest
import torch

from emogen.emotion import vad_intensity, vad_to_probs
from emogen.models import EmotionPromptAdapter
from emogen.models.emotion_adapter import NUM_EMOTION_TOKENS

pytestmark = pytest.mark.usefixtures("one_thread")

D = 32


def tiny(randomize: bool = True, **kw) -> EmotionPromptAdapter:
    """A tiny adapter; ``randomize`` gives the zero-initialised output projection random weights so that the
    emotion actually reaches the output (a fresh adapter is the identity)."""
    torch.manual_seed(0)
    adapter = EmotionPromptAdapter(embed_dim=D, hidden_dim=16, num_layers=2, num_heads=2, **kw).eval()
    if randomize:
        with torch.no_grad():
            adapter.out_proj.weight.normal_(0.0, 0.3)
            adapter.out_proj.bias.normal_(0.0, 0.1)
    return adapter


def embeds(batch: int = 2, tokens: int = 7, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, tokens, D, generator=torch.Generator().manual_seed(seed))


HAPPY, SAD = torch.tensor([0.8, 0.5, 0.4]), torch.tensor([-0.6, -0.3, -0.3])


def test_fresh_adapter_is_the_identity():
    adapter, x = tiny(randomize=False), embeds()
    for vad in (HAPPY, SAD, torch.zeros(3)):
        assert torch.equal(adapter(x, vad=vad).prompt_embeds, x)


def test_emotion_changes_the_embeddings_residually():
    adapter, x = tiny(), embeds()
    happy = adapter(x, vad=HAPPY).prompt_embeds
    sad = adapter(x, vad=SAD).prompt_embeds
    assert happy.shape == x.shape and not torch.allclose(happy, sad, atol=1e-4)
    assert torch.equal(adapter(x, vad=HAPPY, scale=0.0).prompt_embeds, x)
    half = adapter(x, vad=HAPPY, scale=0.5).prompt_embeds
    torch.testing.assert_close(half - x, 0.5 * (happy - x), rtol=1e-5, atol=1e-6)
    # defaults: the soft label assignment of the VAD and its intensity
    probs = vad_to_probs(HAPPY[None])
    explicit = adapter(x, vad=HAPPY[None], probs=probs, intensity=vad_intensity(HAPPY[None], probs)).prompt_embeds
    torch.testing.assert_close(explicit, happy)
    # the labels matter unless turned off
    other = torch.zeros(1, 8)
    other[0, 2] = 1.0
    assert not torch.allclose(adapter(x, vad=HAPPY, probs=other).prompt_embeds, happy)
    vad_only = tiny(use_labels=False)
    torch.testing.assert_close(vad_only(x, vad=HAPPY, probs=other).prompt_embeds, vad_only(x, vad=HAPPY).prompt_embeds)


def test_broadcasting_and_per_item_emotions():
    adapter, x = tiny(), embeds(batch=1)
    both = adapter(x, vad=torch.stack([HAPPY, SAD])).prompt_embeds
    assert both.shape == (2, 7, D)
    torch.testing.assert_close(both[1:], adapter(x, vad=SAD).prompt_embeds)
    many = adapter(embeds(batch=3), vad=HAPPY).prompt_embeds
    assert many.shape == (3, 7, D)
    with pytest.raises(ValueError, match="3 prompts but 2 emotions"):
        adapter(embeds(batch=3), vad=torch.stack([HAPPY, SAD]))


def test_frame_embeds_follow_the_track():
    from emogen.controls import resolve_emotion

    adapter, x = tiny(), embeds(batch=2)
    track = resolve_emotion("0s sad, 1s happy", fps=2.0, num_frames=3)
    frames = adapter.frame_embeds(x, track)
    assert frames.shape == (2, 3, 7, D)
    for f in range(3):
        one = adapter(x, vad=track.vad[f], probs=track.probs[f], intensity=track.intensity[f]).prompt_embeds
        torch.testing.assert_close(frames[:, f], one, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(frames[:, 0], frames[:, 2], atol=1e-4)


def test_save_and_load_round_trip(tmp_path):
    adapter, x = tiny(), embeds()
    adapter.save_pretrained(tmp_path / "adapter")
    loaded = EmotionPromptAdapter.from_pretrained(tmp_path / "adapter").eval()
    assert loaded.config.embed_dim == D and loaded.config.num_layers == 2
    torch.testing.assert_close(loaded(x, vad=SAD).prompt_embeds, adapter(x, vad=SAD).prompt_embeds)


def test_gradients_reach_every_trainable_part():
    adapter, x = tiny(), embeds()
    adapter.train()
    adapter(x, vad=torch.stack([HAPPY, SAD])).prompt_embeds.square().mean().backward()
    dead = [n for n, p in adapter.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not dead, dead


def test_bad_input():
    adapter, x = tiny(), embeds()
    with pytest.raises(ValueError, match=r"within \[-1, 1\]"):
        adapter(x, vad=torch.tensor([1.5, 0.0, 0.0]))
    with pytest.raises(ValueError, match="vad must have shape"):
        adapter(x, vad=torch.zeros(2, 2))
    with pytest.raises(ValueError, match="embed_dim=32"):
        adapter(torch.zeros(1, 4, 16), vad=HAPPY)
    with pytest.raises(ValueError, match="prompt_embeds must be"):
        adapter(torch.zeros(4, D), vad=HAPPY)
    with pytest.raises(ValueError, match="probs must have shape"):
        adapter(x, vad=HAPPY, probs=torch.ones(1, 3))
    with pytest.raises(ValueError, match="scale"):
        adapter(x, vad=HAPPY, scale=float("nan"))
    with pytest.raises(ValueError, match="divisible"):
        EmotionPromptAdapter(embed_dim=D, hidden_dim=10, num_heads=3)
    with pytest.raises(TypeError, match="EmotionTrack"):
        adapter.frame_embeds(x, HAPPY)
    assert NUM_EMOTION_TOKENS == 4


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_with_sdpa_kernels_on_gpu(dtype):
    """The adapter runs in fp16/bf16 on CUDA through the flash / memory-efficient SDPA kernels (the math fallback
    is disabled, so a kernel that cannot run fails the test) and agrees with fp32."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    torch.manual_seed(0)
    adapter = EmotionPromptAdapter(embed_dim=768, hidden_dim=512, num_layers=4, num_heads=8).eval()
    with torch.no_grad():
        adapter.out_proj.weight.normal_(0.0, 0.02)
    x = torch.randn(4, 77, 768, generator=torch.Generator().manual_seed(1))
    vad = torch.tensor([[0.8, 0.5, 0.4], [-0.6, -0.3, -0.3], [0.0, 0.0, 0.0], [-0.5, 0.6, 0.3]])
    with torch.no_grad():
        reference = adapter.cuda()(x.cuda(), vad=vad).prompt_embeds.float()
    half = adapter.to(dtype)
    with torch.no_grad(), sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION]):
        out = half(x.cuda().to(dtype), vad=vad).prompt_embeds
    assert out.dtype == dtype and out.device.type == "cuda"
    delta_ref, delta = reference - x.cuda(), out.float() - x.cuda().to(dtype).float()
    rel = (delta - delta_ref).norm() / delta_ref.norm()
    assert rel < (0.02 if dtype == torch.float16 else 0.06), float(rel)
