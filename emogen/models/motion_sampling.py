"""Sampling motion from a :class:`~emogen.models.motion_denoiser.MotionDenoiser`, for clips of any length.

Long audio is cut into overlapping windows (default 200 frames = 8 s, 25 frames overlap). Each window after the
first knows its first ``overlap`` frames — the end of the previous window — and is conditioned on them twice:

1. through the model's prefix channel (``prefix`` + ``prefix_mask``; trained with random known prefixes), and
2. by inpainting-style replacement: before every denoising step the known frames of ``x_t`` are overwritten with
   the known motion noised to the current timestep (``scheduler.add_noise``; Lugmayr et al. 2022, "RePaint").

The overlap is then crossfaded (raised-cosine weights) from the previous window into the new one. Only one window is
in flight at a time, so memory is linear in the length (attention is quadratic in the *window*, not the clip); ten
minutes of audio are 86 windows.

All randomness is the initial noise for the whole clip, drawn once with ``randn_tensor(generator)``, so a seed fixes
the result regardless of windowing. Deterministic schedulers (DDIM with ``eta=0``, DPM-Solver++) add nothing else.
"""

from __future__ import annotations

import inspect
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
from diffusers.utils.torch_utils import randn_tensor
from tqdm.auto import tqdm

from emogen.audio import FEATURE_FPS, align_to_fps
from emogen.emotion import EmotionConditioning


def motion_scheduler():
    """The DDIM scheduler the motion denoiser is trained and sampled with.

    Cosine ("squaredcos_cap_v2") betas over 1,000 steps, ``prediction_type="sample"`` (the denoiser predicts clean
    motion), no sample clipping (normalised motion is unbounded), "trailing" spacing so that 10–25 steps start at
    pure noise. ``DPMSolverMultistepScheduler.from_config(motion_scheduler().config)`` works too.
    """
    from diffusers import DDIMScheduler

    return DDIMScheduler(
        num_train_timesteps=1000,
        beta_schedule="squaredcos_cap_v2",
        prediction_type="sample",
        clip_sample=False,
        set_alpha_to_one=True,
        timestep_spacing="trailing",
    )


__all__ = ["MotionWindow", "frame_audio_features", "plan_windows", "sample_motion"]

logger = logging.getLogger(__name__)


def frame_audio_features(
    log_mel: torch.Tensor,
    num_frames: int | None = None,
    fps: float = 25.0,
    stack: int = 2,
    source_fps: float = FEATURE_FPS,
) -> torch.Tensor:
    """Frame-align 50 Hz log-mel features to video frames by stacking ``stack`` sub-frames per frame.

    Frame ``i`` gets the features at ``i / fps + k / (stack · fps)`` s for ``k = 0 … stack-1`` (at 25 fps and 50 Hz
    exactly mel frames ``2i`` and ``2i + 1``), resampled with :func:`emogen.audio.align_to_fps`.

    Args:
        log_mel (`torch.Tensor` of shape `(mel_frames, mels)` or `(batch, mel_frames, mels)`).
        num_frames: video frames wanted (default: ``round(mel_frames / source_fps · fps)``).
        fps: video frame rate.
        stack: sub-frames per video frame.
        source_fps: rate of ``log_mel``.

    Returns:
        `torch.Tensor` of shape `([batch,] num_frames, stack · mels)`.
    """
    if not isinstance(log_mel, torch.Tensor) or log_mel.ndim not in (2, 3):
        raise ValueError("log_mel must be a tensor of shape (mel_frames, mels) or (batch, mel_frames, mels).")
    if num_frames is None:
        num_frames = max(1, round(log_mel.shape[-2] / source_fps * fps))
    sub = align_to_fps(log_mel, fps * stack, source_fps=source_fps, num_frames=num_frames * stack)
    return sub.reshape(*sub.shape[:-2], num_frames, stack * sub.shape[-1])


@dataclass(frozen=True)
class MotionWindow:
    """One window of a windowed sampling plan: frames ``[start, stop)`` whose first ``known`` frames come from the
    previous window."""

    start: int
    stop: int
    known: int

    @property
    def length(self) -> int:
        return self.stop - self.start


