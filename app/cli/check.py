"""``emogen check``: read a rendered video back with the FaceLandmarker (face presence, lip sync, identity)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "check",
        help="measure a talking-head video from outside: faces, lip sync vs its audio, identity",
        description=(
            "Read every frame with MediaPipe's FaceLandmarker: share of frames with a face, correlation of mouth "
            "opening with the audio track's loudness (best lag within ±3 frames), and — with --reference — the "
            "face-shape distance to the source portrait in inter-pupil distances."
        ),
    )
    p.add_argument("video", type=Path, help="an mp4 (with its audio track for the lip-sync figure)")
    p.add_argument("--reference", type=Path, help="the source portrait, for the identity distance")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
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
