"""Plots of emotion tracks (matplotlib, headless)."""

from __future__ import annotations

import os
from pathlib import Path

from emogen.emotion import EmotionTrack
from emogen.plot import save_figure

__all__ = ["plot_emotion_track", "LABEL_COLORS"]

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
