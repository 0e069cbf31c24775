"""Plots people would rather look at than read: emotion tracks, ARKit curves and head pose, diarizations.

matplotlib, headless (Agg or the object API), every file written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..arkit import ARKIT_BLENDSHAPES
from ..diarize.types import DiarizationResult
from ..emotion import LABELS, EmotionTrack
from ..io.atomic import atomic_output
from ..motion import MotionTrack

__all__ = ["LABEL_COLORS", "plot_blendshape_curves", "plot_diarization", "plot_emotion_track", "save_figure"]

#: One colour per label, used by every emogen plot.
LABEL_COLORS: dict[str, str] = {
    "neutral": "#9e9e9e",
    "happy": "#f4b400",
    "sad": "#3f51b5",
    "angry": "#d32f2f",
    "fearful": "#7b1fa2",
    "disgusted": "#388e3c",
    "surprised": "#00acc1",
    "contempt": "#795548",
}


#: Curves shown by default: lip sync, the main emotional shapes, and blinks.
DEFAULT_CURVES: tuple[str, ...] = (
    "jawOpen",
    "mouthSmileLeft",
    "mouthFrownLeft",
    "browInnerUp",
    "browDownLeft",
    "eyeWideLeft",
    "noseSneerLeft",
    "eyeBlinkLeft",
)


def save_figure(fig, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Save a matplotlib figure atomically (temporary file, then rename) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    try:
        if path.suffix.lower() not in (".png", ".svg", ".pdf"):
            raise ValueError(f"Plot path {str(path)!r} must end in .png, .svg or .pdf.")
        with atomic_output(path) as tmp:
            fig.savefig(tmp, dpi=dpi)
    finally:
        plt.close(fig)
    return path


def plot_blendshape_curves(
    motion: MotionTrack, path: str | os.PathLike, names: tuple[str, ...] | list[str] = DEFAULT_CURVES
) -> Path:
    """Save a plot of selected ARKit curves (top) and head rotation in degrees (bottom) over time."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    unknown = [n for n in names if n not in ARKIT_BLENDSHAPES]
    if unknown:
        raise ValueError(f"Unknown blendshape names {unknown}; accepted: the 52 names in emogen.arkit.")
    t = [i / motion.fps for i in range(motion.num_frames)]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 5.5), sharex=True, constrained_layout=True,
                                   gridspec_kw={"height_ratios": [3, 1]})  # fmt: skip
    for name in names:
        ax1.plot(t, motion.blendshape(name).detach().float().cpu().numpy(), label=name, lw=1.3)
    ax1.set_ylim(-0.02, 1.02)
    ax1.set_ylabel("weight")
    ax1.legend(loc="upper left", ncol=4, fontsize=8)
    ax1.set_title(f"ARKit curves ({motion.num_frames} frames at {motion.fps:g} fps)")
    rot = motion.head_rotation.detach().float().cpu().numpy() * 57.2958
    for i, name in enumerate(("pitch", "yaw", "roll")):
        ax2.plot(t, rot[:, i], label=name, lw=1)
    ax2.set_ylabel("head (deg)")
    ax2.set_xlabel("time (s)")
    ax2.legend(loc="upper left", ncol=3, fontsize=8)
    return save_figure(fig, path)


