"""Head avatar speed next to the 2D portrait animator, on the same photo and motion, in one run.

Measures, on the astronaut with idle motion + a changing expression:

* building: ``HeadAvatar.from_portrait`` (tracking, rig, shell, texture) cold (the first call in the process, model
  loads included) and warm, against ``PortraitAnimator.prepare`` + its first frame (the 2D path's set-up);
* rendering: ``AvatarRenderer`` frames per second at 512² (moderngl/EGL and torch rasterisers; the camera turning,
  a new yaw every frame) against ``PortraitAnimator`` at 512² (moderngl);
* GLB export time and size.

Usage::

    python benchmarks/bench_avatar.py [--frames 64] [--size 512] [--batch-size 16] [--photo PATH] [--threads 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

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


def _best(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--photo", type=Path, default=None, help="a portrait (default: skimage's astronaut)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1 is fastest on a shared box)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    import skimage.data

    from emogen.export.gltf import write_glb
    from emogen.head.avatar import HeadAvatar
    from emogen.io.image import to_rgb_uint8
    from emogen.render.avatar import AvatarRenderer
    from emogen.render.portrait import PortraitAnimator

    photo = to_rgb_uint8(args.photo) if args.photo else skimage.data.astronaut()
    motion = _motion(args.frames)
    size = args.size
    print(f"torch threads: {torch.get_num_threads()}, frames: {args.frames}, size: {size}²")

    # 1. building
    t0 = time.perf_counter()
    avatar = HeadAvatar.from_portrait(photo, progress=False)
    cold = time.perf_counter() - t0
    warm = _best(lambda: HeadAvatar.from_portrait(photo, progress=False))
    animator = PortraitAnimator()

    def prepare_2d():
        animator._cache.clear()
        prepared = animator.prepare(photo)
        animator.still(prepared, {}, size=size)

    prep = _best(prepare_2d)
    print(f"avatar build: cold {cold:.2f} s, warm {warm:.2f} s  |  2D prepare + first frame {prep:.2f} s  "
          f"(ratio {warm / prep:.1f}×)")  # fmt: skip

    # 2. rendering
    yaws = torch.linspace(-30.0, 30.0, args.frames)
    results = {}
    for backend in ("moderngl", "torch"):
        try:
            renderer = AvatarRenderer(backend=backend)
        except Exception as exc:  # noqa: BLE001 - report and go on
            print(f"avatar {backend}: unavailable ({exc})")
            continue
        if renderer.backend != backend:
            print(f"avatar {backend}: unavailable (fell back to {renderer.backend})")
            continue
        frames = args.frames if backend == "moderngl" else min(args.frames, 16)
        m = motion.slice(0, frames)
        renderer(avatar, m.slice(0, 2), yaw=yaws[:2], size=size)  # warm-up (shaders, textures)
        dt = _best(lambda r=renderer, m=m, f=frames: r(avatar, m, yaw=yaws[:f], size=size, batch_size=args.batch_size))
        results[backend] = frames / dt
        print(f"avatar render {backend:8s}: {frames / dt:6.1f} fps at {size}²")
    prepared = animator.prepare(photo)
    animator(prepared, motion.slice(0, 2), size=size, progress=False)
    dt = _best(lambda: animator(prepared, motion, size=size, batch_size=8, progress=False))
    fps_2d = args.frames / dt
    print(f"2D portrait animator   : {fps_2d:6.1f} fps at {size}² ({animator.backend})")
    for backend, fps in results.items():
        print(f"ratio avatar {backend} / 2D: {fps / fps_2d:.2f}")

    # 3. export
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "avatar.glb"
        dt = _best(lambda: write_glb(path, avatar, motion), repeats=2)
        print(f"GLB export: {dt:.2f} s, {path.stat().st_size / 1e6:.1f} MB ({args.frames} frames of animation)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
