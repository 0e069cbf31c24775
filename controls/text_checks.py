"""What the text model is given is checked first: its length (an error past the limit) and its language (a warning).

The text model (MiniLM + a head trained on EmoBank) reads English only: French, Arabic or Chinese text comes out
close to neutral whatever it says. :func:`check_model_texts` logs a warning naming the text when it does not look
English, so a neutral face is never a silent surprise. Long texts are read whole, in overlapping windows
(:meth:`emogen.models.TextEmotionModel.predict_vad`), so length only matters past
:data:`~emogen.io.limits.MAX_TEXT_CHARS`.

The language test is deliberately simple and offline: a text whose letters are mostly outside the Latin script is
not English; a Latin-script text of three or more words is taken as another language when it holds more common
function words of French, Spanish, German, Italian, Portuguese or Dutch than of English.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence

from emogen.io.limits import MAX_TEXT_CHARS, WorkLimitError

logger = logging.getLogger(__name__)

__all__ = ["check_model_texts", "looks_english"]

_ENGLISH = frozenset(
    """a about after all also am an and any are as at be because been but by can could did do does for from had has
    have he her him his how i if in into is it its just me more my no not now of on one only or our out she so some
    than that the their them then there these they this to too up us very was we were what when where which who why
    will with would you your i'm it's don't can't won't""".split()
)
#: Common function words of other languages written in the Latin script.
_OTHER_BY_LANGUAGE = {
    "French": """le la les un une des et est je tu il elle nous vous ils sont suis très pas du au aux avec pour dans
        sur mais qui que ce cette mon ma mes ton sa ses été être avoir fait c'est j'ai""",
    "Spanish": "el los las y es soy estoy muy con por para del al pero como qué mi tu su yo ella nosotros está están",
    "German": "der die das und ist ich bin sehr nicht mit ein eine zu auf für von dem den sich wir ihr sie es war",
    "Italian": "il lo gli è sono molto non per che di da della sei siamo",
    "Portuguese": "um uma não com muito está eu ele ela",
    "Dutch": "het een en ik ben zeer niet met van op voor maar wij zijn",
}
_OTHER = frozenset(w for words in _OTHER_BY_LANGUAGE.values() for w in words.split()) - _ENGLISH
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


def _latin_share(text: str) -> float:
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 1.0
    latin = sum(1 for ch in letters if unicodedata.name(ch, "").startswith("LATIN"))
    return latin / len(letters)


def looks_english(text: str) -> bool:
    """Whether ``text`` plausibly is English (see the module docstring for the test)."""
    if _latin_share(text) < 0.5:
        return False
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < 3:
        return True
    english = sum(w in _ENGLISH for w in words)
    other = sum(w in _OTHER for w in words)
    return not (other >= 2 and other > english)


def check_model_texts(texts: Sequence[str]) -> None:
    """Check texts before the text model reads them.

    Raises:
        WorkLimitError: a text longer than :data:`~emogen.io.limits.MAX_TEXT_CHARS` characters.

    Logs a warning for each text that does not look English (at most three named, then a count).
    """
    foreign = []
    for text in texts:
        if len(text) > MAX_TEXT_CHARS:
            raise WorkLimitError(
                f"Text of {len(text)} characters ({text[:40]!r}…); the text model reads at most {MAX_TEXT_CHARS}."
            )
        if not looks_english(text):
            foreign.append(text)
    for text in foreign[:3]:
        logger.warning(
            "%r does not look like English: the text model reads English only, so its emotion will likely come out "
            "neutral. Give the emotion as a label (e.g. 'happy:0.8') or translate the text.",
            text if len(text) <= 60 else text[:59] + "…",
        )
    if len(foreign) > 3:
        logger.warning("%d more texts do not look like English either.", len(foreign) - 3)
