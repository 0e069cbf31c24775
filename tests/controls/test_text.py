"""Sanity tests of the shipped text → VAD model and of the lexical label evidence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from emogen.controls.text import (
    CONFIG_NAME,
    LABELS,
    WEIGHTS_NAME,
    TextEmotionModel,
    default_weights_path,
    lexical_label_scores,
)

FURIOUS = "I am furious!"
WONDERFUL = "What a wonderful, happy day"
NEUTRAL = "The report is on the table."


@pytest.fixture(scope="module")
def model() -> TextEmotionModel:
    torch.manual_seed(0)
    return TextEmotionModel.from_pretrained()


@pytest.fixture(scope="module")
def examples(model: TextEmotionModel) -> np.ndarray:
    return model.predict_vad([FURIOUS, WONDERFUL, NEUTRAL])


# -- shipped files ------------------------------------------------------------------------------


def test_shipped_files_are_safetensors_and_small() -> None:
    path = default_weights_path()
    assert (path / CONFIG_NAME).is_file() and (path / WEIGHTS_NAME).is_file()
    assert not [p.name for p in path.iterdir() if p.suffix in {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"}]
    assert (path / WEIGHTS_NAME).stat().st_size < 16 * 2**20
    config = json.loads((path / CONFIG_NAME).read_text())
    assert config["model_type"] == "emogen-text-vad"


# -- predictions ----------------------------------------------------------------------------------


def test_output_shape_dtype_range(examples: np.ndarray) -> None:
    assert examples.shape == (3, 3)
    assert examples.dtype == np.float32
    assert np.all(np.abs(examples) <= 1.0)


def test_anger_is_negative_and_aroused(examples: np.ndarray) -> None:
    v, a, _ = examples[0]
    assert v < -0.2
    assert a > 0.1


def test_joy_is_positive(examples: np.ndarray) -> None:
    assert examples[1, 0] > 0.3


def test_neutral_sentence_is_close_to_neutral(examples: np.ndarray) -> None:
    furious, wonderful, neutral = examples
    assert abs(neutral[0]) < 0.5 * min(abs(furious[0]), abs(wonderful[0]))
    assert abs(neutral[1]) < 0.5 * abs(furious[1])
    assert np.all(np.abs(neutral) < 0.15)


def test_negation_lowers_valence(model: TextEmotionModel) -> None:
    happy, not_happy = model.predict_vad(["I am happy.", "I am not happy."])
    assert not_happy[0] < happy[0] - 0.1


def test_batch_equals_one_by_one(model: TextEmotionModel) -> None:
    texts = [FURIOUS, "It rained all day, and the trip was cancelled.", WONDERFUL, NEUTRAL, "Wow!"]
    batch = model.predict_vad(texts, batch_size=3)
    single = np.concatenate([model.predict_vad([t]) for t in texts])
    np.testing.assert_allclose(batch, single, atol=1e-4)


def test_progress_bar(model: TextEmotionModel, capsys: pytest.CaptureFixture[str]) -> None:
    out = model.predict_vad([FURIOUS, NEUTRAL], batch_size=1, show_progress=True)
    assert out.shape == (2, 3)
    assert "2/2" in capsys.readouterr().err


def test_matches_transformers_bert(model: TextEmotionModel) -> None:
    """The torch re-implementation of the frozen base equals transformers' BertModel on the same weights."""
    transformers = pytest.importorskip("transformers")
    from emogen.controls.text import base_model_path

    ref = transformers.BertModel.from_pretrained(str(base_model_path())).eval()
    ids, mask = model.tokenize([FURIOUS, WONDERFUL])
    with torch.no_grad():
        hidden, _ = model.lower(ids, mask)
        expected = ref(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
    k = model.config["num_frozen_layers"]
    real = mask.bool()
    torch.testing.assert_close(hidden[real], expected[k][real], atol=1e-4, rtol=1e-4)


# -- save / load ----------------------------------------------------------------------------------


def test_save_load_round_trip(model: TextEmotionModel, tmp_path: Path) -> None:
    texts = [FURIOUS, WONDERFUL, NEUTRAL]
    model.save_pretrained(tmp_path / "copy")
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == sorted([CONFIG_NAME, WEIGHTS_NAME])
    reloaded = TextEmotionModel.from_pretrained(tmp_path / "copy")
    np.testing.assert_array_equal(reloaded.predict_vad(texts), model.predict_vad(texts))


def test_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match="nope"):
        TextEmotionModel.from_pretrained(missing)


