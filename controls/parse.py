"""Parse the emotion strings users type into typed values.

Accepted forms (case-insensitive, whitespace tolerant)::

    happy                          a label or a synonym ("joyful", "furious", …)
    happy:0.8                      a label with an intensity in [0, 1]
    happy:0.6+surprised:0.4        a mixture (each part's number is its intensity)
    vad:0.8,0.5,0.2                valence, arousal[, dominance], each in [-1, 1]
    text:wonderful                 free text, analysed by the text model; the "text:" prefix may be left out
    I can't believe we won         for text of two or more words, or text in quotes
    0s neutral, 1.2s happy:0.8, 3s sad:0.5
                                   a keyframed timeline: times in s or ms, each followed by one of the
                                   forms above (text holding a time in quotes); "," or ";" between keyframes

Free text is never guessed from a single token: a lone word (or emoji, number, …) that is not a label is an error
with the closest labels, and ``text:WORD`` reads it as text. Malformed mixtures and timelines (``happy:``,
``happy+blorp``, ``0s happy 1s sad``) are errors that point at the character. Every error is an
:class:`EmotionSpecError` (a ``ValueError``); a non-string is a ``TypeError``.
"""

from __future__ import annotations

import difflib
import math
import re

from emogen.emotion import LABEL_SYNONYMS, LABELS, VAD, EmotionLabel, Keyframe
from emogen.io.limits import MAX_DURATION, MAX_TEXT_CHARS

__all__ = [
    "EmotionSpec",
    "EmotionSpecError",
    "is_timeline",
    "parse_emotion_spec",
    "parse_state_spec",
    "parse_timeline",
]

#: What a single emotional state can be (a timeline is a list of keyframes of these).
EmotionSpec = VAD | EmotionLabel | tuple[EmotionLabel, ...] | str

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_TIME = rf"(?P<time>{_NUMBER})\s*(?P<unit>ms|s)"
_TIMELINE_START = re.compile(rf"^\s*{_TIME}\s+\S")
_TIMELINE_SPLIT = re.compile(rf"\s*[,;]\s*(?={_NUMBER}\s*(?:ms|s)(?:\s|$))")
_KEY_HEAD = re.compile(rf"\s*{_TIME}(?=\s|$)")
_INNER_TIME = re.compile(rf"(?<=\s){_NUMBER}\s*(?:ms|s)(?=\s+\S)")
_LOOSE_TIME = re.compile(rf"(?<=[,;])\s*{_NUMBER}\s*(?:ms|s)(?=\s+\S)")
_BARE_TIME = re.compile(rf"^{_NUMBER}\s*(?:ms|s)[,;]?$")
_BAD_TIME = re.compile(r"^[-+]?\.?\d[\d.]*(?:[eE][-+]?\d+(?:ms|s)|(?:sec|secs|second|seconds|min|mins|h)\b)")
_COMPACT = re.compile(r"\s*([:+])\s*")
_QUOTES = "\"'"
_ACCEPTED = (
    "a label (happy), label:intensity (happy:0.8), a mixture (happy:0.6+surprised:0.4), vad:v,a,d, "
    "text:free text, or a timeline '0s neutral, 1.2s happy:0.8'"
)


class EmotionSpecError(ValueError):
    """A malformed emotion spec.

    Args:
        message: what is wrong and what is accepted (names the value and, where it applies, the character).
        spec: the whole string that was parsed.
        position: 0-based index in ``spec`` of the offending character, or ``None``.
    """

    def __init__(self, message: str, spec: str | None = None, position: int | None = None) -> None:
        super().__init__(message)
        self.spec = spec
        self.position = position


def _fail(message: str, whole: str, position: int | None = None) -> EmotionSpecError:
    at_start = position == len(whole) - len(whole.lstrip()) and repr(whole.strip()) in message
    where = "" if position is None or at_start else f" (at character {position + 1} of {whole!r})"
    return EmotionSpecError(f"{message}{where}", whole, position)


def _check_length(spec: str) -> None:
    if len(spec) > MAX_TEXT_CHARS:
        raise EmotionSpecError(
            f"Emotion spec of {len(spec)} characters ({spec[:40]!r}…); the longest accepted is {MAX_TEXT_CHARS}.",
            spec,
        )


def is_timeline(spec: str) -> bool:
    """Whether ``spec`` starts like a keyframed timeline ("0s neutral, …")."""
    return bool(_TIMELINE_START.match(spec))