def plan_windows(num_frames: int, window: int = 200, overlap: int = 25, known: int = 0) -> list[MotionWindow]:
    """Cut ``num_frames`` into windows of at most ``window`` frames overlapping by ``overlap``.

    The last window may be shorter (rotary positions make the model length-agnostic); every window adds at least
    one new frame. ``known`` frames at the very start are given (a prefix to continue from).

    Raises:
        ValueError: for a non-positive length, ``window < 2``, an overlap outside ``[0, window)`` or a prefix that
            leaves nothing to generate in the first window.
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}.")
    if window < 2:
        raise ValueError(f"window must be >= 2 frames, got {window}.")
    if not 0 <= overlap < window:
        raise ValueError(f"overlap must be in [0, window={window}), got {overlap}.")
    if not 0 <= known < min(window, num_frames):
        raise ValueError(
            f"A known prefix of {known} frames must be shorter than the first window "
            f"({min(window, num_frames)} frames)."
        )
    windows = [MotionWindow(0, min(window, num_frames), known)]
    stride = window - overlap
    while windows[-1].stop < num_frames:
        start = windows[-1].start + stride
        windows.append(MotionWindow(start, min(start + window, num_frames), windows[-1].stop - start))
    return windows


def _crossfade_weights(n: int, device, dtype) -> torch.Tensor:
    """Raised-cosine ramp from 0 (all previous window) to 1 (all new window) over ``n`` frames, ends excluded."""
    i = torch.arange(1, n + 1, device=device, dtype=dtype)
    return 0.5 - 0.5 * torch.cos(math.pi * i / (n + 1))


def _slice_conditioning(cond: EmotionConditioning | None, start: int, stop: int) -> EmotionConditioning | None:
    if cond is None:
        return None
    return replace(cond, embeds=cond.embeds[:, start:stop], mask=cond.mask[:, start:stop])


EmotionSource = EmotionConditioning | Callable[[int, int], EmotionConditioning] | None


@torch.no_grad()
def sample_motion(
    denoiser,
    scheduler,
    num_frames: int,
    *,
    audio_features: torch.Tensor | None = None,
    emotion: EmotionSource = None,
    null_emotion: EmotionSource = None,
    batch_size: int = 1,
    num_inference_steps: int = 20,
    audio_guidance_scale: float = 2.0,
    emotion_guidance_scale: float = 3.0,
    generator: torch.Generator | list[torch.Generator] | None = None,
    latents: torch.Tensor | None = None,
    prefix: torch.Tensor | None = None,
    window: int = 200,
    overlap: int = 25,
    eta: float = 0.0,
    continuity: bool = True,
    callback: Callable[[int, int, torch.Tensor, torch.Tensor], torch.Tensor | None] | None = None,
    progress: bool = True,
) -> torch.Tensor:
    """Sample normalised motion for ``num_frames`` frames, window by window.

    Args:
        denoiser: a :class:`~emogen.models.motion_denoiser.MotionDenoiser`.
        scheduler: a diffusers scheduler whose config has the denoiser's ``prediction_type`` (``"sample"``);
            DDIMScheduler and DPMSolverMultistepScheduler are tested. Its state is reset per window.
        num_frames: frames to generate (at ``denoiser.config.fps``).
        audio_features (`torch.Tensor` of shape `(batch, num_frames, audio_dim)`, *optional*): frame-aligned audio
            (:func:`frame_audio_features`); ``None`` generates without audio (unconditional lips).
        emotion: an :class:`~emogen.emotion.EmotionConditioning` covering ``num_frames`` (sliced per window; its
            ``pooled`` vector is used for every window), or a callable ``(start, stop) → EmotionConditioning`` that
            encodes each window on its own (keeps the pooled vector local on long, changing tracks), or ``None``.
        null_emotion: the encoder's null conditioning, in the same forms.
        batch_size: clips to generate when neither audio nor emotion fixes it.
        num_inference_steps: denoising steps per window.
        audio_guidance_scale, emotion_guidance_scale: see :meth:`MotionDenoiser.guided_forward`.
        generator: seeds the initial noise.
        latents (`torch.Tensor` of shape `(batch, num_frames, channels)`, *optional*): initial noise to use instead.
        prefix (`torch.Tensor` of shape `(batch, known, channels)`, *optional*): normalised motion the clip must
            continue from (its first ``known`` frames are fixed, as in later windows).
        window: frames per window.
        overlap: frames shared by consecutive windows.
        eta: DDIM eta (0 = deterministic).
        continuity: condition each window on the end of the previous one (prefix channel + inpainting). With
            ``False`` windows are sampled independently and only crossfaded (an ablation; seams show).
        callback: called after every step as ``callback(window_index, step_index, timestep, latents_window)``;
            if it returns a tensor (same shape), that tensor replaces the window's latents.
        progress: show a tqdm bar over all steps.

    Returns:
        `torch.Tensor` of shape `(batch, num_frames, channels)`: normalised motion
        (``denoiser.denormalize_motion`` gives ARKit weights and pose).
    """
    device = denoiser.device
    dtype = denoiser.dtype
    channels = denoiser.config.motion_channels
    if audio_features is not None:
        if audio_features.ndim != 3 or audio_features.shape[1] != num_frames:
            raise ValueError(
                f"audio_features must have shape (batch, {num_frames}, audio_dim), got {tuple(audio_features.shape)}."
            )
        batch_size = audio_features.shape[0]
    if isinstance(emotion, EmotionConditioning):
        if emotion.num_frames != num_frames:
            raise ValueError(f"emotion conditioning has {emotion.num_frames} frames, expected {num_frames}.")
        if audio_features is None:
            batch_size = emotion.batch_size
        elif emotion.batch_size != batch_size:
            raise ValueError(f"emotion conditioning has batch {emotion.batch_size}, audio has {batch_size}.")
    if num_inference_steps < 1:
        raise ValueError(f"num_inference_steps must be >= 1, got {num_inference_steps}.")
    shape = (batch_size, num_frames, channels)
    if latents is None:
        latents = randn_tensor(shape, generator=generator, device=device, dtype=torch.float32)
    elif tuple(latents.shape) != shape:
        raise ValueError(f"latents must have shape {shape}, got {tuple(latents.shape)}.")
    latents = latents.to(device=device, dtype=torch.float32)

    known = 0
    if prefix is not None:
        known = prefix.shape[1]
        if prefix.ndim != 3 or prefix.shape[0] != batch_size or prefix.shape[2] != channels:
            raise ValueError(
                f"prefix must have shape ({batch_size}, known_frames, {channels}), got {tuple(prefix.shape)}."
            )
    windows = plan_windows(num_frames, window, overlap, known)

    step_kwargs = {}
    step_params = set(inspect.signature(scheduler.step).parameters)
    if "eta" in step_params:
        step_kwargs["eta"] = eta
    if "generator" in step_params:
        step_kwargs["generator"] = generator if not isinstance(generator, list) else None

    out = torch.zeros(shape, device=device, dtype=torch.float32)
    if prefix is not None:
        out[:, :known] = prefix.to(device, torch.float32)

    def emotion_for(source: EmotionSource, start: int, stop: int) -> EmotionConditioning | None:
        if source is None:
            return None
        cond = source(start, stop) if callable(source) else _slice_conditioning(source, start, stop)
        if cond.batch_size == 1 and batch_size > 1:
            cond = cond.repeat_interleave(batch_size)
        return cond.to(device, dtype)

    bar = tqdm(total=len(windows) * num_inference_steps, disable=not progress, desc="motion", leave=False)
    for w_index, win in enumerate(windows):
        s, e, k = win.start, win.stop, win.known
        noise = latents[:, s:e]
        x = noise.clone()
        audio = None if audio_features is None else audio_features[:, s:e].to(device)
        cond = emotion_for(emotion, s, e)
        null = emotion_for(null_emotion, s, e)
        prefix_known = prefix_mask = None
        if k and continuity:
            prefix_known = out[:, s : s + k]
            pad = torch.zeros(batch_size, e - s - k, channels, device=device)
            prefix_full = torch.cat([prefix_known, pad], dim=1)
            prefix_mask = torch.zeros(batch_size, e - s, device=device)
            prefix_mask[:, :k] = 1.0
        scheduler.set_timesteps(num_inference_steps, device=device)
        for i, t in enumerate(scheduler.timesteps):
            if prefix_known is not None:  # inpainting: the known frames, noised to this step's level
                x[:, :k] = scheduler.add_noise(prefix_known, noise[:, :k], t.reshape(1).expand(batch_size))
            pred = denoiser.guided_forward(
                x.to(dtype),
                t,
                audio_features=audio,
                emotion=cond,
                null_emotion=null,
                audio_guidance_scale=audio_guidance_scale,
                emotion_guidance_scale=emotion_guidance_scale,
                prefix=None if prefix_known is None else prefix_full.to(dtype),
                prefix_mask=prefix_mask,
            )
            x = scheduler.step(pred.float(), t, x, **step_kwargs).prev_sample
            if callback is not None:
                edited = callback(w_index, i, t, x)
                if edited is not None:  # the callback replaced the latents (diffusers' callback_on_step_end)
                    if not isinstance(edited, torch.Tensor) or edited.shape != x.shape:
                        raise ValueError(
                            f"The step callback must return None or latents of shape {tuple(x.shape)}, got "
                            f"{tuple(edited.shape) if isinstance(edited, torch.Tensor) else type(edited).__name__}."
                        )
                    x = edited.to(device=device, dtype=torch.float32)
            bar.update(1)
        if k:
            ramp = _crossfade_weights(k, device, torch.float32).reshape(1, k, 1)
            out[:, s : s + k] = (1.0 - ramp) * out[:, s : s + k] + ramp * x[:, :k]
        out[:, s + k : e] = x[:, k:]
    bar.close()
    return out
