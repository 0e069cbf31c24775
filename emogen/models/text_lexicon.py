"""Lexical side of the text → emotion model: input checks, VADER features and hand-written label evidence.

Split out of the text model so that the model module stays small; nothing here needs torch, and
``lexical_label_scores`` can be imported without loading the neural model.

VADER (Hutto & Gilbert 2014, ``vadersentiment``, MIT) gives the four sentiment scores the text model reads next to
its transformer features; ``lexical_label_scores`` is a separate word-list heuristic (with negation and intensifiers)
that :mod:`emogen.controls.resolve` mixes with the model's VAD-based label assignment.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from emogen.emotion import LABELS

__all__ = ["LEXICAL_FEATURES", "check_texts", "lexical_features", "lexical_label_scores"]

LEXICAL_FEATURES: tuple[str, ...] = ("vader_compound", "vader_pos", "vader_neg", "vader_neu")


def check_texts(texts: Sequence[str]) -> list[str]:
    """Validates a batch of texts.

    Args:
        texts (`Sequence[str]`): N texts.

    Returns:
        `list[str]`: the same texts as a list.

    Raises:
        TypeError: ``texts`` is a single string or not a sequence, or one item is not a string.
        ValueError: a text is empty or whitespace-only (the message names its index).
    """
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(f"texts must be a list of strings, got {type(texts).__name__}")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] must be a str, got {type(t).__name__}")
        if not t.strip():
            raise ValueError(f"texts[{i}] is empty or whitespace-only; every text needs at least one word")
    return list(texts)


_VADER = None


def _vader():  # noqa: ANN202 - vaderSentiment has no type hints
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
    rows = [sia.polarity_scores(t) for t in check_texts(texts)]
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
    texts = check_texts(texts)
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
