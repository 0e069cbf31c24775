"""The rule-based teacher motion (training targets of the motion denoiser)."""

from __future__ import annotations

import torch

from emogen.arkit import ARKIT_INDEX
from emogen.emotion import LABELS, EmotionTrack
from emogen.motion.procedural import sample_blinks
from emogen.motion.teacher import speech_activity, stressed_onsets, teacher_motion
from emogen.speech.types import PhoneSegment

FPS = 25.0


def phones_alternating(seconds: float) -> list[PhoneSegment]:
    """'b a: _ b a: _ …' : closed lips, open vowel, pause, every 0.6 s (a stressed vowel each time)."""
    out, t = [], 0.0
    while t + 0.6 <= seconds:
        out += [
            PhoneSegment("b", t, t + 0.1),
            PhoneSegment("'a:", t + 0.1, t + 0.35),
            PhoneSegment("_", t + 0.35, t + 0.6),
        ]
        t += 0.6
    return out


def constant_track(label: str, intensity: float, frames: int) -> EmotionTrack:
    from emogen.emotion import LABEL_VAD

    probs = torch.zeros(len(LABELS))
    probs[LABELS.index(label)] = 1.0
    vad = torch.tensor(LABEL_VAD[label]) * intensity
    return EmotionTrack.constant(vad, probs, intensity, frames, FPS)


def test_shapes_ranges_and_determinism():
    phones = phones_alternating(6.0)
    a = teacher_motion(150, phones=phones, generator=torch.Generator().manual_seed(0))
    b = teacher_motion(150, phones=phones, generator=torch.Generator().manual_seed(0))
    c = teacher_motion(150, phones=phones, generator=torch.Generator().manual_seed(1))
    assert a.blendshapes.shape == (150, 52) and a.head_rotation.shape == (150, 3) and a.gaze.shape == (150, 2)
    assert a.blendshapes.min() >= 0 and a.blendshapes.max() <= 1
    assert torch.equal(a.blendshapes, b.blendshapes) and torch.equal(a.head_rotation, b.head_rotation)
    assert not torch.equal(a.head_rotation, c.head_rotation)
    # lips follow the phones exactly: same jaw whatever the seed
    assert torch.allclose(a.blendshape("jawOpen"), c.blendshape("jawOpen"))


def test_jaw_opens_on_vowels_and_closes_in_pauses():
    phones = phones_alternating(6.0)
    m = teacher_motion(150, phones=phones, generator=torch.Generator().manual_seed(0))
    jaw = m.blendshape("jawOpen")
    t = torch.arange(150) / FPS
    in_vowel = ((t % 0.6) > 0.15) & ((t % 0.6) < 0.3)
    in_pause = ((t % 0.6) > 0.45) & ((t % 0.6) < 0.58)
    assert jaw[in_vowel].mean() > 0.2
    assert jaw[in_vowel].mean() > 3 * jaw[in_pause].mean()
    assert speech_activity(phones, 150, FPS)[in_pause].sum() == 0
    assert len(stressed_onsets(phones)) == 10
    assert stressed_onsets([PhoneSegment("AA1", 0.0, 0.1), PhoneSegment("AH0", 0.1, 0.2)]) == [0.0]


