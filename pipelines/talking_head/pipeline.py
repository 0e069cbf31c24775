"""``EmoTalkingHeadPipeline``: portrait + (audio | text) + emotion → talking-head frames, audio, motion, emotion.

Text is spoken by the emotional TTS (:class:`~emogen.pipelines.speech.EmoSpeechPipeline` logic on the registered
``tts`` component, so the voice carries the same emotion as the face); audio is used as given. The
:class:`~emogen.models.MotionDenoiser` turns 16 kHz log-mel features + the emotion (encoded by the
:class:`~emogen.controls.EmotionEncoder`) into a :class:`~emogen.motion.MotionTrack` with two guidance scales
(``audio_guidance_scale``: lip sync; ``emotion_guidance_scale``: intensity), window by window for long audio; the
:class:`~emogen.face.animator.PortraitAnimator` renders it on the photo.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files

import numpy as np
import torch
from diffusers import DDIMScheduler, DiffusionPipeline
from diffusers.utils import BaseOutput

from emogen.audio import SAMPLE_RATE, load_audio, log_mel
from emogen.controls import resolve_emotion
from emogen.controls.encoder import EmotionEncoder
from emogen.emotion import EmotionConditioning, EmotionTrack
from emogen.models import MotionDenoiser, frame_audio_features, sample_motion
from emogen.motion import MotionTrack
from emogen.speech.engine import EspeakTTS

__all__ = ["EmoTalkingHeadPipeline", "TalkingHeadOutput"]

logger = logging.getLogger(__name__)

OUTPUT_TYPES = ("np", "pt", "motion")


@dataclass
class TalkingHeadOutput(BaseOutput):
    """Output of :class:`EmoTalkingHeadPipeline`.

    Args:
        frames: uint8 frames `(frames, H, W, 3)` (``np.ndarray`` or ``torch.Tensor``), ``None`` for
            ``output_type="motion"``.
        audio (`np.ndarray` of shape `(samples,)`): the speech, mono float32 at ``sample_rate``.
        sample_rate: 16000.
        motion: the motion actually rendered (ARKit-52 + head pose + gaze per frame).
        emotion_track: the emotion per frame (``None`` when only ``emotion_conditioning`` was given).
        emotion_conditioning: what the denoiser was conditioned on (augmentation labels).
        phones: phone timings when the speech came from ``text``.
    """

    frames: np.ndarray | torch.Tensor | None
    audio: np.ndarray
    sample_rate: int
    motion: MotionTrack
    emotion_track: EmotionTrack | None
    emotion_conditioning: EmotionConditioning
    phones: list | None = None


class EmoTalkingHeadPipeline(DiffusionPipeline):
    """Emotion-controllable talking head from one photo.

    Args:
        emotion_encoder: EmotionTrack → EmotionConditioning (trained with the denoiser).
        motion_denoiser: audio + emotion → motion diffusion transformer.
        scheduler: a diffusers scheduler with ``prediction_type="sample"`` (DDIM by default; DPM-Solver works).
        tts: the speech engine for ``text`` input (default espeak-ng).
        animator: the portrait renderer; not serialised (a run-time choice of backend and device), created on
            first use when ``None``.

    Example:
        >>> pipe = EmoTalkingHeadPipeline.from_default_weights()
        >>> out = pipe(skimage.data.astronaut(), text="We won the match!", emotion="happy:0.8")
        >>> out.frames.shape, out.motion.num_frames
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

    @classmethod
    def from_default_weights(cls, **kwargs) -> EmoTalkingHeadPipeline:
        """The pipeline with the small checkpoint shipped in ``emogen.weights/motion_denoiser``.

        Components passed as keyword arguments replace the shipped ones.
        """
        root = os.fspath(files("emogen.weights") / "motion_denoiser")
        # Sub-models are loaded from their own folders: with a weights file at the root, diffusers' ``subfolder=``
        # would silently pick the root file.
        if kwargs.get("emotion_encoder") is None:
            kwargs["emotion_encoder"] = EmotionEncoder.from_pretrained(os.path.join(root, "emotion_encoder"))
        if kwargs.get("motion_denoiser") is None:
            kwargs["motion_denoiser"] = MotionDenoiser.from_pretrained(root)
        if kwargs.get("scheduler") is None:
            kwargs["scheduler"] = DDIMScheduler.from_pretrained(os.path.join(root, "scheduler"))
        if kwargs.get("tts") is None:
            kwargs["tts"] = EspeakTTS()
        return cls(**kwargs)

    @property
    def animator(self):
        if self._animator is None:
            from emogen.face.animator import PortraitAnimator

            self._animator = PortraitAnimator()
        return self._animator

    # --------------------------------------------------------------------------------------------------- checks
    def check_inputs(self, image, audio, text, emotion, emotion_conditioning, output_type, num_inference_steps):
        if (audio is None) == (text is None):
            raise ValueError("Pass exactly one of `audio` (a file, array or tensor) or `text` (words to speak).")
        if text is not None and (not isinstance(text, str) or not text.strip()):
            raise ValueError(f"text must be a non-empty string, got {text!r}.")
        if emotion is not None and emotion_conditioning is not None:
            raise ValueError("Pass either `emotion` or `emotion_conditioning` (its precomputed twin), not both.")
        if emotion_conditioning is not None and not isinstance(emotion_conditioning, EmotionConditioning):
            raise TypeError(
                f"emotion_conditioning must be an EmotionConditioning, got {type(emotion_conditioning).__name__}."
            )
        if output_type not in OUTPUT_TYPES:
            raise ValueError(f"output_type must be one of {', '.join(OUTPUT_TYPES)}, got {output_type!r}.")
        if image is None and output_type != "motion":
            raise ValueError("image (a portrait) is required unless output_type='motion'.")
        if not isinstance(num_inference_steps, int) or num_inference_steps < 1:
            raise ValueError(f"num_inference_steps must be a positive integer, got {num_inference_steps!r}.")

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
        generator: torch.Generator | None = None,
        latents: torch.Tensor | None = None,
        window: int = 200,
        overlap: int = 25,
        size: int | None = 512,
        output_type: str = "np",
        return_dict: bool = True,
        callback_on_step_end: Callable | None = None,
        callback_on_step_end_tensor_inputs: list[str] | None = None,
    ) -> TalkingHeadOutput | tuple:
        """Animate ``image`` speaking ``audio`` (or ``text``) with ``emotion``.

        Args:
            image: portrait (path, PIL image, array or tensor).
            audio: speech (path, or samples at ``sample_rate``); exclusive with ``text``.
            text: words to speak with the emotional TTS (tags ``[happy] … [sad:0.7] …`` allowed).
            emotion: any spec :func:`~emogen.controls.resolve_emotion` accepts (label, ``label:intensity``,
                mixture, ``vad:v,a,d``, free text, timeline ``"0s neutral, 1.2s happy:0.8"``), or a typed value.
                Default neutral.
            emotion_conditioning: precomputed twin of ``emotion`` covering every frame (batch 1).
            sample_rate: rate of an ``audio`` array (default 16 kHz).
            voice, speed: TTS voice and rate for ``text``.
            num_inference_steps: denoising steps (10–25).
            audio_guidance_scale: lip-sync strength ``s_a``.
            emotion_guidance_scale: emotion intensity ``s_e`` (never costs lip sync, see
                :meth:`~emogen.models.MotionDenoiser.guided_forward`).
            generator: seeds the motion noise.
            latents: initial noise `(1, frames, 60)` instead of ``generator``.
            window, overlap: frames per denoising window and their overlap (long audio).
            size: output long side in pixels.
            output_type: ``"np"``, ``"pt"`` or ``"motion"`` (no rendering).
            return_dict: return a :class:`TalkingHeadOutput` (else a tuple in its field order).
            callback_on_step_end: ``f(pipe, step, timestep, callback_kwargs)`` after every denoising step; the
                step counts across windows; ``callback_kwargs["latents"]`` is the current window.
            callback_on_step_end_tensor_inputs: names passed in ``callback_kwargs`` (only ``"latents"``).

        Returns:
            :class:`TalkingHeadOutput`.
        """
        # 1. Check inputs
        self.check_inputs(image, audio, text, emotion, emotion_conditioning, output_type, num_inference_steps)
        tensor_inputs = callback_on_step_end_tensor_inputs or ["latents"]
        bad = [k for k in tensor_inputs if k not in self._callback_tensor_inputs]
        if bad:
            raise ValueError(f"callback_on_step_end_tensor_inputs {bad} not in {self._callback_tensor_inputs}.")
        denoiser = self.motion_denoiser
        fps = float(denoiser.config.fps)

        # 2. Speech and audio features
        phones, track = None, None
        if text is not None:
            from emogen.pipelines.speech import EmoSpeechPipeline

            tts = self.tts if self.tts is not None else EspeakTTS()
            speech = EmoSpeechPipeline(tts=tts)(text, emotion=emotion, voice=voice, speed=speed)
            waveform, _ = load_audio(speech.waveform, SAMPLE_RATE, source_rate=speech.sample_rate)
            phones, track = speech.phones, speech.emotion_track
        else:
            waveform, _ = load_audio(audio, SAMPLE_RATE, source_rate=sample_rate)
        num_frames = max(1, round(len(waveform) / SAMPLE_RATE * fps))
        mel = log_mel(waveform, SAMPLE_RATE, n_mels=denoiser.config.mel_bins, device=denoiser.device)
        stack = denoiser.config.audio_dim // denoiser.config.mel_bins
        features = frame_audio_features(mel, num_frames, fps=fps, stack=stack).unsqueeze(0)

        # 3. Encode emotion (each window on its own, as in training, unless conditioning was given)
        encoder = self.emotion_encoder
        if emotion_conditioning is not None:
            if emotion_conditioning.num_frames != num_frames or emotion_conditioning.batch_size != 1:
                raise ValueError(
                    f"emotion_conditioning must cover (1, {num_frames}) frames for this audio, "
                    f"got {tuple(emotion_conditioning.embeds.shape[:2])}."
                )
            conditioning, emotion_source = emotion_conditioning, emotion_conditioning
        else:
            if track is None:
                track = resolve_emotion(emotion, fps=fps, num_frames=num_frames)
            track = track.resample(fps=fps, num_frames=num_frames)
            conditioning = encoder(track, num_frames=num_frames, fps=fps)

            def emotion_source(start: int, stop: int) -> EmotionConditioning:
                return encoder(track.slice(start, stop), num_frames=stop - start, fps=fps)

        def null_source(start: int, stop: int) -> EmotionConditioning:
            return encoder.null_conditioning(1, stop - start, fps)

        # 4. Denoise motion
        step_counter = [0]

        def on_step(window_index: int, step_index: int, timestep: torch.Tensor, x: torch.Tensor) -> None:
            if callback_on_step_end is not None:
                callback_on_step_end(self, step_counter[0], timestep, {"latents": x})
            step_counter[0] += 1

        x = sample_motion(
            denoiser,
            self.scheduler,
            num_frames,
            audio_features=features,
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
        )
        motion = denoiser.unpack_motion(x, fps=fps)[0]

        # 5. Animate the portrait
        frames = None
        if output_type != "motion":
            prepared = self.animator.prepare(image)
            frames = self.animator(prepared, motion, size=size, output_type=output_type)

        # 6. Post-process, return dataclass
        self.maybe_free_model_hooks()
        output = TalkingHeadOutput(
            frames=frames,
            audio=waveform,
            sample_rate=SAMPLE_RATE,
            motion=motion,
            emotion_track=track,
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
