"""training/emotion_adapter/train.py: two steps on tiny random SD components built here, checkpoints, exact resume."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("one_thread")


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


train = _load("train_emotion_adapter", ROOT / "training" / "emotion_adapter" / "train.py")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """A tiny SD backbone saved in diffusers layout, six random images and their labels (VAD on a 1–9 scale)."""
    from PIL import Image

    root = tmp_path_factory.mktemp("emotion_adapter_data")
    td = _load("emogen_tiny_diffusers", ROOT / "tests" / "tiny_diffusers.py")
    td.sd_pipeline().save_pretrained(root / "sd")
    rng = np.random.default_rng(0)
    (root / "images" / "sub").mkdir(parents=True)
    rows = []
    for i in range(6):
        name = f"sub/img{i}.png" if i % 2 else f"img{i}.png"
        Image.fromarray(rng.integers(0, 255, (36 + i, 40, 3), dtype=np.uint8)).save(root / "images" / name)
        v, a, d = (5.0, 5.0, 5.0) if i < 4 else (9.0, 8.0, 6.0)  # four near neutral, two far out
        rows.append(f"{name},{v},{a},{d},{'happy' if i == 5 else ''},{'a smiling face' if i == 4 else ''}")
    (root / "labels.csv").write_text("file,v,a,d,label,prompt\n" + "\n".join(rows) + "\n")
    return root


def _args(data: Path, out: Path, steps: int, *extra: str) -> list[str]:
    return [
        "--pretrained_model", str(data / "sd"),
        "--train_data_dir", str(data / "images"),
        "--labels", str(data / "labels.csv"),
        "--output_dir", str(out),
        "--vad_range", "1,9",
        "--resolution", "32",
        "--train_batch_size", "2",
        "--max_train_steps", str(steps),
        "--checkpointing_steps", "1",
        "--learning_rate", "1e-2",
        "--lr_warmup_steps", "1",
        "--hidden_dim", "16",
        "--num_layers", "1",
        "--num_heads", "2",
        "--mixed_precision", "no",
        "--log_every", "1",
        *extra,
    ]  # fmt: skip


def _state(out: Path) -> dict[str, torch.Tensor]:
    from emogen.models import EmotionPromptAdapter

    return EmotionPromptAdapter.from_pretrained(out / "emotion_adapter").state_dict()


def test_two_steps_then_resume_exactly(dataset, tmp_path, caplog):
    from emogen.models import EmotionPromptAdapter

    straight = tmp_path / "straight"
    assert train.main(_args(dataset, straight, 2)) == 0
    assert (straight / "checkpoint-1").is_dir() and (straight / "checkpoint-2").is_dir()
    adapter = EmotionPromptAdapter.from_pretrained(straight / "emotion_adapter")
    assert adapter.config.embed_dim == 32 and adapter.out_proj.weight.abs().sum() > 0  # it learned
    assert json.loads((straight / "training_args.json").read_text())["max_train_steps"] == 2

    resumed = tmp_path / "resumed"
    assert train.main(_args(dataset, resumed, 1)) == 0
    assert json.loads((resumed / "checkpoint-1" / "emogen_state.json").read_text()) == {"step": 1}
    caplog.clear()
    with caplog.at_level("INFO", logger="train_emotion_adapter"):
        assert train.main(_args(dataset, resumed, 2, "--resume_from_checkpoint", "latest")) == 0
    assert f"Resumed from {resumed / 'checkpoint-1'} at step 1" in caplog.text
    assert "step 2  mse" in caplog.text and "step 1  mse" not in caplog.text  # only the missing step ran
    a, b = _state(straight), _state(resumed)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6, msg=k)


def test_sdxl_backbone_trains_on_the_embeddings_its_pipeline_uses(dataset, tmp_path):
    """SDXL: the script's prompt encoding equals the pipeline's (both encoders' penultimate states, pooled from the
    second), so the adapter learns on exactly what it later sees; one training step runs."""
    td = _load("emogen_tiny_diffusers", ROOT / "tests" / "tiny_diffusers.py")
    pipe = td.sdxl_pipeline()
    pipe.save_pretrained(tmp_path / "sdxl")
    backbone = train.Backbone(tmp_path / "sdxl", torch.device("cpu"), torch.float32)
    ours, pooled = backbone.encode_prompts(["a smiling face"])
    theirs, _, their_pooled, _ = pipe.encode_prompt("a smiling face", device="cpu", do_classifier_free_guidance=False)
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(pooled, their_pooled)
    out = tmp_path / "out"
    assert train.main(_args(dataset, out, 1, "--pretrained_model", str(tmp_path / "sdxl"))) == 0
    assert _state(out)["out_proj.weight"].shape == (64, 16)


def test_sd_prompt_encoding_matches_the_pipeline(dataset):
    from diffusers import StableDiffusionPipeline

    backbone = train.Backbone(dataset / "sd", torch.device("cpu"), torch.float32)
    pipe = StableDiffusionPipeline.from_pretrained(dataset / "sd", safety_checker=None, requires_safety_checker=False)
    ours, pooled = backbone.encode_prompts(["a face", "a smiling face"])
    theirs, _ = pipe.encode_prompt(["a face", "a smiling face"], "cpu", 1, False)
    assert pooled is None
    torch.testing.assert_close(ours, theirs)


@pytest.mark.gpu
def test_bf16_training_on_gpu(dataset, tmp_path, caplog):
    """``--mixed_precision auto`` trains in bf16 on a GPU: the frozen backbone in bf16, the adapter in fp32."""
    out = tmp_path / "gpu"
    with caplog.at_level("INFO", logger="train_emotion_adapter"):
        assert train.main(_args(dataset, out, 2, "--mixed_precision", "auto")) == 0
    assert "bf16" in caplog.text
    state = _state(out)
    assert all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in state.values())
    assert state["out_proj.weight"].abs().sum() > 0


def test_labels_csv_and_jsonl(dataset, tmp_path):
    samples = train.read_labels(dataset / "labels.csv", dataset / "images", (1.0, 9.0), "a photo")
    assert len(samples) == 6 and samples[0].vad == (0.0, 0.0, 0.0) and samples[5].vad == (1.0, 0.75, 0.25)
    assert samples[5].label == "happy" and samples[4].prompt == "a smiling face" and samples[0].prompt == "a photo"
    jsonl = tmp_path / "labels.jsonl"
    jsonl.write_text(json.dumps({"file": "img0.png", "v": 0.5, "a": -0.2, "d": 0.1, "label": "joy"}) + "\n")
    jsonl.write_text(jsonl.read_text() + json.dumps({"file": "sub/img1.png", "v": 0.5, "a": 0.0}) + "\n")
    one, no_dominance = train.read_labels(jsonl, dataset / "images", (-1.0, 1.0), "a photo")
    assert one.vad == pytest.approx((0.5, -0.2, 0.1)) and one.label == "happy"
    assert no_dominance.vad == (0.5, 0.0, 0.0) and no_dominance.label is None


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ('{"file": "img0.png", "v": 0.5}', "missing"),
        ('{"file": "img0.png", "v": "high", "a": 0.1}', "must be numbers"),
        ('{"file": "nope.png", "v": 0.5, "a": 0.1, "d": 0}', "does not exist"),
        ('{"file": "img0.png", "v": 1.5, "a": 0.1, "d": 0}', "outside --vad_range"),
        ('{"file": "img0.png", "v": 0.5, "a": 0.1, "d": 0, "label": "bored"}', "row 1"),
    ],
)
def test_bad_labels(dataset, tmp_path, row, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(row + "\n")
    with pytest.raises(ValueError, match=message):
        train.read_labels(path, dataset / "images", (-1.0, 1.0), "a photo")


def test_density_weights_favour_rare_valence_arousal():
    rng = np.random.default_rng(0)
    crowd = rng.normal(0.0, 0.05, (200, 2))
    va = np.concatenate([crowd, [[0.8, 0.7]]])
    w = train.density_weights(va)
    assert w.shape == (201,) and abs(w.mean() - 1.0) < 1e-9
    assert w[-1] > 5 * np.median(w[:-1])
    capped = train.density_weights(va, max_weight=3.0)
    assert capped.max() <= 3.0 and abs(capped.mean() - 1.0) < 1e-9
    assert np.argsort(capped, kind="stable")[-1] == np.argsort(w, kind="stable")[-1]
    uniform = train.density_weights(np.zeros((5, 2)))
    np.testing.assert_allclose(uniform, 1.0)
    with pytest.raises(ValueError, match="bandwidth"):
        train.density_weights(va, bandwidth=0.0)
    with pytest.raises(ValueError, match="max_weight"):
        train.density_weights(va, max_weight=0.5)


def test_batches_cover_each_epoch_and_are_reproducible():
    seen = [i for step in range(5) for i in train.batch_indices(10, step, 2, 1, 0, seed=3)]
    assert sorted(seen) == list(range(10))
    assert train.batch_indices(10, 7, 2, 1, 0, seed=3) == train.batch_indices(10, 7, 2, 1, 0, seed=3)
    ranks = train.batch_indices(10, 0, 2, 2, 0, 3) + train.batch_indices(10, 0, 2, 2, 1, 3)
    assert len(set(ranks)) == 4
