"""Text and emotion specs → the sentences to speak, each with its emotion (:class:`~emogen.speech.SpeechPiece`).

The emotion can change inside one utterance, three ways (combinable):

- tags in the text: ``"[happy] We won the match! [sad:0.7] But Sam got hurt."`` (:mod:`emogen.controls.segments`);
- ``emotion``: any spec :func:`~emogen.controls.resolve_emotion` accepts, including a timeline
  ``"0s neutral, 2s angry"`` (each sentence takes the emotion at its time), or ``"auto"`` (each sentence's emotion
  is read from its own words by the text model);
- ``emotion_track``: a precomputed :class:`~emogen.emotion.EmotionTrack` (the twin of ``emotion``).

Tagged sentences use their tag; the rest use ``emotion`` / ``emotion_track``. :func:`emogen.speech.speak` speaks the
pieces; ``emogen speak``, :class:`~emogen.pipelines.EmoSpeechPipeline` and the talking-head pipeline all go through
these two functions.
"""

from __future__ import annotations

from emogen.emotion import EmotionState, EmotionTrack
from emogen.speech.speak import SpeechPiece
from emogen.speech.text import clean_text, has_speakable, split_sentences

from .resolve import resolve_emotion, text_states
from .segments import parse_tagged_text

__all__ = ["speech_pieces"]


def speech_pieces(
    text: str, emotion=None, emotion_track: EmotionTrack | None = None, *, text_model=None
) -> tuple[list[SpeechPiece], EmotionTrack | None]:
    """Split ``text`` into sentences and give each its emotion.

    Args:
        text: what to say; may hold emotion tags ``[happy]``, ``[sad:0.7]`` ….
        emotion: emotion of the untagged text: a label, ``label:intensity``, mixture, ``vad:…``, free text, a
            timeline string, a typed value, or ``"auto"`` (read from each sentence). Default neutral.
        emotion_track: precomputed twin of ``emotion`` (time in seconds of the output).
        text_model: the text model for ``"auto"`` and ``text:`` specs (default: the shipped one).

    Returns:
        ``(pieces, track)``: the sentences, and the time-varying track the untagged ones follow (``None`` when
        the emotion is constant).

    Raises:
        TypeError: ``text`` is not a string, ``emotion_track`` not an :class:`EmotionTrack`.
        ValueError: empty or unspeakable text, both ``emotion`` and ``emotion_track``, a bad tag or spec.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}.")
    if not text.strip():
        raise ValueError("text is empty; give the words to speak, e.g. 'Hello there!'.")
    if emotion is not None and emotion_track is not None:
        raise ValueError("Pass either `emotion` or `emotion_track` (its precomputed twin), not both.")
    if emotion_track is not None and not isinstance(emotion_track, EmotionTrack):
        raise TypeError(f"emotion_track must be an EmotionTrack, got {type(emotion_track).__name__}.")
    auto = isinstance(emotion, str) and emotion.strip().lower() == "auto"
    track, default = emotion_track, EmotionState.neutral()
    if emotion is not None and not auto:
        resolved = resolve_emotion(emotion, fps=25.0, text_model=text_model)
        if resolved.num_frames > 1:
            track = resolved  # a timeline: time-varying
        else:
            default = resolved.mean_state(0.0, 0.0)

    sentences: list[tuple[str, str | None]] = []
    for seg in parse_tagged_text(text):
        for sentence in split_sentences(seg.text):
            sentence = clean_text(sentence)
            if has_speakable(sentence):
                sentences.append((sentence, seg.emotion))
    if not sentences:
        raise ValueError(
            "Nothing to speak: after removing tags and unsupported characters (emoji, control characters, "
            f"non-Latin scripts) no words remain in {text[:80]!r}."
        )
    tags = {
        tag: resolve_emotion(tag, fps=25.0, text_model=text_model).mean_state(0.0, 0.0) for _, tag in sentences if tag
    }
    untagged = [s for s, tag in sentences if tag is None]
    read = dict(zip(untagged, text_states(untagged, model=text_model), strict=True)) if auto and untagged else {}
    pieces = []
    for sentence, tag in sentences:
        if tag is not None:
            state = tags[tag]
        elif track is not None:
            state = None
        else:
            state = read.get(sentence, default)
        pieces.append(SpeechPiece(sentence, state))
    return pieces, track
