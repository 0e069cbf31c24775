"""A listener's face: silent, attentive, and reacting to the other person's speech at the moments listeners do.

Given the speaker's audio, :func:`listener_cues` finds where listeners give feedback and :func:`listening_motion` turns
the cues into a :class:`~emogen.motion.MotionTrack` with closed lips. The rules and their sources:

* **Backchannel points** (Ward & Tsukahara 2000, "Prosodic features which cue back-channel responses in English and
  Japanese", J. Pragmatics 32: 1177-1207): a region of pitch below the speaker's 26th percentile lasting at least
  110 ms, after at least 700 ms of speech, elicits feedback about 700 ms after the low region starts; no two within
  800 ms. English listeners also respond at the end of a phrase, in the pause that follows it (Maynard 1987,
  "Interactional functions of a nonverbal sign: head movement in Japanese dyadic casual conversation", J.
  Pragmatics 11: head nods cluster at pauses and phrase ends).
* **Nods** are the most frequent listener response (Maynard 1987; Poppe et al. 2010, "Backchannel strategies for
  artificial listeners", IVA): a downward head pitch of 5-10° over about 0.4-0.6 s, sometimes repeated.
* **Backchannel smiles** and eyebrow flashes accompany some responses (Bevacqua et al. 2008, "Multimodal
  backchannels for embodied conversational agents"): a short AU12 at B intensity.
* **Gaze**: listeners look at the speaker far more than speakers look at listeners (about 75 % against 40 % of the
  time; Argyle & Cook 1976, *Gaze and Mutual Gaze*), with short aversions.
* **Emotional mimicry** (Hess & Fischer 2013, "Emotional mimicry as social regulation", PSPR 17): the listener takes
  on a share of the speaker's expression — applied to the emotion track by the caller, not here.

Randomness (which cues get a nod or a smile, their sizes, gaze) comes from one ``generator``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..arkit import ARKIT_INDEX, NUM_BLENDSHAPES
from .procedural import bumps, gaze_fixations, head_sway, sample_blinks, smooth
from .track import MotionTrack

__all__ = ["ListenerCue", "ListeningSettings", "listener_cues", "listening_motion"]

#: Lip and jaw shapes held at zero while listening (the mouth stays closed).
_SPEECH_SHAPES = tuple(
    n for n in ARKIT_INDEX if n.startswith(("jaw", "mouthFunnel", "mouthPucker", "mouthLowerDown", "mouthUpperUp"))
) + ("mouthClose", "tongueOut")


@dataclass(frozen=True)
class ListenerCue:
    """A moment the listener responds: ``time`` in seconds and why (``"low_pitch"`` or ``"pause"``)."""

    time: float
    kind: str


@dataclass(frozen=True)
class ListeningSettings:
    """Parameters of the listener (defaults from the sources in the module docstring).

    Args:
        low_pitch_percentile: pitch below this percentile of the speaker's voiced frames counts as low.
        low_pitch_s: minimum duration of a low-pitch region.
        min_speech_s: speech needed before a cue.
        response_delay_s: delay from the start of the low region to the response.
        refractory_s: minimum time between responses.
        pause_s: a silence at least this long after speech is a phrase end.
        nod_probability: share of cues answered with a nod; nod_deg: nod depth (degrees, downward pitch).
        smile_probability: share of cues answered with a small smile; smile: its ``mouthSmile`` weight.
        gaze_at_speaker: share of fixations at the speaker (the camera).
        blink_rate: blinks per minute.
    """

    low_pitch_percentile: float = 26.0
    low_pitch_s: float = 0.11
    min_speech_s: float = 0.7
    response_delay_s: float = 0.7
    refractory_s: float = 0.8
    pause_s: float = 0.4
    nod_probability: float = 0.7
    nod_deg: float = 7.0
    smile_probability: float = 0.3
    smile: float = 0.35
    gaze_at_speaker: float = 0.75
    blink_rate: float = 17.0

    def __post_init__(self) -> None:
        for name in ("nod_probability", "smile_probability", "gaze_at_speaker"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a share in [0, 1], got {value!r}.")
        if not 0.0 < self.low_pitch_percentile < 100.0:
            raise ValueError(f"low_pitch_percentile must be in (0, 100), got {self.low_pitch_percentile!r}.")
        for name in ("low_pitch_s", "min_speech_s", "refractory_s", "pause_s", "nod_deg"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)!r}.")


def listener_cues(
    f0_hz: np.ndarray, voiced: np.ndarray, energy_db: np.ndarray, fps: float, settings: ListeningSettings | None = None
) -> list[ListenerCue]:
    """Where a listener responds to the speaker whose prosody is given (frame arrays at ``fps``).

    Args:
        f0_hz: pitch per frame (0 where unvoiced); voiced: bool per frame; energy_db: frame level in dBFS.
        fps: frame rate of the arrays (e.g. 50 for :func:`emogen.audio.prosody_features`).
        settings: :class:`ListeningSettings`.

    Returns:
        Cues sorted by time, at least ``refractory_s`` apart.
    """
    s = settings or ListeningSettings()
    f0, voiced, energy = np.asarray(f0_hz, float), np.asarray(voiced, bool), np.asarray(energy_db, float)
    n = len(f0)
    if not (len(voiced) == len(energy) == n):
        raise ValueError(f"f0_hz, voiced and energy_db must have the same length, got {n}, {len(voiced)}, "
                         f"{len(energy)}.")  # fmt: skip
    if n == 0 or voiced.sum() < 3:
        return []
    floor = np.percentile(energy, 95) - 30.0  # speech: within 30 dB of the loud frames
    speech = (energy > floor) | voiced
    low = voiced & (f0 < np.percentile(f0[voiced], s.low_pitch_percentile))
    candidates: list[ListenerCue] = []
    spoken = np.cumsum(speech) / fps  # seconds of speech so far
    run = 0
    for i in range(n):
        run = run + 1 if low[i] else 0
        if run == max(1, round(s.low_pitch_s * fps)) and spoken[i] >= s.min_speech_s:
            start = (i - run + 1) / fps
            candidates.append(ListenerCue(start + s.response_delay_s, "low_pitch"))
    # phrase ends: the first frame of a pause of at least pause_s after speech
    silent = ~speech
    gap = 0
    for i in range(n):
        gap = gap + 1 if silent[i] else 0
        if gap == max(1, round(s.pause_s * fps)) and spoken[i] >= s.min_speech_s:
            candidates.append(ListenerCue((i - gap + 1) / fps + 0.2, "pause"))
    cues: list[ListenerCue] = []
    for cue in sorted(candidates, key=lambda c: c.time):
        if cue.time < n / fps and (not cues or cue.time - cues[-1].time >= s.refractory_s):
            cues.append(cue)
    return cues


def listening_motion(
    num_frames: int,
    fps: float,
    cues: list[ListenerCue],
    expression: torch.Tensor | None = None,
    settings: ListeningSettings | None = None,
    generator: torch.Generator | None = None,
) -> MotionTrack:
    """A silent listener's motion: closed lips, nods and small smiles at the cues, attentive gaze, blinks.

    Args:
        num_frames, fps: length and rate of the track.
        cues: from :func:`listener_cues` (times in seconds).
        expression (`torch.Tensor` of shape `(num_frames, 52)`, *optional*): the listener's own expression (e.g.
            the expression prior of the mixed emotion track); its speech shapes are removed and the lips closed.
        settings: :class:`ListeningSettings`.
        generator: randomness.

    Returns:
        :class:`MotionTrack`.
    """
    if not isinstance(num_frames, int) or num_frames < 1:
        raise ValueError(f"num_frames must be a positive integer, got {num_frames!r}.")
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}.")
    s = settings or ListeningSettings()
    blend = torch.zeros(num_frames, NUM_BLENDSHAPES)
    if expression is not None:
        if tuple(expression.shape) != (num_frames, NUM_BLENDSHAPES):
            raise ValueError(f"expression must have shape ({num_frames}, 52), got {tuple(expression.shape)}.")
        blend = expression.detach().float().cpu().clone()
    for name in _SPEECH_SHAPES:
        blend[:, ARKIT_INDEX[name]] = 0.0
    nod_times, nod_amps, smile_times = [], [], []
    for cue in cues:
        if float(torch.rand((), generator=generator)) < s.nod_probability:
            depth = math.radians(s.nod_deg) * (0.6 + 0.8 * float(torch.rand((), generator=generator)))
            nod_times.append(cue.time)
            nod_amps.append(depth)
            if float(torch.rand((), generator=generator)) < 0.3:  # a double nod
                nod_times.append(cue.time + 0.45)
                nod_amps.append(0.6 * depth)
        if float(torch.rand((), generator=generator)) < s.smile_probability:
            smile_times.append(cue.time)
    rot = head_sway(num_frames, fps, (1.2, 1.8, 0.8), 2.0, generator)
    # a nod: the head dips (positive pitch is down in the rig's convention: see emogen.face.rig.euler_to_rotation)
    rot[:, 0] += bumps(nod_times, nod_amps, num_frames, fps, sigma=0.12)
    smile = bumps(smile_times, [s.smile] * len(smile_times), num_frames, fps, sigma=0.35).clamp(max=1.0)
    for side in ("Left", "Right"):
        k = ARKIT_INDEX[f"mouthSmile{side}"]
        blend[:, k] = torch.maximum(blend[:, k], smile)
        blend[:, ARKIT_INDEX[f"eyeBlink{side}"]] = 0.0
    closure = sample_blinks(num_frames, fps, s.blink_rate, generator)
    blend[:, ARKIT_INDEX["eyeBlinkLeft"]] = closure
    blend[:, ARKIT_INDEX["eyeBlinkRight"]] = closure
    gaze = gaze_fixations(
        num_frames, fps, aversion_deg=(8.0, 5.0), at_camera=s.gaze_at_speaker, fixation_s=1.2, generator=generator
    )
    gaze = torch.stack([smooth(gaze[:, 0], fps, 0.04), smooth(gaze[:, 1], fps, 0.04)], -1)
    return MotionTrack(
        blendshapes=blend.clamp(0.0, 1.0),
        head_rotation=rot,
        head_translation=torch.zeros(num_frames, 3),
        gaze=gaze,
        fps=float(fps),
    )
