"""``emogen animate``: animate a portrait photo with an emotion (ARKit expression prior + idle motion) → mp4."""

from __future__ import annotations

import argparse
from pathlib import Path

from emogen.pipelines.defaults import DEFAULTS, LIMITS

from ._common import add_render_options, check_output


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
    p.add_argument("--emotion", required=True, metavar="SPEC", help="emotion spec or timeline")
    p.add_argument(
        "--duration", type=float,
        help=f"seconds (default: {DEFAULTS.still_duration:g} s, or a timeline's last key + 1 s)",
    )  # fmt: skip
    add_render_options(p)
    p.add_argument("--no-idle", action="store_true", help="no blinks, head motion or gaze shifts")
    p.add_argument("--face-index", type=int, help="which face in a group photo (largest first; default 0)")
    p.add_argument("--backend", choices=("auto", "moderngl", "torch"), default="auto", help="rasteriser")
    p.add_argument("-o", "--output", type=Path, required=True, help="output .mp4")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from emogen.controls import ExpressionPrior, parse_emotion_spec, resolve_emotion
    from emogen.export import write_curves, write_video
    from emogen.motion import IdleSettings, MotionTrack, add_idle, idle_motion
    from emogen.pipelines.pipeline_utils import check_work
    from emogen.render import PortraitAnimator

    from ._common import load_portrait

    # 1. Check inputs: outputs, the spec and the work bound before the photo is read or anything is rendered
    check_output(args.output, (".mp4",))
    if args.curves is not None:
        check_output(args.curves, (".csv", ".json"), "--curves")
    if args.duration is not None and not (0 < args.duration <= LIMITS.duration):
        raise ValueError(f"--duration must be in (0, {LIMITS.duration:g}] seconds, got {args.duration}.")
    parse_emotion_spec(args.emotion)  # a malformed spec fails before the photo is read

    # 2. Emotion → per-frame ARKit weights (a timeline's own length is bounded like --duration)
    track = resolve_emotion(args.emotion, duration=args.duration, fps=args.fps, dynamics=args.emotion_dynamics)
    if args.duration is None and track.num_frames == 1:  # a constant emotion: the default length
        track = resolve_emotion(args.emotion, duration=DEFAULTS.still_duration, fps=args.fps)
    check_work(track.duration, args.fps, height=args.size, what=f"--emotion {args.emotion!r}")
    image = load_portrait(args.image)
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
        print(write_curves(args.curves, motion))
    print(path)
    return 0
