"""``emogen check``: measure renders from outside — a video (faces, lip sync, identity) or an expression grid."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._common import int_range


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "check",
        help="measure from outside: a video's faces, lip sync and identity, or an emotion-recognition grid",
        description=(
            "VIDEO: read every frame with MediaPipe's FaceLandmarker (and face-api.js's 68-point landmarker when "
            "installed): share of frames with a face, correlation of mouth opening with the audio track's loudness "
            "(best lag within ±3 frames), and — with --reference — the face-shape distance to the source portrait. "
            "--grid: render identities × emotions × intensities as stills and read them with the installed "
            "facial-expression classifiers (see emogen.evaluation.fer), writing tables and contact sheets to -o."
        ),
        epilog=(
            "examples:\n"
            "  emogen check out/talk.mp4 --reference me.jpg\n"
            "  emogen check --grid --identities photos/ --samples -o out/grid\n"
            "  emogen check --grid --samples --emotions happy,sad --intensities 1,0.5 --judges faceapi -o out/g"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("video", type=Path, nargs="?", help="an mp4 (with its audio track for the lip-sync figure)")
    p.add_argument("--reference", type=Path, help="the source portrait, for the identity distance")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    g = p.add_argument_group("grid")
    g.add_argument("--grid", action="store_true", help="run the emotion-recognition grid instead of reading a video")
    g.add_argument("--identities", type=Path, help="folder of portraits (png/jpg/webp), one identity each")
    g.add_argument("--samples", action="store_true", help="add the astronaut and Grace Hopper (in the wheels)")
    g.add_argument("--emotions", default="all", help="comma-separated emotion names or 'all' (the 7 basic ones)")
    g.add_argument("--intensities", default="1,0.5", help="comma-separated intensities in (0, 1] (default 1,0.5)")
    g.add_argument("--judges", default="all", help="comma-separated judges or 'all' (fer2013,faceapi,human,facex)")
    g.add_argument("--size", type=int_range(64, 4096), default=512, help="still size in pixels (64-4096, default 512)")
    g.add_argument("-o", "--output", type=Path, help="output folder of the grid")
    p.set_defaults(func=run)


def _grid(args: argparse.Namespace) -> int:
    import numpy as np

    from emogen.controls import ExpressionPrior, resolve_emotion
    from emogen.evaluation.fer import JUDGE_NAMES
    from emogen.evaluation.grid import EMOTIONS, load_identities, run_grid, sample_identities
    from emogen.evaluation.grid_report import write_report
    from emogen.render import PortraitAnimator

    if args.output is None:
        raise ValueError("--grid needs an output folder: -o OUT_DIR.")
    if args.identities is None and not args.samples:
        raise ValueError("Give portraits with --identities FOLDER and/or --samples.")
    emotions = EMOTIONS if args.emotions == "all" else tuple(e.strip() for e in args.emotions.split(","))
    unknown = [e for e in emotions if e not in EMOTIONS]
    if unknown:
        raise ValueError(f"--emotions: unknown {unknown}; accepted: {', '.join(EMOTIONS)} or 'all'.")
    judges = JUDGE_NAMES if args.judges == "all" else tuple(j.strip() for j in args.judges.split(","))
    if set(judges) - set(JUDGE_NAMES):
        raise ValueError(f"--judges: unknown {sorted(set(judges) - set(JUDGE_NAMES))}; accepted: {JUDGE_NAMES}.")
    try:
        intensities = tuple(float(x) for x in args.intensities.split(","))
    except ValueError:
        raise ValueError(f"--intensities must be numbers in (0, 1], got {args.intensities!r}.") from None
    if not all(0 < x <= 1 for x in intensities):
        raise ValueError(f"--intensities must be numbers in (0, 1], got {args.intensities!r}.")
    identities = {} if args.identities is None else load_identities(args.identities)
    if args.samples:
        identities.update(sample_identities())

    animator, prior = PortraitAnimator(cache_size=2), ExpressionPrior()

    def render(image: np.ndarray, label: str, intensity: float) -> np.ndarray:
        spec = label if label == "neutral" else f"{label}:{intensity:g}"
        track = resolve_emotion(spec, duration=1 / 25)
        return np.asarray(animator.still(animator.prepare(image), prior(track)[0], size=args.size, emotion=track))

    if not identities:
        raise ValueError(f"--identities {str(args.identities)!r} holds no readable portrait (png, jpg, webp).")
    from emogen.face.tracking import FaceTracker, NoFaceFoundError

    faceless = {}
    with FaceTracker() as tracker:  # before any work: a grid without a usable face is an error, not empty tables
        for name, image in identities.items():
            try:
                tracker.track(image)
            except NoFaceFoundError as err:
                faceless[name] = str(err)
    if len(faceless) == len(identities):
        name, reason = next(iter(faceless.items()))
        raise ValueError(f"No portrait has a usable face ({name}: {reason})")
    result = run_grid(render, identities, emotions, intensities, judges, still_dir=args.output / "stills")
    if not result.judges:
        raise ValueError(f"No judge could be opened: {result.unavailable}; see emogen.evaluation.fer for installing.")
    for path in write_report(result, args.output):
        print(path)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.grid:
        return _grid(args)
    if args.video is None:
        raise ValueError("Give a VIDEO to check, or --grid (see --help).")
    from emogen.evaluation import check_video
    from emogen.io.image import to_rgb_uint8

    reference = None if args.reference is None else to_rgb_uint8(args.reference, name="--reference")
    summary = check_video(args.video, reference_image=reference).summary()
    if args.json:
        print(json.dumps(summary))
    else:
        for key, value in summary.items():
            print(f"{key:32s} {value}")
    return 0
