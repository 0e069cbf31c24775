"""Shared test setup: offline, headless, deterministic."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import pytest  # noqa: E402
import torch  # noqa: E402


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture
def one_thread():
    """One intra-op thread: on a small shared CI box it is faster, and results are reproducible."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def seeded():
    torch.manual_seed(0)
    return torch.Generator().manual_seed(0)


def _tiny_talking_head():
    """EmoTalkingHeadPipeline built from the real classes at tiny sizes; the zero-initialised layers (adaLN-Zero
    gates, output) get random weights so that audio and emotion actually reach the output."""
    from emogen.controls.encoder import EmotionEncoder
    from emogen.models import MotionDenoiser, motion_scheduler
    from emogen.pipelines import EmoTalkingHeadPipeline
    from emogen.speech.engine import EspeakTTS

    torch.manual_seed(0)
    encoder = EmotionEncoder(embed_dim=16, hidden_dim=32).eval()
    denoiser = MotionDenoiser(hidden_dim=32, num_layers=2, num_heads=2, ff_mult=2, emotion_embed_dim=16).eval()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in denoiser.parameters():
            if not p.any():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
        # plausible physical ranges: weights around 0.3, small head motion (radians, metres), gaze
        std = torch.cat(
            [torch.full((52,), 0.3), torch.full((3,), 0.05), torch.full((3,), 0.005), torch.full((2,), 0.1)]
        )
        mean = torch.cat([torch.full((52,), 0.3), torch.zeros(8)])
        denoiser.set_normalization(mean, std, min_std=1e-3)
    pipe = EmoTalkingHeadPipeline(
        emotion_encoder=encoder, motion_denoiser=denoiser, scheduler=motion_scheduler(), tts=EspeakTTS()
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="session")
def tiny_talking_head():
    """A tiny real talking-head pipeline (see :func:`_tiny_talking_head`), shared by the tests that only call it."""
    return _tiny_talking_head()


@pytest.fixture(scope="session")
def make_tiny_talking_head():
    """Builds a fresh tiny talking-head pipeline (for tests that change it, e.g. its dtype)."""
    return _tiny_talking_head
