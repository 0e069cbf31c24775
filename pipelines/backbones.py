"""Emotion control for users' own diffusers backbones: attach an :class:`~emogen.models.EmotionPromptAdapter`.

:func:`attach_emotion_adapter` changes the prompt embeddings a pipeline's denoiser sees, nothing else; no component
is registered, replaced or moved, and :meth:`EmotionAdapterHandle.detach` restores the pipeline exactly (the same
call with the same ``generator`` gives the same output as before attaching).

* **Images** — Stable Diffusion 1.x/2.x and SDXL text-to-image, image-to-image, inpainting and ControlNet pipelines:
  the pipeline's ``encode_prompt`` is wrapped so that the positive prompt embeddings (from ``prompt`` or from
  ``prompt_embeds`` passed in) go through the adapter; negative and pooled embeddings are untouched. One emotion for
  every image, or one per prompt / per generated image.
* **Video** — AnimateDiff pipelines (``AnimateDiffPipeline``, ``AnimateDiffSDXLPipeline``,
  ``AnimateDiffControlNetPipeline``, ``AnimateDiffVideoToVideoPipeline``, …) with a **per-frame emotion schedule**
  from an :class:`~emogen.emotion.EmotionTrack` or a timeline such as ``"0s neutral, 1s happy, 2s sad"``. These
  pipelines take prompt embeddings of shape ``(batch, tokens, dim)`` only and repeat them for every frame
  (``prompt_embeds.repeat_interleave(num_frames, dim=0)`` before the denoising loop); FreeNoise's prompt travel takes
  per-frame *text* prompts but refuses ``prompt_embeds``. So the schedule is applied with forward pre-hooks
  (:meth:`torch.nn.Module.register_forward_pre_hook`) on the pipeline's ``unet`` and ``controlnet``: the rows of
  ``encoder_hidden_states`` — ordered ``(negative prompts × frames, positive prompts × frames)`` — are replaced, for
  the positive prompts, by the adapter's embeddings of each frame's emotion (computed once per pipeline call, at
  its first denoiser call). FreeNoise (``enable_free_noise``) is not supported while attached; for text-level
  schedules with FreeNoise see :func:`emogen.controls.prompt.emotion_prompt_schedule`.

Example::

    >>> from diffusers import StableDiffusionPipeline
    >>> from emogen.models import EmotionPromptAdapter
    >>> from emogen.pipelines.backbones import attach_emotion_adapter
    >>> pipe = StableDiffusionPipeline.from_pretrained("path/to/your/sd15")
    >>> adapter = EmotionPromptAdapter.from_pretrained("path/to/your/trained/adapter")
    >>> with attach_emotion_adapter(pipe, adapter, emotion="vad:0.8,0.6,0.3"):
    ...     image = pipe("a portrait of a woman in a park").images[0]
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import torch

from emogen.controls import resolve_emotion
from emogen.emotion import EmotionTrack, Keyframe

logger = logging.getLogger(__name__)

__all__ = ["EmotionAdapterHandle", "attach_emotion_adapter", "detach_emotion_adapter", "emotion_adapter_of"]

_HANDLE_ATTR = "_emogen_emotion_adapter"
#: Frame rate an emotion timeline is sampled at for video backbones unless told otherwise (AnimateDiff's usual).
DEFAULT_VIDEO_FPS = 8.0


def _is_video_pipeline(pipe: Any) -> bool:
    from diffusers.models.unets.unet_motion_model import UNetMotionModel

    return isinstance(getattr(pipe, "unet", None), UNetMotionModel)


def _single_track(spec: Any) -> EmotionTrack:
    return spec if isinstance(spec, EmotionTrack) else resolve_emotion(spec)


class EmotionAdapterHandle:
    """An adapter attached to a pipeline. Change the emotion between calls with :meth:`set_emotion`, the strength
    with :attr:`scale`; :meth:`detach` (or leaving a ``with`` block) restores the pipeline.

    Args:
        pipeline: the diffusers pipeline.
        adapter: an :class:`~emogen.models.EmotionPromptAdapter` whose ``embed_dim`` matches the pipeline's prompt
            embeddings.
        emotion: see :meth:`set_emotion`.
        scale: emotion strength (the adapter's residual is multiplied by it).
        fps: frame rate of the video the schedule is sampled at (video pipelines only).
    """

    def __init__(
        self, pipeline: Any, adapter: torch.nn.Module, emotion: Any, scale: float = 1.0, fps: float | None = None
    ) -> None:
        self.pipeline = pipeline
        self.adapter = adapter
        self.video = _is_video_pipeline(pipeline)
        self.scale = scale
        self.fps = DEFAULT_VIDEO_FPS
        self._emotion: Any = None
        self._positive: torch.Tensor | None = None  # video: the positive prompt embeddings of the current call
        self._num_frames: int | None = None  # video: the frame count of the current call
        self._frames: torch.Tensor | None = None  # video: their per-frame emotional version, (rows, L, D)
        self._hooks: list = []
        self._saved: dict[str, Any] = {}
        self.set_emotion(emotion, fps=fps)

    # ------------------------------------------------------------------------------------------------- emotion
    def set_emotion(self, emotion: Any, fps: float | None = None) -> None:
        """Set the emotion used from the next pipeline call on.

        Args:
            emotion: anything :func:`~emogen.controls.resolve_emotion` accepts (``"happy:0.8"``, ``"vad:v,a,d"``,
                a :class:`~emogen.emotion.VAD`, text, a timeline, keyframes, an
                :class:`~emogen.emotion.EmotionTrack`). Image pipelines: one state, or a ``list`` of specs (or a
                track) with one state per prompt or per generated image. Video pipelines: a schedule over the clip —
                a timeline or track is sampled at ``fps`` for the call's ``num_frames``; a constant emotion holds.
            fps: frame rate for video schedules (default: the track's own rate, else 8).
        """
        if emotion is None:
            raise ValueError("emotion is required: a spec such as 'happy:0.8', a VAD, a timeline or an EmotionTrack.")
        if fps is not None:
            self.fps = _check_fps(fps)
        elif isinstance(emotion, EmotionTrack) and self.video:
            self.fps = emotion.fps
        if self.video:
            if isinstance(emotion, list) and not all(isinstance(k, Keyframe) for k in emotion):
                raise ValueError("Video pipelines take one emotion schedule (a timeline or track), not a list.")
            resolve_emotion(emotion, fps=self.fps, num_frames=2)  # fail early on a bad spec
            self._emotion = emotion
            return
        if isinstance(emotion, list) and emotion and not all(isinstance(k, Keyframe) for k in emotion):
            tracks = [_single_track(e) for e in emotion]
            if any(t.num_frames != 1 for t in tracks):
                raise ValueError("Each emotion of a list must be a single state, not a timeline.")
            self._emotion = EmotionTrack(
                vad=torch.cat([t.vad for t in tracks]),
                probs=torch.cat([t.probs for t in tracks]),
                intensity=torch.cat([t.intensity for t in tracks]),
                fps=tracks[0].fps,
            )
        else:
            self._emotion = _single_track(emotion)

    @property
    def emotion(self) -> Any:
        """The emotion as set (image pipelines: an :class:`EmotionTrack` with one frame per state)."""
        return self._emotion

    # ----------------------------------------------------------------------------------------------- wrapping
    def _image_embeds(self, prompt_embeds: torch.Tensor) -> torch.Tensor:
        track: EmotionTrack = self._emotion
        rows, n = prompt_embeds.shape[0], track.num_frames
        if n != 1 and rows % n:
            raise ValueError(
                f"{n} emotions were set but the pipeline encodes {rows} prompt rows; pass 1 emotion, one per prompt "
                "or one per generated image."
            )
        rep = rows // n
        return self.adapter(
            prompt_embeds,
            vad=track.vad.repeat_interleave(rep, 0),
            probs=track.probs.repeat_interleave(rep, 0),
            intensity=track.intensity.repeat_interleave(rep, 0),
            scale=self.scale,
        ).prompt_embeds

    def _encode_prompt(self, original):
        def encode_prompt(*args, **kwargs):
            if self.video and getattr(self.pipeline, "free_noise_enabled", False):
                raise ValueError(
                    "The emotion schedule cannot be combined with FreeNoise; call pipe.disable_free_noise() or "
                    "detach the emotion adapter."
                )
            out = original(*args, **kwargs)
            positive = out[0]
            if positive is None:
                return out
            if self.video:
                self._positive, self._frames = positive, None
                return out
            return (self._image_embeds(positive), *out[1:])

        encode_prompt.__doc__ = original.__doc__
        return encode_prompt

    def _prepare_latents(self, original):
        # Text-to-video pipelines encode the prompt first, video-to-video ones prepare the latents first: each
        # wrapper records its half, and the first denoiser call of the loop builds the per-frame embeddings.
        def prepare_latents(*args, **kwargs):
            out = original(*args, **kwargs)
            latents = out[0] if isinstance(out, tuple) else out
            if isinstance(latents, torch.Tensor) and latents.ndim == 5:  # (batch, channels, frames, h, w)
                self._num_frames, self._frames = latents.shape[2], None
            return out

        prepare_latents.__doc__ = original.__doc__
        return prepare_latents

    def _frame_embeds(self) -> torch.Tensor | None:
        if self._frames is None and self._positive is not None and self._num_frames is not None:
            track = resolve_emotion(self._emotion, fps=self.fps, num_frames=self._num_frames)
            frames = self.adapter.frame_embeds(self._positive, track, scale=self.scale)  # (B, F, L, D)
            self._frames = frames.reshape(-1, *frames.shape[2:])
        return self._frames

    def _pre_hook(self, module, args, kwargs):
        if self._frame_embeds() is None:
            return None
        positional = "encoder_hidden_states" not in kwargs and len(args) > 2
        states = args[2] if positional else kwargs.get("encoder_hidden_states")
        if not isinstance(states, torch.Tensor):
            return None
        frames, n = self._frames, self._frames.shape[0]
        if states.shape[1:] != frames.shape[1:]:
            raise ValueError(
                f"{type(module).__name__} got encoder_hidden_states of shape {tuple(states.shape)}; the emotion "
                f"schedule was built for rows of shape {tuple(frames.shape[1:])}."
            )
        frames = frames.to(states.device, states.dtype)
        if states.shape[0] == n:
            new = frames
        elif states.shape[0] == 2 * n:  # classifier-free guidance: (negative, positive)
            new = torch.cat([states[:n], frames])
        else:
            raise ValueError(
                f"{type(module).__name__} got {states.shape[0]} rows of encoder_hidden_states; the emotion schedule "
                f"has {n} (prompts × frames) and expected {n} or {2 * n}."
            )
        if positional:
            args = (*args[:2], new, *args[3:])
        else:
            kwargs = {**kwargs, "encoder_hidden_states": new}
        return args, kwargs

    def _install(self) -> None:
        pipe = self.pipeline
        names = ["encode_prompt"] + (["prepare_latents"] if self.video else [])
        for name in names:
            if not callable(getattr(pipe, name, None)):
                raise ValueError(
                    f"{type(pipe).__name__} has no {name}(); expected a diffusers text-conditioned pipeline."
                )
        for name in names:
            if name in pipe.__dict__:
                self._saved[name] = pipe.__dict__[name]
        object.__setattr__(pipe, "encode_prompt", self._encode_prompt(pipe.encode_prompt))
        if self.video:
            object.__setattr__(pipe, "prepare_latents", self._prepare_latents(pipe.prepare_latents))
            for name in ("unet", "controlnet"):
                module = getattr(pipe, name, None)
                if isinstance(module, torch.nn.Module):
                    self._hooks.append(module.register_forward_pre_hook(self._pre_hook, with_kwargs=True))
        object.__setattr__(pipe, _HANDLE_ATTR, self)

    def detach(self) -> None:
        """Remove every wrapper and hook; the pipeline behaves exactly as before :func:`attach_emotion_adapter`."""
        pipe = self.pipeline
        if pipe.__dict__.get(_HANDLE_ATTR) is not self:
            return
        for hook in self._hooks:
            hook.remove()
        self._hooks.clear()
        for name in ("encode_prompt", "prepare_latents"):
            pipe.__dict__.pop(name, None)
            if name in self._saved:
                object.__setattr__(pipe, name, self._saved[name])
        pipe.__dict__.pop(_HANDLE_ATTR, None)
        self._positive = self._frames = self._num_frames = None

    def __enter__(self) -> EmotionAdapterHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.detach()


def _check_fps(fps: float) -> float:
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}.")
    return float(fps)


def attach_emotion_adapter(
    pipe: Any,
    adapter: torch.nn.Module,
    emotion: Any | Sequence[Any],
    *,
    scale: float = 1.0,
    fps: float | None = None,
) -> EmotionAdapterHandle:
    """Make a diffusers pipeline's prompt embeddings emotional (see the module docstring for the mechanism).

    Args:
        pipe: a Stable Diffusion / SDXL (text-to-image, image-to-image, inpainting, ControlNet) or AnimateDiff
            pipeline.
        adapter: an :class:`~emogen.models.EmotionPromptAdapter` (on the device you run the pipeline on).
        emotion: see :meth:`EmotionAdapterHandle.set_emotion`.
        scale: emotion strength (0 leaves the prompt embeddings as they are).
        fps: frame rate at which video schedules are sampled (default: the track's, else 8).

    Returns:
        :class:`EmotionAdapterHandle` (also a context manager that detaches on exit).

    Raises:
        ValueError: an adapter already attached, an adapter whose ``embed_dim`` cannot fit the pipeline, a bad emotion
            spec, ``scale`` or ``fps``.
    """
    from emogen.models.emotion_adapter import EmotionPromptAdapter

    if not isinstance(adapter, EmotionPromptAdapter):
        raise TypeError(f"adapter must be an EmotionPromptAdapter, got {type(adapter).__name__}.")
    if emotion_adapter_of(pipe) is not None:
        raise ValueError("An emotion adapter is already attached to this pipeline; detach it first.")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale):
        raise ValueError(f"scale must be a finite number, got {scale!r}.")
    width = _prompt_width(pipe)
    if width is not None and width != adapter.config.embed_dim:
        raise ValueError(
            f"The adapter was built for prompt embeddings of width {adapter.config.embed_dim}; this pipeline's "
            f"denoiser expects {width}."
        )
    handle = EmotionAdapterHandle(pipe, adapter, emotion, scale=float(scale), fps=fps)
    handle._install()
    kind = "video" if handle.video else "image"
    logger.debug("Attached %s to %s (%s).", type(adapter).__name__, type(pipe).__name__, kind)
    return handle


def _prompt_width(pipe: Any) -> int | None:
    unet = getattr(pipe, "unet", None)
    config = getattr(unet, "config", None)
    width = getattr(config, "cross_attention_dim", None) if config is not None else None
    if isinstance(width, (list, tuple)):
        width = width[0] if len(set(width)) == 1 else None
    return width if isinstance(width, int) else None


def detach_emotion_adapter(pipe: Any) -> None:
    """Detach the emotion adapter from ``pipe`` (nothing happens when none is attached)."""
    handle = emotion_adapter_of(pipe)
    if handle is not None:
        handle.detach()


def emotion_adapter_of(pipe: Any) -> EmotionAdapterHandle | None:
    """The handle of the adapter attached to ``pipe``, or ``None``."""
    return getattr(pipe, "__dict__", {}).get(_HANDLE_ATTR)
