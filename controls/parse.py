"""Parse the emotion strings users type into typed values.

Accepted forms (case-insensitive, whitespace tolerant)::

    happy                          a label or a synonym ("joyful", "furious", …)
    happy:0.8                      a label with an intensity in [0, 1]
    happy:0.6+surprised:0.4        a mixture (each part's number is its intensity)
    vad:0.8,0.5,0.2                valence, arousal[, dominance], each in [-1, 1]
    text:I can't believe we won    free text, analysed by the text model (the "text:" prefix is optional
                                   for anything that is not a single word)
    0s neutral, 1.2s happy:0.8, 3s sad:0.5
                                   a keyframed timeline: times in s or ms, each followed by one of the
                                   forms above (text in quotes); "," or ";" between keyframes

A single bare word that is not a label but looks like a misspelt one ("hapy") is an error with a suggestion;
any other single word is treated as text.
"""

from __future__ import annotations

import difflib
import re

from emogen.emotion import LABEL_SYNONYMS, VAD, EmotionLabel, Keyframe, canonical_label

__all__ = ["EmotionSpec", "parse_emotion_spec", "parse_state_spec", "parse_timeline", "is_timeline"]

#: What a single emotional state can be (a timeline is a list of keyframes of these).
EmotionSpec = VAD | EmotionLabel | tuple[EmotionLabel, ...] | str

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_TIME = rf"(?P<time>{_NUMBER})\s*(?P<unit>ms|s)"
_TIMELINE_START = re.compile(rf"^\s*{_TIME}\s+\S")
_TIMELINE_SPLIT = re.compile(rf"\s*[,;]\s*(?={_NUMBER}\s*(?:ms|s)(?:\s|$))")
_KEYFRAME = re.compile(rf"^\s*{_TIME}\s+(?P<spec>.+?)\s*$", re.S)
_LABEL_PART = r"[A-Za-z][A-Za-z_\-]*(?:\s*:\s*[^+\s]+)?"
_LABEL_SPEC = re.compile(rf"^\s*{_LABEL_PART}(?:\s*\+\s*{_LABEL_PART})*\s*$")
_WORD = re.compile(r"^[A-Za-z][A-Za-z_\-]*$")


def is_timeline(spec: str) -> bool:
    """Whether ``spec`` starts like a keyframed timeline ("0s neutral, …")."""
    return bool(_TIMELINE_START.match(spec))


