"""Validate the blendshape fields from outside: animate a photo with one blendshape at several weights and read
the frames back with MediaPipe's FaceLandmarker (DESIGN §4).

For each checked blendshape ``k`` the astronaut is rendered with ``w_k ∈ {0, 0.25, 0.5, 0.75, 1}`` (all other
weights 0, i.e. relative to the photo's neutralised face) and read back two ways:

* **score**: the FaceLandmarker's own ARKit score of ``k``, correlated (Pearson) with the commanded weight. Also
  reported: the score of the mirror-side shape (to catch left/right swaps) and which of the 52 scores rose most.
  MediaPipe's blendshape head practically never outputs ``mouthFrown*``, ``noseSneer*`` and ``cheekSquint*`` (on
  real faces too), so for those its score cannot confirm anything.
* **geometry**: what the shape does to the face, measured on the *detected* landmarks of the rendered frame. The
  landmarks are aligned to the weight-0 frame by a similarity transform on points no expression moves (forehead,
  nose bridge, eye corners, temples), put in inter-pupil distances with y up, and the anatomical movement of the
  action is read off: the mouth corner dropping for a frown, the nasal ala rising for a sneer, the cheek under the
  eye rising for a cheek squint, the upper lid rising for eye-wide, the mouth narrowing for pucker and funnel, and
  so on (:data:`GEOMETRY`). The same measure on the mirror side is reported too.

Usage::

    python -m emogen.evaluation.readback [--levels 5] [--size 512] [--stills DIR]

``--stills DIR`` also writes, per shape, the face at weight 0 and weight 1 side by side (``DIR/<shape>.png``), for
the shapes that have to be judged by eye.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from ..arkit import ARKIT_BLENDSHAPES, ARKIT_INDEX, NUM_BLENDSHAPES

__all__ = ["CHECKED", "GEOMETRY", "RIGID", "align_landmarks", "geometric_amount", "readback"]

CHECKED = (
    "jawOpen",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "browInnerUp",
    "browDownLeft",
    "browDownRight",
    "eyeBlinkLeft",
    "eyeBlinkRight",
    "eyeWideLeft",
    "eyeWideRight",
    "noseSneerLeft",
    "noseSneerRight",
    "mouthPucker",
    "mouthFunnel",
    "cheekSquintLeft",
    "cheekSquintRight",
)


# Rigid points for aligning detected landmarks: forehead, nose bridge, eye corners, temples.
RIGID = (10, 151, 9, 8, 168, 6, 197, 33, 133, 362, 263, 127, 356, 234, 454)
_IRIS_RIGHT, _IRIS_LEFT = 468, 473

# name → (landmarks, measure): "up"/"down" = mean vertical movement of the landmarks (IPD, positive in the named
# direction), "narrow" = how much the distance between the two landmarks shrank, "close" = how much the gap between
# the first and second halves of the landmarks (upper and lower lid) shrank. Subject's right = MediaPipe's
# landmarks on the image's left (61, 33, 159, ...); subject's left = their mirror (291, 263, 386, ...).
GEOMETRY: dict[str, tuple[tuple[int, ...], str]] = {
    "jawOpen": ((152, 17, 14), "down"),  # chin and lower lip
    "mouthSmileLeft": ((291,), "up"),
    "mouthSmileRight": ((61,), "up"),
    "mouthFrownLeft": ((291,), "down"),
    "mouthFrownRight": ((61,), "down"),
    "browInnerUp": ((107, 336, 55, 285), "up"),
    "browDownLeft": ((334, 296, 336), "down"),
    "browDownRight": ((105, 66, 107), "down"),
    "eyeBlinkLeft": ((386, 374), "close"),
    "eyeBlinkRight": ((159, 145), "close"),
    "eyeWideLeft": ((386, 385, 387), "up"),
    "eyeWideRight": ((159, 158, 160), "up"),
    "noseSneerLeft": ((327, 294, 358), "up"),  # nasal ala
    "noseSneerRight": ((98, 64, 129), "up"),
    "mouthPucker": ((61, 291), "narrow"),
    "mouthFunnel": ((61, 291), "narrow"),
    "cheekSquintLeft": ((330, 266, 280, 374), "up"),  # cheek under the eye and the lower lid
    "cheekSquintRight": ((101, 36, 50, 145), "up"),
}


def _mirror(name: str) -> str:
    if name.endswith("Left"):
        return name[:-4] + "Right"
    if name.endswith("Right"):
        return name[:-5] + "Left"
    return name


def align_landmarks(reference: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """``landmarks`` (478×2+, pixels, y down) mapped onto ``reference`` by the similarity transform that fits the
    :data:`RIGID` points, then expressed in the reference's inter-pupil distances with y up."""
    ref = reference[:, :2].astype(np.float64)
    cur = landmarks[:, :2].astype(np.float64)
    a, b = ref[list(RIGID)], cur[list(RIGID)]
    ma, mb = a.mean(0), b.mean(0)
    u, sig, vt = np.linalg.svd((a - ma).T @ (b - mb))
    d = np.sign(np.linalg.det(u @ vt))
    rot = u @ np.diag([1.0, d]) @ vt
    scale = (sig * [1.0, d]).sum() / ((b - mb) ** 2).sum()
    mapped = (cur - mb) @ (scale * rot).T + ma
    ipd = np.linalg.norm(ref[_IRIS_RIGHT] - ref[_IRIS_LEFT])
    out = mapped / ipd
    out[:, 1] *= -1.0
    return out


