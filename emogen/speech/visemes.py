"""Phones → visemes → ARKit-52 jaw/mouth weights per frame, with coarticulation.

Three tables (data, tested in ``tests/core/test_speech_visemes.py``):

1. :data:`ESPEAK_TO_ARPABET`: espeak-ng English phoneme mnemonics (as in espeak-ng's ``phsource/ph_english``) →
   the 39 ARPAbet phones of the CMU Pronouncing Dictionary (which pocketsphinx's en-us model uses). Diphthongs
   keep one symbol; stress and length marks are stripped first.
2. :data:`ARPABET_TO_VISEME`: ARPAbet → the 15 visemes of MPEG-4 Facial Animation (ISO/IEC 14496-2, Annex C
   viseme table; Pandzic & Forchheimer (2002), "MPEG-4 Facial Animation: The Standard, Implementation and
   Applications", Wiley, Table 3.1) under the short names used by the Oculus/Meta LipSync SDK: ``sil PP FF TH
   DD kk CH SS nn RR aa E ih oh ou``.
3. :data:`VISEME_TO_ARKIT`: each viseme's target mouth shape as ARKit blendshape weights. No standard table
   exists; the jaw openings follow measured incisal openings in speech and the lip shapes the articulatory
   description of each MPEG-4 viseme (sources at the table).

Coarticulation follows Cohen & Massaro (1993), "Modeling coarticulation in synthetic visual speech", in
*Models and Techniques in Computer Animation*, Springer: each segment ``s`` has a target ``T_s`` and a dominance
``D_s(t) = α_s · exp(−θ_s · τ)``, where ``τ`` is the distance from ``t`` to the segment (zero inside it, so long
segments hold their target; Cohen & Massaro measure from the segment centre) and ``θ_s`` differs before the
segment (anticipatory) and after it (carry-over). The shape at ``t`` is ``Σ_s D_s(t) T_s / Σ_s D_s(t)``. Lip
closure (p, b, m, f, v) dominates strongly; tongue consonants (t, d, n, k, g, l, h) barely constrain the lips and
take on their neighbours' shape; lip rounding spreads far ahead of rounded vowels (anticipatory rounding,
Benguerel & Cowan 1974, "Coarticulation of upper lip protrusion in French", Phonetica 30).

Louder syllables open wider (:func:`loudness_gain`): loud speech amplifies the normal jaw and lip movements (Schulman
1989, "Articulatory dynamics of loud and normal speech", JASA 85) and stressed syllables lower the jaw further than
unstressed ones (de Jong 1995, "The supraglottal articulation of prominence in English", JASA 97), so each
syllable's targets scale with its vowel's amplitude relative to the utterance's typical vowel; long phones are cut
into pieces first (:func:`split_phones`), so a phrase-final vowel that fades out also closes as it fades.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence

import numpy as np
import torch

from emogen.arkit import NUM_BLENDSHAPES, arkit_index
from emogen.speech.types import PhoneSegment

__all__ = [
    "VISEMES",
    "ESPEAK_TO_ARPABET",
    "ARPABET_TO_VISEME",
    "VISEME_TO_ARKIT",
    "VISEME_DOMINANCE",
    "detect_alphabet",
    "phone_to_arpabet",
    "phone_to_viseme",
    "viseme_targets",
    "loudness_gain",
    "split_phones",
    "phones_to_arkit",
]

logger = logging.getLogger(__name__)

#: The 15 MPEG-4 visemes (Oculus LipSync names), ``sil`` = mouth at rest.
VISEMES: tuple[str, ...] = ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou")

#: espeak-ng English mnemonic (stress marks removed) → ARPAbet.
ESPEAK_TO_ARPABET: dict[str, str] = {
    # pauses
    "_": "SIL", "_:": "SIL", "_!": "SIL", "_^_": "SIL", "||": "SIL", "|": "SIL",
    # consonants
    "p": "P", "b": "B", "t": "T", "t#": "T", "t2": "T", "d": "D", "d#": "D", "k": "K", "g": "G", "?": "T",
    "f": "F", "v": "V", "T": "TH", "D": "DH", "s": "S", "z": "Z", "S": "SH", "Z": "ZH", "h": "HH", "x": "K",
    "tS": "CH", "dZ": "JH", "m": "M", "n": "N", "n-": "N", "N": "NG", "l": "L", "l/": "L", "@L": "L",
    "r": "R", "r-": "R", "w": "W", "W": "W", "j": "Y",
    # vowels
    "a": "AE", "aa": "AE", "a#": "AH", "A": "AA", "A:": "AA", "A@": "AA", "A@r": "AA", "0": "AA", "0#": "AA",
    "E": "EH", "e": "EH", "e@": "EH", "eI": "EY", "I": "IH", "I#": "IH", "I2": "IH", "IR": "IH", "i": "IY",
    "i:": "IY", "i@": "IY", "i@3": "IY", "@": "AH", "@-": "AH", "@2": "AH", "@5": "AH", "V": "AH",
    "3": "ER", "3:": "ER", "3:r": "ER", "O": "AO", "O:": "AO", "O2": "AO", "O@": "AO", "o@": "AO", "o": "OW",
    "oU": "OW", "OI": "OY", "U": "UH", "U@": "UH", "u": "UW", "u:": "UW", "aI": "AY", "aI@": "AY",
    "aI3": "AY", "aU": "AW", "aU@": "AW",
}  # fmt: skip

#: ARPAbet (CMUdict, 39 phones + silence) → viseme (MPEG-4 grouping; diphthongs take their first element).
ARPABET_TO_VISEME: dict[str, str] = {
    "SIL": "sil",
    "P": "PP", "B": "PP", "M": "PP",
    "F": "FF", "V": "FF",
    "TH": "TH", "DH": "TH",
    "T": "DD", "D": "DD",
    "K": "kk", "G": "kk", "NG": "kk", "HH": "kk",
    "CH": "CH", "JH": "CH", "SH": "CH", "ZH": "CH",
    "S": "SS", "Z": "SS",
    "N": "nn", "L": "nn",
    "R": "RR", "ER": "RR",
    "AA": "aa", "AE": "aa", "AH": "aa", "AY": "aa", "AW": "aa",
    "EH": "E", "EY": "E",
    "IH": "ih", "IY": "ih", "Y": "ih",
    "AO": "oh", "OW": "oh", "OY": "oh",
    "UH": "ou", "UW": "ou", "W": "ou",
}  # fmt: skip

#: Viseme → ARKit weights (unlisted blendshapes are 0). ``*`` expands to the Left and Right pair.
#:
#: Jaw openings follow measured incisal openings of conversational speech, Δ from a portrait's closed lips (rest
#: ≈ 3–5 mm behind them; the rig's jawOpen = 1 opens ≈ 21 mm): open vowels /ɑ a æ ʌ/ 10–15 mm (jawOpen ≈ 0.45),
#: /ɛ e/ 7–10 mm (0.25), /ɔ o/ 8–12 mm with rounding (0.3), close vowels /i ɪ u ʊ/ 3–6 mm (≤ 0.08), /s z/ at the
#: closest speaking space, 1–3 mm (jaw at rest); consonants next to open vowels up to 11.7 mm (/h/) (Burnett 1999,
#: "Mandibular incisor position for English consonant sounds", Int. J. Prosthodont. 12; Burnett & Clifford 1992,
#: J. Dent. 20; Woelfel et al. 2014 for the 17 mm hinge range). Lips: complete closure for /p b m/ (``mouthClose``
#: equals ``jawOpen``: it is a corrective relative to the jaw, as in ARKit), the lower lip tucked under the upper
#: incisors for /f v/, the tongue tip between the teeth for /θ ð/, protruded rounding for /ʃ ʒ/, /r/, /o/ and /u w/,
#: horizontal spreading for /s/ and /i/ (no downward corner pull).
VISEME_TO_ARKIT: dict[str, dict[str, float]] = {
    "sil": {},
    "PP": {"jawOpen": 0.04, "mouthClose": 0.04, "mouthPress*": 0.4, "mouthRollLower": 0.1},
    "FF": {"jawOpen": 0.04, "mouthRollLower": 0.5, "mouthUpperUp*": 0.15, "mouthClose": 0.02},
    "TH": {"jawOpen": 0.1, "tongueOut": 0.4, "mouthLowerDown*": 0.1},
    "DD": {"jawOpen": 0.12, "mouthLowerDown*": 0.1, "mouthStretch*": 0.1},
    "kk": {"jawOpen": 0.18, "mouthLowerDown*": 0.05},
    "CH": {"jawOpen": 0.04, "mouthFunnel": 0.5, "mouthPucker": 0.2, "mouthUpperUp*": 0.15, "mouthLowerDown*": 0.1},
    "SS": {"jawOpen": 0.01, "mouthStretch*": 0.25, "mouthUpperUp*": 0.1, "mouthLowerDown*": 0.15},
    "nn": {"jawOpen": 0.12, "mouthStretch*": 0.05},
    "RR": {"jawOpen": 0.1, "mouthFunnel": 0.3, "mouthPucker": 0.3},
    "aa": {"jawOpen": 0.45, "mouthLowerDown*": 0.25, "mouthUpperUp*": 0.1},
    "E": {"jawOpen": 0.25, "mouthStretch*": 0.25, "mouthLowerDown*": 0.2},
    "ih": {"jawOpen": 0.06, "mouthStretch*": 0.35, "mouthSmile*": 0.1, "mouthLowerDown*": 0.1},
    "oh": {"jawOpen": 0.3, "mouthFunnel": 0.55, "mouthPucker": 0.2},
    "ou": {"jawOpen": 0.06, "mouthPucker": 0.75, "mouthFunnel": 0.35},
}

#: Viseme → Cohen–Massaro dominance ``(α, θ_anticipatory, θ_carry-over)`` with θ in 1/s (see module doc).
VISEME_DOMINANCE: dict[str, tuple[float, float, float]] = {
    "sil": (0.4, 20.0, 20.0),
    "PP": (3.0, 70.0, 70.0),
    "FF": (2.0, 60.0, 60.0),
    "TH": (0.6, 30.0, 30.0),
    "DD": (0.25, 35.0, 35.0),
    "kk": (0.2, 35.0, 35.0),
    "CH": (0.8, 18.0, 25.0),
    "SS": (0.5, 30.0, 30.0),
    "nn": (0.25, 35.0, 35.0),
    "RR": (0.6, 20.0, 25.0),
    "aa": (1.0, 25.0, 25.0),
    "E": (1.0, 25.0, 25.0),
    "ih": (1.0, 25.0, 25.0),
    "oh": (1.2, 12.0, 20.0),
    "ou": (1.2, 12.0, 20.0),
}

_MARKS = re.compile(r"[',%=;]")
_ARPABET_STRESS = re.compile(r"[012]$")
_ARPABET_SILENCE = frozenset({"SIL", "sil", "<sil>", "<s>", "</s>", "+SPN+", "+NSN+", "SP", "sp"})
_warned: set[str] = set()


def _is_arpabet(phone: str) -> bool:
    return phone in _ARPABET_SILENCE or _ARPABET_STRESS.sub("", re.sub(r"\(\d+\)$", "", phone)) in ARPABET_TO_VISEME


def detect_alphabet(phones: Sequence[str]) -> str:
    """``"arpabet"`` if every phone is an ARPAbet symbol (stress digits allowed), else ``"espeak"``.

    Decided per sequence because single letters are ambiguous: espeak's ``T D S Z N`` are ARPAbet's
    ``TH DH SH ZH NG``, not ARPAbet's ``T D S Z N``. Any real English utterance in espeak mnemonics contains
    lower-case phones, so the test is reliable for sentences.
    """
    return "arpabet" if phones and all(_is_arpabet(p) for p in phones) else "espeak"


def phone_to_arpabet(phone: str, alphabet: str = "espeak") -> str:
    """ARPAbet symbol of a phone.

    Args:
        phone: an espeak-ng mnemonic (stress marks ``' , %`` ignored) or an ARPAbet phone (stress digits ignored).
        alphabet: ``"espeak"`` or ``"arpabet"`` (see :func:`detect_alphabet`; single letters differ).

    Unknown espeak phones fall back to their longest known prefix, else to ``"SIL"`` for pauses and a neutral
    consonant (``"N"``) otherwise, with one warning per phone.
    """
    if not isinstance(phone, str) or not phone:
        raise ValueError(f"phone must be a non-empty string, got {phone!r}.")
    if alphabet not in ("espeak", "arpabet"):
        raise ValueError(f"alphabet must be 'espeak' or 'arpabet', got {alphabet!r}.")
    if alphabet == "arpabet":
        if phone in _ARPABET_SILENCE:
            return "SIL"
        arp = _ARPABET_STRESS.sub("", re.sub(r"\(\d+\)$", "", phone.upper()))
        if arp in ARPABET_TO_VISEME:
            return arp
        raise ValueError(f"Unknown ARPAbet phone {phone!r}. Accepted: {', '.join(sorted(ARPABET_TO_VISEME))}.")
    key = _MARKS.sub("", phone)
    if key in ESPEAK_TO_ARPABET:
        return ESPEAK_TO_ARPABET[key]
    for n in range(len(key) - 1, 0, -1):
        if key[:n] in ESPEAK_TO_ARPABET:
            return ESPEAK_TO_ARPABET[key[:n]]
    if not key:  # a bare stress or palatalisation mark (";", "'") carries no articulation of its own
        return "SIL"
    if phone not in _warned:
        _warned.add(phone)
        logger.warning("Unknown espeak phone %r: shown as a neutral consonant.", phone)
    return "SIL" if key.startswith("_") else "N"


def phone_to_viseme(phone: str, alphabet: str = "espeak") -> str:
    """Viseme (one of :data:`VISEMES`) of an espeak-ng mnemonic or (``alphabet="arpabet"``) an ARPAbet phone."""
    return ARPABET_TO_VISEME[phone_to_arpabet(phone, alphabet)]


def viseme_targets(device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The viseme shapes as a matrix, ``torch.Tensor`` of shape ``(len(VISEMES), 52)`` in ARKit order."""
    out = torch.zeros(len(VISEMES), NUM_BLENDSHAPES, dtype=dtype, device=device)
    for i, name in enumerate(VISEMES):
        for shape, weight in VISEME_TO_ARKIT[name].items():
            names = [shape[:-1] + "Left", shape[:-1] + "Right"] if shape.endswith("*") else [shape]
            for n in names:
                out[i, arkit_index(n)] = weight
    return out


#: Visemes of vowels: the syllable nuclei whose loudness sets a syllable's opening in :func:`loudness_gain`.
_VOWEL_VISEMES = frozenset({"aa", "E", "ih", "oh", "ou"})


def loudness_gain(
    phones: Sequence[PhoneSegment],
    waveform: np.ndarray,
    sample_rate: int,
    *,
    exponent: float = 1.0,
    limits: tuple[float, float] = (0.5, 1.5),
    alphabet: str = "auto",
) -> torch.Tensor:
    """One articulation scale per phone from the speech's loudness, for ``phones_to_arkit(segment_gain=...)``.

    Each vowel's RMS amplitude over its span, relative to the median vowel of the utterance, raised to ``exponent``
    and clipped to ``limits``: a vowel 6 dB louder than usual opens 2^exponent times as wide (within ``limits``).
    Consonants take the gain of the nearest vowel (the jaw moves per syllable); pauses, and everything when there is no
    audible vowel, keep 1.

    Args:
        phones: phone segments timed in seconds from the start of ``waveform``.
        waveform (`np.ndarray` of shape `(N,)`): the speech.
        sample_rate: samples per second of ``waveform``.
        exponent: how strongly the opening follows the amplitude (0 = not at all).
        limits: smallest and largest scale.
        alphabet: ``"espeak"``, ``"arpabet"`` or ``"auto"``.

    Returns:
        `torch.Tensor` of shape `(len(phones),)`, float32.
    """
    wave = np.asarray(waveform, dtype=np.float64).reshape(-1)
    if not (isinstance(sample_rate, (int, float)) and sample_rate > 0):
        raise ValueError(f"sample_rate must be a positive number, got {sample_rate!r}.")
    lo, hi = limits
    if not 0 <= lo <= 1 <= hi:
        raise ValueError(f"limits must satisfy 0 <= low <= 1 <= high, got {limits!r}.")
    gain = np.ones(len(phones))
    if not phones:
        return torch.from_numpy(gain).float()
    if alphabet == "auto":
        alphabet = detect_alphabet([p.phone for p in phones])
    level = np.full(len(phones), np.nan)
    vowel = np.zeros(len(phones), dtype=bool)
    for i, p in enumerate(phones):
        a, b = round(p.start * sample_rate), min(len(wave), round(p.end * sample_rate))
        if phone_to_viseme(p.phone, alphabet) in _VOWEL_VISEMES and b > max(a, 0):
            level[i] = math.sqrt(float(np.mean(wave[max(a, 0) : b] ** 2)))
            vowel[i] = True
    vowels = np.flatnonzero(vowel)
    reference = float(np.median(level[vowels])) if len(vowels) else 0.0
    if not np.isfinite(reference) or reference <= 0.0:
        return torch.from_numpy(gain).float()
    gain[vowels] = np.clip((np.maximum(level[vowels], 1e-12) / reference) ** exponent, lo, hi)
    for i, p in enumerate(phones):
        if not vowel[i] and phone_to_viseme(p.phone, alphabet) != "sil":
            gain[i] = gain[vowels[np.argmin(np.abs(vowels - i))]]
    return torch.from_numpy(gain).float()


def split_phones(phones: Sequence[PhoneSegment], max_seconds: float) -> list[PhoneSegment]:
    """Each phone longer than ``max_seconds`` cut into equal pieces no longer than that (same symbol), so that a
    long vowel can take several loudness gains (a phrase-final vowel that fades out closes as it fades)."""
    if not (isinstance(max_seconds, (int, float)) and max_seconds > 0):
        raise ValueError(f"max_seconds must be a positive number, got {max_seconds!r}.")
    out = []
    for p in phones:
        length = p.end - p.start
        pieces = max(1, math.ceil(length / max_seconds - 1e-9))
        out += [
            PhoneSegment(p.phone, p.start + length * i / pieces, p.start + length * (i + 1) / pieces)
            for i in range(pieces)
        ]
    return out


def phones_to_arkit(
    phones: Sequence[PhoneSegment],
    fps: float = 25.0,
    duration: float | None = None,
    *,
    num_frames: int | None = None,
    strength: float = 1.0,
    segment_gain: Sequence[float] | None = None,
    alphabet: str = "auto",
    chunk_frames: int = 4096,
    return_closure: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Per-frame ARKit-52 mouth/jaw weights for a phone sequence, with Cohen–Massaro coarticulation.

    Frame ``i`` lies at ``i / fps`` seconds (as in :class:`~emogen.emotion.EmotionTrack`).

    Args:
        phones: phone segments (espeak-ng mnemonics or ARPAbet), in seconds.
        fps: frames per second (any positive rate).
        duration: length in seconds (default: the end of the last phone).
        num_frames: exact number of frames (overrides ``duration``).
        strength: global articulation scale (1 = the table's shapes; < 1 mumbled, > 1 exaggerated).
        segment_gain: one articulation scale per phone, applied to its target before coarticulation (louder,
            stressed syllables open wider: :func:`loudness_gain`); ``None`` = 1 for every phone.
        alphabet: ``"espeak"``, ``"arpabet"`` or ``"auto"`` (:func:`detect_alphabet` on the whole sequence).
        chunk_frames: frames processed at once (memory stays bounded for long inputs).
        return_closure: also return the bilabial closure, `(frames,)` in [0, 1]: 1 while /p b m/ dominate the
            coarticulation (the lips must meet there, whatever else lifts or lowers them).

    Returns:
        `torch.Tensor` of shape `(frames, 52)`, float32 in [0, 1], in :data:`emogen.arkit.ARKIT_BLENDSHAPES` order;
        only jaw, mouth and tongue columns are non-zero. With ``return_closure``: ``(weights, closure)``.
    """
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}.")
    if not all(isinstance(p, PhoneSegment) for p in phones):
        raise TypeError("phones must be a sequence of PhoneSegment.")
    if num_frames is None:
        if duration is None:
            duration = max((p.end for p in phones), default=0.0)
        num_frames = max(1, round(duration * fps))
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}.")
    out = torch.zeros(num_frames, NUM_BLENDSHAPES)
    closed = torch.zeros(num_frames)
    if not phones:
        return (out, closed) if return_closure else out
    if alphabet == "auto":
        alphabet = detect_alphabet([p.phone for p in phones])
    table = viseme_targets()
    vis = [VISEMES.index(phone_to_viseme(p.phone, alphabet)) for p in phones]
    targets = table[vis]  # (S, 52)
    if segment_gain is not None:
        gain = torch.as_tensor(segment_gain, dtype=targets.dtype)
        if gain.shape != (len(phones),) or not bool(torch.isfinite(gain).all()) or bool((gain < 0).any()):
            raise ValueError(
                f"segment_gain must hold one finite, non-negative scale per phone ({len(phones)}), got "
                f"{tuple(gain.shape)} values."
            )
        targets = targets * gain[:, None]
    dom = torch.tensor([VISEME_DOMINANCE[VISEMES[v]] for v in vis], dtype=torch.float64)  # (S, 3)
    starts = torch.tensor([p.start for p in phones], dtype=torch.float64)
    ends = torch.tensor([p.end for p in phones], dtype=torch.float64)
    order = torch.argsort(starts)
    targets, dom, starts, ends = targets[order], dom[order], starts[order], ends[order]
    # bilabials close the lips whatever jaw opening coarticulation leaves them: mouthClose follows jawOpen there
    bilabial = torch.tensor([VISEMES[v] == "PP" for v in vis])[order]
    jaw, close = arkit_index("jawOpen"), arkit_index("mouthClose")
    reach = 1.0  # seconds: exp(-12 · 1) < 1e-5, beyond that a segment has no influence
    for f0 in range(0, num_frames, chunk_frames):
        t = torch.arange(f0, min(num_frames, f0 + chunk_frames), dtype=torch.float64) / fps
        lo = int(torch.searchsorted(ends, t[0] - reach))
        hi = int(torch.searchsorted(starts, t[-1] + reach, right=True))
        if hi <= lo:
            continue
        s, e, d = starts[lo:hi], ends[lo:hi], dom[lo:hi]
        before = (s[None, :] - t[:, None]).clamp(min=0)  # t before the segment: anticipation
        after = (t[:, None] - e[None, :]).clamp(min=0)  # t after the segment: carry-over
        weight = d[:, 0] * torch.exp(-(d[:, 1] * before + d[:, 2] * after))  # (T, S)
        weight = weight / weight.sum(-1, keepdim=True).clamp(min=1e-12)
        chunk = (weight.float() @ targets[lo:hi]) * strength
        closure = (2.0 * weight[:, bilabial[lo:hi]].sum(-1).float()).clamp(max=1.0)  # closed while it dominates
        chunk[:, close] = torch.maximum(chunk[:, close], closure * chunk[:, jaw])
        out[f0 : f0 + len(t)] = chunk
        closed[f0 : f0 + len(t)] = closure
    out = out.clamp(0.0, 1.0)
    return (out, closed) if return_closure else out
