"""Emotion tags inside text: ``"[happy] We won the match! [sad:0.7] But Sam got hurt."``.

A tag is an emotion spec in square brackets (any single-state form :func:`~emogen.controls.parse_state_spec`
accepts: ``[happy]``, ``[sad:0.7]``, ``[happy:0.6+surprised:0.4]``, ``[vad:0.8,0.5,0.2]``,
``[text:what a relief]``); it applies to the text after it, up to the next tag. Text before the first tag has no
tag (``emotion=None``: the caller's default applies). Literal brackets are written ``\\[`` and ``\\]``; an
unmatched bracket is an error (it would otherwise be spoken). Every error is an
:class:`~emogen.controls.parse.EmotionSpecError` naming the tag or the character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from emogen.emotion import VAD, EmotionLabel

from .parse import EmotionSpecError, parse_state_spec

__all__ = ["TaggedSegment", "parse_tagged_text", "has_tags"]

_TAG = re.compile(r"(?<!\\)\[([^\[\]]*)(?<!\\)\]")
_WS = re.compile(r"\s+")
_BRACKET = re.compile(r"(?<!\\)[\[\]]")


@dataclass(frozen=True)
class TaggedSegment:
    """A piece of text and the emotion tag in force for it.

    Args:
        text: the text (tags removed, whitespace collapsed, escapes resolved).
        emotion: the spec string of the tag in force (``"sad:0.7"``), or ``None`` before the first tag.
    """

    text: str
    emotion: str | None = None


def has_tags(text: str) -> bool:
    """Whether ``text`` contains at least one (unescaped) ``[tag]``."""
    return bool(_TAG.search(text))


def _check_tag(spec: str, text: str) -> str:
    spec = spec.strip()
    if not spec:
        raise EmotionSpecError(f"Empty emotion tag '[]' in {text[:80]!r}; write e.g. '[happy]' or '[sad:0.7]'.", text)
    try:
        parsed = parse_state_spec(spec)  # raises for misspelt labels, bad numbers, bad VAD
    except EmotionSpecError as err:
        raise EmotionSpecError(f"In tag [{spec}]: {err}", text) from None
    if isinstance(parsed, str) and not spec.lower().startswith("text:"):
        raise EmotionSpecError(
            f"Tag [{spec}] in {text[:80]!r} is not an emotion. Accepted tags: a label or synonym ([happy]), "
            "[label:intensity], a mixture [happy:0.6+surprised:0.4], [vad:v,a,d], or [text:free text]; "
            "write literal brackets as \\[ and \\].",
            text,
        )
    if not isinstance(parsed, (str, VAD, EmotionLabel, tuple)):  # pragma: no cover - parse_state_spec contract
        raise EmotionSpecError(f"Tag [{spec}] did not parse to an emotion.", text)
    return spec


def _check_brackets(text: str, start: int, stop: int) -> None:
    stray = _BRACKET.search(text, start, stop)
    if stray is not None:
        raise EmotionSpecError(
            f"Unmatched {stray.group()!r} at character {stray.start() + 1} of {text[:80]!r}: emotion tags are "
            "written '[happy]'; write literal brackets as \\[ and \\].",
            text,
            stray.start(),
        )


def parse_tagged_text(text: str) -> list[TaggedSegment]:
    """Split text at emotion tags.

    Args:
        text: text with optional ``[spec]`` tags.

    Returns:
        The non-empty segments in order, each with the tag in force (``None`` before the first tag). Text without
        tags gives one segment with ``emotion=None``; an empty text gives ``[]``.

    Raises:
        TypeError: if ``text`` is not a string.
        EmotionSpecError: (a ``ValueError``) for an empty tag, a tag that is not an emotion (naming it and the
            accepted forms), a misspelt label (with a suggestion), or an unmatched bracket (naming the character).

    Example:
        >>> parse_tagged_text("[happy] We won the match! [sad:0.7] But Sam got hurt.")
        [TaggedSegment(text='We won the match!', emotion='happy'),
         TaggedSegment(text='But Sam got hurt.', emotion='sad:0.7')]
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}.")
    segments: list[TaggedSegment] = []
    current: str | None = None
    pos = 0

    def emit(piece: str, emotion: str | None) -> None:
        piece = _WS.sub(" ", piece.replace("\\[", "[").replace("\\]", "]")).strip()
        if piece:
            segments.append(TaggedSegment(piece, emotion))

    for match in _TAG.finditer(text):
        _check_brackets(text, pos, match.start())
        emit(text[pos : match.start()], current)
        current = _check_tag(match.group(1), text)
        pos = match.end()
    _check_brackets(text, pos, len(text))
    emit(text[pos:], current)
    return segments
