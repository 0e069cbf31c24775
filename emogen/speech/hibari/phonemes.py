"""hibari's phonemes: model calls from G2P tokens, and misaki symbols → ARPAbet phones with timings.

hibari's G2P (a port of misaki, Apache-2.0) writes misaki/Kokoro symbols: IPA plus single-letter diphthongs. The
model gives one duration per symbol (25 ms units); :func:`misaki_to_phones` groups them into phones in ARPAbet, the
alphabet :mod:`emogen.speech.visemes` detects (``"SIL"`` for pauses), so the talking head's visemes read them as
they read forced-alignment output.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["MAX_PHONEMES", "MISAKI_TO_ARPABET", "SILENCE", "Chunk", "pack_tokens", "misaki_to_phones"]

logger = logging.getLogger(__name__)

#: Longest phoneme string sent to the model at once (hibari's own ``MAX_PHONEMES``: Kokoro-82M, the teacher, was
#: trained on at most 510 symbols). Longer sentences are cut after clause punctuation, else between words.
MAX_PHONEMES: int = 400
#: The pause phone (ARPAbet silence, so that :func:`emogen.speech.visemes.detect_alphabet` says ``"arpabet"``).
SILENCE = "SIL"

PUNCT = frozenset(';:,.!?—…"()“”')
STRESS = frozenset("ˈˌ")
#: Marks that modify the previous symbol (length, nasalisation, aspiration, palatalisation, tones …).
MODIFIERS = frozenset("ː̃ʰʲᵝ↓→↗↘")
VOWELS = frozenset("AIOQWYaeiouyæɐɑɒɔəɚɛɜɤɨɪɯʊʌøœᵊᵻ")

#: misaki / Kokoro phoneme symbol (one character of hibari's ``vocab.json``) → ARPAbet (CMUdict's 39 phones).
#: misaki's single-letter diphthongs: A = eɪ, I = aɪ, O = oʊ (US), Q = əʊ (GB), W = aʊ, Y = ɔɪ; ``T`` is the American
#: flap, ``ᵊ`` a reduced schwa, ``ᵻ`` a reduced ɪ. ``ɜɹ``/``əɹ`` not followed by a vowel merge into ER (see
#: :func:`misaki_to_phones`). Symbols of other languages in the vocabulary (never produced by the English G2P) go
#: to the nearest English phone.
MISAKI_TO_ARPABET: dict[str, str] = {
    # English vowels
    "A": "EY", "I": "AY", "O": "OW", "Q": "OW", "W": "AW", "Y": "OY",
    "æ": "AE", "ɑ": "AA", "ɒ": "AA", "a": "AA", "ɐ": "AH", "ʌ": "AH", "ə": "AH", "ᵊ": "AH", "ɔ": "AO",
    "ɚ": "ER", "ɜ": "ER", "ɛ": "EH", "e": "EH", "ɪ": "IH", "ᵻ": "IH", "i": "IY", "u": "UW", "ʊ": "UH", "o": "OW",
    # English consonants
    "b": "B", "d": "D", "f": "F", "h": "HH", "j": "Y", "k": "K", "l": "L", "m": "M", "n": "N", "p": "P", "s": "S",
    "t": "T", "v": "V", "w": "W", "z": "Z", "ɡ": "G", "ŋ": "NG", "ɹ": "R", "ʃ": "SH", "ʒ": "ZH", "ð": "DH",
    "θ": "TH", "ʤ": "JH", "ʧ": "CH", "T": "T", "ɾ": "T", "ʔ": "T",
    # other vocabulary symbols → nearest English phone
    "y": "IY", "ø": "UW", "œ": "ER", "ɨ": "IH", "ɯ": "UW", "ɤ": "AH",
    "c": "K", "q": "K", "x": "K", "χ": "K", "ç": "HH", "ɣ": "G", "ɰ": "W", "ʋ": "V", "β": "V", "ɸ": "F",
    "ɟ": "JH", "ʝ": "Y", "ɥ": "Y", "ɕ": "SH", "ʂ": "SH", "ʦ": "CH", "ʨ": "CH", "ʣ": "JH", "ʥ": "JH",
    "ɖ": "D", "ʈ": "T", "ɳ": "N", "ɲ": "N", "ɴ": "NG", "ʎ": "L", "r": "R", "ɻ": "R", "ɽ": "R", "ʁ": "R", "ꭧ": "R",
    "S": "S",
}  # fmt: skip


@dataclass
class Chunk:
    """One model call: its phoneme string, ids (with the two 0 pads), symbols and words.

    Args:
        phonemes: the misaki phoneme string.
        ids: vocabulary ids, ``[0, …, 0]``.
        symbols: the symbol of each id (``""`` for the pads).
        words: ``(token text, first id index, last id index + 1)`` of each spoken token.
    """

    phonemes: str
    ids: list[int]
    symbols: list[str]
    words: list[tuple[str, int, int]]


def pack_tokens(pieces: Sequence[tuple[str, str, str]], vocab: dict[str, int]) -> list[Chunk]:
    """Pack one sentence's ``(text, phonemes, whitespace)`` tokens into model calls of ≤ :data:`MAX_PHONEMES`.

    Cuts go after clause punctuation (``, ; : — …``) where possible, else between words; a single token longer than
    the limit is cut (with a warning). Calls with no pronounceable symbol are dropped.
    """
    groups: list[list[tuple[str, str, str]]] = [[]]
    size, last_clause = 0, -1
    for text, ps, ws in pieces:
        n = len(ps) + len(ws)
        if size + n > MAX_PHONEMES and groups[-1]:
            cur = groups[-1]
            cut = last_clause + 1 if last_clause >= 0 else len(cur)
            groups[-1], rest = cur[:cut], cur[cut:]
            groups.append(rest)
            size = sum(len(p) + len(w) for _, p, w in rest)
            last_clause = -1
        if len(ps) > MAX_PHONEMES:
            logger.warning("A token of %d phonemes was cut to %d.", len(ps), MAX_PHONEMES)
            ps, n = ps[:MAX_PHONEMES], MAX_PHONEMES
        groups[-1].append((text, ps, ws))
        size += n
        if ps and ps[-1] in ",;:—…":
            last_clause = len(groups[-1]) - 1
    out = []
    for grp in groups:
        ids, symbols, words, phon = [0], [""], [], ""
        for text, ps, ws in grp:
            first = len(ids)
            for ch in ps + ws:
                if ch in vocab:
                    ids.append(vocab[ch])
                    symbols.append(ch)
                elif not ch.isspace():
                    logger.debug("Symbol %r is not in hibari's vocabulary: dropped.", ch)
            phon += ps + ws
            last = len(ids) - (1 if ws and symbols[-1] == " " else 0)
            if last > first and any(c.isalnum() for c in text):
                words.append((text, first, last))
        while len(symbols) > 1 and symbols[-1] == " ":  # a trailing space carries no sound of its own
            ids.pop()
            symbols.pop()
        ids.append(0)
        symbols.append("")
        if any(s not in PUNCT and s not in (" ", "") for s in symbols):
            out.append(Chunk(phon.strip(), ids, symbols, words))
    return out


def misaki_to_phones(
    symbols: Sequence[str], durations: Sequence[int], silent: Sequence[bool] | None = None
) -> list[tuple[str, float, float]]:
    """Group per-symbol durations into ARPAbet phones.

    Stress marks (ˈ ˌ) belong to the phone after them, which gets stress digit 1 (primary) or 2 (secondary); other
    vowels get 0, as in CMUdict. Length/nasal/tone modifiers belong to the phone before; ``ɜɹ`` and ``əɹ`` not
    followed by a vowel become one ER; pads (``""``) and punctuation are silences (``"SIL"``). A word space is a
    silence only where the audio is silent there (``silent``); otherwise the model renders the words' coarticulated
    transition in it (measured: a median −2 dB re the active speech), so its time is shared by the phones on either
    side.

    Args:
        symbols: one misaki symbol per model id (``""`` for the pads).
        durations: the model's duration of each symbol, in 25 ms units (same length).
        silent: per symbol, whether its audio is silent (only read for spaces; default: no space is silent).

    Returns:
        ``[(phone, start_unit, end_unit), …]`` covering ``[0, sum(durations))`` with no gap, silences merged (a space
        shared by two phones gives each half, so boundaries may fall on half units).

    Raises:
        ValueError: ``symbols``, ``durations`` (and ``silent``) differ in length.
    """
    if len(symbols) != len(durations) or (silent is not None and len(silent) != len(symbols)):
        raise ValueError(f"symbols and durations differ in length: {len(symbols)} vs {len(durations)}.")
    starts = np.concatenate([[0], np.cumsum(durations)]).astype(float)
    out: list[list] = []  # [phone, start, end]
    pending: float | None = None  # where the next phone starts (a stress mark or half a shared space before it)
    stress = ""
    n, i = len(symbols), 0
    while i < n:
        s, a, b = symbols[i], float(starts[i]), float(starts[i + 1])
        if s in STRESS:
            pending = a if pending is None else pending
            stress = stress or ("1" if s == "ˈ" else "2")
            i += 1
            continue
        if s in MODIFIERS and out and out[-1][0] != SILENCE:
            out[-1][2] = b
            i += 1
            continue
        if s == " " and out and out[-1][0] != SILENCE and not (silent is not None and silent[i]):
            stress = ""
            mid = (a + b) / 2 if i + 1 < n and symbols[i + 1] not in ("", *PUNCT) else b
            out[-1][2] = mid
            pending = mid if mid < b else None
            i += 1
            continue
        if s in ("", " ") or s in PUNCT or s in MODIFIERS:
            phone = SILENCE
        else:
            phone = MISAKI_TO_ARPABET.get(s)
            if phone is None:
                logger.warning("No ARPAbet for phoneme symbol %r: shown as a neutral consonant N.", s)
                phone = "N"
        if pending is not None:
            a, pending = pending, None
        if s in ("ɜ", "ə") and i + 1 < n and symbols[i + 1] == "ɹ":  # ER: ɜɹ / əɹ closing a syllable
            j = i + 2
            while j < n and symbols[j] in STRESS:
                j += 1
            if j >= n or symbols[j] not in VOWELS:
                b, phone = float(starts[i + 2]), "ER"
                i += 1
        if s in VOWELS and phone != SILENCE:
            phone += stress or "0"
            stress = ""
        elif phone == SILENCE:
            stress = ""
        if out and phone == SILENCE and out[-1][0] == SILENCE:
            out[-1][2] = b
        else:
            out.append([phone, a, b])
        i += 1
    if pending is not None:  # a trailing mark or space: its time goes to the last phone
        if out:
            out[-1][2] = float(starts[-1])
        else:
            out.append([SILENCE, 0.0, float(starts[-1])])
    return [(p, a, b) for p, a, b in out if b > a]
