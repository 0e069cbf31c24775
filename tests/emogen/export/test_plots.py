"""The valence-arousal plane plot: label centroids, named points and a track's path, written atomically."""

from __future__ import annotations

import numpy as np
from PIL import Image

from emogen.controls import resolve_emotion
from emogen.export import plot_valence_arousal


def _pixels(path):
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def test_plane_shows_points_and_the_track_path(tmp_path):
    empty = plot_valence_arousal(tmp_path / "empty.png")
    track = resolve_emotion("0s sad, 1s happy", fps=25, dynamics="first-order")
    path = plot_valence_arousal(tmp_path / "track.png", track=track, title="sad → happy")
    point = plot_valence_arousal(tmp_path / "point.png", [(0.5, -0.5, "line 1")])
    assert {p.name for p in tmp_path.iterdir()} == {"empty.png", "track.png", "point.png"}  # no temporaries left
    base = _pixels(empty)
    for other in (path, point):
        img = _pixels(other)
        assert img.shape == base.shape
        dark = (img.sum(-1) < 150) & (base.sum(-1) >= 150)  # black ink the empty plane does not have
        assert dark.sum() > 50