def surprised_jaw(n: int, phones: list[PhoneSegment]) -> tuple[torch.Tensor, torch.Tensor]:
    """The teacher's jawOpen `(n,)` and frame times for a surprised speaker whose expression drops the jaw to 0.9."""
    expression = torch.zeros(n, 52)
    expression[:, ARKIT_INDEX["jawOpen"]] = 0.9
    m = teacher_motion(
        n, phones=phones, emotion=constant_track("surprised", 1.0, n), expression=expression,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    return m.blendshape("jawOpen"), torch.arange(n) / FPS


def test_speech_owns_the_jaw_of_a_wide_open_expression():
    """A surprised speaker (the expression drops the jaw to 0.9) still articulates: within an utterance, the
    expression keeps a quarter of its jaw opening, so /b/ nearly closes the mouth and the gaps between words stay
    nearly closed; after the utterance the expression's own jaw drop returns in full."""
    jaw, t = surprised_jaw(100, phones_alternating(2.4))  # 4 s: speech for the first 2.4 s, then silence
    on_b = (t < 2.4) & ((t % 0.6) > 0.02) & ((t % 0.6) < 0.08)
    assert jaw[on_b].max() < 0.9 * 0.25 + 0.12, jaw[on_b]
    # the 0.25 s gaps between words are still speech: the jaw drop does not flash back in each of them
    in_gap = (t > 0.3) & (t < 2.2) & ((t % 0.6) > 0.4) & ((t % 0.6) < 0.55)
    assert jaw[in_gap].max() < 0.9 * 0.25 + 0.12, jaw[in_gap]  # (0.91 if the drop came back in each gap)
    assert jaw[t > 3.2].min() > 0.85


def test_the_expression_mouth_returns_in_long_pauses_only():
    """Silent pauses within a turn are mostly under a second, pauses at major boundaries longer (Campione &
    Véronis 2002: brief < 0.2 s, medium 0.2-1 s, long > 1 s): a surprised speaker's jaw drop stays receded
    through a 0.85 s pause between sentences and comes back once the turn is over."""
    # 6 s: speech 0-1.55 s, pause 0.85 s, speech 2.4-3.95 s, then silence
    phones = phones_alternating(1.8) + [
        PhoneSegment(p.phone, p.start + 2.4, p.end + 2.4) for p in phones_alternating(1.8)
    ]
    jaw, t = surprised_jaw(150, phones)
    short_pause = (t > 1.6) & (t < 2.05)
    assert jaw[short_pause].max() < 0.9 * 0.25 + 0.12, jaw[short_pause]
    assert jaw[(t > 5.0)].min() > 0.85


def test_a_sad_speaker_parts_the_lips():
    """The chin raise and lip press of sadness or anger (AU17, AU24) hold the lips together; within an utterance
    they recede like the expression's jaw, so each vowel parts the lips, and they return after it."""
    n = 100
    phones = phones_alternating(2.4)
    expression = torch.zeros(n, 52)
    closers = ("mouthShrugLower", "mouthShrugUpper", "mouthPressLeft", "mouthPressRight", "mouthRollUpper")
    for name in closers:
        expression[:, ARKIT_INDEX[name]] = 0.6
    expression[:, ARKIT_INDEX["mouthFrownLeft"]] = 0.8  # corners down: not a closer, stays while speaking
    m = teacher_motion(
        n, phones=phones, emotion=constant_track("sad", 1.0, n), expression=expression,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    t = torch.arange(n) / FPS
    in_vowel = (t > 0.3) & (t < 2.0) & ((t % 0.6) > 0.15) & ((t % 0.6) < 0.3)
    for name in ("mouthShrugLower", "mouthShrugUpper", "mouthRollUpper"):
        assert m.blendshape(name)[in_vowel].max() < 0.6 * 0.25 + 0.05, name  # 0.6 if the closer stayed
        assert m.blendshape(name)[t > 3.2].min() > 0.55, name
    assert m.blendshape("mouthFrownLeft")[in_vowel].min() > 0.75


def test_blinks_rate_arousal_and_irregularity():
    n = int(300 * FPS)  # five minutes
    calm = sample_blinks(n, FPS, 17.0, torch.Generator().manual_seed(0))
    onsets = torch.nonzero((calm[1:] > 0.5) & (calm[:-1] <= 0.5)).flatten().float() / FPS
    per_minute = len(onsets) / 5
    assert 12 <= per_minute <= 23, per_minute
    gaps = onsets.diff()
    assert gaps.std() / gaps.mean() > 0.4  # not periodic
    excited = sample_blinks(n, FPS, 30.0, torch.Generator().manual_seed(0))
    assert ((excited[1:] > 0.5) & (excited[:-1] <= 0.5)).sum() > 1.4 * len(onsets)


def test_emotion_drives_expression_posture_and_gaze():
    frames = 250
    phones = phones_alternating(10.0)
    smile = torch.zeros(frames, 52)
    smile[:, ARKIT_INDEX["mouthSmileLeft"]] = 0.7
    happy = teacher_motion(
        frames,
        phones=phones,
        emotion=constant_track("happy", 0.9, frames),
        expression=smile,
        generator=torch.Generator().manual_seed(0),
    )
    assert happy.blendshape("mouthSmileLeft").min() >= 0.69
    sad_rows, neutral_rows = [], []
    for seed in range(4):
        g1, g2 = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
        sad_rows.append(
            teacher_motion(frames, phones=phones, emotion=constant_track("sad", 1.0, frames), generator=g1)
        )
        neutral_rows.append(teacher_motion(frames, phones=phones, generator=g2))
    sad_pitch = torch.stack([m.head_rotation[:, 0].mean() for m in sad_rows]).mean()
    neutral_pitch = torch.stack([m.head_rotation[:, 0].mean() for m in neutral_rows]).mean()
    assert sad_pitch > neutral_pitch + 0.05  # head down (positive pitch) in sadness
    assert torch.stack([m.gaze[:, 1].mean() for m in sad_rows]).mean() > 0.08  # eyes lowered


def test_silence_gives_a_closed_still_mouth():
    m = teacher_motion(100, generator=torch.Generator().manual_seed(0))
    mouth = [i for n, i in ARKIT_INDEX.items() if n.startswith(("jaw", "mouth"))]
    assert m.blendshapes[:, mouth].abs().max() == 0


def test_louder_syllables_open_wider():
    """With the speech given, a syllable 6 dB louder than the utterance's typical vowel opens the jaw wider and a
    quieter one less; /b/ still closes the lips whatever the loudness; without audio every syllable is alike."""
    import numpy as np

    phones = phones_alternating(3.0)  # five 'b a: _' syllables
    sr = 16000
    t = np.arange(int(3.0 * sr)) / sr
    level = np.array([1.0, 1.0, 2.0, 1.0, 0.5])[np.minimum((t // 0.6).astype(int), 4)]  # 0 dB, 0, +6, 0, −6
    voice = 0.1 * level * np.sin(2 * np.pi * 150 * t)
    n = 75
    loud = teacher_motion(n, phones=phones, audio=(voice, sr), generator=torch.Generator().manual_seed(0))
    flat = teacher_motion(n, phones=phones, generator=torch.Generator().manual_seed(0))
    vowel_peak = [round((0.6 * k + 0.22) * FPS) for k in range(5)]
    jaw, jaw_flat = loud.blendshape("jawOpen")[vowel_peak], flat.blendshape("jawOpen")[vowel_peak]
    assert torch.allclose(jaw_flat, jaw_flat[0].expand(5), atol=0.02)
    assert torch.allclose(jaw[[0, 1, 3]], jaw_flat[[0, 1, 3]], atol=0.02)  # the typical vowel keeps its size
    assert jaw[2] > 1.3 * jaw_flat[2] and jaw[4] < 0.7 * jaw_flat[4], (jaw, jaw_flat)
    on_b = [round((0.6 * k + 0.05) * FPS) for k in range(5)]
    lips = loud.blendshape("jawOpen")[on_b] - loud.blendshape("mouthClose")[on_b]
    assert lips.abs().max() < 0.05, lips


def test_a_fading_vowel_closes_as_it_fades():
    """A long vowel whose second half is 12 dB quieter (a phrase-final fade) opens less in that half."""
    import numpy as np

    phones = [PhoneSegment("_", 0.0, 0.2), PhoneSegment("'a:", 0.2, 0.8), PhoneSegment("_", 0.8, 1.2)]
    sr = 16000
    t = np.arange(int(1.2 * sr)) / sr
    voice = 0.1 * np.where(t < 0.5, 1.0, 0.25) * np.sin(2 * np.pi * 150 * t) * ((t > 0.2) & (t < 0.8))
    m = teacher_motion(30, phones=phones, audio=(voice, sr), generator=torch.Generator().manual_seed(0))
    jaw = m.blendshape("jawOpen")
    assert jaw[round(0.65 * FPS)] < 0.75 * jaw[round(0.4 * FPS)], jaw


def test_lip_sync_from_phones_takes_the_teachers_mouth():
    """Text input's lips: the visemes and the speech-owned expression channels come from the teacher, the rest of
    the predicted motion (brows, head) is kept."""
    from emogen.motion.shaping import lip_sync_from_phones
    from emogen.motion.track import MotionTrack

    n = 100
    phones = phones_alternating(2.4)
    predicted = torch.full((n, 52), 0.5)  # a model that keeps the chin raised and the lips pressed throughout
    motion = MotionTrack(
        blendshapes=predicted, head_rotation=torch.zeros(n, 3), head_translation=torch.zeros(n, 3),
        gaze=torch.zeros(n, 2), fps=FPS,
    )  # fmt: skip
    expression = torch.zeros(n, 52)
    expression[:, ARKIT_INDEX["mouthShrugLower"]] = 0.6
    out = lip_sync_from_phones(motion, phones, constant_track("sad", 1.0, n), expression, articulation=1.0)
    t = torch.arange(n) / FPS
    in_vowel = (t > 0.3) & (t < 2.0) & ((t % 0.6) > 0.15) & ((t % 0.6) < 0.3)
    assert out.blendshape("mouthShrugLower")[in_vowel].max() < 0.2  # 0.5 if the model's chin raise were kept
    assert out.blendshape("jawOpen")[in_vowel].mean() > 0.2
    assert torch.equal(out.blendshape("browInnerUp"), predicted[:, ARKIT_INDEX["browInnerUp"]])


def test_lips_close_on_bilabials_whatever_the_emotion():
    """Dual-path: the expression's lip parting (a smile's lifted upper lip, surprise's jaw drop, disgust's raised
    upper lip) gives way on /b/ and /m/, so the lips meet there (measured on the rig's canonical face: inner-lip gap
    over the template's); vowels still open wider than at rest."""
    from emogen.controls import ExpressionPrior, resolve_emotion
    from emogen.face.blendshapes import load_blendshapes

    template, shapes, _ = load_blendshapes()
    rest = float(template[13, 1] - template[14, 1])
    phones, t = [], 0.0
    while t + 0.6 <= 2.4:
        phones += [
            PhoneSegment("b", t, t + 0.1),
            PhoneSegment("'a:", t + 0.1, t + 0.35),
            PhoneSegment("m", t + 0.35, t + 0.45),
            PhoneSegment("_", t + 0.45, t + 0.6),
        ]
        t += 0.6
    n = 75
    tt = torch.arange(n) / FPS
    on_b = ((tt % 0.6) > 0.03) & ((tt % 0.6) < 0.08) & (tt < 2.2)
    on_m = ((tt % 0.6) > 0.38) & ((tt % 0.6) < 0.43) & (tt < 2.2)
    on_a = ((tt % 0.6) > 0.2) & ((tt % 0.6) < 0.3) & (tt < 2.2)
    for label in ("neutral", "happy", "surprised", "fearful", "disgusted"):
        track = resolve_emotion(label if label == "neutral" else f"{label}:1.0", fps=FPS, num_frames=n)
        m = teacher_motion(
            n,
            phones=phones,
            emotion=track,
            expression=ExpressionPrior()(track),
            generator=torch.Generator().manual_seed(0),
        )
        v = template + torch.einsum("fk,kvc->fvc", m.blendshapes, shapes)
        gap = v[:, 13, 1] - v[:, 14, 1] - rest
        # 0.08 IPD (5 mm) apart on /b/ for a smiling speaker before the parting gave way
        assert gap[on_b | on_m].max() < 0.03, (label, gap[on_b | on_m].max())
        assert gap[on_a].mean() > 0.15, label
