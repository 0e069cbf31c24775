"""Validate the blendshape fields from outside: animate a photo with one blendshape at several weights and read
the frames back with MediaPipe's FaceLandmarker (DESIGN §4).

For each checked blendshape ``k`` the astronaut is rendered with ``w_k ∈ {0, 0.25, 0.5, 0.75, 1}`` (all other
weights 0, i.e. relative to the photo's neutralised face) and the detected score of ``k`` is correlated (Pearson)
with the commanded weight. Also reported: the detected score of the mirror-side shape (to catch left/right
swaps) and which of the 52 detected scores rose most.

Usage::

    python weights/face_rig/readback.py [--levels 5] [--size 512]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from emogen.arkit import ARKIT_BLENDSHAPES, ARKIT_INDEX, NUM_BLENDSHAPES

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


def _mirror(name: str) -> str:
    if name.endswith("Left"):
        return name[:-4] + "Right"
    if name.endswith("Right"):
        return name[:-5] + "Left"
    return name


def readback(names=CHECKED, levels: int = 5, size: int = 512, image=None) -> dict[str, dict]:
    """Commanded-vs-detected statistics per blendshape.

    Returns:
        name → ``{"weights", "detected", "mirror", "r", "top"}`` (``r``: Pearson correlation, ``top``: the
        blendshape whose detected score rose most between weight 0 and 1).
    """
    import skimage.data

    from emogen.face.animator import PortraitAnimator
    from emogen.face.tracking import FaceTracker
    from emogen.motion import MotionTrack

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
        scores = np.stack([tracker.track(f).blendshapes.numpy() for f in frames]).reshape(len(names), levels, -1)
    for i, name in enumerate(names):
        det = scores[i, :, ARKIT_INDEX[name]]
        mir = scores[i, :, ARKIT_INDEX[_mirror(name)]]
        r = float(np.corrcoef(ws, det)[0, 1]) if det.std() > 1e-6 else 0.0
        rise = scores[i, -1] - scores[i, 0]
        out[name] = {
            "weights": ws.tolist(),
            "detected": det.round(3).tolist(),
            "mirror": mir.round(3).tolist(),
            "r": r,
            "delta": float(det[-1] - det[0]),
            "top": ARKIT_BLENDSHAPES[int(np.argmax(rise))],
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, default=5)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args(argv)
    res = readback(levels=args.levels, size=args.size)
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
    print("not read back (Δ < 0.05): " + ", ".join(n for n, d in res.items() if d["delta"] < 0.05))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
