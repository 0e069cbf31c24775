"""Identity kept: the shape of a rendered face against the source portrait's (landmark geometry)."""

from __future__ import annotations

import numpy as np

__all__ = ["shape_distance"]

_IRIS_RIGHT, _IRIS_LEFT = 468, 473


def shape_distance(reference: np.ndarray, other: np.ndarray) -> float:
    """Procrustes distance between two faces' landmarks (position, scale and in-plane rotation removed).

    Args:
        reference, other (`np.ndarray` of shape `(478, 2+)`): landmarks in pixels.

    Returns:
        RMS distance of the 468 mesh points after alignment, in the reference's inter-pupil distances.
    """
    ipd = np.linalg.norm(reference[_IRIS_RIGHT, :2] - reference[_IRIS_LEFT, :2])
    a = reference[:468, :2].astype(np.float64)
    b = other[:468, :2].astype(np.float64)
    a = a - a.mean(0)
    b = b - b.mean(0)
    scale_a, scale_b = np.sqrt((a**2).sum()), np.sqrt((b**2).sum())
    a, b = a / scale_a, b / scale_b
    u, _, vt = np.linalg.svd(b.T @ a)
    diff = a - b @ (u @ vt)
    return float(np.sqrt((diff**2).sum(1).mean()) * scale_a / max(ipd, 1e-6))