def plot_emotion_track(track: EmotionTrack, path: str | os.PathLike, title: str | None = None, top_k: int = 4) -> Path:
    """Save a plot of V/A/D (top) and the ``top_k`` most present labels (stacked, bottom) over time as PNG.

    The file is written atomically (temporary file, then rename).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    t = track.times.numpy()
    vad = track.vad.detach().float().cpu().numpy()
    probs = track.probs.detach().float().cpu().numpy()
    intensity = track.intensity.detach().float().cpu().numpy()

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 5.5), sharex=True, constrained_layout=True)
    for i, (name, color) in enumerate((("valence", "#e65100"), ("arousal", "#c2185b"), ("dominance", "#1565c0"))):
        ax1.plot(t, vad[:, i], label=name, color=color, lw=2)
    # What the face shows: intensity of the non-neutral part of the label distribution.
    strength = intensity * (1.0 - probs[:, track.labels.index("neutral")]) if "neutral" in track.labels else intensity
    ax1.plot(t, strength, label="expression strength", color="black", lw=1, ls="--")
    ax1.axhline(0, color="0.8", lw=0.8)
    ax1.set_ylim(-1.05, 1.05)
    ax1.set_ylabel("VAD")
    ax1.legend(loc="upper left", ncol=4, fontsize=8)
    ax1.set_title(title or f"Emotion track ({track.num_frames} frames at {track.fps:g} fps)")

    order = probs.mean(0).argsort()[::-1][:top_k]
    shown = [track.labels[i] for i in order]
    stack = [probs[:, i] for i in order]
    rest = 1.0 - sum(stack)
    colors = [LABEL_COLORS.get(n, None) for n in shown]
    ax2.stackplot(t, *stack, rest, labels=[*shown, "other"], colors=[*colors, "#eeeeee"], alpha=0.9)
    ax2.set_ylim(0, 1)
    ax2.set_ylabel("label probability")
    ax2.set_xlabel("time (s)")
    ax2.legend(loc="upper left", ncol=top_k + 1, fontsize=8)
    return save_figure(fig, path)


def plot_valence_arousal(
    path: str | os.PathLike,
    points: list[tuple[float, float, str]] = (),
    track: EmotionTrack | None = None,
    title: str | None = None,
) -> Path:
    """Save the valence-arousal plane as PNG: each label's centroid (:data:`~emogen.emotion.LABEL_VAD`, in its
    colour), named ``points`` ``(valence, arousal, name)`` and, with ``track``, the track's path (start ○, end ●).

    The file is written atomically (temporary file, then rename).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ..emotion import LABEL_VAD

    fig, ax = plt.subplots(figsize=(5.2, 4.8), constrained_layout=True)
    ax.axhline(0, color="0.85", lw=0.8)
    ax.axvline(0, color="0.85", lw=0.8)
    for label, (v, a, _) in LABEL_VAD.items():
        ax.scatter([v], [a], s=60, color=LABEL_COLORS.get(label, "0.5"), alpha=0.8, zorder=2)
        ax.annotate(label, (v, a), xytext=(5, 4), textcoords="offset points", fontsize=8, color="0.35")
    if track is not None:
        va = track.vad[:, :2].detach().float().cpu().numpy()
        ax.plot(va[:, 0], va[:, 1], color="black", lw=1.5, zorder=3)
        ax.scatter(va[:1, 0], va[:1, 1], s=50, facecolors="white", edgecolors="black", zorder=4, label="start")
        ax.scatter(va[-1:, 0], va[-1:, 1], s=50, color="black", zorder=4, label="end")
        ax.legend(loc="lower right", fontsize=8)
    for v, a, name in points:
        ax.scatter([v], [a], marker="x", s=70, color="black", zorder=4)
        ax.annotate(name, (v, a), xytext=(5, -11), textcoords="offset points", fontsize=9)
    ax.set_xlim(-1.05, 1.05)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("valence")
    ax.set_ylabel("arousal")
    ax.set_title(title or "Valence-arousal plane", fontsize=10)
    return save_figure(fig, path)


def plot_diarization(
    result: DiarizationResult,
    waveform: np.ndarray,
    path: str | os.PathLike,
    sample_rate: int = 16000,
    title: str | None = None,
) -> Path:
    """Waveform, valence/arousal/dominance curves and coloured segments → PNG.

    Args:
        result: the diarization.
        waveform (`np.ndarray` of shape `(samples,)`): the audio it was computed from.
        path: PNG file to write.
        sample_rate: rate of ``waveform``.
        title: figure title.
    """
    from matplotlib.figure import Figure  # object API: no pyplot, no global backend state
    from matplotlib.patches import Patch

    x = np.asarray(waveform, dtype=np.float32).reshape(-1)
    fig = Figure(figsize=(12, 6), dpi=100, constrained_layout=True)
    ax_w, ax_c, ax_s = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [2, 3, 1]})

    step = max(1, len(x) // 20000)
    t = np.arange(0, len(x), step) / sample_rate
    ax_w.plot(t, x[::step], color="#333333", linewidth=0.5)
    ax_w.set_ylabel("waveform")
    ax_w.set_ylim(-1.05, 1.05)
    for seg in result.segments:
        ax_w.axvspan(seg.start, seg.end, color=LABEL_COLORS[seg.label], alpha=0.15, linewidth=0)

    times = result.times.numpy()
    vad = result.vad.float().cpu().numpy()
    speech = result.speech.cpu().numpy()
    curves = (("valence", "#2ca02c"), ("arousal", "#d62728"), ("dominance", "#1f77b4"))
    for j, (name, color) in enumerate(curves):
        ax_c.plot(times, vad[:, j], color=color, label=name, linewidth=1.5)
    ax_c.fill_between(times, -1, 1, where=~speech, color="#dddddd", alpha=0.5, linewidth=0, label="no speech")
    ax_c.axhline(0, color="black", linewidth=0.5)
    ax_c.set_ylim(-1, 1)
    ax_c.set_ylabel("VAD")
    ax_c.legend(loc="upper right", fontsize=8, ncol=4)

    for seg in result.segments:
        ax_s.axvspan(seg.start, seg.end, color=LABEL_COLORS[seg.label], alpha=0.35 + 0.65 * seg.intensity)
        if seg.duration > 0.04 * result.duration:
            ax_s.text(
                (seg.start + seg.end) / 2,
                0.5,
                f"{seg.label}\n{seg.intensity:.2f}",
                ha="center",
                va="center",
                fontsize=8,
            )
    ax_s.set_yticks([])
    ax_s.set_xlim(0, max(result.duration, 1e-3))
    ax_s.set_xlabel("time (s)")
    used = [name for name in LABELS if any(s.label == name for s in result.segments)]
    ax_s.legend(
        handles=[Patch(color=LABEL_COLORS[n], label=n) for n in used], loc="upper right", fontsize=8, ncol=len(used)
    )
    fig.suptitle(title or f"speech-emotion diarization ({result.backend})")
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)