def test_missing_weights_file(tmp_path: Path) -> None:
    shutil.copy(default_weights_path() / CONFIG_NAME, tmp_path / CONFIG_NAME)
    with pytest.raises(FileNotFoundError, match=WEIGHTS_NAME):
        TextEmotionModel.from_pretrained(tmp_path)


def test_corrupt_files(tmp_path: Path) -> None:
    shutil.copy(default_weights_path() / CONFIG_NAME, tmp_path / CONFIG_NAME)
    (tmp_path / WEIGHTS_NAME).write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="safetensors"):
        TextEmotionModel.from_pretrained(tmp_path)
    (tmp_path / CONFIG_NAME).write_text("{broken")
    with pytest.raises(ValueError, match="JSON"):
        TextEmotionModel.from_pretrained(tmp_path)


# -- bad inputs -----------------------------------------------------------------------------------


def test_empty_text_names_index(model: TextEmotionModel) -> None:
    with pytest.raises(ValueError, match=r"texts\[1\]"):
        model.predict_vad(["fine", "   "])
    with pytest.raises(ValueError, match=r"texts\[0\]"):
        model.predict_vad([""])


def test_wrong_types(model: TextEmotionModel) -> None:
    with pytest.raises(TypeError):
        model.predict_vad("a single string")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        model.predict_vad(["ok", 3])  # type: ignore[list-item]


# -- lexical label evidence ----------------------------------------------------------------------


def col(label: str) -> int:
    return LABELS.index(label)


def test_lexical_shape_and_labels() -> None:
    s = lexical_label_scores(["I am furious and scared", NEUTRAL, "That is disgusting, wow"])
    assert LABELS == ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised", "contempt")
    assert s.shape == (3, 8) and s.dtype == np.float32 and np.all(s >= 0)
    assert np.all(s[:, 0] == 0)
    assert s[0, col("angry")] == 1 and s[0, col("fearful")] == 1
    assert np.all(s[1] == 0)
    assert s[2, col("disgusted")] == 1 and s[2, col("surprised")] == 1


def test_lexical_negation() -> None:
    happy, not_happy, dont_love, not_afraid = lexical_label_scores(
        ["I am happy", "I am not happy", "I don't love it", "I'm not afraid"]
    )
    assert happy[col("happy")] == 1 and happy[col("sad")] == 0
    assert not_happy[col("happy")] == 0 and 0 < not_happy[col("sad")] < 1
    assert dont_love[col("happy")] == 0 and dont_love[col("sad")] > 0
    assert not_afraid.sum() == 0


def test_lexical_negation_stops_at_clause_break() -> None:
    s = lexical_label_scores(["It was not easy, but I am happy"])[0]
    assert s[col("happy")] == 1


def test_lexical_intensifiers() -> None:
    plain, very, extremely, slightly = lexical_label_scores(
        ["I am angry", "I am very angry", "I am extremely angry", "I am slightly angry"]
    )
    a = col("angry")
    assert slightly[a] < plain[a] < very[a] < extremely[a]


def test_lexical_empty_text() -> None:
    with pytest.raises(ValueError, match=r"texts\[2\]"):
        lexical_label_scores(["happy", "sad", " \n"])


def test_negation_cancellers_are_not_negations():
    happy, sad = LABELS.index("happy"), LABELS.index("sad")
    scores = lexical_label_scores(["I can't stop smiling", "I couldn't help laughing", "I am not smiling"])
    assert scores[0, happy] > 0 and scores[0, sad] == 0
    assert scores[1, happy] > 0
    assert scores[2, happy] == 0 and scores[2, sad] > 0
