"""Rule-based "teacher" motion: phone timings + an emotion → a plausible :class:`~emogen.motion.MotionTrack`.

The teacher makes the training targets of the synthetic corpus (``training/motion_denoiser/make_corpus.py``) and is a
usable fallback whenever phone timings are known (TTS, forced alignment). It combines:

* **lips and jaw** — visemes with Cohen–Massaro coarticulation (:func:`emogen.speech.visemes.phones_to_arkit`),
  articulated more widely at high arousal (vocal effort; Schröder 2001, "Emotional speech synthesis: a review")
  and, when the speech itself is given, on louder (stressed) syllables (:func:`emogen.speech.visemes.loudness_gain`);
* **expression** — an ARKit-52 expression track supplied by the caller (the control layer's ``ExpressionPrior``;
  kept out of this module so ``emogen`` never imports ``emogen.controls``), blended with the visemes by a "screen"
  blend ``1 − (1 − a)(1 − b)``; the expression's own jaw opening, lower-lip depression and lip closers (chin raise,
  lip press and roll) drop to a quarter while speaking so speech owns the jaw and the lips, and everything in the
  expression that parts the lips (a smile's lifted upper lip, a jaw drop) gives way on /p b m/ so the lips meet;
* **blinks** — a renewal process with gamma-distributed intervals (shape 2: irregular, never periodic) at
  17 blinks/min at rest and 26/min in conversation (Bentivoglio et al. 1997, "Analysis of blink rate patterns in
  normal subjects", Movement Disorders 12), faster with arousal, more likely in pauses; each blink closes in
  ~80 ms and reopens in ~160 ms (Stern, Walrath & Goldstein 1984, Psychophysiology 21);
* **eyebrows** — small brow raises on some stressed syllables (Cavé et al. 1996, "About the relationship between
  eyebrow movements and F0 variations", ICSLP);
* **head** — an Ornstein–Uhlenbeck drift per axis (amplitude growing with arousal), nods on stressed syllables
  (Hadar et al. 1983, "Head movement during listening turns in conversation" / "Kinematics of head movements
  accompanying speech during conversation", Human Movement Science 2), and a posture offset from the emotion:
  head down in sadness, back in surprise, raised with dominance (Wallbott 1998, "Bodily expression of emotion",
  Eur. J. Soc. Psychol. 28; Mignault & Chaudhuri 2003, "The many faces of a neutral face: head tilt and perception
  of dominance and emotion", J. Nonverbal Behavior 27);
* **gaze** — fixations of log-normal duration, mostly at the camera, with aversions that are more frequent at the
  start of phrases (Kendon 1967, "Some functions of gaze-direction in social interaction", Acta Psychologica 26),
  lowered in sadness; saccades take one frame.

All randomness comes from one ``torch.Generator``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..arkit import ARKIT_INDEX, NUM_BLENDSHAPES
from ..emotion import LABELS, EmotionTrack
from .procedural import bumps, gaze_fixations, head_sway, ou_process, sample_blinks, smooth
from .track import MotionTrack

__all__ = [
    "LIP_PARTING",
    "SPEECH_OWNED",
    "UTTERANCE_GAP",
    "TeacherConfig",
    "gaze_motion",
    "head_motion",
    "speech_activity",
    "stressed_onsets",
    "teacher_motion",
    "within_speech",
]

_SAD, _SURPRISED = LABELS.index("sad"), LABELS.index("surprised")


#: Channels of the expression that recede while speaking (to ``TeacherConfig.expression_jaw_speaking``): its own
#: mouth opening (a surprised jaw drop, a smile's parted lips) and the lip closers (AU17 chin raise, AU24 lip press,
#: AU28 lip roll), which hold the lips together against the jaw — a sad or angry speaker still parts the lips on
#: every vowel (the visemes bring their own closures for /p b m/).
SPEECH_OWNED = (
    "jawOpen",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthClose",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthRollLower",
    "mouthRollUpper",
)
#: Channels of the expression that part the lips; they give way on bilabial closures (/p b m/).
LIP_PARTING = (
    "jawOpen",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "mouthFunnel",
)
#: Pauses shorter than this (s) count as speech for :data:`SPEECH_OWNED`: the expression's own mouth opening comes
#: back between utterances, not in every gap between words or sentences of one turn. Silent pauses fall into brief
#: (< 0.2 s), medium (0.2-1 s, within a turn) and long (> 1 s, major boundaries) (Campione & Véronis 2002, "A
#: large-scale multilingual study of silent pause duration", Speech Prosody; long pauses occur only in spontaneous
#: speech).
UTTERANCE_GAP = 1.0


def within_speech(active: torch.Tensor, fps: float, gap: float = UTTERANCE_GAP) -> torch.Tensor:
    """Speech activity `(frames,)` with pauses shorter than ``gap`` seconds bridged (a morphological closing),
    eased over 0.2 s: 1 inside an utterance, 0 between utterances."""
    k = max(1, int(round(gap * fps)) | 1)
    x = active.float()[None, None]
    closed = torch.nn.functional.max_pool1d(x, k, stride=1, padding=k // 2)
    closed = -torch.nn.functional.max_pool1d(-closed, k, stride=1, padding=k // 2)
    return smooth(closed[0, 0], fps, 0.2)


@dataclass(frozen=True)
class TeacherConfig:
    """Amplitudes and rates of the teacher (sources in the module docstring).

    Args:
        blink_rate_rest: blinks per minute when silent and calm.
        blink_rate_speaking: blinks per minute while speaking.
        blink_arousal_gain: relative change of the rate per unit arousal.
        articulation_arousal_gain: relative change of viseme amplitude per unit arousal.
        articulation_scale: overall amplitude of the visemes (1 = the viseme table's shapes).
        expression_jaw_speaking: share of the expression's :data:`SPEECH_OWNED` channels (its own jaw opening,
            lower-lip depression and lip closers) kept while speaking (speech owns them: a surprised speaker
            articulates, the wide jaw drop shows in the pauses).
        loudness_exponent: how strongly a syllable's opening follows its vowel's amplitude relative to the
            utterance's median vowel (``loudness_gain``; used when the speech's audio is given).
        loudness_limits: smallest and largest such scale.
        loudness_window: longest stretch of a phone that takes one loudness gain, seconds (longer phones are cut
            into pieces: a phrase-final vowel that fades out closes as it fades).
        head_drift_deg: std of the slow head drift (pitch, yaw, roll) in degrees at neutral arousal.
        head_drift_tau: time constant of the drift in seconds.
        nod_deg: amplitude of a nod on a stressed syllable, degrees.
        nod_probability: chance that a stressed syllable carries a nod.
        brow_raise: browInnerUp/browOuterUp weight of a raise on a stressed syllable.
        brow_probability: chance that a stressed syllable carries a brow raise.
        gaze_aversion_deg: typical gaze aversion (yaw, pitch) in degrees.
        gaze_at_camera: fraction of fixations at the camera.
        fixation_seconds: median fixation duration.
        translation_per_radian: head translation (m) per radian of rotation (a neck pivot below the head).
    """

    blink_rate_rest: float = 17.0
    blink_rate_speaking: float = 26.0
    blink_arousal_gain: float = 0.3
    articulation_arousal_gain: float = 0.35
    articulation_scale: float = 1.0
    expression_jaw_speaking: float = 0.25
    loudness_exponent: float = 1.0
    loudness_limits: tuple[float, float] = (0.5, 1.5)
    loudness_window: float = 0.08
    head_drift_deg: tuple[float, float, float] = (2.0, 3.0, 1.5)
    head_drift_tau: float = 1.5
    nod_deg: float = 2.5
    nod_probability: float = 0.6
    brow_raise: float = 0.25
    brow_probability: float = 0.35
    gaze_aversion_deg: tuple[float, float] = (10.0, 6.0)
    gaze_at_camera: float = 0.6
    fixation_seconds: float = 0.9
    translation_per_radian: float = 0.08


# --------------------------------------------------------------------------------------------------- speech timing
def _is_pause(phone: str) -> bool:
    p = phone.strip().upper()
    return p.startswith("_") or p in ("SIL", "SP", "SPN", "<SIL>", "NSN", "")


def speech_activity(phones: Sequence, num_frames: int, fps: float) -> torch.Tensor:
    """1 on frames (at ``i / fps`` s) inside a non-pause phone ``[start, end)``, else 0: shape `(frames,)`."""
    out = torch.zeros(num_frames)
    for p in phones:
        if _is_pause(p.phone):
            continue
        a, b = math.ceil(p.start * fps - 1e-6), math.ceil(p.end * fps - 1e-6)
        out[max(0, a) : min(num_frames, b)] = 1.0
    return out


def stressed_onsets(phones: Sequence) -> list[float]:
    """Onset times (s) of stressed vowels: espeak ``'`` (primary) marks or ARPAbet stress digit 1."""
    times = []
    for p in phones:
        if p.phone.startswith("'") or (p.phone[-1:] == "1" and p.phone[:-1].isalpha()):
            times.append(p.start)
    return times


