"""Tests of the transformers/diffusers text → VAD model.

Two groups: a TINY random BERT built here (save/load mechanics, state-dict contract, windowing; no files beyond
``tmp_path``, nothing from a hub) and the shipped weights (agreement with the format-1 model, long texts).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from emogen.models.text_emotion import (
    CONFIG_NAME,
    LABELS,
    LEGACY_WEIGHTS_NAME,
    WEIGHTS_NAME,
    TextEmotionModel,
    default_weights_path,
    lexical_label_scores,
)
from emogen.models.text_lexicon import lexical_label_scores as lexicon_scores

# -- example texts ----------------------------------------------------------------------------------------------
EXAMPLES: tuple[str, ...] = (
    "I am furious!",
    "What a wonderful, happy day",
    "The report is on the table.",
    "I am happy.",
    "I am not happy.",
    "Wow!",
    "It rained all day, and the trip was cancelled.",
    "I can't believe they cancelled the concert, I'm so disappointed.",
    "She was terrified when the lights went out and something moved in the hallway.",
    "That is absolutely disgusting, who left rotten fish in the fridge?",
    "We finally won the championship after ten years of trying!",
    "The committee will meet on Tuesday to review the budget.",
    "He sneered at their pathetic little project.",
    "I miss my grandmother so much since she died.",
    "Café opens at 9 — don't be late 🙂",
    "Honestly? I'm not sure how I feel about any of this, but we'll see.",
)

ANGRY = (
    "I am absolutely furious. They lied to us again, they took our money and they laughed in our faces when we "
    "complained. This is outrageous and disgusting, and I hate every one of these arrogant liars. I am so angry I "
    "am shaking, I want to scream at them until they finally admit what they did to us. How dare they treat people "
    "like this? I will never forgive them for this insult."
)

NEUTRAL_PARAGRAPHS = (
    "The municipal library is located on the north side of the main square, next to the post office. It is open "
    "from nine in the morning until six in the evening on weekdays, and until one in the afternoon on Saturdays. "
    "Visitors can borrow up to five books at a time for a period of three weeks.",
    "The building has two floors. The ground floor holds the reception desk, the newspapers and the children's "
    "section, while the upper floor contains the reference collection, a reading room with forty seats and four "
    "computers that can be reserved for one hour at a time.",
    "A bus stops in front of the library every twenty minutes. Line four connects it with the railway station and "
    "line seven with the hospital and the university campus. Bicycle racks are available on the east side of the "
    "building, and a public car park is two streets away.",
    "The library was built in 1962 and renovated in 2009, when the heating system and the windows were replaced. "
    "The catalogue can be searched online, and books that are not in the collection can be ordered from other "
    "libraries in the region, which usually takes about a week.",
    "Membership is free for residents of the town. A library card can be requested at the reception desk with an "
    "identity document and a recent utility bill. Cards issued to children under twelve require the signature of "
    "a parent or guardian.",
    "The reading room is reserved for quiet study. Coffee and snacks are available from a machine near the "
    "entrance, and lockers for bags and coats can be used free of charge with a one euro coin that is returned "
    "when the locker is opened again.",
    "Every first Monday of the month the library is closed in the morning for maintenance. During that time the "
    "returns box next to the main door can be used, and the books are checked in by the staff before noon. Overdue "
    "books can be renewed by telephone or on the website.",
    "The local history collection includes maps of the town from the nineteenth century, photographs of the old "
    "harbour and copies of the regional newspaper since 1920. These items cannot be borrowed, but they can be "
    "consulted in the reading room and scanned on request.",
    "Groups of schoolchildren can visit the library on Wednesday afternoons. A visit takes about an hour and "
    "includes a short tour of both floors, an explanation of how the catalogue works and time to choose books. "
    "Teachers are asked to book the visit two weeks in advance.",
    "The library also lends audiobooks, films and board games. Films can be borrowed for one week and board games "
    "for two weeks. Audiobooks can be downloaded with the library card number and a password that is sent by "
    "email after registration.",
    "Printing and photocopying are possible on the upper floor. A black and white page costs ten cents and a "
    "colour page fifty cents. Payment is made at the reception desk, where the staff can also help with scanning "
    "documents and sending them by email.",
)


def long_text(angry_at: str) -> str:
    """About 600 words (585; 556 with no angry paragraph) of neutral filler.

    Args:
        angry_at (`str`): ``"start"`` or ``"end"``: where the angry paragraph goes; ``"none"``: no angry paragraph.
    """
    filler = list(NEUTRAL_PARAGRAPHS)
    if angry_at == "start":
        paragraphs = [ANGRY, *filler]
    elif angry_at == "end":
        paragraphs = [*filler, ANGRY]
    elif angry_at == "none":
        paragraphs = [NEUTRAL_PARAGRAPHS[-1], *filler]
    else:
        raise ValueError(angry_at)
    return "\n\n".join(paragraphs)


DATA = Path(__file__).resolve().parent / "data"
FURIOUS, WONDERFUL, NEUTRAL = "I am furious!", "What a wonderful, happy day", "The report is on the table."

# -- a tiny random base -------------------------------------------------------------------------------------------

TINY_WORDS = (
    "i am you we they is are was the a an very so not happy sad angry furious calm day night cat dog ran sat "
    "on table report what wonderful great bad good and but . , ! ?"
).split()
TINY = {
    "hidden_size": 32,
    "num_hidden_layers": 3,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
    "num_frozen_layers": 2,
    "ridge_layers": (1, 2),
    "max_length": 16,
    "window_overlap": 4,
    "head_hidden_size": 8,
}


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 3-layer BERT (hidden 32) with a word-level tokenizer, laid out like the wheel's folder."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel

    path = tmp_path_factory.mktemp("tiny_base")
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *TINY_WORDS])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])]
    )
    tok.save(str(path / "tokenizer.json"))
    torch.manual_seed(0)
    arch = {k: TINY[k] for k in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")}
    bert = BertModel(BertConfig(vocab_size=len(vocab), max_position_embeddings=64, **arch))  # with a pooler
    save_file({k: v.contiguous() for k, v in bert.state_dict().items()}, str(path / "model.safetensors"))
    return path


def tiny_model(base: Path, seed: int = 0) -> TextEmotionModel:
    """A tiny TextEmotionModel with random head/ridge/statistics and float16-exact fine-tuned layers."""
    vocab_size = len(json.loads((base / "tokenizer.json").read_text())["model"]["vocab"])
    model = TextEmotionModel(vocab_size=vocab_size, base_path=base, **TINY)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in [*model.top.parameters(), *model.head.parameters(), *model.ridge.parameters()]:
            p.add_(0.05 * torch.randn(p.shape, generator=gen))
        for p in model.top.parameters():
            p.copy_(p.half().float())  # stored as float16: make the round trip exact
        model.target_mean.copy_(torch.tensor([0.1, -0.2, 0.05]))
        model.target_std.copy_(torch.tensor([0.3, 0.2, 0.1]))
    return model.eval()


TINY_TEXTS = ["i am happy", "the cat sat on the table .", "we are so very angry !", "what a wonderful day"]


def test_tiny_state_dict_is_the_finetuned_part(tiny_base: Path) -> None:
    model = tiny_model(tiny_base)
    keys = set(model.state_dict())
    assert keys and not [k for k in keys if k.startswith("base.")]
    assert {k.split(".")[0] for k in keys} == {"top", "head", "ridge", "target_mean", "target_std"}
    assert len([k for k in keys if k.startswith("top.layer.")]) == 16  # one layer: 16 tensors
    assert all(not p.requires_grad for p in model.base.parameters())
    assert all(p.requires_grad for p in model.top.parameters())


def test_tiny_base_comes_from_the_base_folder(tiny_base: Path) -> None:
    model = tiny_model(tiny_base)
    with safe_open(str(tiny_base / "model.safetensors"), framework="pt") as f:
        torch.testing.assert_close(model.base.embeddings.word_embeddings.weight, f.get_tensor(
            "embeddings.word_embeddings.weight"), rtol=0, atol=0)  # fmt: skip
        torch.testing.assert_close(model.base.encoder.layer[1].output.dense.weight, f.get_tensor(
            "encoder.layer.1.output.dense.weight"), rtol=0, atol=0)  # fmt: skip
        fresh = TextEmotionModel(vocab_size=model.config.vocab_size, base_path=tiny_base, **TINY)
        torch.testing.assert_close(fresh.top.layer[0].output.dense.weight, f.get_tensor(
            "encoder.layer.2.output.dense.weight"), rtol=0, atol=0)  # fmt: skip


def test_tiny_save_load_round_trip(tiny_base: Path, tmp_path: Path) -> None:
    model = tiny_model(tiny_base)
    model.save_pretrained(tmp_path / "saved")
    assert sorted(p.name for p in (tmp_path / "saved").iterdir()) == sorted([CONFIG_NAME, WEIGHTS_NAME])

    config = json.loads((tmp_path / "saved" / CONFIG_NAME).read_text())
    assert config["_class_name"] == "TextEmotionModel" and config["hidden_size"] == 32
    assert "base_path" not in config and "_name_or_path" not in config
    assert str(tiny_base) not in json.dumps(config) and str(tmp_path) not in json.dumps(config)
    with safe_open(str(tmp_path / "saved" / WEIGHTS_NAME), framework="pt") as f:
        dtypes = {k: f.get_slice(k).get_dtype() for k in f.keys()}  # noqa: SIM118
    assert set(dtypes) == set(model.state_dict())
    assert {d for k, d in dtypes.items() if k.startswith("top.")} == {"F16"}
    assert {d for k, d in dtypes.items() if not k.startswith("top.")} == {"F32"}

    reloaded = TextEmotionModel.from_pretrained(tmp_path / "saved", base_path=tiny_base)
    assert not reloaded.training and reloaded.top.layer[0].output.dense.weight.dtype == torch.float32
    for k, v in model.state_dict().items():
        torch.testing.assert_close(reloaded.state_dict()[k], v, rtol=0, atol=0)
    np.testing.assert_array_equal(reloaded.predict_vad(TINY_TEXTS), model.predict_vad(TINY_TEXTS))

    # a reloaded model saves the same files again (no path sneaks into the config)
    reloaded.save_pretrained(tmp_path / "again")
    assert json.loads((tmp_path / "again" / CONFIG_NAME).read_text()) == config
    assert (tmp_path / "again" / WEIGHTS_NAME).read_bytes() == (tmp_path / "saved" / WEIGHTS_NAME).read_bytes()


def test_tiny_from_pretrained_options(tiny_base: Path, tmp_path: Path) -> None:
    tiny_model(tiny_base).save_pretrained(tmp_path / "root" / "text")
    model, info = TextEmotionModel.from_pretrained(
        tmp_path / "root", subfolder="text", base_path=tiny_base, low_cpu_mem_usage=True, output_loading_info=True
    )
    assert isinstance(model, TextEmotionModel) and not info["missing_keys"] and not info["unexpected_keys"]
    with pytest.raises(ValueError, match="device_map"):
        TextEmotionModel.from_pretrained(tmp_path / "root" / "text", base_path=tiny_base, device_map="cpu")


def test_tiny_load_state_dict_contract(tiny_base: Path) -> None:
    model, other = tiny_model(tiny_base, seed=0), tiny_model(tiny_base, seed=1)
    result = model.load_state_dict(other.state_dict())  # strict: the absent base is not "missing"
    assert not result.missing_keys and not result.unexpected_keys
    np.testing.assert_array_equal(model.predict_vad(TINY_TEXTS), other.predict_vad(TINY_TEXTS))
    partial = {k: v for k, v in other.state_dict().items() if k != "ridge.bias"}
    with pytest.raises(RuntimeError, match="ridge.bias"):
        model.load_state_dict(partial)


def test_tiny_nested_in_a_parent_module(tiny_base: Path) -> None:
    parent = nn.ModuleDict({"text": tiny_model(tiny_base), "other": nn.Linear(2, 2)})
    keys = set(parent.state_dict())
    assert "other.weight" in keys and "text.head.1.weight" in keys
    assert not [k for k in keys if k.startswith("text.base.")]
    result = parent.load_state_dict(parent.state_dict())
    assert not result.missing_keys and not result.unexpected_keys


def test_tiny_train_mode_keeps_the_base_in_eval(tiny_base: Path) -> None:
    model = tiny_model(tiny_base).train()
    assert model.training and model.top.training and model.head.training
    assert not model.base.training and not any(m.training for m in model.base.modules())
    model.predict_vad(TINY_TEXTS[:1])
    assert model.training and not model.base.training  # predict_vad restores the mode


def test_tiny_windows(tiny_base: Path) -> None:
    model = tiny_model(tiny_base)
    long = " ".join(["the cat sat on the table ."] * 6)  # 42 words → windows of 14 content tokens, overlap 4
    short = "i am happy"
    windows = model.windows([short, long])
    assert [w.text_index for w in windows] == [0] + [1] * (len(windows) - 1)
    assert windows[0].weight == 1.0 and windows[0].text == short
    lw = windows[1:]
    assert len(lw) == 4 and all(len(w.ids) <= 16 for w in lw)
    assert sum(w.weight for w in lw) == pytest.approx(42)  # every token counted once
    assert lw[0].text.startswith("the cat") and lw[-1].text.endswith("table .")
    assert model.windows([long], split=False)[0].ids == lw[0].ids
    # the text's VAD is the weighted mean of its windows' VAD
    vad = model.predict_vad([long])[0]
    per_window = np.stack([model.predict_vad([w.text], long_texts="truncate")[0] for w in lw])
    weights = np.array([w.weight for w in lw])
    expected = (per_window * weights[:, None]).sum(0) / weights.sum()
    np.testing.assert_allclose(vad, expected, atol=1e-6)


def test_tiny_bad_config(tiny_base: Path, tmp_path: Path) -> None:
    vocab_size = len(json.loads((tiny_base / "tokenizer.json").read_text())["model"]["vocab"])
    with pytest.raises(ValueError, match="num_frozen_layers"):
        TextEmotionModel(vocab_size=vocab_size, base_path=tiny_base, **{**TINY, "num_frozen_layers": 3})
    with pytest.raises(ValueError, match="ridge_layers"):
        TextEmotionModel(vocab_size=vocab_size, base_path=tiny_base, **{**TINY, "ridge_layers": (3,)})
    with pytest.raises(ValueError, match="does not match"):
        TextEmotionModel(vocab_size=vocab_size, base_path=tiny_base, **{**TINY, "intermediate_size": 48})
    tiny_model(tiny_base).save_pretrained(tmp_path)
    config = json.loads((tmp_path / CONFIG_NAME).read_text())
    (tmp_path / CONFIG_NAME).write_text(json.dumps({**config, "head_hidden_size": 4}))
    with pytest.raises(ValueError, match="size mismatch"):
        TextEmotionModel.from_pretrained(tmp_path, base_path=tiny_base)


# -- loading errors -----------------------------------------------------------------------------------------------


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope"):
        TextEmotionModel.from_pretrained(tmp_path / "nope")


def test_missing_weights_file(tmp_path: Path) -> None:
    shutil.copy(default_weights_path() / CONFIG_NAME, tmp_path / CONFIG_NAME)
    with pytest.raises(FileNotFoundError, match=WEIGHTS_NAME):
        TextEmotionModel.from_pretrained(tmp_path)


def test_format_1_folder_names_the_converter(tmp_path: Path) -> None:
    (tmp_path / CONFIG_NAME).write_text('{"model_type": "emogen-text-vad", "format_version": 1}')
    (tmp_path / LEGACY_WEIGHTS_NAME).write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="convert"):
        TextEmotionModel.from_pretrained(tmp_path)


def test_corrupt_files(tmp_path: Path) -> None:
    shutil.copy(default_weights_path() / CONFIG_NAME, tmp_path / CONFIG_NAME)
    (tmp_path / WEIGHTS_NAME).write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="safetensors"):
        TextEmotionModel.from_pretrained(tmp_path)
    (tmp_path / CONFIG_NAME).write_text("{broken")
    with pytest.raises(ValueError, match="JSON"):
        TextEmotionModel.from_pretrained(tmp_path)


# -- the shipped weights ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model() -> TextEmotionModel:
    return TextEmotionModel.from_pretrained()  # no argument: the shipped folder


def test_shipped_files() -> None:
    path = default_weights_path()
    names = {p.name for p in path.iterdir()}
    assert {CONFIG_NAME, WEIGHTS_NAME, "metrics.json"} <= names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"))]
    assert (path / WEIGHTS_NAME).stat().st_size < 16 * 2**20
    config = json.loads((path / CONFIG_NAME).read_text())
    assert config["_class_name"] == "TextEmotionModel"
    assert not [v for v in config.values() if isinstance(v, str) and ("/" in v[:1] or ":\\" in v)]
    metrics = json.loads((path / "metrics.json").read_text())
    assert metrics["training"]["dev_pearson"]["shipped_model"]["V"] > 0.7


def test_matches_the_format_1_model(model: TextEmotionModel) -> None:
    """Predictions equal those of the hand-written encoder (controls/text.py, format 1) on fixed sentences."""
    ref = json.loads((DATA / "legacy_predictions.json").read_text())
    assert ref["texts"] == list(EXAMPLES)
    np.testing.assert_allclose(model.predict_vad(list(EXAMPLES)), np.asarray(ref["vad"]), rtol=0, atol=1e-5)


def test_split_encoder_equals_transformers_bert() -> None:
    """base + top of an untrained model (top = the original layers 5-6) is all-MiniLM-L6-v2's BertModel."""
    from transformers import BertModel

    from emogen.models.text_emotion import base_model_path

    fresh = TextEmotionModel().eval()
    ref = BertModel.from_pretrained(str(base_model_path()), add_pooling_layer=False).eval()
    ids, mask = fresh.tokenize([FURIOUS, "A longer sentence, so that the first one is padded in this batch."])
    with torch.no_grad():
        hidden, _ = fresh.lower(ids, mask)
        ours = fresh.run_top(hidden, mask)
        expected = ref(input_ids=ids, attention_mask=mask).last_hidden_state
    real = mask.bool()
    torch.testing.assert_close(ours[real], expected[real], atol=1e-5, rtol=1e-5)


