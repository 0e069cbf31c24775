"""``EmoHeadAvatarPipeline``: portrait + (audio | text | nothing) + emotion → a rigged 3D head, its motion, frames.

The photo becomes a :class:`~emogen.head.avatar.HeadAvatar` (a closed, textured head with the 52 ARKit blendshapes
as morph targets, eyes, teeth and tongue). Its motion comes from the same machinery as the talking head: with speech,
the motion model (audio + emotion → ARKit-52, head pose, gaze; lips from the TTS's phones), with no speech, the
expression prior plus blinks, head sway and gaze. Emotion reaches the avatar by two paths: geometry (the motion model
and the expression prior in blendshape space; bilabials close whatever the expression) and appearance (furrows,
folds, flush and pallor shaded by the avatar renderer). ``write_glb`` exports the avatar with its animation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from diffusers import DDIMScheduler, DiffusionPipeline
from diffusers.utils import BaseOutput

from emogen.audio import SAMPLE_RATE
from emogen.controls import make_dynamics, resolve_emotion
from emogen.controls.dynamics import Dynamics
from emogen.controls.encoder import EmotionEncoder
from emogen.controls.parse import EmotionSpec, parse_emotion_spec
from emogen.emotion import EmotionTrack
from emogen.io.audio import AudioInput
from emogen.io.image import PortraitInput, to_rgb_uint8
from emogen.models import MotionDenoiser
from emogen.motion import MotionTrack
from emogen.motion.shaping import check_gaze
from emogen.speech.engine import TTSComponent

from ..defaults import DEFAULTS, LIMITS
from ..motion_steps import MotionSteps
from ..pipeline_utils import check_int, check_number, check_work

__all__ = ["EmoHeadAvatarPipeline", "HeadAvatarOutput"]

OUTPUT_TYPES = ("np", "avatar")


@dataclass(frozen=True)
class HeadAvatarOutput(BaseOutput):
    """Output of :class:`EmoHeadAvatarPipeline`.

    Args:
        avatar: the :class:`~emogen.head.avatar.HeadAvatar` (export it with :func:`emogen.export.write_glb`).
        motion: the motion at the output ``fps`` (ARKit-52, head rotation and translation, gaze).
        audio (`np.ndarray`): the speech (empty when the avatar does not speak), float32 at ``sample_rate``.
        sample_rate: samples per second of ``audio``.
        emotion_track: the emotion per output frame.
        frames (`np.ndarray` of shape `(frames, size, size, 3)`, *optional*): the rendered clip (``output_type="np"``).
    """

    avatar: object
    motion: MotionTrack
    audio: np.ndarray
    sample_rate: int
    emotion_track: EmotionTrack
    frames: np.ndarray | None = None


class EmoHeadAvatarPipeline(MotionSteps, DiffusionPipeline):
    """A rigged, emotional 3D head avatar from one photo.

    Args:
        emotion_encoder, motion_denoiser, scheduler, tts: as in :class:`~emogen.pipelines.EmoTalkingHeadPipeline`
            (the same shipped weights).
        renderer: an :class:`~emogen.render.avatar.AvatarRenderer` (not serialised; created on first use).

    Example:
        >>> pipe = EmoHeadAvatarPipeline.from_pretrained()             # shipped weights, offline
        >>> out = pipe(skimage.data.astronaut(), text="We won!", emotion="happy")
        >>> write_glb("head.glb", out.avatar, out.motion)
    """

    model_cpu_offload_seq = "emotion_encoder->motion_denoiser"
    _optional_components = ["tts"]

    def __init__(
        self,
        emotion_encoder: EmotionEncoder,
        motion_denoiser: MotionDenoiser,
        scheduler: DDIMScheduler,
        tts: TTSComponent | None = None,
        renderer=None,
    ) -> None:
        super().__init__()
        self.register_modules(
            emotion_encoder=emotion_encoder, motion_denoiser=motion_denoiser, scheduler=scheduler, tts=tts
        )
        self._renderer = renderer

    @property
    def renderer(self):
        if self._renderer is None:
            from emogen.render.avatar import AvatarRenderer

            self._renderer = AvatarRenderer()
        return self._renderer

    def check_inputs(self, image, audio, text, emotion, duration, fps, size, yaw, pitch, output_type) -> None:
        """Raise ``ValueError`` / ``TypeError`` naming the bad value and what is accepted."""
        if image is None:
            raise ValueError("image (a portrait: path, PIL image, array or tensor) is required.")
        if audio is not None and text is not None:
            raise ValueError("Pass `audio` or `text` (or neither, for a silent avatar), not both.")
        if text is not None and (not isinstance(text, str) or not text.strip()):
            raise ValueError(f"text must be a non-empty string, got {text!r}.")
        if isinstance(emotion, str) and not (text is not None and emotion.strip().lower() == "auto"):
            parse_emotion_spec(emotion)
        if duration is not None:
            check_number(duration, "duration", 0.0, LIMITS.duration, lo_open=True)
        check_number(fps, "fps", 0.0, LIMITS.fps, lo_open=True)
        check_int(size, "size", *LIMITS.size)
        check_number(yaw, "yaw", -180.0, 180.0)
        check_number(pitch, "pitch", -89.0, 89.0)
        if output_type not in OUTPUT_TYPES:
            raise ValueError(f"output_type must be one of {', '.join(map(repr, OUTPUT_TYPES))}, got {output_type!r}.")

    @torch.no_grad()
    def __call__(
        self,
        image: PortraitInput,
        audio: AudioInput | None = None,
        text: str | None = None,
        emotion: EmotionSpec | None = None,
        sample_rate: int | None = None,
        duration: float | None = None,
        voice: str | None = DEFAULTS.voice,
        speed: float = 1.0,
        num_inference_steps: int = DEFAULTS.num_inference_steps,
        audio_guidance_scale: float = DEFAULTS.audio_guidance_scale,
        emotion_guidance_scale: float = DEFAULTS.emotion_guidance_scale,
        head_motion_scale: float = DEFAULTS.head_motion_scale,
        blink_rate: float = DEFAULTS.blink_rate,
        gaze: str | tuple[float, float] | None = None,
        lip_sync: str = "auto",
        articulation: float = DEFAULTS.articulation,
        emotion_dynamics: str | Dynamics | None = DEFAULTS.emotion_dynamics,
        idle: bool = True,
        fps: float = DEFAULTS.fps,
        size: int = 512,
        yaw: float = 0.0,
        pitch: float = 0.0,
        generator: torch.Generator | None = None,
        output_type: str = "np",
        return_dict: bool = True,
    ) -> HeadAvatarOutput | tuple:
        """Build the avatar of ``image`` and animate it speaking ``audio`` / ``text`` (or silent) with ``emotion``.

        Args:
            image: the portrait.
            audio, text: speech (exclusive); neither: a silent avatar for ``duration`` seconds (default 3 s, or a
                timeline's last key + 1 s).
            emotion: any emotion spec (label, ``label:intensity``, mixture, ``vad:v,a,d``, free text, timeline);
                ``None``: the text's tags, the voice's diarized emotion, or neutral.
            sample_rate, voice, speed, num_inference_steps, audio_guidance_scale, emotion_guidance_scale,
                head_motion_scale, blink_rate, gaze, lip_sync, articulation, emotion_dynamics: as for the talking
                head.
            idle: blinks, head sway and gaze shifts when silent.
            fps: output frame rate; size, yaw, pitch: the rendered view (square frames, camera orbit in degrees).
            generator: randomness.
            output_type: ``"np"`` (render frames) or ``"avatar"`` (avatar and motion only).
            return_dict: else a tuple.
        """
        # 1. Check inputs
        self.check_inputs(image, audio, text, emotion, duration, fps, size, yaw, pitch, output_type)
        check_gaze(gaze)
        image = to_rgb_uint8(image)
        dynamics = make_dynamics(emotion_dynamics)

        # 2. The avatar (a photo without a usable face fails before any speech is made)
        from emogen.head.avatar import HeadAvatar

        avatar = HeadAvatar.from_portrait(image, progress=False)

        # 3. Speech and the emotion track at the model's rate, then motion at the output rate
        if audio is not None or text is not None:
            speech = self.prepare_speech(text, audio, emotion, sample_rate, voice, speed)
            seconds = len(speech.waveform) / SAMPLE_RATE
            num_out = check_work(seconds, fps, height=size, width=size, what="The speech")
            num_frames = max(1, round(seconds * self.model_fps))
            spec = None if isinstance(emotion, str) and emotion.strip().lower() == "auto" else emotion
            (track,) = self.emotion_tracks([spec], speech, num_frames, dynamics)
            motion = self.speaking_motion(
                speech, track, num_out, fps, num_inference_steps=num_inference_steps,
                audio_guidance_scale=audio_guidance_scale, emotion_guidance_scale=emotion_guidance_scale,
                head_motion_scale=head_motion_scale, blink_rate=blink_rate, gaze=gaze, lip_sync=lip_sync,
                articulation=articulation, generator=generator,
            )  # fmt: skip
            track = track.resample(fps=fps, num_frames=num_out)
            audio_out, rate = np.asarray(speech.audio, np.float32), int(speech.sample_rate)
        else:
            spec = emotion if emotion is not None else "neutral"
            track = resolve_emotion(spec, duration=duration, fps=fps, dynamics=dynamics)
            if duration is None and track.num_frames == 1:
                track = resolve_emotion(spec, duration=DEFAULTS.still_duration, fps=fps, dynamics=dynamics)
            check_work(track.duration, fps, height=size, width=size, what="The clip")
            motion = self.still_motion(track, idle, generator)
            audio_out, rate = np.zeros(0, np.float32), SAMPLE_RATE

        # 4. Render the clip from the chosen view
        frames = None
        if output_type == "np":
            frames = self.renderer(avatar, motion, yaw=yaw, pitch=pitch, size=size, emotion=track)

        # 5. Output
        output = HeadAvatarOutput(avatar, motion, audio_out, rate, track, frames)
        return output if return_dict else tuple(getattr(output, f) for f in output.__dataclass_fields__)