def _parse_intensity(raw: str, label: str, context: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(
            f"Intensity {raw!r} of {label!r} in {context!r} is not a number; write e.g. '{label}:0.8' "
            "(intensity in [0, 1])."
        ) from None
    if not 0.0 <= value <= 1.0 or value != value:
        raise ValueError(f"Intensity {raw!r} of {label!r} in {context!r} must be in [0, 1].")
    return value


def _parse_labels(spec: str) -> EmotionLabel | tuple[EmotionLabel, ...]:
    parts = [p.strip() for p in spec.split("+")]
    labels = []
    for part in parts:
        name, _, raw = part.partition(":")
        name = name.strip()
        canonical_label(name)  # raises with a suggestion
        intensity = _parse_intensity(raw.strip(), name, spec) if raw else 1.0
        labels.append(EmotionLabel(name, intensity))
    names = [label.name for label in labels]
    if len(set(names)) != len(names):
        raise ValueError(f"Mixture {spec!r} names the same emotion twice ({', '.join(names)}); merge them.")
    return labels[0] if len(labels) == 1 else tuple(labels)


def _parse_vad(body: str, spec: str) -> VAD:
    values = [v.strip() for v in re.split(r"[,\s]+", body.strip()) if v.strip()]
    if len(values) not in (2, 3):
        raise ValueError(
            f"VAD spec {spec!r} must hold 2 or 3 numbers in [-1, 1] (valence, arousal[, dominance]), "
            f"e.g. 'vad:0.8,0.5,0.2'."
        )
    try:
        numbers = [float(v) for v in values]
    except ValueError:
        raise ValueError(f"VAD spec {spec!r} holds a value that is not a number; e.g. 'vad:0.8,0.5,0.2'.") from None
    try:
        return VAD(*numbers)
    except ValueError as err:
        raise ValueError(f"In VAD spec {spec!r}: {err}") from None


def parse_state_spec(spec: str) -> EmotionSpec:
    """Parse one emotional state (not a timeline).

    Returns:
        a :class:`VAD`, an :class:`EmotionLabel`, a tuple of labels (a mixture), or the text to analyse (``str``).

    Raises:
        ValueError: for empty specs, unknown labels (with the closest suggestions), bad numbers.
    """
    if not isinstance(spec, str):
        raise TypeError(f"An emotion spec must be a string, got {type(spec).__name__}.")
    stripped = spec.strip()
    if not stripped:
        raise ValueError("Empty emotion spec; give a label ('happy'), 'happy:0.8', 'vad:0.8,0.5,0.2' or some text.")
    lower = stripped.lower()
    if lower.startswith("text:"):
        text = stripped[5:].strip()
        if not text:
            raise ValueError(f"Text spec {spec!r} has no text after 'text:'.")
        return text
    if lower.startswith("vad:"):
        return _parse_vad(stripped[4:], spec)
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "\"'":
        return stripped[1:-1].strip() or _raise_empty(spec)
    if _WORD.match(stripped):
        if lower in LABEL_SYNONYMS:
            return EmotionLabel(lower)
        if _looks_like_label(lower):
            canonical_label(lower)  # raises "Unknown emotion label ... Did you mean ...?"
        return stripped
    if (":" in stripped or "+" in stripped) and _LABEL_SPEC.match(stripped):
        names = [part.partition(":")[0].strip().lower() for part in stripped.split("+")]
        if all(_looks_like_label(name) for name in names):
            return _parse_labels(stripped)
    return stripped


def _looks_like_label(word: str) -> bool:
    return word in LABEL_SYNONYMS or bool(difflib.get_close_matches(word, list(LABEL_SYNONYMS), n=1, cutoff=0.75))


def _raise_empty(spec: str):
    raise ValueError(f"Quoted text in {spec!r} is empty.")


def parse_timeline(spec: str) -> list[Keyframe]:
    """Parse ``"0s neutral, 1.2s happy:0.8, 3s sad:0.5"`` into keyframes (strictly increasing times).

    Raises:
        ValueError: naming the malformed keyframe and the expected form.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("Empty timeline; write e.g. '0s neutral, 1.2s happy:0.8, 3s sad:0.5'.")
    items = [item for item in _TIMELINE_SPLIT.split(spec.strip()) if item.strip()]
    keyframes: list[Keyframe] = []
    for item in items:
        match = _KEYFRAME.match(item)
        if match is None:
            raise ValueError(
                f"Malformed keyframe {item.strip()!r} in timeline {spec!r}: expected '<time>s <emotion>' "
                "(e.g. '1.2s happy:0.8'); separate keyframes with ',' or ';'."
            )
        time = float(match["time"]) / (1000.0 if match["unit"] == "ms" else 1.0)
        if time < 0:
            raise ValueError(f"Keyframe time {match['time']}{match['unit']} in {spec!r} is negative.")
        body = match["spec"].strip().rstrip(",;").strip()
        if is_timeline(body):
            raise ValueError(f"Keyframe {item.strip()!r} in {spec!r} holds another time; separate keyframes with ','.")
        emotion = parse_state_spec(body)
        if keyframes and time <= keyframes[-1].time:
            raise ValueError(
                f"Keyframe times must increase: {time:g}s follows {keyframes[-1].time:g}s in timeline {spec!r}."
            )
        keyframes.append(Keyframe(time, emotion))
    return keyframes


def parse_emotion_spec(spec: str) -> EmotionSpec | list[Keyframe]:
    """Parse any emotion string: a timeline gives a list of :class:`Keyframe`, anything else one state."""
    if isinstance(spec, str) and is_timeline(spec):
        return parse_timeline(spec)
    return parse_state_spec(spec)
