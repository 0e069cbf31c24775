"""Plots of motion (ARKit blendshape curves, head pose) — matplotlib, headless, written atomically."""

from __future__ import annotations

import os
from pathlib import Path

from .arkit import ARKIT_BLENDSHAPES
from .io.atomic import atomic_output
from .motion import MotionTrack

__all__ = ["plot_blendshape_curves", "save_figure"]

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
