"""Text hygiene for the TTS: what espeak-ng can speak, sentence splitting, and the length limit."""

from __future__ import annotations

import logging
import re
import unicodedata

__all__ = ["MAX_CHARS", "clean_text", "split_sentences", "check_length"]

logger = logging.getLogger(__name__)

#: Longest text :func:`emogen.speech.synthesize` accepts in one call (about 20 minutes of speech, ~110 MB of
#: float32 audio). Longer texts go through :func:`emogen.speech.synthesize_stream`, which yields one sentence at a
#: time in bounded memory.
MAX_CHARS: int = 20_000

# Symbols espeak-ng reads sensibly in English text.
_KEEP_SYMBOLS = set("$%&+=@#/*°£€¥§<>^~|\\_")
_WS = re.compile(r"\s+")
# Sentence ends: . ! ? … (possibly repeated, possibly followed by closing quotes/brackets), then whitespace.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+")


def _keep(ch: str) -> bool:
    cat = unicodedata.category(ch)
    if ch.isspace():
        return True
    if cat.startswith("L"):
        # Latin letters (with accents) only: the English voices spell other scripts letter by letter, if at all
        return "LATIN" in unicodedata.name(ch, "")
    if cat.startswith("N"):
        return ch.isascii() or cat == "Nd"
    if cat.startswith("P"):
        return True
    if cat.startswith("S"):
        return ch in _KEEP_SYMBOLS
    return False  # controls, format chars, emoji modifiers, private use, unassigned


def clean_text(text: str) -> str:
    """Remove what the English TTS cannot speak and normalise whitespace.

    Kept: Latin letters (accents included), digits, punctuation, common symbols ($ % & …), whitespace.
    Removed (with one logged warning listing them): emoji and other pictographs, control and format characters,
    letters of other scripts. Text is NFC-normalised first; curly quotes and dashes are kept (espeak reads them).

    Args:
        text: the input text.

    Returns:
        The cleaned text (may be empty).

    Raises:
        TypeError: if ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}.")
    text = unicodedata.normalize("NFC", text)
    removed = sorted({ch for ch in text if not _keep(ch)})
    if removed:
        shown = ", ".join(repr(c) if c.isprintable() else f"U+{ord(c):04X}" for c in removed[:12])
        more = f" and {len(removed) - 12} more" if len(removed) > 12 else ""
        logger.warning(
            "Removed %d kind(s) of unspeakable character(s) from the text: %s%s.", len(removed), shown, more
        )
        text = "".join(ch if _keep(ch) else " " for ch in text)
    return _WS.sub(" ", text).strip()


def has_speakable(text: str) -> bool:
    """True if ``text`` holds at least one letter or digit."""
    return any(ch.isalnum() for ch in text)


def split_sentences(text: str) -> list[str]:
    """Split text into sentences at ``.``, ``!``, ``?``, ``…`` followed by whitespace (empty pieces dropped)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def check_length(num_chars: int, limit: int = MAX_CHARS) -> None:
    """Raise if ``num_chars`` exceeds ``limit``, naming the limit and the streaming alternative.

    Raises:
        ValueError: if the text is too long for one call.
    """
    if num_chars > limit:
        raise ValueError(
            f"The text has {num_chars} characters; one synthesis call accepts at most {limit} (about "
            f"{limit // 1000} minutes of speech). Use emogen.speech.synthesize_stream(...) to speak longer texts "
            "sentence by sentence in bounded memory, or split the text."
        )