def test_output_shape_dtype_range(model: TextEmotionModel) -> None:
    out = model.predict_vad([FURIOUS, WONDERFUL, NEUTRAL])
    assert out.shape == (3, 3) and out.dtype == np.float32 and np.all(np.abs(out) <= 1.0)
    assert out[0, 0] < -0.2 and out[0, 1] > 0.1 and out[1, 0] > 0.3 and np.all(np.abs(out[2]) < 0.15)


def test_batch_equals_one_by_one(model: TextEmotionModel) -> None:
    batch = model.predict_vad(list(EXAMPLES), batch_size=3)
    single = np.concatenate([model.predict_vad([t]) for t in EXAMPLES])
    np.testing.assert_allclose(batch, single, atol=1e-5)


def test_progress_bar(model: TextEmotionModel, capsys: pytest.CaptureFixture[str]) -> None:
    assert model.predict_vad([FURIOUS, NEUTRAL], batch_size=1, show_progress=True).shape == (2, 3)
    assert "2/2" in capsys.readouterr().err


def test_bad_inputs(model: TextEmotionModel) -> None:
    with pytest.raises(ValueError, match=r"texts\[1\]"):
        model.predict_vad(["fine", "   "])
    with pytest.raises(TypeError):
        model.predict_vad("a single string")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        model.predict_vad(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="batch_size"):
        model.predict_vad(["ok"], batch_size=0)
    with pytest.raises(ValueError, match="long_texts"):
        model.predict_vad(["ok"], long_texts="sentences")
    assert model.predict_vad([]).shape == (0, 3)


