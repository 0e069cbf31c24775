"""Phones → visemes → ARKit mouth weights, with Cohen–Massaro coarticulation."""

from __future__ import annotations

import pytest
import torch

from emogen.arkit import ARKIT_BLENDSHAPES, ARKIT_INDEX
from emogen.speech import PhoneSegment, synthesize
from emogen.speech.visemes import (
    ARPABET_TO_VISEME,
    ESPEAK_TO_ARPABET,
    VISEME_DOMINANCE,
    VISEME_TO_ARKIT,
    VISEMES,
    detect_alphabet,
    phone_to_viseme,
    phones_to_arkit,
    viseme_targets,
)

JAW, CLOSE, PRESS = ARKIT_INDEX["jawOpen"], ARKIT_INDEX["mouthClose"], ARKIT_INDEX["mouthPressLeft"]
PUCKER, FUNNEL = ARKIT_INDEX["mouthPucker"], ARKIT_INDEX["mouthFunnel"]
MOUTH_COLUMNS = {i for i, n in enumerate(ARKIT_BLENDSHAPES) if n.startswith(("jaw", "mouth", "tongue"))}


def seq(phones: str, dur: float = 0.12) -> list[PhoneSegment]:
    """Space-separated phones, each ``dur`` seconds long."""
    return [PhoneSegment(p, i * dur, (i + 1) * dur) for i, p in enumerate(phones.split())]


def at(weights: torch.Tensor, phone: PhoneSegment, fps: float) -> torch.Tensor:
    return weights[round((phone.start + phone.end) / 2 * fps)]


def test_tables_are_complete_and_consistent():
    assert set(ARPABET_TO_VISEME.values()) == set(VISEMES)
    assert set(ESPEAK_TO_ARPABET.values()) <= set(ARPABET_TO_VISEME)
    assert set(VISEME_TO_ARKIT) == set(VISEMES) == set(VISEME_DOMINANCE)
    # the 39 CMUdict phones
    cmu = "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH"
    assert set(cmu.split()) <= set(ARPABET_TO_VISEME)
    targets = viseme_targets()
    assert targets.shape == (len(VISEMES), 52)
    assert float(targets.min()) >= 0 and float(targets.max()) <= 1
    used = {int(i) for i in targets.nonzero()[:, 1]}
    assert used <= MOUTH_COLUMNS  # visemes never touch brows, eyes, cheeks
    assert targets[VISEMES.index("sil")].abs().sum() == 0
    assert all(a > 0 and b > 0 and c > 0 for a, b, c in VISEME_DOMINANCE.values())


@pytest.mark.parametrize(
    ("phone", "alphabet", "viseme"),
    [
        ("'A:", "espeak", "aa"), ("p", "espeak", "PP"), ("m", "espeak", "PP"), ("'u:", "espeak", "ou"),
        ("oU", "espeak", "oh"), ("w", "espeak", "ou"), ("T", "espeak", "TH"), ("S", "espeak", "CH"),
        ("_:", "espeak", "sil"), ("f", "espeak", "FF"), ("i:", "espeak", "ih"),
        ("AA1", "arpabet", "aa"), ("T", "arpabet", "DD"), ("S", "arpabet", "SS"), ("UW", "arpabet", "ou"),
        ("SIL", "arpabet", "sil"), ("M", "arpabet", "PP"),
    ],
)  # fmt: skip
def test_phone_to_viseme(phone, alphabet, viseme):
    assert phone_to_viseme(phone, alphabet) == viseme


def test_alphabet_detection_and_unknowns():
    assert detect_alphabet(["HH", "AH0", "L", "OW1", "SIL"]) == "arpabet"
    assert detect_alphabet(["h", "@", "l", "'oU"]) == "espeak"
    assert phone_to_viseme("Q9", "espeak") == "nn"  # unknown → neutral consonant, with a warning
    with pytest.raises(ValueError, match="ARPAbet"):
        phone_to_viseme("QQ", "arpabet")


@pytest.mark.parametrize("fps", [25.0, 30.0, 60.0, 100.0])
def test_shapes_follow_articulation(fps):
    # p a m u b i w o  (ARPAbet), 120 ms each
    phones = seq("SIL P AA M UW B IY W OW SIL")
    w = phones_to_arkit(phones, fps=fps)
    assert w.shape == (round(phones[-1].end * fps), 52)
    p, aa, m, uw, b, iy, wph, ow = (at(w, ph, fps) for ph in phones[1:9])
    # jaw open on the open vowel (10-15 mm), much more than on bilabials and close vowels
    assert aa[JAW] > 0.3 and aa[JAW] > 3 * max(p[JAW], m[JAW], b[JAW], uw[JAW], iy[JAW])
    # lips closed and pressed on p, b, m: mouthClose cancels the jaw's lip opening (ARKit: relative to jawOpen)
    for bil in (p, m, b):
        assert bil[PRESS] > 0.3 and bil[JAW] - bil[CLOSE] < 0.015 and bil[JAW] < 0.1
        assert bil[PRESS] > 3 * max(aa[PRESS], iy[PRESS], ow[PRESS])
    # rounding on u, w, o; not on a, i
    # (i is followed by w here: anticipatory rounding reaches it, so it is compared less strictly than a)
    for rnd in (uw, wph):
        assert rnd[PUCKER] > 0.4 and rnd[PUCKER] > 3 * aa[PUCKER] and rnd[PUCKER] > 1.5 * iy[PUCKER]
    assert ow[FUNNEL] > 0.4 and ow[FUNNEL] > 3 * aa[FUNNEL] and ow[FUNNEL] > 1.5 * iy[FUNNEL]