# ---------------------------------------------------------------------------------------------------------- head
def head_motion(
    num_frames: int,
    fps: float,
    *,
    arousal: torch.Tensor,
    posture: torch.Tensor,
    stresses: Sequence[float] = (),
    config: TeacherConfig = TeacherConfig(),
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Head rotation (pitch, yaw, roll; radians) and translation (m), per frame.

    Args:
        arousal (`torch.Tensor` of shape `(frames,)`): in [-1, 1]; scales drift and nods.
        posture (`torch.Tensor` of shape `(frames, 3)`): emotion-driven rotation offset in radians.
        stresses: onset times of stressed syllables (nod candidates).

    Returns:
        ``(rotation, translation)``, each `torch.Tensor` of shape `(frames, 3)`.
    """
    gain = (1.0 + 0.5 * arousal).clamp(0.4, 1.6)
    drift = head_sway(num_frames, fps, config.head_drift_deg, config.head_drift_tau, generator)
    rot = drift * gain[:, None] + posture
    if stresses:
        keep = torch.rand(len(stresses), generator=generator) < config.nod_probability
        times = [s for s, k in zip(stresses, keep.tolist(), strict=True) if k]
        amps = (torch.rand(len(times), generator=generator) * 0.6 + 0.7) * math.radians(config.nod_deg)
        nods = bumps(times, amps.tolist(), num_frames, fps, sigma=0.09, lead=0.05)
        rot[:, 0] += nods * gain  # positive pitch = nose down
    trans = torch.stack(
        [rot[:, 1], -rot[:, 0], torch.zeros(num_frames)], -1
    ) * config.translation_per_radian + 0.002 * torch.stack(
        [ou_process(num_frames, fps, 2.0, 1.0, generator) for _ in range(3)], -1
    )
    return rot, trans


# ---------------------------------------------------------------------------------------------------------- gaze
def gaze_motion(
    num_frames: int,
    fps: float,
    *,
    offset: torch.Tensor,
    phrase_starts: Sequence[float] = (),
    config: TeacherConfig = TeacherConfig(),
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Gaze (yaw, pitch) in radians: piecewise-constant fixations joined by one-frame saccades.

    Args:
        offset (`torch.Tensor` of shape `(frames, 2)`): emotion-driven gaze offset (e.g. down in sadness).
        phrase_starts: times where speakers tend to look away.

    Returns:
        `torch.Tensor` of shape `(frames, 2)`.
    """
    fixations = gaze_fixations(
        num_frames,
        fps,
        aversion_deg=config.gaze_aversion_deg,
        at_camera=config.gaze_at_camera,
        fixation_s=config.fixation_seconds,
        phrase_starts=phrase_starts,
        generator=generator,
    )
    return fixations + offset


# ------------------------------------------------------------------------------------------------------ teacher
def teacher_motion(
    num_frames: int,
    *,
    fps: float = 25.0,
    phones: Sequence = (),
    audio: tuple[np.ndarray, int] | None = None,
    emotion: EmotionTrack | None = None,
    expression: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    config: TeacherConfig = TeacherConfig(),
):
    """Rule-based talking motion for ``num_frames`` frames.

    Args:
        num_frames: frames (at ``fps``).
        fps: frame rate.
        phones: :class:`~emogen.speech.PhoneSegment` timings in seconds (espeak or ARPAbet); empty = silent.
        audio: the speech the phones time, ``(waveform, sample_rate)``: louder syllables open wider. ``None``: every
            syllable at the viseme table's size.
        emotion: the emotion over time (resampled to ``num_frames``); drives arousal-dependent rates, posture and
            gaze. ``None`` = neutral.
        expression (`torch.Tensor` of shape `(frames, 52)`, *optional*): ARKit expression weights for the emotion
            (``ExpressionPrior()(track)`` from the control layer).
        generator: randomness for blinks, head and gaze.
        config: amplitudes and rates.

    Returns:
        :class:`~emogen.motion.MotionTrack` with ``num_frames`` frames.
    """
    from emogen.speech.visemes import loudness_gain, phones_to_arkit, split_phones  # noqa: PLC0415

    if not isinstance(num_frames, int) or num_frames < 1:
        raise ValueError(f"num_frames must be a positive integer, got {num_frames!r}.")
    if expression is not None and tuple(expression.shape) != (num_frames, NUM_BLENDSHAPES):
        raise ValueError(f"expression must have shape ({num_frames}, 52), got {tuple(expression.shape)}.")
    if emotion is not None:
        emotion = emotion.resample(fps=fps, num_frames=num_frames)
        vad = emotion.vad.float().cpu()
        probs, intensity = emotion.probs.float().cpu(), emotion.intensity.float().cpu()
    else:
        vad = torch.zeros(num_frames, 3)
        probs = torch.zeros(num_frames, len(LABELS))
        probs[:, 0] = 1.0
        intensity = torch.zeros(num_frames)
    arousal = vad[:, 1]
    phones = list(phones)
    active = speech_activity(phones, num_frames, fps)

    # lips and jaw: visemes, wider with arousal
    articulation = config.articulation_scale * (1.0 + config.articulation_arousal_gain * arousal).clamp(0.6, 1.5)
    lip_phones, gain = phones, None
    if phones and audio is not None:
        lip_phones = split_phones(phones, config.loudness_window)
        gain = loudness_gain(
            lip_phones, audio[0], audio[1], exponent=config.loudness_exponent, limits=config.loudness_limits
        )
    visemes, closure = phones_to_arkit(lip_phones, fps, num_frames=num_frames, segment_gain=gain, return_closure=True)
    visemes = (visemes * articulation[:, None]).clamp(0, 1)
    expr = torch.zeros(num_frames, NUM_BLENDSHAPES) if expression is None else expression.float().cpu().clone()
    # speech owns the jaw and the lips: the expression's own opening (a surprised jaw drop, a smile's parted lips)
    # and its lip closers (a sad chin raise, an angry lip press) recede while speaking and return in the pauses; the
    # upper lip's lift (a smile's teeth) stays
    owned = [ARKIT_INDEX[name] for name in SPEECH_OWNED]
    expr[:, owned] *= (1.0 - (1.0 - config.expression_jaw_speaking) * within_speech(active, fps))[:, None]
    # ... except on /p b m/: the lips meet whatever the expression does (a smiling or disgusted speaker too)
    parting = [ARKIT_INDEX[name] for name in LIP_PARTING]
    expr[:, parting] *= (1.0 - closure)[:, None]
    blend = 1.0 - (1.0 - visemes) * (1.0 - expr)

    # eyebrows on stressed syllables
    stresses = stressed_onsets(phones)
    if stresses:
        keep = torch.rand(len(stresses), generator=generator) < config.brow_probability
        times = [s for s, k in zip(stresses, keep.tolist(), strict=True) if k]
        brow = bumps(times, [config.brow_raise] * len(times), num_frames, fps, sigma=0.12)
        for name, w in (("browInnerUp", 1.0), ("browOuterUpLeft", 0.7), ("browOuterUpRight", 0.7)):
            i = ARKIT_INDEX[name]
            blend[:, i] = 1.0 - (1.0 - blend[:, i]) * (1.0 - w * brow.clamp(0, 1))

    # blinks: rest → conversation rate, faster with arousal, likelier in pauses
    rate = config.blink_rate_rest + (config.blink_rate_speaking - config.blink_rate_rest) * smooth(active, fps, 1.0)
    rate = rate * (1.0 + config.blink_arousal_gain * arousal) * (1.0 + 0.5 * (1.0 - active))
    blink = sample_blinks(num_frames, fps, rate, generator)
    for name in ("eyeBlinkLeft", "eyeBlinkRight"):
        i = ARKIT_INDEX[name]
        blend[:, i] = torch.maximum(blend[:, i], blink)

    # head: drift + nods + posture (sad: down; surprised: back; dominance: raised)
    sad = probs[:, _SAD] * intensity
    surprised = probs[:, _SURPRISED] * intensity
    posture = torch.zeros(num_frames, 3)
    posture[:, 0] = 0.12 * sad - 0.06 * surprised - 0.06 * vad[:, 2]
    posture[:, 2] = 0.03 * vad[:, 0].clamp(min=0)  # a slight tilt when pleased
    rotation, translation = head_motion(
        num_frames, fps, arousal=arousal, posture=posture, stresses=stresses, config=config, generator=generator
    )

    # gaze: fixations, aversions at phrase starts, lowered in sadness
    phrase_starts = [p.end for p in phones if _is_pause(p.phone)]
    offset = torch.stack([torch.zeros(num_frames), 0.15 * sad], -1)
    gaze = gaze_motion(num_frames, fps, offset=offset, phrase_starts=phrase_starts, config=config, generator=generator)
    return MotionTrack(
        blendshapes=blend.clamp(0, 1), head_rotation=rotation, head_translation=translation, gaze=gaze, fps=fps
    )