def _unknown_label(name: str, whole: str, position: int, single: bool) -> EmotionSpecError:
    key = name.lower()
    if _BARE_TIME.match(name):
        return _fail(f"{name!r} is a keyframe time without an emotion; write e.g. '{name.rstrip(',;')} happy'", whole,
                     position)  # fmt: skip
    close = difflib.get_close_matches(key, list(LABEL_SYNONYMS), n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    as_text = f" To read it as text, write 'text:{name}'." if single else ""
    return _fail(
        f"Unknown emotion label {name!r}{'' if single else f' in mixture {whole!r}'}.{hint}{as_text} Accepted "
        f"labels: {', '.join(LABELS)} (and synonyms such as 'joyful', 'furious', 'scared')",
        whole,
        position,
    )


def _parse_labels(text: str, whole: str, base: int) -> EmotionLabel | tuple[EmotionLabel, ...]:
    """``label[:intensity](+label[:intensity])*``; ``base`` is where ``text`` starts in ``whole``."""
    labels: list[EmotionLabel] = []
    start = 0
    parts = text.split("+")
    for part in parts:
        lead = len(part) - len(part.lstrip())
        pos = base + start + lead
        item = part.strip()
        start += len(part) + 1
        if not item:
            what = "an emotion after '+'" if labels else "an emotion before '+'"
            raise _fail(f"Mixture {whole.strip()!r} is missing {what}; write e.g. 'happy:0.6+surprised:0.4'", whole,
                        pos)  # fmt: skip
        name, colon, raw = item.partition(":")
        name = name.strip()
        if not name:
            raise _fail(f"Missing emotion label before ':' in {whole.strip()!r}; write e.g. 'happy:0.8'", whole, pos)
        if name.lower() not in LABEL_SYNONYMS:
            raise _unknown_label(name, whole, pos, single=len(parts) == 1 and not colon)
        intensity = 1.0
        if colon:
            raw_pos = pos + len(item.partition(":")[0]) + 1
            raw_stripped = raw.strip()
            raw_pos += len(raw) - len(raw.lstrip())
            if not raw_stripped:
                raise _fail(f"Missing intensity after {name + ':'!r}; write e.g. '{name}:0.8' (in [0, 1])", whole,
                            raw_pos)  # fmt: skip
            try:
                intensity = float(raw_stripped)
            except ValueError:
                raise _fail(
                    f"Intensity {raw_stripped!r} of {name!r} is not a number; write e.g. '{name}:0.8' "
                    "(intensity in [0, 1])",
                    whole,
                    raw_pos,
                ) from None
            if not (math.isfinite(intensity) and 0.0 <= intensity <= 1.0):
                raise _fail(f"Intensity {raw_stripped!r} of {name!r} must be in [0, 1]", whole, raw_pos)
        labels.append(EmotionLabel(name.lower(), intensity))
    names = [label.name for label in labels]
    if len(set(names)) != len(names):
        raise _fail(f"Mixture {whole.strip()!r} names the same emotion twice ({', '.join(names)}); merge them", whole)
    return labels[0] if len(labels) == 1 else tuple(labels)


def _parse_vad(body: str, whole: str, base: int) -> VAD:
    found = [(m.group(), base + m.start()) for m in re.finditer(r"[^,\s]+", body)]
    if len(found) not in (2, 3):
        raise _fail(
            f"VAD spec {whole.strip()!r} must hold 2 or 3 numbers in [-1, 1] (valence, arousal[, dominance]), "
            "e.g. 'vad:0.8,0.5,0.2'",
            whole,
            base,
        )
    numbers = []
    for axis, (raw, pos) in zip(("valence", "arousal", "dominance"), found, strict=False):
        try:
            value = float(raw)
        except ValueError:
            raise _fail(f"The {axis} {raw!r} in VAD spec {whole.strip()!r} is not a number; e.g. 'vad:0.8,0.5,0.2'",
                        whole, pos) from None  # fmt: skip
        if not (math.isfinite(value) and -1.0 <= value <= 1.0):
            raise _fail(f"The {axis} {raw!r} in VAD spec {whole.strip()!r} must be in [-1, 1]", whole, pos)
        numbers.append(value)
    return VAD(*numbers)


def _parse_state(body: str, whole: str, offset: int) -> EmotionSpec:
    """One state; ``offset`` is where ``body`` starts in ``whole`` (for error positions)."""
    stripped = body.strip()
    base = offset + len(body) - len(body.lstrip())
    if not stripped:
        raise _fail(f"Empty emotion spec; give {_ACCEPTED}", whole, base if whole.strip() else None)
    lower = stripped.lower()
    if lower.startswith("text:"):
        text = stripped[5:].strip()
        if not text:
            raise _fail(f"Text spec {stripped!r} has no text after 'text:'", whole, base + 5)
        return text
    if lower.startswith("vad:"):
        return _parse_vad(stripped[4:], whole, base + 4)
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in _QUOTES:
        inner = stripped[1:-1].strip()
        if not inner:
            raise _fail(f"Quoted text {stripped!r} is empty", whole, base)
        return inner
    if not any(ch.isspace() for ch in _COMPACT.sub(r"\1", stripped)):
        return _parse_labels(stripped, whole, base)  # one token: labels only, never guessed as text
    # Two or more words: free text, unless it is a malformed timeline or a list of labels.
    loose = _LOOSE_TIME.search(stripped)
    if loose is not None:
        raise _fail(
            f"{stripped!r} looks like a timeline whose first keyframe has no time; write e.g. '0s happy, 1s sad' "
            "(or 'text:…' to read it as text)",
            whole,
            base,
        )
    first = stripped.split()[0]
    if _BAD_TIME.match(first):
        raise _fail(f"{first!r} is not a keyframe time; write times as e.g. '1.5s' or '1500ms'", whole, base)
    words = stripped.split()
    if all(w.lower().strip(",;") in LABEL_SYNONYMS for w in words):
        raise _fail(
            f"{stripped!r} names several emotions; write a mixture such as '{'+'.join(w.strip(',;') for w in words)}'"
            f" or a timeline, or 'text:{stripped}' to read it as text",
            whole,
            base,
        )
    if not any(ch.isalpha() for ch in stripped):
        raise _fail(f"{stripped!r} has no words for the text model to read; give {_ACCEPTED}", whole, base)
    return stripped


def parse_state_spec(spec: str) -> EmotionSpec:
    """Parse one emotional state (not a timeline).

    Returns:
        a :class:`VAD`, an :class:`EmotionLabel`, a tuple of labels (a mixture), or the text to analyse (``str``).

    Raises:
        TypeError: ``spec`` is not a string.
        EmotionSpecError: empty specs, unknown labels (with the closest suggestions), a single token that is not a
            label, bad numbers, malformed mixtures; the message names the value and the character.
    """
    if not isinstance(spec, str):
        raise TypeError(f"An emotion spec must be a string, got {type(spec).__name__}.")
    _check_length(spec)
    return _parse_state(spec, spec, 0)


def _check_no_inner_time(body: str, whole: str, offset: int) -> None:
    """A keyframe's emotion holding another time means a missing separator: ``"0s happy 1s sad"``."""
    stripped = body.strip()
    if not stripped or stripped[0] in _QUOTES or stripped.lower().startswith("text:"):
        return
    match = _INNER_TIME.search(body)
    if match is not None:
        raise _fail(
            f"Missing ',' before keyframe {match.group().strip()!r} in timeline {whole.strip()!r}; separate "
            "keyframes with ',' or ';' (and quote text that holds a time)",
            whole,
            offset + match.start(),
        )


def parse_timeline(spec: str) -> list[Keyframe]:
    """Parse ``"0s neutral, 1.2s happy:0.8, 3s sad:0.5"`` into keyframes (strictly increasing times).

    Raises:
        TypeError: ``spec`` is not a string.
        EmotionSpecError: naming the malformed keyframe, the character, and the expected form; keyframe times past
            :data:`~emogen.io.limits.MAX_DURATION`.
    """
    if not isinstance(spec, str):
        raise TypeError(f"A timeline must be a string, got {type(spec).__name__}.")
    if not spec.strip():
        raise EmotionSpecError("Empty timeline; write e.g. '0s neutral, 1.2s happy:0.8, 3s sad:0.5'.", spec)
    _check_length(spec)
    bounds, prev = [], 0
    for m in _TIMELINE_SPLIT.finditer(spec):
        bounds.append((prev, m.start()))
        prev = m.end()
    bounds.append((prev, len(spec)))
    keyframes: list[Keyframe] = []
    for start, end in bounds:
        item = spec[start:end]
        if not item.strip():
            continue
        head = _KEY_HEAD.match(item)
        lead = start + len(item) - len(item.lstrip())
        if head is None:
            raise _fail(
                f"Malformed keyframe {item.strip()!r}: expected '<time>s <emotion>' (e.g. '1.2s happy:0.8'); "
                "separate keyframes with ',' or ';'",
                spec,
                lead,
            )
        time = float(head["time"]) / (1000.0 if head["unit"] == "ms" else 1.0)
        time_text = f"{head['time'][:12]}{'…' if len(head['time']) > 12 else ''}{head['unit']}"
        if time < 0:
            raise _fail(f"Keyframe time {time_text} is negative", spec, lead)
        if not time <= MAX_DURATION:
            raise _fail(f"Keyframe time {time_text} is past the longest clip ({MAX_DURATION:g} s)", spec, lead)
        if keyframes and time <= keyframes[-1].time:
            raise _fail(f"Keyframe times must increase: {time:g}s follows {keyframes[-1].time:g}s", spec, lead)
        body = item[head.end() :]
        trimmed = body.rstrip().rstrip(",;")
        if not trimmed.strip():
            raise _fail(f"Keyframe {time_text!r} has no emotion; write e.g. '{time_text} happy'", spec, lead)
        _check_no_inner_time(trimmed, spec, start + head.end())
        keyframes.append(Keyframe(time, _parse_state(trimmed, spec, start + head.end())))
    if not keyframes:  # pragma: no cover - a non-blank spec always holds an item
        raise EmotionSpecError("Empty timeline; write e.g. '0s neutral, 1.2s happy:0.8, 3s sad:0.5'.", spec)
    return keyframes


def parse_emotion_spec(spec: str) -> EmotionSpec | list[Keyframe]:
    """Parse any emotion string: a timeline gives a list of :class:`Keyframe`, anything else one state.

    Raises:
        TypeError: ``spec`` is not a string.
        EmotionSpecError: see :func:`parse_state_spec` and :func:`parse_timeline`.
    """
    if isinstance(spec, str) and is_timeline(spec):
        return parse_timeline(spec)
    return parse_state_spec(spec)