# -- long texts ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def long_vad(model: TextEmotionModel) -> dict[str, dict[str, np.ndarray]]:
    texts = {k: long_text(k) for k in ("start", "end", "none")}
    out = {}
    for mode in ("windows", "truncate"):
        vad = model.predict_vad(list(texts.values()), long_texts=mode)
        out[mode] = dict(zip(texts, vad, strict=True))
    return out


def test_long_text_is_read_to_the_end(model: TextEmotionModel, long_vad: dict) -> None:
    """An angry paragraph lowers the valence of a 600-word text the same wherever it is."""
    assert 550 <= len(long_text("start").split()) <= 650
    assert len(model.windows([long_text("end")])) >= 5
    w = long_vad["windows"]
    assert abs(w["start"][0] - w["end"][0]) < 0.03
    assert w["start"][0] < w["none"][0] - 0.05 and w["end"][0] < w["none"][0] - 0.05
    # truncation (format 1) reads only the first 128 tokens: the angry ending was invisible
    t = long_vad["truncate"]
    assert t["start"][0] < -0.3 and abs(t["end"][0] - t["none"][0]) < 0.1


def test_short_texts_unchanged_by_windowing(model: TextEmotionModel) -> None:
    texts = list(EXAMPLES)
    assert all(len(w.ids) <= 128 for w in model.windows(texts)) and len(model.windows(texts)) == len(texts)
    np.testing.assert_array_equal(model.predict_vad(texts), model.predict_vad(texts, long_texts="truncate"))
    mixed = model.predict_vad([long_text("start"), *texts, long_text("end")])
    np.testing.assert_allclose(mixed[1:-1], model.predict_vad(texts), atol=1e-5)


# -- lexical evidence (moved to lexicon.py, re-exported) -----------------------------------------------------------


def test_lexical_label_scores_reexported() -> None:
    assert lexical_label_scores is lexicon_scores
    s = lexical_label_scores(["I am furious and scared", NEUTRAL, "I am not happy"])
    assert s.shape == (3, len(LABELS)) and s[0, LABELS.index("angry")] == 1 and s[1].sum() == 0
    assert s[2, LABELS.index("happy")] == 0 and s[2, LABELS.index("sad")] > 0
