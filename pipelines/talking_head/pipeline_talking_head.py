"""``EmoTalkingHeadPipeline``: portrait + (audio | text) + emotion → talking-head frames, audio, motion, emotion.

Text is spoken by the emotional TTS (:func:`emogen.controls.speech_pieces` + :func:`emogen.speech.speak` on the
registered ``tts`` component, so the voice carries the same emotion as the face); audio is used as given, and with no
``emotion`` the face follows the emotion of the voice (speech-emotion diarization, :mod:`emogen.diarize`). The
:class:`~emogen.models.MotionDenoiser` turns 16 kHz log-mel features + the emotion (encoded by the
:class:`~emogen.controls.EmotionEncoder`) into a :class:`~emogen.motion.MotionTrack` at its trained rate (25 fps)
with two guidance scales (``audio_guidance_scale``: lip sync; ``emotion_guidance_scale``: intensity), window by
window for long audio. The motion is then shaped (:mod:`emogen.motion.shaping`: lips from phone timings, head
motion scale, frame rate, blinks and gaze) and the :class:`~emogen.render.PortraitAnimator` renders it.

The shipped weights are a diffusers pipeline folder (``weights/talking_head``: ``model_index.json``,
``motion_denoiser/``, ``emotion_encoder/``, ``scheduler/``, ``tts/``); ``EmoTalkingHeadPipeline.from_pretrained()``
with no path loads them offline. The animator is not serialised (a run-time choice of rasteriser and device).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from diffusers import DDIMScheduler, DiffusionPipeline
from diffusers.callbacks import MultiPipelineCallbacks, PipelineCallback
from diffusers.utils import BaseOutput

from emogen.assets import shipped_weights_dir
from emogen.audio import SAMPLE_RATE
from emogen.controls import ExpressionPrior, make_dynamics
from emogen.controls.dynamics import Dynamics
from emogen.controls.encoder import EmotionEncoder
from emogen.controls.parse import EmotionSpec, parse_emotion_spec
from emogen.emotion import EmotionConditioning, EmotionTrack
from emogen.io.audio import AudioInput
from emogen.io.image import PortraitInput, to_rgb_uint8
from emogen.models import MotionDenoiser
from emogen.motion import MotionTrack
from emogen.motion.shaping import check_gaze, lip_sync_from_phones, shape_motion
from emogen.speech import PhoneSegment
from emogen.speech.engine import TTSComponent

from ..defaults import DEFAULTS, LIMITS
from ..motion_steps import MotionSteps
from ..pipeline_utils import check_int, check_number, check_work, is_batch_spec

__all__ = ["EmoTalkingHeadPipeline", "TalkingHeadOutput"]

logger = logging.getLogger(__name__)

OUTPUT_TYPES = ("np", "pt", "motion")
LIP_SYNC_MODES = ("auto", "phones", "model")


@dataclass(frozen=True)
class TalkingHeadOutput(BaseOutput):
    """Output of :class:`EmoTalkingHeadPipeline`.

    A call makes one clip unless ``emotion`` is a list or ``num_videos_per_prompt > 1`` (or the precomputed
    ``emotion_conditioning`` holds several clips); then ``frames`` gains a leading batch axis and ``motion``,
    ``emotion_track`` become lists, one entry per clip.

    Args:
        frames: uint8 frames `(frames, height, width, 3)` (batched: `(batch, frames, height, width, 3)`), an
            ``np.ndarray`` or a ``torch.Tensor``; ``None`` for ``output_type="motion"``.
        audio (`np.ndarray` of shape `(samples,)` or `(samples, channels)`): the speech, float32 at ``sample_rate``,
            shared by every clip of a batch: the TTS's voice for ``text``; for ``audio``, the input as it was given
            (its own sample rate and channels; the model hears a 16 kHz mono mix).
        sample_rate: samples per second of ``audio``.
        motion: the motion actually rendered (ARKit-52 + head pose + gaze per frame, at the output ``fps``).
        emotion_track: the emotion per output frame (from the spec, the text's tags or the diarized voice);
            ``None`` when only ``emotion_conditioning`` was given.
        emotion_conditioning: what the denoiser was conditioned on, `(batch, model frames, D)` at the model's rate
            (each denoising window pools its own frames, :meth:`~emogen.controls.EmotionEncoder.window`); passed
            back as ``emotion_conditioning`` with the same audio and generator it reproduces ``motion`` exactly, for
            any clip length (without the emotion track: no skin flush or pallor, lips from the model).
        phones: phone timings when the speech came from ``text``.
    """

    frames: np.ndarray | torch.Tensor | None
    audio: np.ndarray
    sample_rate: int
    motion: MotionTrack | list[MotionTrack]
    emotion_track: EmotionTrack | list[EmotionTrack] | None
    emotion_conditioning: EmotionConditioning
    phones: list[PhoneSegment] | None = None


class EmoTalkingHeadPipeline(MotionSteps, DiffusionPipeline):
    """Emotion-controllable talking head from one photo.

    Args:
        emotion_encoder: EmotionTrack → EmotionConditioning (trained with the denoiser).
        motion_denoiser: audio + emotion → motion diffusion transformer.
        scheduler: a diffusers scheduler with ``prediction_type="sample"`` (DDIM by default; DPM-Solver works).
        tts: the speech engine component for ``text`` input (default the neural voice "heart", espeak-ng voices by
            name).
        animator: the portrait renderer (:class:`~emogen.render.PortraitAnimator`); not serialised, created on
            first use when ``None``. Pass it to ``from_pretrained(path, animator=…)`` to choose the backend.

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
        tts: TTSComponent | None = None,
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

    # ------------------------------------------------------------------------------------------------ checks
    def check_inputs(
        self, image, audio, text, emotion, emotion_conditioning, num_inference_steps, head_motion_scale,
        blink_rate, gaze, lip_sync, articulation, fps, height, width, num_videos_per_prompt, output_type,
        callback_on_step_end_tensor_inputs, audio_guidance_scale=DEFAULTS.audio_guidance_scale,
        emotion_guidance_scale=DEFAULTS.emotion_guidance_scale, sample_rate=None,
    ) -> None:  # fmt: skip
        """Raise ``ValueError`` / ``TypeError`` naming the bad value and what is accepted."""
        if (audio is None) == (text is None):
            raise ValueError("Pass exactly one of `audio` (a file, array or tensor) or `text` (words to speak).")
        if text is not None and not isinstance(text, str):
            raise TypeError(f"text must be a string, got {type(text).__name__}.")
        if text is not None and not text.strip():
            raise ValueError("text is empty; give the words to speak, e.g. 'Hello there!'.")
        if text is not None and len(text) > LIMITS.text_chars:
            raise ValueError(f"text has {len(text)} characters; the most one call speaks is {LIMITS.text_chars}.")
        if sample_rate is not None:
            check_int(sample_rate, "sample_rate", 1000, 768_000)
        check_number(audio_guidance_scale, "audio_guidance_scale", *LIMITS.guidance_scale)
        check_number(emotion_guidance_scale, "emotion_guidance_scale", *LIMITS.guidance_scale)
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
        if is_batch_spec(emotion):
            if not emotion:
                raise ValueError("emotion is an empty list; give one spec per clip, e.g. ['happy', 'sad'].")
            if text is not None:
                raise ValueError(
                    "A list of emotions needs `audio` (one soundtrack shared by every clip); with `text` the voice "
                    "itself carries the emotion, so call the pipeline once per emotion."
                )
        for spec in emotion if is_batch_spec(emotion) else [emotion]:
            if isinstance(spec, str) and not (text is not None and spec.strip().lower() == "auto"):
                parse_emotion_spec(spec)  # an unknown label fails before any work
        check_int(num_inference_steps, "num_inference_steps", *LIMITS.num_inference_steps)
        check_number(head_motion_scale, "head_motion_scale", 0.0, 10.0)
        check_number(blink_rate, "blink_rate", 0.0, 120.0)
        check_gaze(gaze)
        if lip_sync not in LIP_SYNC_MODES:
            raise ValueError(f"lip_sync must be one of {', '.join(map(repr, LIP_SYNC_MODES))}, got {lip_sync!r}.")
        if lip_sync == "phones" and text is None:
            raise ValueError("lip_sync='phones' needs `text` (phone timings come from the TTS); use 'model'.")
        check_number(articulation, "articulation", 0.0, 2.0)
        check_number(fps, "fps", 0.0, LIMITS.fps, lo_open=True)
        for name, value in (("height", height), ("width", width)):
            if value is not None:
                check_int(value, name, *LIMITS.size)
        check_int(num_videos_per_prompt, "num_videos_per_prompt", 1, LIMITS.batch)
        clips = (len(emotion) if is_batch_spec(emotion) else 1) * num_videos_per_prompt
        if clips > LIMITS.batch:
            raise ValueError(
                f"{clips} clips in one call (emotions x num_videos_per_prompt); the most is {LIMITS.batch}."
            )
        bad = [k for k in callback_on_step_end_tensor_inputs if k not in self._callback_tensor_inputs]
        if bad:
            raise ValueError(
                f"callback_on_step_end_tensor_inputs {bad} are not available; "
                f"accepted: {self._callback_tensor_inputs}."
            )

    # ------------------------------------------------------------------------------------------------ steps
    # ------------------------------------------------------------------------------------------------ call
    @torch.no_grad()
    def __call__(
        self,
        image: PortraitInput | None = None,
        audio: AudioInput | None = None,
        text: str | None = None,
        emotion: EmotionSpec | list[EmotionSpec | None] | None = None,
        emotion_conditioning: EmotionConditioning | None = None,
        sample_rate: int | None = None,
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
        fps: float = DEFAULTS.fps,
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
            audio: speech (path, or samples at ``sample_rate``, default 16 kHz); exclusive with ``text``.
            text: words to speak with the emotional TTS (tags ``[happy] … [sad:0.7] …`` allowed).
            emotion: any spec :func:`~emogen.controls.resolve_emotion` accepts (label, ``label:intensity``, mixture,
                ``vad:v,a,d``, free text, timeline ``"0s neutral, 1.2s happy:0.8"``). ``None``: with ``audio``,
                follow the voice's diarized emotion; with ``text``, its tags, else neutral. A **list** (with
                ``audio``) makes one clip per entry. ``emotion_conditioning`` is its precomputed twin.
            voice, speed: TTS voice and rate for ``text``.
            num_inference_steps, audio_guidance_scale, emotion_guidance_scale: denoising steps, lip-sync strength
                and emotion intensity (which never costs lip sync, :meth:`MotionDenoiser.guided_forward`).
            head_motion_scale, blink_rate, gaze: see :func:`emogen.motion.shaping.shape_motion`.
            lip_sync: ``"phones"`` (visemes from the TTS's phone timings), ``"model"`` (predicted from the audio)
                or ``"auto"`` (phones for ``text``, else the model); ``articulation`` scales the phone visemes.
            emotion_dynamics: how the face moves between emotions (timelines, tagged sentences, diarized
                segments): ``"first-order"``, ``"second-order"``, a dynamics object or ``None`` (steps).
            fps, height, width: output frame rate and size (see :meth:`PortraitAnimator.frame_size`).
            num_videos_per_prompt, generator, latents: clips per emotion; their noise (a list of generators
                seeds each clip as a single call would).
            window, overlap: frames per denoising window and their overlap (long audio).
            output_type: ``"np"``, ``"pt"`` or ``"motion"`` (no rendering); ``return_dict``: else a tuple.
            callback_on_step_end, callback_on_step_end_tensor_inputs: diffusers step callbacks (``"latents"``:
                the current window of normalised motion; a returned ``"latents"`` replaces it).

        Returns:
            :class:`TalkingHeadOutput` (see there for the batched form).
        """
        # 1. Check inputs
        if isinstance(callback_on_step_end, (PipelineCallback, MultiPipelineCallbacks)):
            callback_on_step_end_tensor_inputs = callback_on_step_end.tensor_inputs
        tensor_inputs = list(callback_on_step_end_tensor_inputs or ["latents"])
        self.check_inputs(
            image, audio, text, emotion, emotion_conditioning, num_inference_steps, head_motion_scale, blink_rate,
            gaze, lip_sync, articulation, fps, height, width, num_videos_per_prompt, output_type, tensor_inputs,
            audio_guidance_scale, emotion_guidance_scale, sample_rate,
        )  # fmt: skip
        if image is not None and output_type != "motion":
            image = to_rgb_uint8(image)  # an unreadable photo fails before any speech is made
        dynamics = make_dynamics(emotion_dynamics)
        specs = list(emotion) if is_batch_spec(emotion) else [emotion]

        # 2. Speech: text is spoken with its emotion, audio is used as given
        speech = self.prepare_speech(text, audio, emotion, sample_rate, voice, speed)
        duration = len(speech.waveform) / SAMPLE_RATE
        clips = len(specs) * num_videos_per_prompt
        num_out = check_work(duration, fps, height=height, width=width, clips=clips, what="The speech")
        num_frames = max(1, round(duration * self.model_fps))

        # 3. Audio features at the model's frame rate
        features = self.audio_features(speech.waveform, num_frames)

        # 4. The portrait (before denoising and diarization, so that a photo without a face fails early)
        prepared = self.animator.prepare(image) if output_type != "motion" else None

        # 5. Emotion → tracks → conditioning (or the precomputed conditioning)
        tracks = None
        if emotion_conditioning is None:
            tracks = self.emotion_tracks(specs, speech, num_frames, dynamics)
            tracks = [t for t in tracks for _ in range(num_videos_per_prompt)]
            conditioning = self.emotion_encoder(tracks, num_frames=num_frames, fps=self.model_fps)
        elif emotion_conditioning.num_frames != num_frames:
            raise ValueError(
                f"emotion_conditioning covers {emotion_conditioning.num_frames} frames, but this audio needs "
                f"{num_frames} (= round({duration:.3f} s · {self.model_fps:g} fps)); see encode_emotion()."
            )
        else:
            conditioning = emotion_conditioning.repeat_interleave(num_videos_per_prompt)
        batched = is_batch_spec(emotion) or num_videos_per_prompt > 1 or conditioning.batch_size > 1
        if isinstance(generator, list) and len(generator) != conditioning.batch_size:
            raise ValueError(f"generator is a list of {len(generator)}, but the batch has {conditioning.batch_size}.")

        # 6. Denoise motion
        raw = self.denoise_motion(
            features, conditioning, num_inference_steps, audio_guidance_scale, emotion_guidance_scale, generator,
            latents, window, overlap, callback_on_step_end, tensor_inputs,
        )  # fmt: skip

        # 7. Shape the motion: lips from the phone timings, head scale, output frame rate, blinks, gaze
        if speech.phones is not None and lip_sync != "model":
            if tracks is None:
                logger.info("lip_sync from phones needs the emotion track; precomputed conditioning uses the model.")
            else:
                prior = ExpressionPrior()
                raw = [
                    lip_sync_from_phones(m, speech.phones, t, prior(t), articulation, (speech.waveform, SAMPLE_RATE))
                    for m, t in zip(raw, tracks, strict=True)
                ]
        gens = generator if isinstance(generator, list) else [generator] * len(raw)
        motions = [
            shape_motion(m, num_out, float(fps), float(head_motion_scale), float(blink_rate), gaze, g)
            for m, g in zip(raw, gens, strict=True)
        ]
        out_tracks = None if tracks is None else [t.resample(fps=fps, num_frames=num_out) for t in tracks]

        # 8. Animate the portrait
        frames = None
        if prepared is not None:
            emotions = out_tracks or [None] * len(motions)  # drives flush and pallor
            clips = [
                self.animator(prepared, m, height=height, width=width, emotion=e, output_type=output_type)
                for m, e in zip(motions, emotions, strict=True)
            ]
            frames = (np.stack(clips) if output_type == "np" else torch.stack(clips)) if batched else clips[0]

        # 9. Post-process, return dataclass
        self.maybe_free_model_hooks()
        output = TalkingHeadOutput(
            frames=frames,
            audio=np.asarray(speech.audio, dtype=np.float32),
            sample_rate=int(speech.sample_rate),
            motion=motions if batched else motions[0],
            emotion_track=out_tracks if batched or out_tracks is None else out_tracks[0],
            emotion_conditioning=conditioning,
            phones=speech.phones,
        )
        # explicit: BaseOutput.to_tuple() would drop the fields that are None
        return output if return_dict else tuple(getattr(output, f) for f in output.__dataclass_fields__)
