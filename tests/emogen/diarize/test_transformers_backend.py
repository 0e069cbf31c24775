"""The transformers backend, with tiny random wav2vec2 classifiers saved to tmp_path (no hub access)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emogen.diarize import SpeechEmotionDiarizer, TransformersEmotionBackend, load_backend, map_model_label
from emogen.emotion import LABELS


def _tiny_model(path, id2label: dict[int, str], favour: int | None = None, bias: torch.Tensor | None = None, **cfg):
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForSequenceClassification

    torch.manual_seed(0)
    config = Wav2Vec2Config(
        hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        conv_dim=(8, 8), conv_stride=(5, 4), conv_kernel=(10, 8), num_conv_pos_embeddings=4,
        num_conv_pos_embedding_groups=2, classifier_proj_size=8, num_feat_extract_layers=2,
        id2label=id2label, label2id={v: k for k, v in id2label.items()}, **cfg,
    )  # fmt: skip
    model = Wav2Vec2ForSequenceClassification(config).eval()
    with torch.no_grad():
        if favour is not None:  # make the output independent of the input: one label wins everywhere
            model.classifier.weight.zero_()
            model.classifier.bias.zero_()
            model.classifier.bias[favour] = 5.0
        if bias is not None:
            model.classifier.weight.zero_()
            model.classifier.bias.copy_(bias)
    model.save_pretrained(path)
    Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                             return_attention_mask=False).save_pretrained(path)  # fmt: skip
    return path


def _speechy(seconds: float, sr: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    x = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 10)) * (0.5 - 0.5 * np.cos(2 * np.pi * 4 * t))
    return (0.2 * x).astype(np.float32)


def test_label_names_map_to_emogen_labels():
    assert [map_model_label(n) for n in ("ang", "HAP", "neu", "sad", "exc", "fru", "ps", "Fear", "calm", "other")] == [
        "angry", "happy", "neutral", "sad", "happy", "angry", "surprised", "fearful", "neutral", None,
    ]  # fmt: skip


def test_tiny_categorical_model_drives_frames_and_segments(tmp_path):
    path = _tiny_model(tmp_path / "ser", {0: "ang", 1: "hap", 2: "neu", 3: "sad"}, favour=1)
    backend = load_backend(path)
    assert isinstance(backend, TransformersEmotionBackend) and backend.mode == "categorical"
    audio = _speechy(5.0)
    frames = backend(audio, 16000)
    assert frames.vad.shape == (5 * 50 + 1, 3) and frames.probs.shape == (251, len(LABELS))
    torch.testing.assert_close(frames.probs.sum(-1), torch.ones(251))
    # columns land on the right labels: "hap" → happy; labels the model lacks get no mass
    assert (frames.probs.argmax(-1) == LABELS.index("happy")).all()
    for missing in ("fearful", "disgusted", "surprised", "contempt"):
        assert float(frames.probs[:, LABELS.index(missing)].max()) == 0.0
    result = SpeechEmotionDiarizer(backend)(audio, 16000)
    assert [s.label for s in result.segments] == ["happy"] and result.segments[-1].end == pytest.approx(5.0)
    assert result.summary()["mean_vad"]["valence"] > 0.3
    assert result.backend == str(path)


def test_random_model_output_varies_and_is_windowed(tmp_path):
    path = _tiny_model(tmp_path / "ser", {0: "ang", 1: "hap", 2: "neu", 3: "sad"}, initializer_range=0.5)
    backend = TransformersEmotionBackend.from_pretrained(path, window_s=1.0, hop_s=0.25, batch_size=3)
    rng = np.random.default_rng(0)
    audio = np.concatenate([_speechy(2.0), 0.3 * rng.standard_normal(32000).astype(np.float32)])
    frames = backend(audio, 16000)
    assert frames.probs.shape[0] == 201
    # a random but input-dependent model: speech half and noise half differ
    assert (frames.probs[:80].mean(0) - frames.probs[-80:].mean(0)).abs().max() > 0.02
    # 8 kHz input is resampled to the model's rate; frame count follows the input duration
    assert backend(audio[::2].copy(), 8000).probs.shape[0] == 201


def test_dimensional_model_is_read_as_vad(tmp_path):
    # audeering-style outputs in [0, 1], order arousal, dominance, valence
    path = _tiny_model(
        tmp_path / "dim", {0: "arousal", 1: "dominance", 2: "valence"}, bias=torch.tensor([0.9, 0.5, 0.2]),
        problem_type="regression",
    )  # fmt: skip
    backend = load_backend(path)
    assert backend.mode == "dimensional"
    frames = backend(_speechy(3.0), 16000)
    torch.testing.assert_close(frames.vad.mean(0), torch.tensor([-0.6, 0.8, 0.0]), atol=1e-4, rtol=0)


def test_unmappable_model_and_bad_backend_are_refused(tmp_path):
    path = _tiny_model(tmp_path / "odd", {0: "cat", 1: "dog"})
    with pytest.raises(ValueError, match="None of the model's labels"):
        load_backend(path)
    with pytest.raises(ValueError, match="Unknown diarizer backend"):
        load_backend(tmp_path / "not-there")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="not a transformers model directory"):
        load_backend(tmp_path / "empty")