def geometric_amount(name: str, reference: np.ndarray, landmarks: np.ndarray) -> float:
    """How far the detected face moved in ``name``'s direction (inter-pupil distances; see :data:`GEOMETRY`)."""
    idx, kind = GEOMETRY[name]
    ref = align_landmarks(reference, reference)
    cur = align_landmarks(reference, landmarks)
    idx = list(idx)
    if kind in ("up", "down"):
        dy = float((cur[idx, 1] - ref[idx, 1]).mean())
        return dy if kind == "up" else -dy
    if kind == "narrow":
        return float(np.linalg.norm(ref[idx[0]] - ref[idx[1]]) - np.linalg.norm(cur[idx[0]] - cur[idx[1]]))
    if kind == "close":
        h = len(idx) // 2
        gap = lambda p: float(p[idx[:h], 1].mean() - p[idx[h:], 1].mean())  # noqa: E731
        return gap(ref) - gap(cur)
    raise ValueError(f"unknown measure {kind!r} for {name!r}")


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.corrcoef(x, y)[0, 1]) if np.std(y) > 1e-9 else 0.0


def _save_pair(path: Path, before: np.ndarray, after: np.ndarray, landmarks: np.ndarray) -> None:
    from PIL import Image

    h, w = before.shape[:2]
    x0, y0 = np.clip(np.floor(landmarks[:468, :2].min(0)).astype(int), 0, None)
    x1, y1 = np.ceil(landmarks[:468, :2].max(0)).astype(int)
    x1, y1 = min(x1, w), min(y1, h)
    pair = np.concatenate([before[y0:y1, x0:x1], np.full((y1 - y0, 4, 3), 255, np.uint8), after[y0:y1, x0:x1]], 1)
    img = Image.fromarray(pair)
    img.resize((img.width * 2, img.height * 2), Image.LANCZOS).save(path)


