"""End-to-end real-time factor of the talking head on this machine, stage by stage.

The baseline is real time: each stage's seconds divided by the seconds of speech it produced (a real-time factor;
below 1 is faster than real time). Stages, in the order the pipeline runs them, each timed through its public API:

* TTS — ``EmoSpeechPipeline`` (espeak-ng + WORLD prosody edits) on the same text and emotions,
* motion — ``EmoTalkingHeadPipeline(..., output_type="motion")`` on that audio (features + diffusion sampling),
* prepare — tracking and rigging the portrait (once per photo, cached afterwards),
* render — ``PortraitAnimator`` at 256² and 512²,
* encode — ``write_video`` (H.264 + AAC) to a temporary mp4,

and the whole ``pipe(text=...)`` call at each size for comparison. Also prints the motion model's frames per
second.

Usage::

    python benchmarks/bench_talking_head.py [--sizes 256 512] [--steps 20]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import torch

TEXT = (
    "[neutral] Hello! I am a talking head, made from a single photo. "
    "[happy] And guess what? We just won the championship! "
    "[sad:0.8] But our coach is leaving us, and I will miss her."
)


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--steps", type=int, default=20, help="denoising steps (default 20)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from skimage.data import astronaut

    from emogen.export import write_video
    from emogen.pipelines import EmoSpeechPipeline, EmoTalkingHeadPipeline

    image = astronaut()
    pipe = EmoTalkingHeadPipeline.from_pretrained()
    pipe.set_progress_bar_config(disable=True)
    speech_pipe = EmoSpeechPipeline(tts=pipe.tts)
    speech_pipe.set_progress_bar_config(disable=True)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; text of {len(TEXT)} characters")

    speech_pipe("Warm up.")  # engine start-up is not part of the steady state
    speech, t_tts = _timed(lambda: speech_pipe(TEXT))
    seconds = len(speech.waveform) / speech.sample_rate
    generator = torch.Generator().manual_seed(0)
    pipe(audio=speech.waveform[: speech.sample_rate], sample_rate=speech.sample_rate, emotion="neutral",
         output_type="motion", num_inference_steps=2)  # warm-up  # fmt: skip
    result, t_motion = _timed(
        lambda: pipe(
            audio=speech.waveform,
            sample_rate=speech.sample_rate,
            emotion=speech.emotion_track,
            output_type="motion",
            num_inference_steps=args.steps,
            generator=generator,
        )  # fmt: skip
    )
    motion = result.motion
    prepared, t_prepare = _timed(lambda: pipe.animator.prepare(image))

    rows = [("TTS", t_tts), ("motion (diffusion)", t_motion), ("prepare portrait (once)", t_prepare)]
    totals = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            pipe.animator(prepared, motion.slice(0, 8), size=size, progress=False)  # warm-up
            frames, t_render = _timed(lambda size=size: pipe.animator(prepared, motion, size=size, progress=False))
            _, t_encode = _timed(
                lambda size=size, frames=frames: write_video(
                    Path(tmp) / f"bench_{size}.mp4",
                    frames,
                    fps=motion.fps,
                    audio=speech.waveform,
                    sample_rate=speech.sample_rate,
                )  # fmt: skip
            )
            rows += [(f"render {size}²", t_render), (f"encode {size}²", t_encode)]
            _, t_total = _timed(
                lambda size=size: pipe(image=image, text=TEXT, height=size, width=size,
                                       num_inference_steps=args.steps, generator=torch.Generator().manual_seed(0))
            )  # fmt: skip
            totals[size] = t_total

    print(f"\n{seconds:.2f} s of speech, {motion.num_frames} frames at {motion.fps:g} fps\n")
    print(f"{'stage':28s} {'seconds':>8s} {'real-time factor':>17s}")
    for name, t in rows:
        print(f"{name:28s} {t:8.2f} {t / seconds:17.3f}")
    print()
    for size, t in totals.items():
        print(f"{f'whole pipe(text=…) {size}²':28s} {t:8.2f} {t / seconds:17.3f}")
    print(f"\nmotion model: {motion.num_frames / t_motion:.0f} frames/s ({args.steps} steps, 3 guidance passes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
