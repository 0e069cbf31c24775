"""Lip sync of the shipped talking head with each voice, read back from the rendered video.

For every sentence and voice: render the astronaut speaking it (seed 0), write the mp4 and read it back with
``emogen.evaluation.check_video`` (MediaPipe FaceLandmarker): Pearson r between the inner-lip gap and the audio
envelope at the best lag within ±3 frames. Also the commanded ``jawOpen`` against the same envelope (no rendering or
landmarking involved). Prints a table per sentence and the means, with the paired difference and its standard error.

Usage::

    python training/motion_denoiser/eval_voices.py [--size 256] [--voices espeak,hibari] [--lip-sync auto|model]
        [--weights DIR] [--out voices.json]

``--lip-sync model`` drives the lips from the audio by the motion model (as for audio input) instead of the voice's
phone timings; ``--weights`` evaluates another pipeline folder (a retrained motion model).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GLOG_minloglevel", "2")

import numpy as np  # noqa: E402
import torch  # noqa: E402

SENTENCES = [
    "Hello! I am a talking head, made from a single photo.",
    "[happy] And guess what? We just won the championship!",
    "[sad:0.8] But our coach is leaving us, and I will miss her.",
    "[sad] I waited at the station for hours, but nobody came to pick me up.",
    "[angry] Why would you open my letters without asking me first?",
    "Please remember to water the plants on Tuesday and Friday mornings.",
    "The museum opens at nine, and the tickets are cheaper before noon.",
    "[happy] My sister baked a chocolate cake for my birthday party.",
    "[fearful] Did you hear that noise downstairs? I think someone is inside.",
    "Our train leaves from platform four in about twenty minutes.",
]


def _engine(name: str):
    from emogen.speech.engine import EspeakTTS, HibariTTS

    engines = {"espeak": EspeakTTS, "hibari": HibariTTS}
    if name not in engines:
        raise SystemExit(f"unknown voice family {name!r}; choose from {', '.join(engines)}")
    return engines[name]()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256, help="video size in pixels (default 256)")
    parser.add_argument("--voices", default="espeak,hibari", help="voice families, comma-separated")
    parser.add_argument(
        "--lip-sync",
        default="auto",
        choices=("auto", "model"),
        help="lips from the phone timings (auto, as for text) or the motion model (as for audio)",
    )
    parser.add_argument("--weights", type=Path, help="pipeline folder to evaluate (default: the shipped weights)")
    parser.add_argument("--out", type=Path, help="also write the results as JSON")
    args = parser.parse_args()

    from skimage.data import astronaut

    from emogen.evaluation import audio_envelope, best_lag_correlation, check_video
    from emogen.export import write_video
    from emogen.pipelines import EmoTalkingHeadPipeline

    results: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for voice in args.voices.split(","):
            pipe = EmoTalkingHeadPipeline.from_pretrained(args.weights, tts=_engine(voice))
            pipe.set_progress_bar_config(disable=True)
            rows = []
            for k, text in enumerate(SENTENCES):
                out = pipe(image=astronaut(), text=text, height=args.size, width=args.size, lip_sync=args.lip_sync,
                           generator=torch.Generator().manual_seed(0))  # fmt: skip
                path = write_video(Path(tmp) / f"{voice}_{k}.mp4", out.frames, fps=out.motion.fps, audio=out.audio,
                                   sample_rate=out.sample_rate)  # fmt: skip
                check = check_video(path, show_progress=False, second_landmarker=False)
                jaw = out.motion.blendshape("jawOpen").numpy()
                env = audio_envelope(out.audio, out.sample_rate, out.motion.fps, len(jaw))
                jaw_r, _ = best_lag_correlation(jaw, env, 3)
                rows.append({"sentence": text, "video_r": check.lip_sync_r, "lag": check.lip_sync_lag, "jaw_r": jaw_r})
                print(f"{voice:7s} r={check.lip_sync_r:+.3f} (lag {check.lip_sync_lag:+d}) jaw r={jaw_r:+.3f} {text}")
            results[voice] = rows
    print()
    for voice, rows in results.items():
        print(f"{voice:7s} mean video r {np.mean([r['video_r'] for r in rows]):.3f}, "
              f"mean jawOpen r {np.mean([r['jaw_r'] for r in rows]):.3f}")  # fmt: skip
    names = list(results)
    if len(names) == 2:
        d = np.array([a["video_r"] - b["video_r"] for a, b in zip(*results.values(), strict=True)])
        print(f"{names[0]} − {names[1]}: {d.mean():+.3f} ± {d.std(ddof=1) / np.sqrt(len(d)):.3f} (paired, s.e.)")
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
