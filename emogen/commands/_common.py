"""Pieces shared by the commands that render a portrait."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emogen.io.curves import CURVE_FORMATS


def check_render_options(args) -> None:
    """Validate the options `animate` and `talk` share: --size, --fps, --curves."""
    if not 16 <= args.size <= 4096:
        raise ValueError(f"--size must be in [16, 4096] pixels, got {args.size}.")
    if not 0 < args.fps <= 120:
        raise ValueError(f"--fps must be in (0, 120], got {args.fps}.")
    if args.curves is not None and args.curves.suffix.lower() not in CURVE_FORMATS:
        raise ValueError(f"--curves must end in .csv or .json, got {str(args.curves)!r}.")


def load_portrait(path: Path | None) -> np.ndarray:
    """The photo at ``path`` as RGB uint8, or the public-domain astronaut (``skimage.data``) when ``None``."""
    from emogen.io.image import to_rgb_uint8

    if path is None:
        import skimage.data

        return skimage.data.astronaut()
    if not Path(path).is_file():
        raise ValueError(f"--image: no such file {str(path)!r}.")
    return to_rgb_uint8(path, name="--image")
