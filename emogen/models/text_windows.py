"""Long texts for the text → emotion model: overlapping token windows and their token-weighted combination.

The model reads at most ``max_length`` (128) tokens at a time and was trained on single sentences. A longer text is
cut into windows of ``max_length`` tokens (``[CLS]``/``[SEP]`` included) that overlap by ``overlap`` tokens, each
window is scored like a short text, and the text's VAD is the mean of its windows' VAD weighted by the tokens each
window covers, a token seen by ``c`` windows counting ``1 / c`` in each: every token counts once, so a paragraph
weighs the same wherever it is in the text. A text that fits one window is that window, with weight exactly 1.

The cutting is the tokenizer's own (``tokenizers`` truncation with ``stride`` = overlap, whose ``overflowing``
encodings are the next windows); the windows are identified by their character offsets, which also give each
window's text for VADER.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["TextWindow", "combine_windows", "split_windows"]


@dataclass(frozen=True)
class TextWindow:
    """One model input cut from a text.

    Attributes:
        text_index (`int`): index of the text it comes from.
        ids (`list[int]`): token ids with ``[CLS]``/``[SEP]``, at most ``max_length``.
        weight (`float`): the tokens it covers, a token seen by ``c`` windows counting ``1 / c``; 1.0 when the text
            is a single window.
        text (`str`): the characters it covers (the whole text when it is a single window), for VADER.
    """

    text_index: int
    ids: list[int]
    weight: float
    text: str


def split_windows(tokenizer, texts: Sequence[str], split: bool = True) -> list[TextWindow]:  # noqa: ANN001
    """Cuts texts into model inputs.

    Args:
        tokenizer (`tokenizers.Tokenizer`): with truncation at ``max_length`` and ``stride`` = the overlap enabled,
            padding disabled.
        texts (`Sequence[str]`): N texts.
        split (`bool`): ``False`` keeps only the first window of each text (truncation) with the whole text for
            VADER, the behaviour of the format-1 model.

    Returns:
        `list[TextWindow]`, grouped by text in input order (at least one per text).
    """
    out: list[TextWindow] = []
    for n, (text, enc) in enumerate(zip(texts, tokenizer.encode_batch(list(texts)), strict=True)):
        pieces = [enc, *enc.overflowing] if split else [enc]
        if len(pieces) == 1:
            out.append(TextWindow(n, list(enc.ids), 1.0, text))
            continue
        spans = [[o for o, s in zip(p.offsets, p.special_tokens_mask, strict=True) if not s] for p in pieces]
        coverage = Counter(o for span in spans for o in span)  # a token is identified by its character span
        for j, (piece, span) in enumerate(zip(pieces, spans, strict=True)):
            start = 0 if j == 0 else span[0][0]
            end = len(text) if j == len(pieces) - 1 else span[-1][1]
            weight = float(sum(1.0 / coverage[o] for o in span))
            out.append(TextWindow(n, list(piece.ids), weight, text[start:end]))
    return out


def combine_windows(values: np.ndarray, windows: Sequence[TextWindow], num_texts: int) -> np.ndarray:
    """Weighted mean of per-window values per text.

    Args:
        values (`np.ndarray` of shape `(W, C)`): one row per window, in the order of ``windows``.
        windows (`Sequence[TextWindow]`): W windows of ``num_texts`` texts.
        num_texts (`int`): N.

    Returns:
        `np.ndarray` of shape `(N, C)`, the dtype of ``values``; a single-window text gets its row unchanged.
    """
    owner = np.array([w.text_index for w in windows])
    weight = np.array([w.weight for w in windows], dtype=np.float64)
    weight /= np.bincount(owner, weights=weight, minlength=num_texts)[owner]  # exactly 1.0 for single windows
    total = np.zeros((num_texts, values.shape[1]), dtype=np.float64)
    np.add.at(total, owner, values * weight[:, None])
    return total.astype(values.dtype)
