"""One source of defaults and limits for every entry point: the pipelines' signatures, the CLI and the app.

The same inputs give the same result whether they come from Python, ``emogen …`` or the Gradio app, because all
three read their defaults here. Importing this module is cheap (no torch, no diffusers).
"""

from __future__ import annotations

from dataclasses import dataclass

from emogen.io import limits as _limits

__all__ = ["DEFAULTS", "LIMITS", "Defaults", "Limits"]


@dataclass(frozen=True)
class Defaults:
    """Default settings of a render.

    Args:
        size: long side of the frames in pixels (the photo's aspect is kept).
        fps: output frames per second.
        seed: seed of the motion noise, blinks and gaze.
        num_inference_steps: denoising steps of the motion model.
        audio_guidance_scale: lip-sync strength.
        emotion_guidance_scale: emotion intensity of the motion model.
        head_motion_scale: factor on the predicted head motion (0 = still head).
        blink_rate: blinks per minute added on top of the motion model's lid motion.
        articulation: amplitude of lips and jaw when lip-syncing from phone timings.
        emotion_dynamics: how the face moves between emotions (``"first-order"``, ``"second-order"``, ``"none"``):
            explicit timelines, tagged sentences and diarized speech alike.
        still_duration: seconds of video for a constant emotion when no duration is given (``emogen animate``).
        voice: the TTS voice (``None``: the engine's default).
    """

    size: int = 512
    fps: float = 25.0
    seed: int = 0
    num_inference_steps: int = 20
    audio_guidance_scale: float = 2.0
    emotion_guidance_scale: float = 1.5
    head_motion_scale: float = 1.0
    blink_rate: float = 17.0
    articulation: float = 1.0
    emotion_dynamics: str = "first-order"
    still_duration: float = 3.0
    voice: str | None = None


@dataclass(frozen=True)
class Limits:
    """Bounds every entry point enforces (inclusive unless noted).

    Args:
        size: frame side in pixels.
        fps: frames per second, ``(0, fps]``.
        num_inference_steps: denoising steps.
        duration: longest clip in seconds, however the duration is given (audio, text, a timeline).
        speed: TTS rate factor.
        frames: most output frames of one clip.
        video_pixels: most pixels one call renders (frames x height x width x clips).
        text_chars: longest text (spoken, read by the text model, or an emotion spec).
        batch: most clips per call (emotions x ``num_videos_per_prompt``).
        text_batch: most texts per batch of the text model.
        guidance_scale: range of ``audio_guidance_scale`` and ``emotion_guidance_scale``.
        upload_bytes: largest file the app accepts.

    The work bounds come from :mod:`emogen.io.limits`, which the readers and the control layer check too.
    """

    size: tuple[int, int] = (16, 4096)
    fps: float = 120.0
    num_inference_steps: tuple[int, int] = (1, 1000)
    duration: float = _limits.MAX_DURATION
    speed: tuple[float, float] = (0.25, 4.0)
    frames: int = _limits.MAX_FRAMES
    video_pixels: int = _limits.MAX_VIDEO_PIXELS
    text_chars: int = _limits.MAX_TEXT_CHARS
    batch: int = _limits.MAX_BATCH
    text_batch: int = _limits.MAX_TEXT_BATCH
    guidance_scale: tuple[float, float] = (0.0, 50.0)
    upload_bytes: int = _limits.MAX_UPLOAD_BYTES


DEFAULTS = Defaults()
LIMITS = Limits()