def readback(
    names=CHECKED, levels: int = 5, size: int = 512, image=None, stills: str | Path | None = None
) -> dict[str, dict]:
    """Commanded-vs-detected statistics per blendshape.

    Returns:
        name → ``{"weights", "detected", "mirror", "r", "delta", "top", "geometry", "geometry_mirror",
        "geometry_r", "geometry_delta"}``: ``detected``/``mirror`` are the FaceLandmarker's scores of the shape and
        its mirror side, ``r`` their Pearson correlation with the weights, ``delta`` = detected(1) − detected(0),
        ``top`` the blendshape whose score rose most; ``geometry*`` the same for the landmark measure of
        :data:`GEOMETRY` (inter-pupil distances).

    Args:
        stills: if given, a folder to write each shape's weight-0 | weight-1 face crop to (``<shape>.png``).
    """
    import skimage.data

    from ..face.tracking import FaceTracker
    from ..motion import MotionTrack
    from ..render.portrait import PortraitAnimator

    animator = PortraitAnimator()
    image = skimage.data.astronaut() if image is None else image
    ws = np.linspace(0.0, 1.0, levels)
    out = {}
    with FaceTracker(max_faces=1) as tracker:
        prepared = animator.prepare(image, tracker=tracker)
        rows = []
        for name in names:
            for w in ws:
                row = torch.zeros(NUM_BLENDSHAPES)
                row[ARKIT_INDEX[name]] = float(w)
                rows.append(row)
        frames = animator(prepared, MotionTrack.from_blendshapes(torch.stack(rows)), size=size, progress=False)
        tracked = [tracker.track(f) for f in frames]
    scores = np.stack([t.blendshapes.numpy() for t in tracked]).reshape(len(names), levels, -1)
    points = np.stack([t.landmarks.numpy() for t in tracked]).reshape(len(names), levels, 478, -1)
    if stills is not None:
        Path(stills).mkdir(parents=True, exist_ok=True)
        for i, name in enumerate(names):
            first, last = np.asarray(frames[i * levels]), np.asarray(frames[i * levels + levels - 1])
            _save_pair(Path(stills) / f"{name}.png", first, last, points[i, 0])
    for i, name in enumerate(names):
        det = scores[i, :, ARKIT_INDEX[name]]
        mir = scores[i, :, ARKIT_INDEX[_mirror(name)]]
        rise = scores[i, -1] - scores[i, 0]
        geo = np.array([geometric_amount(name, points[i, 0], p) for p in points[i]])
        geo_mir = np.array([geometric_amount(_mirror(name), points[i, 0], p) for p in points[i]])
        out[name] = {
            "weights": ws.tolist(),
            "detected": det.round(3).tolist(),
            "mirror": mir.round(3).tolist(),
            "r": _pearson(ws, det),
            "delta": float(det[-1] - det[0]),
            "top": ARKIT_BLENDSHAPES[int(np.argmax(rise))],
            "geometry": geo.round(4).tolist(),
            "geometry_mirror": geo_mir.round(4).tolist(),
            "geometry_r": _pearson(ws, geo),
            "geometry_delta": float(geo[-1] - geo[0]),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, default=5)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--stills", type=Path, default=None, help="folder for weight-0 | weight-1 face crops")
    args = parser.parse_args(argv)
    res = readback(levels=args.levels, size=args.size, stills=args.stills)
    print("FaceLandmarker score of the shape (and of its mirror side), commanded weight 0 … 1:")
    print(f"{'blendshape':18s} {'r':>6s} {'Δ':>6s}  detected at w=0…1              mirror side             top riser")
    for name, d in res.items():
        det = " ".join(f"{x:.2f}" for x in d["detected"])
        mir = " ".join(f"{x:.2f}" for x in d["mirror"])
        print(f"{name:18s} {d['r']:6.2f} {d['delta']:6.2f}  {det:30s} {mir:24s} {d['top']}")
    rs = [d["r"] for d in res.values()]
    ok = [n for n, d in res.items() if d["r"] >= 0.7 and d["delta"] >= 0.05]
    print(
        f"mean r = {np.mean(rs):.2f}; r >= 0.7 for {sum(r >= 0.7 for r in rs)}/{len(rs)}; "
        f"r >= 0.7 with a response Δ >= 0.05 for {len(ok)}/{len(rs)}"
    )
    print("not read back by score (Δ < 0.05): " + ", ".join(n for n, d in res.items() if d["delta"] < 0.05))
    print()
    print("Landmark geometry of the detected face (inter-pupil distances; see GEOMETRY):")
    print(f"{'blendshape':18s} {'r':>6s} {'Δ':>7s}  measured at w=0…1                   mirror side at w=1")
    for name, d in res.items():
        geo = " ".join(f"{x:+.3f}" for x in d["geometry"])
        mirror = d["geometry_mirror"][-1]
        print(f"{name:18s} {d['geometry_r']:6.2f} {d['geometry_delta']:+7.3f}  {geo:36s} {mirror:+.3f}")
    rs = [d["geometry_r"] for d in res.values()]
    print(f"mean r = {np.mean(rs):.2f}; r >= 0.7 for {sum(r >= 0.7 for r in rs)}/{len(rs)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
