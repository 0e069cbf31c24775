"""Steps the motion pipelines share (talking head, emotion video): speech, audio features, emotion tracks and
conditioning, motion denoising. A mixin over the registered components ``emotion_encoder``, ``motion_denoiser``,
``scheduler`` and ``tts`` and the non-serialised ``animator``, so each pipeline's ``__call__`` stays its own
orchestration and no pipeline imports another.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from emogen.audio import SAMPLE_RATE, log_mel
from emogen.controls import resolve_emotion, smooth_track, speech_pieces
from emogen.controls.dynamics import Dynamics
from emogen.emotion import EmotionConditioning, EmotionTrack
from emogen.io.audio import load_audio
from emogen.models import frame_audio_features, sample_motion
from emogen.motion import MotionTrack
from emogen.speech import PhoneSegment, speak

from .pipeline_utils import progress_enabled

__all__ = ["MotionSteps", "Speech"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Speech:
    """The soundtrack of a call: 16 kHz samples for the model, the audio returned, phones and spoken emotion."""

    waveform: np.ndarray
    audio: np.ndarray
    sample_rate: int
    phones: list[PhoneSegment] | None
    spoken: EmotionTrack | None


class MotionSteps:
    """The shared steps (see the module docstring); the host is a ``DiffusionPipeline`` with those components."""

    _animator = None

    @property
    def animator(self):
        if self._animator is None:
            from emogen.render import PortraitAnimator

            self._animator = PortraitAnimator()
        return self._animator

    @property
    def model_fps(self) -> float:
        """Frame rate the motion model runs at (its training rate)."""
        return float(self.motion_denoiser.config.fps)

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

    def prepare_speech(self, text, audio, emotion, sample_rate, voice, speed) -> Speech:
        """Text → emotional speech (the voice carries the emotion and its tags), or the given audio as it is."""
        if text is None:
            if sample_rate is None and not isinstance(audio, (str, os.PathLike)):
                logger.warning(
                    "audio is an array without sample_rate: taking it as %d Hz. Pass sample_rate=… if it was "
                    "recorded at another rate (it would play too fast or too slow).",
                    SAMPLE_RATE,
                )
            # the output keeps the input's own rate and channels; the model hears a 16 kHz mono mix
            native, rate = load_audio(audio, None, source_rate=sample_rate, mono=False, rate_name="sample_rate")
            waveform = native if native.ndim == 1 else native.mean(axis=1)
            if rate != SAMPLE_RATE:
                import librosa

                waveform = librosa.resample(waveform, orig_sr=rate, target_sr=SAMPLE_RATE, res_type="soxr_hq")
            return Speech(np.ascontiguousarray(waveform, np.float32), native, rate, None, None)
        if self.tts is None:
            raise ValueError("This pipeline has no `tts` component; pass `audio`, or load one with tts=HibariTTS().")
        pieces, track = speech_pieces(text, emotion)
        speech = speak(pieces, self.tts, track=track, voice=voice, speed=speed, progress=progress_enabled(self))
        waveform, _ = load_audio(speech.waveform, SAMPLE_RATE, source_rate=speech.sample_rate)
        return Speech(waveform, speech.waveform, speech.sample_rate, list(speech.phones), speech.emotion_track)

    def audio_features(self, waveform: np.ndarray, num_frames: int) -> torch.Tensor:
        """Frame-aligned log-mel features `(1, num_frames, audio_dim)` at the model's rate."""
        cfg = self.motion_denoiser.config
        mel = log_mel(waveform, SAMPLE_RATE, n_mels=cfg.mel_bins, device=self.motion_denoiser.device)
        return frame_audio_features(mel, num_frames, fps=self.model_fps, stack=cfg.audio_dim // cfg.mel_bins)[None]

    def emotion_tracks(
        self, specs: list, speech: Speech, num_frames: int, dynamics: Dynamics | None
    ) -> list[EmotionTrack]:
        """One track per clip at the model's rate: the spoken emotion (text), a spec, or the diarized voice."""
        fps, diarized, tracks = self.model_fps, None, []
        for spec in specs:
            if speech.spoken is not None:
                track = smooth_track(speech.spoken, dynamics)
            elif spec is not None:
                track = resolve_emotion(spec, fps=fps, num_frames=num_frames, dynamics=dynamics)
            else:
                if diarized is None:
                    from emogen.diarize import diarize

                    diarized = diarize(speech.waveform, SAMPLE_RATE).to_track(fps=fps, mode="segments")
                    diarized = smooth_track(diarized, dynamics)
                track = diarized
            tracks.append(track.resample(fps=fps, num_frames=num_frames))
        return tracks

    def denoise_motion(
        self, features, conditioning, num_inference_steps, audio_guidance_scale, emotion_guidance_scale, generator,
        latents, window, overlap, callback_on_step_end, tensor_inputs,
    ) -> list[MotionTrack]:  # fmt: skip
        """Sample motion at the model's rate, window by window, each window conditioned on its own frames."""
        encoder, b = self.emotion_encoder, conditioning.batch_size
        step = [0]

        def on_step(window_index: int, step_index: int, timestep: torch.Tensor, x: torch.Tensor):
            outputs = None
            if callback_on_step_end is not None:
                kwargs = {k: v for k, v in {"latents": x}.items() if k in tensor_inputs}
                outputs = callback_on_step_end(self, step[0], timestep, kwargs)
            step[0] += 1
            return outputs.get("latents") if isinstance(outputs, dict) else None

        x = sample_motion(
            self.motion_denoiser, self.scheduler, features.shape[1],
            audio_features=features.expand(b, -1, -1),
            emotion=lambda start, stop: encoder.window(conditioning, start, stop),
            null_emotion=lambda start, stop: encoder.null_conditioning(b, stop - start, self.model_fps),
            num_inference_steps=num_inference_steps, audio_guidance_scale=audio_guidance_scale,
            emotion_guidance_scale=emotion_guidance_scale, generator=generator, latents=latents, window=window,
            overlap=overlap, callback=on_step, progress=progress_enabled(self),
        )  # fmt: skip
        return self.motion_denoiser.unpack_motion(x, fps=self.model_fps)

    # ------------------------------------------------------------------------------------------ composite steps
    def speaking_motion(
        self,
        speech: Speech,
        track: EmotionTrack,
        num_out: int,
        fps: float,
        *,
        num_inference_steps: int,
        audio_guidance_scale: float,
        emotion_guidance_scale: float,
        head_motion_scale: float,
        blink_rate: float,
        gaze,
        lip_sync: str,
        articulation: float,
        generator: torch.Generator | None,
    ) -> MotionTrack:
        """Speech + the emotion track (at the model's rate) → the shaped motion of one clip at ``fps``."""
        from emogen.controls import ExpressionPrior
        from emogen.motion.shaping import lip_sync_from_phones, shape_motion

        num_frames = track.num_frames
        features = self.audio_features(speech.waveform, num_frames)
        conditioning = self.emotion_encoder([track], num_frames=num_frames, fps=self.model_fps)
        (raw,) = self.denoise_motion(
            features, conditioning, num_inference_steps, audio_guidance_scale, emotion_guidance_scale, generator,
            None, 200, 25, None, [],
        )  # fmt: skip
        if speech.phones is not None and lip_sync != "model":
            raw = lip_sync_from_phones(
                raw, speech.phones, track, ExpressionPrior()(track), articulation, (speech.waveform, SAMPLE_RATE)
            )
        return shape_motion(raw, num_out, float(fps), float(head_motion_scale), float(blink_rate), gaze, generator)

    @staticmethod
    def still_motion(track: EmotionTrack, idle: bool, generator: torch.Generator | None) -> MotionTrack:
        """An emotion track (at the output rate) → expression prior + blinks, head sway and gaze (no speech)."""
        from emogen.controls import ExpressionPrior
        from emogen.motion import IdleSettings, add_idle, idle_motion

        motion = MotionTrack.from_blendshapes(ExpressionPrior()(track).float(), fps=track.fps)
        if idle:
            motion = add_idle(motion, idle_motion(motion.num_frames, track.fps, IdleSettings(), generator))
        return motion

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike | None = None, **kwargs):
        """Load a saved pipeline folder (diffusers format); with no path, the shipped talking-head models (offline).

        Keyword arguments are diffusers' (``torch_dtype``, components to replace, …).
        """
        if pretrained_model_name_or_path is None:
            components = cls.shipped_components()
            components.update(kwargs)
            return cls(**components)
        return super().from_pretrained(os.fspath(pretrained_model_name_or_path), **kwargs)

    @classmethod
    def shipped_components(cls) -> dict:
        """The shipped motion model, emotion encoder, scheduler and voice (``weights/talking_head``), offline."""
        from diffusers import DDIMScheduler

        from emogen.assets import shipped_weights_dir
        from emogen.controls.encoder import EmotionEncoder
        from emogen.models import MotionDenoiser
        from emogen.speech.engine import HibariTTS

        root = shipped_weights_dir("talking_head")
        if not (root / "model_index.json").is_file():
            raise FileNotFoundError(f"The shipped talking-head weights are missing ({root}); reinstall emogen.")
        return {
            "emotion_encoder": EmotionEncoder.from_pretrained(root / "emotion_encoder"),
            "motion_denoiser": MotionDenoiser.from_pretrained(root / "motion_denoiser"),
            "scheduler": DDIMScheduler.from_pretrained(root / "scheduler"),
            "tts": HibariTTS.from_pretrained(root / "tts"),
        }