def test_anticipatory_rounding_and_carry_over():
    fps = 100.0
    before_u = phones_to_arkit(seq("SIL S T UW SIL", 0.08), fps=fps)
    before_i = phones_to_arkit(seq("SIL S T IY SIL", 0.08), fps=fps)
    t_frame = round(0.2 * fps)  # middle of T, just before the vowel
    assert before_u[t_frame, PUCKER] > 0.15 > before_i[t_frame, PUCKER]
    # a tongue consonant takes the jaw of its neighbour: T between open vowels is more open than between bilabials
    open_ctx = phones_to_arkit(seq("AA T AA", 0.08), fps=fps)
    closed_ctx = phones_to_arkit(seq("M T M", 0.08), fps=fps)
    assert open_ctx[12, JAW] > closed_ctx[12, JAW] + 0.2


def test_espeak_phones_from_the_tts():
    out = synthesize("Papa moved the blue boat.")
    w = phones_to_arkit(out.phones, fps=50.0)
    assert w.shape == (round(out.duration * 50), 52)
    vowel_jaw = [at(w, p, 50.0)[JAW] for p in out.phones if p.phone.lstrip("'") in ("A:", "aa")]
    bil_press = [at(w, p, 50.0)[PRESS] for p in out.phones if p.phone in ("p", "b", "m")]
    rounded = [
        max(at(w, p, 50.0)[PUCKER], at(w, p, 50.0)[FUNNEL]) for p in out.phones if p.phone.lstrip("'") in ("u:", "oU")
    ]
    assert min(vowel_jaw) > 0.3 and min(bil_press) > 0.25 and min(rounded) > 0.25


def test_chunking_lengths_and_errors():
    phones = seq("SIL P AA M UW B IY W OW SIL", 0.05)
    a = phones_to_arkit(phones, fps=200.0, chunk_frames=7)
    b = phones_to_arkit(phones, fps=200.0)
    torch.testing.assert_close(a, b)
    assert phones_to_arkit(phones, fps=25.0, duration=2.0).shape == (50, 52)
    assert phones_to_arkit(phones, fps=25.0, num_frames=3).shape == (3, 52)
    assert phones_to_arkit([], fps=25.0).shape == (1, 52)
    assert phones_to_arkit(phones, fps=25, strength=0.5).max() <= 0.5 * phones_to_arkit(phones, fps=25).max() + 1e-6
    with pytest.raises(ValueError, match="fps"):
        phones_to_arkit(phones, fps=0)
    with pytest.raises(TypeError, match="PhoneSegment"):
        phones_to_arkit([("AA", 0.0, 1.0)])
    with pytest.raises(ValueError, match="start"):
        PhoneSegment("AA", 1.0, 0.5)


def test_loudness_gain_per_syllable():
    """Vowels scale with their amplitude over the median vowel (clipped), consonants follow their nearest vowel,
    pauses stay at 1; bad arguments are refused with the value named."""
    import numpy as np

    from emogen.speech.visemes import loudness_gain

    phones = seq("SIL B AA T IY S UW SIL", 0.1)
    sr = 1000
    amp = np.repeat([0.0, 0.2, 0.1, 0.2, 0.4, 0.2, 0.01, 0.0], 100)  # vowels: 0.1, 0.4, 0.01 → median 0.1
    gain = loudness_gain(phones, amp * np.sign(np.sin(np.arange(800))), sr)
    assert gain.shape == (8,)
    assert gain[[0, 7]].tolist() == [1.0, 1.0]  # pauses
    assert gain[2] == pytest.approx(1.0) and gain[4] == pytest.approx(1.5) and gain[6] == pytest.approx(0.5)
    assert gain[1] == gain[2] and gain[5] in (gain[4], gain[6])  # consonants take a neighbouring vowel's gain
    assert loudness_gain(phones, amp, sr, exponent=0.0).tolist() == [1.0] * 8
    assert loudness_gain(seq("SIL S T SIL"), np.ones(480), sr).tolist() == [1.0] * 4  # no vowel
    assert loudness_gain(phones, np.zeros(800), sr).tolist() == [1.0] * 8  # silence: nothing to scale by
    assert loudness_gain([], np.ones(10), sr).shape == (0,)
    with pytest.raises(ValueError, match="limits"):
        loudness_gain(phones, amp, sr, limits=(1.2, 2.0))
    with pytest.raises(ValueError, match="sample_rate"):
        loudness_gain(phones, amp, 0)
    # per-segment gains scale each phone's target before coarticulation
    w = phones_to_arkit(phones, fps=100.0)
    half = phones_to_arkit(phones, fps=100.0, segment_gain=[0.5] * 8)
    assert torch.allclose(half, 0.5 * w, atol=1e-6)
    with pytest.raises(ValueError, match="segment_gain"):
        phones_to_arkit(phones, fps=100.0, segment_gain=[1.0] * 3)


def test_split_phones_keeps_spans_and_symbols():
    from emogen.speech.visemes import split_phones

    phones = [PhoneSegment("AA", 0.0, 0.25), PhoneSegment("T", 0.25, 0.3)]
    pieces = split_phones(phones, 0.1)
    assert [p.phone for p in pieces] == ["AA", "AA", "AA", "T"]
    assert pieces[0].start == 0.0 and pieces[2].end == pytest.approx(0.25) and pieces[3].start == 0.25
    assert all(b.start == pytest.approx(a.end) for a, b in zip(pieces, pieces[1:], strict=False))
    assert max(p.end - p.start for p in pieces) <= 0.1 + 1e-9
    with pytest.raises(ValueError, match="max_seconds"):
        split_phones(phones, 0)
