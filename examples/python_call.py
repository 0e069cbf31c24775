"""A talking head from Python: call the pipeline, then save the frames and the speech as an mp4 (and the curves).

Run: ``python examples/python_call.py [--image PHOTO] [--out out/python_call.mp4]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from emogen.export import write_curves, write_video
from emogen.pipelines import EmoTalkingHeadPipeline


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, help="a portrait (default: scikit-image's public-domain astronaut)")
    parser.add_argument("--out", type=Path, default=Path("out/python_call.mp4"))
    args = parser.parse_args()
    if args.image is None:
        from skimage.data import astronaut

        image = astronaut()
    else:
        image = args.image

    pipe = EmoTalkingHeadPipeline.from_pretrained()  # the shipped weights, offline
    out = pipe(
        image=image,
        text="[happy] We won the match! [sad:0.7] But Sam got hurt.",
        generator=torch.Generator().manual_seed(0),
    )
    # out.frames: (frames, H, W, 3) uint8; out.audio: mono float32 at out.sample_rate; out.motion: the ARKit curves
    print(write_video(args.out, out.frames, fps=out.motion.fps, audio=out.audio, sample_rate=out.sample_rate))
    print(write_curves(args.out.with_suffix(".csv"), out.motion))  # Live Link Face CSV
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
