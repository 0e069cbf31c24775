"""The judge interface: a facial-expression classifier with its own face detector, answering in one label order."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["EMOGEN_TO_LABEL", "LABELS", "Judge", "top_labels"]

#: The common label order of every judge's output (FER2013's).
LABELS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
#: emogen emotion names → :data:`LABELS`.
EMOGEN_TO_LABEL: dict[str, str] = {
    "angry": "angry",
    "disgusted": "disgust",
    "fearful": "fear",
    "happy": "happy",
    "sad": "sad",
    "surprised": "surprise",
    "neutral": "neutral",
}

Box = tuple[int, int, int, int]


def _as_rgb(image: np.ndarray) -> np.ndarray:
    """``image`` as a contiguous ``(H, W, 3)`` uint8 array (gray is replicated, alpha dropped)."""
    a = np.asarray(image)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] < 3:
        raise ValueError(f"expected an RGB image (H, W, 3), got shape {a.shape}")
    if a.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {a.dtype}")
    return np.ascontiguousarray(a[..., :3])


def _progress(items: Sequence[Any], show: bool, desc: str) -> Sequence[Any]:
    if not show:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="image")


class Judge(ABC):
    """A facial-expression classifier with its own face detector.

    Calling it on ``N`` RGB uint8 images returns ``(N, 7)`` probabilities in :data:`LABELS` order, a row of NaN
    where it finds no face. Use it as a context manager (or call :meth:`close`) to free what it holds.
    """

    #: short name used in tables and CSVs
    name: str = "judge"
    #: label order of the output columns
    labels: tuple[str, ...] = LABELS

    def __call__(self, images: Sequence[np.ndarray], progress: bool = False) -> np.ndarray:
        """``(N, 7)`` probabilities for ``N`` RGB uint8 images (``progress``: show a tqdm bar)."""
        if isinstance(images, np.ndarray) and images.ndim == 3:
            images = [images]
        rows = [self.predict_one(_as_rgb(im)) for im in _progress(images, progress, self.name)]
        return np.stack(rows).astype(np.float64) if rows else np.zeros((0, len(self.labels)))

    @abstractmethod
    def predict_one(self, image: np.ndarray) -> np.ndarray:
        """Probabilities ``(7,)`` for one RGB uint8 image (NaN without a face)."""

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Free resources (no-op unless overridden)."""

    def __enter__(self) -> Judge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def no_face() -> np.ndarray:
        return np.full(len(LABELS), np.nan)


def top_labels(probs: np.ndarray) -> list[str]:
    """Top label of each row of ``(N, 7)`` probabilities (``"no face"`` for NaN rows)."""
    return ["no face" if np.isnan(p).any() else LABELS[int(np.argmax(p))] for p in np.atleast_2d(probs)]
