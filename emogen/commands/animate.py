"""``emogen animate``: animate a portrait photo with an emotion (ARKit expression prior + idle motion) → mp4."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "animate",
        help="animate a portrait photo with an emotion and write an mp4",
        description=(
            "Animate the face in a photo with an emotion spec (label, label:intensity, mixture, vad:v,a,d, free "
            "text or a timeline), adding natural blinks, head motion and gaze, and write an mp4."
        ),
        epilog=(
            "examples:\n  emogen animate --emotion happy -o out/happy.mp4\n"
            '  emogen animate --image me.jpg --emotion "0s neutral, 1s surprised:0.8, 3s sad" --duration 5 '
            "-o out/me.mp4\n  emogen animate --emotion angry --no-idle --size 256 --seed 3 -o out/angry.mp4"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--image", type=Path, help="portrait photo (default: scikit-image's public-domain astronaut)")
    p.add_argument("--emotion", required=True, metavar="SPEC", help="emotion spec or timeline")
    p.add_argument("--duration", type=float, help="seconds (default: 3 s, or a timeline's last key + 1 s)")
    p.add_argument("--fps", type=float, default=25.0, help="frames per second (default 25)")
    p.add_argument("--size", type=int, default=512, help="output long side in pixels (default 512)")
    p.add_argument("--seed", type=int, default=0, help="seed of the idle motion (default 0)")
    p.add_argument("--no-idle", action="store_true", help="no blinks, head motion or gaze shifts")
    p.add_argument("--face-index", type=int, help="which face in a group photo (largest first; default 0)")
    p.add_argument("--backend", choices=("auto", "moderngl", "torch"), default="auto", help="rasteriser")
    p.add_argument("--curves", type=Path, help="also write the ARKit curves (.csv Live Link Face, or .json)")
    p.add_argument("-o", "--output", type=Path, required=True, help="output .mp4")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from emogen.controls import ExpressionPrior, resolve_emotion
    from emogen.face.animator import PortraitAnimator
    from emogen.face.idle import IdleSettings, add_idle, idle_motion
    from emogen.io.video import write_video
    from emogen.motion import MotionTrack

    from ._common import check_render_options, load_portrait

    # 1. Check inputs
    if args.output.suffix.lower() != ".mp4":
        raise ValueError(f"--output must end in .mp4, got {str(args.output)!r}.")
    check_render_options(args)
    if args.duration is not None and not (0 < args.duration <= 600):
        raise ValueError(f"--duration must be in (0, 600] seconds, got {args.duration}.")
    image = load_portrait(args.image)

    # 2. Emotion → per-frame ARKit weights
    track = resolve_emotion(args.emotion, duration=args.duration, fps=args.fps)
    if args.duration is None and track.num_frames == 1:  # a constant emotion: default to 3 s
        track = resolve_emotion(args.emotion, duration=3.0, fps=args.fps)
    with torch.no_grad():
        weights = ExpressionPrior()(track).float()
    motion = MotionTrack.from_blendshapes(weights, fps=args.fps)

    # 3. Idle motion
    if not args.no_idle:
        generator = torch.Generator().manual_seed(args.seed)
        motion = add_idle(motion, idle_motion(motion.num_frames, args.fps, IdleSettings(), generator))

    # 4. Animate and write
    animator = PortraitAnimator(backend=args.backend)
    prepared = animator.prepare(image, face_index=args.face_index)
    frames = animator(prepared, motion, size=args.size)
    path = write_video(args.output, frames, fps=args.fps)
    if args.curves is not None:
        from emogen.io.curves import write_curves

        write_curves(args.curves, motion)
        print(args.curves)
    print(path)
    return 0
