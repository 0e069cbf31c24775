"""Pieces the subcommands share: option types built from the shared limits, the portrait, output checks."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from emogen.pipelines.defaults import DEFAULTS, LIMITS

__all__ = ["add_render_options", "check_output", "fps_type", "int_range", "load_portrait"]


def int_range(lo: int, hi: int):
    """An argparse ``type``: an integer in ``[lo, hi]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be in [{lo}, {hi}], got {value}")
        return value

    return parse


def fps_type(text: str) -> float:
    """An argparse ``type``: frames per second in ``(0, LIMITS.fps]``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value <= LIMITS.fps:
        raise argparse.ArgumentTypeError(f"must be in (0, {LIMITS.fps:g}], got {text}")
    return value


def add_render_options(p: argparse.ArgumentParser) -> None:
    """--image, --size, --fps, --seed, --emotion-dynamics and --curves, with the shared defaults."""
    p.add_argument("--image", type=Path, help="portrait photo (default: scikit-image's public-domain astronaut)")
    p.add_argument(
        "--size", type=int_range(*LIMITS.size), default=DEFAULTS.size,
        help=f"long side of the video in pixels (default {DEFAULTS.size})",
    )  # fmt: skip
    p.add_argument("--fps", type=fps_type, default=DEFAULTS.fps, help=f"frames per second (default {DEFAULTS.fps:g})")
    p.add_argument("--seed", type=int, default=DEFAULTS.seed, help=f"random seed (default {DEFAULTS.seed})")
    p.add_argument(
        "--emotion-dynamics", choices=("first-order", "second-order", "none"), default=DEFAULTS.emotion_dynamics,
        help=f"how the face moves between emotions: timelines, tagged sentences, diarized segments "
        f"(default {DEFAULTS.emotion_dynamics})",
    )  # fmt: skip
    p.add_argument("--curves", type=Path, help="also write the ARKit curves (.csv Live Link Face, or .json)")


def check_output(path: Path, suffixes: tuple[str, ...], option: str = "--output") -> None:
    """Check an output before any work (:func:`emogen.io.output.check_output_path`): ``path`` ends in one of
    ``suffixes``, is not a folder, and its folder can be created and written; raises ``ValueError`` naming it."""
    from emogen.io.output import check_output_path

    check_output_path(path, suffixes, option)


def load_portrait(path: Path | None) -> np.ndarray:
    """The photo at ``path`` as RGB uint8, or the public-domain astronaut (``skimage.data``) when ``None``."""
    from emogen.io.image import to_rgb_uint8

    if path is None:
        import skimage.data

        return skimage.data.astronaut()
    return to_rgb_uint8(path, name="--image")
