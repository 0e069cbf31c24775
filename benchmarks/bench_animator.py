"""Frames per second of the portrait animator at 256² and 512² on this machine.

Compares, on the same astronaut and the same motion (idle motion + a changing expression):

* ``PortraitAnimator`` with the moderngl rasteriser (EGL; llvmpipe on CPU) — the default on CPU,
* ``PortraitAnimator`` with the vectorised torch rasteriser (the CUDA / differentiable path),
* a naive baseline: the classic per-triangle warp (``cv2.getAffineTransform`` + ``cv2.warpAffine`` of each
  triangle's bounding box, masked and composited one triangle at a time), warping the same skin triangles.

Usage::

    python benchmarks/bench_animator.py [--frames 50] [--sizes 256 512] [--batch-size 8]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def _motion(num_frames: int):
    from emogen.arkit import ARKIT_INDEX
    from emogen.motion import MotionTrack, idle_motion

    m = idle_motion(num_frames, 25.0, generator=torch.Generator().manual_seed(0))
    b = m.blendshapes.clone()
    t = torch.linspace(0, 1, num_frames)
    b[:, ARKIT_INDEX["jawOpen"]] = 0.4 * (0.5 - 0.5 * torch.cos(2 * np.pi * 2 * t))
    b[:, ARKIT_INDEX["browInnerUp"]] = t
    return MotionTrack(b, m.head_rotation, m.head_translation, m.gaze, 25.0)


def naive_per_triangle(image: np.ndarray, src: np.ndarray, dst: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Warp ``image`` triangle by triangle (src → dst pixel positions), the textbook face-morph loop."""
    import cv2

    out = image.copy()
    h, w = image.shape[:2]
    for f in faces:
        s, d = src[f].astype(np.float32), dst[f].astype(np.float32)
        x, y, bw, bh = cv2.boundingRect(d)
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + bw, w), min(y + bh, h)
        if x1 <= x0 or y1 <= y0:
            continue
        m = cv2.getAffineTransform(s, d - np.float32([x0, y0]))
        patch = cv2.warpAffine(image, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillConvexPoly(mask, np.round(d - [x0, y0]).astype(np.int32), 1)
        region = out[y0:y1, x0:x1]
        region[mask > 0] = patch[mask > 0]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--torch-frames", type=int, default=16, help="frames for the (slower) torch backend")
    args = parser.parse_args(argv)

    import skimage.data

    from emogen.face.blendshapes import face_topology
    from emogen.render import egl_available
    from emogen.render.portrait import PortraitAnimator

    image = skimage.data.astronaut()
    motion = _motion(args.frames)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, EGL: {egl_available()}")
    backends = (["moderngl"] if egl_available() else []) + ["torch"]
    results: dict[tuple[str, int], float] = {}
    for size in args.sizes:
        for backend in backends:
            animator = PortraitAnimator(backend=backend)
            prepared = animator.prepare(image)
            n = args.frames if backend != "torch" else min(args.frames, args.torch_frames)
            m = motion.slice(0, n)
            animator(prepared, m.slice(0, min(n, args.batch_size)), size=size, progress=False)  # warm-up
            t0 = time.perf_counter()
            animator(prepared, m, size=size, batch_size=args.batch_size, progress=False)
            results[(backend, size)] = n / (time.perf_counter() - t0)
        # naive baseline on the same skin triangles and target landmarks
        animator = PortraitAnimator(backend=backends[0])
        prepared = animator.prepare(image)
        k = size / max(image.shape[:2])
        canvas = np.ascontiguousarray(animator(prepared, motion.slice(0, 1), size=size, progress=False)[0])
        rig = prepared.rig
        src = rig.rest_vertices()[:, :2].numpy() * k
        faces = face_topology().faces
        n = min(args.frames, 20)
        with torch.no_grad():
            dst = rig(motion.blendshapes[:n], motion.head_rotation[:n], None, motion.gaze[:n]).vertices[..., :2] * k
        t0 = time.perf_counter()
        for i in range(n):
            naive_per_triangle(canvas, src, dst[i].numpy(), faces)
        results[("naive per-triangle", size)] = n / (time.perf_counter() - t0)

    print(f"\n{'method':22s} " + " ".join(f"{f'{s}² fps':>10s}" for s in args.sizes) + "   speed-up vs naive")
    for method in backends + ["naive per-triangle"]:
        fps = [results[(method, s)] for s in args.sizes]
        ratios = " ".join(f"{results[(method, s)] / results[('naive per-triangle', s)]:6.1f}×" for s in args.sizes)
        print(f"{method:22s} " + " ".join(f"{x:10.1f}" for x in fps) + f"   {ratios}")
    target = results.get((backends[0], 512))
    if target is not None:
        verdict = "met" if target >= 25 else "NOT met"
        print(f"\ndefault ({backends[0]}) at 512²: {target:.1f} fps (target ≥ 25: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
