"""One source of defaults and limits for every entry point: the pipelines' signatures, the CLI and the app.

The same inputs give the same result whether they come from Python, ``emogen …`` or the Gradio app, because all
three read their defaults here. Importing this module is cheap (no torch, no diffusers).
"""

from __future__ import annotations

from dataclasses import dataclass

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
    """

    size: tuple[int, int] = (16, 4096)
    fps: float = 120.0
    num_inference_steps: tuple[int, int] = (1, 1000)
    duration: float = 600.0
    speed: tuple[float, float] = (0.25, 4.0)


DEFAULTS = Defaults()
LIMITS = Limits()
