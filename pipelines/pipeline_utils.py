"""Helpers every emogen pipeline shares: input checks with one wording, emotion batches, progress settings."""

from __future__ import annotations

import math

from emogen.emotion import Keyframe

__all__ = ["check_int", "check_number", "fit_long_side", "is_batch_spec", "progress_enabled"]


def check_number(value, name: str, lo: float, hi: float, *, lo_open: bool = False) -> float:
    """``value`` as a float if it is a finite number in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``), else a
    ``ValueError`` naming ``name``, the value and the accepted range."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    if not ok or value > hi or value < lo or (lo_open and value == lo):
        bracket = "(" if lo_open else "["
        raise ValueError(f"{name} must be a number in {bracket}{lo:g}, {hi:g}], got {value!r}.")
    return float(value)


def check_int(value, name: str, lo: int, hi: int | None = None) -> int:
    """``value`` if it is an integer in ``[lo, hi]``, else a ``ValueError`` naming it and the accepted range."""
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        accepted = f"an integer in [{lo}, {hi}]" if hi is not None else f"an integer >= {lo}"
        raise ValueError(f"{name} must be {accepted}, got {value!r}.")
    return value


def is_batch_spec(emotion) -> bool:
    """A list of emotion specs (one clip each); a list of :class:`Keyframe` is one timeline, tuples are mixtures."""
    return isinstance(emotion, list) and not (emotion and all(isinstance(k, Keyframe) for k in emotion))


def progress_enabled(pipe) -> bool:
    """Whether ``pipe.set_progress_bar_config(disable=True)`` was not called."""
    return not getattr(pipe, "_progress_bar_config", {}).get("disable", False)


def fit_long_side(shape: tuple[int, ...], size: int) -> tuple[int | None, int | None]:
    """``(height, width)`` to pass a pipeline so that the long side of an image of ``shape`` becomes ``size`` pixels
    and its aspect is kept (the other side follows)."""
    h, w = shape[:2]
    return (size, None) if h >= w else (None, size)
