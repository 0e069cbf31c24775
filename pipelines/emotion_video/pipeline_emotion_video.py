"""``EmoVideoPipeline``: a face living through an emotion timeline — speaking, listening or idle — as a video.

* ``mode="speaking"``: the face speaks ``audio`` / ``text`` (the talking head's motion model and voice);
* ``mode="listening"``: ``audio`` / ``text`` is the *other* person's speech; the face stays silent with its lips
  closed and reacts — nods and small smiles at the speaker's backchannel points, attentive gaze
  (:mod:`emogen.motion.listening`) — and takes on a share (``mirror``) of the speaker's diarized emotion on top of its
  own timeline (:func:`emogen.controls.mirror_emotion`); the soundtrack is the speaker's;
* ``mode="idle"``: no speech; the expression prior of the timeline with blinks, head sway and gaze.

Frames come from the portrait animator (a photo) or the head-avatar renderer (a
:class:`~emogen.head.avatar.HeadAvatar`).
``grade=True`` adds an emotion-aware colour grade following valence and arousal (:mod:`emogen.render.grading`),
off by default and recorded in the output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from diffusers import DDIMScheduler, DiffusionPipeline
from diffusers.utils import BaseOutput

from emogen.audio import SAMPLE_RATE
from emogen.controls import make_dynamics, mirror_emotion, resolve_emotion
from emogen.controls.dynamics import Dynamics
from emogen.controls.encoder import EmotionEncoder
from emogen.controls.parse import EmotionSpec, parse_emotion_spec
from emogen.emotion import EmotionTrack
from emogen.io.audio import AudioInput
from emogen.io.image import to_rgb_uint8
from emogen.models import MotionDenoiser
from emogen.motion import MotionTrack
from emogen.motion.shaping import check_gaze
from emogen.speech.engine import TTSComponent

from ..defaults import DEFAULTS, LIMITS
from ..motion_steps import MotionSteps
from ..pipeline_utils import check_int, check_number, check_work

__all__ = ["EmoVideoPipeline", "EmotionVideoOutput", "VIDEO_MODES"]

#: What the face does.
VIDEO_MODES = ("speaking", "listening", "idle")


@dataclass(frozen=True)
class EmotionVideoOutput(BaseOutput):
    """Output of :class:`EmoVideoPipeline`.

    Args:
        frames (`np.ndarray` of shape `(frames, height, width, 3)`): uint8 RGB.
        audio (`np.ndarray`): the soundtrack (the face's speech, the speaker it listens to, or empty), float32.
        sample_rate: samples per second of ``audio``.
        motion: the motion rendered, at the output ``fps``.
        emotion_track: the face's emotion per output frame (listening: its own timeline with the mirrored share).
        mode: ``"speaking"``, ``"listening"`` or ``"idle"``.
        cues: listening mode: the times (s) the face responded and why (``[(time, kind), …]``).
        grade: the colour grade per frame when ``grade=True`` (brightness, saturation, warmth), else ``None``.
    """

    frames: np.ndarray
    audio: np.ndarray
    sample_rate: int
    motion: MotionTrack
    emotion_track: EmotionTrack
    mode: str
    cues: list | None = None
    grade: dict | None = None


class EmoVideoPipeline(MotionSteps, DiffusionPipeline):
    """A face living through an emotion timeline: speaking, listening or idle (see the module docstring).

    Args:
        emotion_encoder, motion_denoiser, scheduler, tts: as in :class:`~emogen.pipelines.EmoTalkingHeadPipeline`.
        animator: the portrait renderer (not serialised; created on first use).

    Example:
        >>> pipe = EmoVideoPipeline.from_pretrained()
        >>> out = pipe(photo, emotion="0s neutral, 2s happy", mode="listening", audio="them.wav", mirror=0.5)
    """

    model_cpu_offload_seq = "emotion_encoder->motion_denoiser"
    _optional_components = ["tts"]

    def __init__(
        self,
        emotion_encoder: EmotionEncoder,
        motion_denoiser: MotionDenoiser,
        scheduler: DDIMScheduler,
        tts: TTSComponent | None = None,
        animator=None,
    ) -> None:
        super().__init__()
        self.register_modules(
            emotion_encoder=emotion_encoder, motion_denoiser=motion_denoiser, scheduler=scheduler, tts=tts
        )
        self._animator = animator
        self._avatar_renderer = None

    def check_inputs(self, image, audio, text, emotion, mode, duration, mirror, fps, height, width, grade) -> None:
        """Raise ``ValueError`` / ``TypeError`` naming the bad value and what is accepted."""
        if image is None:
            raise ValueError("image is required: a portrait (path, PIL image, array, tensor) or a HeadAvatar.")
        if mode not in VIDEO_MODES:
            raise ValueError(f"mode must be one of {', '.join(map(repr, VIDEO_MODES))}, got {mode!r}.")
        if audio is not None and text is not None:
            raise ValueError("Pass `audio` or `text`, not both.")
        if mode in ("speaking", "listening") and audio is None and text is None:
            who = "to speak" if mode == "speaking" else "of the person the face listens to"
            raise ValueError(f"mode={mode!r} needs `audio` or `text` (the speech {who}).")
        if mode == "idle" and (audio is not None or text is not None):
            raise ValueError("mode='idle' takes no speech; use mode='speaking' or 'listening' with audio/text.")
        if text is not None and (not isinstance(text, str) or not text.strip()):
            raise ValueError(f"text must be a non-empty string, got {text!r}.")
        if _is_auto(emotion):
            if mode != "speaking" or text is None:
                raise ValueError(
                    "emotion='auto' reads each sentence's emotion from `text` while the face speaks it; it needs "
                    f"mode='speaking' and text (got mode={mode!r}, text={'given' if text else 'none'})."
                )
        elif isinstance(emotion, str):
            parse_emotion_spec(emotion)
        if duration is not None:
            check_number(duration, "duration", 0.0, LIMITS.duration, lo_open=True)
        check_number(mirror, "mirror", 0.0, 1.0)
        check_number(fps, "fps", 0.0, LIMITS.fps, lo_open=True)
        for name, value in (("height", height), ("width", width)):
            if value is not None:
                check_int(value, name, *LIMITS.size)
        if not isinstance(grade, bool):
            raise TypeError(f"grade must be True or False, got {grade!r}.")

    def render(self, image, motion: MotionTrack, track: EmotionTrack, height, width) -> np.ndarray:
        """Frames of ``motion`` on a photo (portrait animator) or a :class:`HeadAvatar` (its renderer)."""
        from emogen.head.avatar import HeadAvatar

        if isinstance(image, HeadAvatar):
            if self._avatar_renderer is None:
                from emogen.render.avatar import AvatarRenderer

                self._avatar_renderer = AvatarRenderer()
            return self._avatar_renderer(image, motion, size=height or width or 512, emotion=track)
        prepared = self.animator.prepare(image)
        return self.animator(prepared, motion, height=height, width=width, emotion=track, progress=False)

    @torch.no_grad()
    def __call__(
        self,
        image,
        emotion: EmotionSpec | None = None,
        audio: AudioInput | None = None,
        text: str | None = None,
        mode: str = "speaking",
        duration: float | None = None,
        sample_rate: int | None = None,
        mirror: float = 0.5,
        grade: bool = False,
        voice: str | None = DEFAULTS.voice,
        num_inference_steps: int = DEFAULTS.num_inference_steps,
        audio_guidance_scale: float = DEFAULTS.audio_guidance_scale,
        emotion_guidance_scale: float = DEFAULTS.emotion_guidance_scale,
        head_motion_scale: float = DEFAULTS.head_motion_scale,
        blink_rate: float = DEFAULTS.blink_rate,
        gaze: str | tuple[float, float] | None = None,
        emotion_dynamics: str | Dynamics | None = DEFAULTS.emotion_dynamics,
        fps: float = DEFAULTS.fps,
        height: int | None = None,
        width: int | None = None,
        generator: torch.Generator | None = None,
        return_dict: bool = True,
    ) -> EmotionVideoOutput | tuple:
        """Render ``image`` living through ``emotion`` in ``mode``.

        Args:
            image: a portrait (path, PIL image, array, tensor) or a :class:`~emogen.head.avatar.HeadAvatar`.
            emotion: the face's own emotion spec or timeline (speaking with ``audio`` and ``None``: the voice's;
                speaking ``text`` with ``"auto"``: each sentence's emotion read from its words).
            audio, text: speaking: what the face says; listening: what the other person says (``text`` is spoken
                by the TTS first); idle: neither.
            mode: ``"speaking"``, ``"listening"`` or ``"idle"``.
            duration: idle: seconds (default 3 s, or a timeline's last key + 1 s).
            sample_rate: of ``audio`` when it is an array.
            mirror: listening: share of the speaker's emotion the face takes on (0 … 1).
            grade: apply and record the emotion-aware colour grade.
            voice, num_inference_steps, audio_guidance_scale, emotion_guidance_scale, head_motion_scale, blink_rate,
                gaze, emotion_dynamics, fps, height, width, generator: as for the talking head.
        """
        # 1. Check inputs
        self.check_inputs(image, audio, text, emotion, mode, duration, mirror, fps, height, width, grade)
        check_gaze(gaze)
        from emogen.head.avatar import HeadAvatar

        if not isinstance(image, HeadAvatar):
            image = to_rgb_uint8(image)
        dynamics = make_dynamics(emotion_dynamics)
        cues = None

        # 2. Speech (the face's own, or the speaker's it listens to)
        speech = None
        if mode != "idle":
            speech = self.prepare_speech(text, audio, emotion if mode == "speaking" else None, sample_rate, voice, 1.0)
            seconds = len(speech.waveform) / SAMPLE_RATE
            num_out = check_work(seconds, fps, height=height, width=width, what="The speech")

        # 3. Emotion and motion per mode
        if mode == "speaking":
            num_frames = max(1, round(seconds * self.model_fps))
            (track,) = self.emotion_tracks([None if _is_auto(emotion) else emotion], speech, num_frames, dynamics)
            motion = self.speaking_motion(
                speech, track, num_out, fps, num_inference_steps=num_inference_steps,
                audio_guidance_scale=audio_guidance_scale, emotion_guidance_scale=emotion_guidance_scale,
                head_motion_scale=head_motion_scale, blink_rate=blink_rate, gaze=gaze, lip_sync="auto",
                articulation=DEFAULTS.articulation, generator=generator,
            )  # fmt: skip
            track = track.resample(fps=fps, num_frames=num_out)
        elif mode == "listening":
            track, motion, cues = self.listening(speech, emotion, num_out, fps, mirror, dynamics, generator)
        else:
            spec = emotion if emotion is not None else "neutral"
            track = resolve_emotion(spec, duration=duration, fps=fps, dynamics=dynamics)
            if duration is None and track.num_frames == 1:
                track = resolve_emotion(spec, duration=DEFAULTS.still_duration, fps=fps, dynamics=dynamics)
            check_work(track.duration, fps, height=height, width=width, what="The clip")
            motion = self.still_motion(track, True, generator)

        # 4. Render, 5. grade, 6. output
        frames = self.render(image, motion, track, height, width)
        graded = None
        if grade:
            from emogen.render.grading import emotion_grade, grade_frames

            g = emotion_grade(track.vad)
            frames, graded = grade_frames(frames, g), g.to_dict()
        audio_out = np.zeros(0, np.float32) if speech is None else np.asarray(speech.audio, np.float32)
        rate = SAMPLE_RATE if speech is None else int(speech.sample_rate)
        output = EmotionVideoOutput(frames, audio_out, rate, motion, track, mode, cues, graded)
        return output if return_dict else tuple(getattr(output, f) for f in output.__dataclass_fields__)

    def listening(self, speech, emotion, num_out: int, fps: float, mirror: float, dynamics, generator):
        """The listener: its own timeline + the mirrored share of the speaker's emotion; cues from the speaker's
        prosody; silent motion. Returns ``(track, motion, cues)``."""
        from emogen.audio import prosody_features
        from emogen.controls import ExpressionPrior
        from emogen.motion.listening import listener_cues, listening_motion

        seconds = num_out / fps
        own = resolve_emotion(emotion if emotion is not None else "neutral", duration=seconds, fps=fps,
                              dynamics=dynamics).resample(fps=fps, num_frames=num_out)  # fmt: skip
        if speech.spoken is not None:  # the TTS spoke the speaker's text with its emotion
            other = speech.spoken
        else:
            from emogen.diarize import diarize

            other = diarize(speech.waveform, SAMPLE_RATE).to_track(fps=fps, mode="segments")
        track = mirror_emotion(own, other, mirror) if mirror > 0 else own
        pros = prosody_features(speech.waveform, SAMPLE_RATE)
        cues = listener_cues(pros.f0_hz.numpy(), pros.voiced.numpy(), pros.energy_db.numpy(), pros.fps)
        expression = ExpressionPrior()(track).float()
        motion = listening_motion(num_out, fps, cues, expression, generator=generator)
        return track, motion, [(round(c.time, 3), c.kind) for c in cues]


def _is_auto(emotion) -> bool:
    return isinstance(emotion, str) and emotion.strip().lower() == "auto"
