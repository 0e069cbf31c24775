"""The `make demo` job: a portrait speaking through an emotion timeline, a second portrait listening to it, plus the
control layer's outputs.

Run: ``python examples/demo.py --out out``. Each step prints the files it wrote.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ start-up chatter

TEXTS = [
    "We won the championship! I can't stop smiling.",
    "I am furious that they lied to us again.",
    "My grandmother passed away last night.",
    "Please close the door when you leave.",
    "There is someone in the house and the lights just went out.",
]
TIMELINE = "0s neutral, 1.2s happy:0.8, 3s sad:0.6, 4.5s surprised, 6s neutral"
# The talking head speaks with an emotion per sentence: voice and face change together.
SCRIPT = (
    "[neutral] Hello! I am a talking head, made from a single photo. "
    "[happy] And guess what? We just won the championship! "
    "[sad:0.8] But our coach is leaving us, and I will miss her. "
    "[surprised] Wait, is that her at the door?"
)


def control_layer(out: Path) -> list[Path]:
    """Text → emotion, and an emotion timeline with affect dynamics → per-frame track, ARKit curves and plots."""
    from emogen.arkit import ARKIT_BLENDSHAPES
    from emogen.controls import ExpressionPrior, analyze_text, resolve_emotion
    from emogen.export import plot_emotion_track
    from emogen.io.atomic import atomic_output

    written = []
    start = time.perf_counter()
    results = analyze_text(TEXTS)
    print(f"Text → emotion ({time.perf_counter() - start:.2f} s for {len(TEXTS)} texts, model loading included):")
    for r in results:
        v, a, d = r.vad
        top = ", ".join(f"{n} {p:.2f}" for n, p in r.top(2))
        print(f"  V {v:+.2f} A {a:+.2f} D {d:+.2f} | {top:28s} | {r.text}")
    path = out / "demo_text_emotion.jsonl"
    with atomic_output(path) as tmp:
        tmp.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in results))
    written.append(path)

    track = resolve_emotion(TIMELINE, fps=25, dynamics="second-order")
    written.append(plot_emotion_track(track, out / "demo_emotion_timeline.png", title=TIMELINE))
    weights = ExpressionPrior()(track)
    path = out / "demo_expression_prior.csv"
    with atomic_output(path) as tmp, tmp.open("w") as f:
        f.write("time," + ",".join(ARKIT_BLENDSHAPES) + "\n")
        for i, row in enumerate(weights.tolist()):
            f.write(f"{i / track.fps:.2f}," + ",".join(f"{x:.4f}" for x in row) + "\n")
    written.append(path)
    return written


def talking_head(out: Path, size: int, seed: int):
    """The main job: the public-domain astronaut portrait speaks SCRIPT through its emotions."""
    import torch
    from skimage.data import astronaut

    from emogen.export import plot_blendshape_curves, plot_emotion_track, write_live_link_csv, write_video
    from emogen.pipelines import EmoTalkingHeadPipeline

    start = time.perf_counter()
    pipe = EmoTalkingHeadPipeline.from_pretrained()
    print(f"\nTalking head (pipeline loaded in {time.perf_counter() - start:.1f} s), {size}x{size}:")
    print(f"  {SCRIPT}")
    start = time.perf_counter()
    result = pipe(
        image=astronaut(), text=SCRIPT, height=size, width=size, generator=torch.Generator().manual_seed(seed)
    )
    seconds = len(result.audio) / result.sample_rate
    elapsed = time.perf_counter() - start
    print(f"  {seconds:.1f} s of video rendered in {elapsed:.1f} s (real-time factor {elapsed / seconds:.2f})")
    video = write_video(out / "demo_talking_head.mp4", result.frames, fps=result.motion.fps, audio=result.audio,
                        sample_rate=result.sample_rate)  # fmt: skip
    return result, [
        video,
        frames_strip(result, out / "demo_frames.jpg"),
        plot_emotion_track(result.emotion_track, out / "demo_talking_head_emotion.png", title=SCRIPT[:80] + "…"),
        plot_blendshape_curves(result.motion, out / "demo_talking_head_curves.png"),
        write_live_link_csv(out / "demo_talking_head_arkit.csv", result.motion),
    ]


def listening(out: Path, speaker, size: int, seed: int) -> list[Path]:
    """A second portrait (Grace Hopper, public domain) listens to the talking head: lips closed, nods and smiles at
    the speaker's backchannel points, a share of the speaker's emotion. Written side by side with the speaker."""
    import matplotlib.cbook
    import numpy as np
    import torch
    from PIL import Image

    from emogen.export import write_video
    from emogen.pipelines import EmoVideoPipeline

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        listener = np.asarray(Image.open(f).convert("RGB"))
    pipe = EmoVideoPipeline.from_pretrained()
    start = time.perf_counter()
    result = pipe(listener, mode="listening", audio=speaker.audio, sample_rate=speaker.sample_rate, height=size,
                  width=size, fps=speaker.motion.fps, generator=torch.Generator().manual_seed(seed))  # fmt: skip
    cues = ", ".join(f"{t:.1f} s ({kind})" for t, kind in result.cues)
    print(f"\nListener ({time.perf_counter() - start:.1f} s): responds at {cues}")
    n = min(len(result.frames), len(speaker.frames))
    both = np.concatenate([speaker.frames[:n], result.frames[:n]], axis=2)
    video = write_video(out / "demo_conversation.mp4", both, fps=result.motion.fps, audio=speaker.audio,
                        sample_rate=speaker.sample_rate)  # fmt: skip
    # the listener at its responses, at the nod's lowest point (~0.25 s after each)
    picks = [(min(n - 1, round((t + 0.25) * result.motion.fps)), f"{kind} {t:.1f} s") for t, kind in result.cues[:4]]
    save_strip(result.frames, picks, out / "demo_listening.jpg")
    return [video, out / "demo_listening.jpg"]


def save_strip(frames, picks, path: Path) -> Path:
    """Frames ``[(index, caption), …]`` as 256-px tiles side by side, saved as JPEG."""
    from PIL import Image, ImageDraw

    from emogen.io.atomic import atomic_output

    strip = Image.new("RGB", (256 * len(picks), 256))
    for k, (i, caption) in enumerate(picks):
        tile = Image.fromarray(frames[i]).resize((256, 256), Image.LANCZOS)
        ImageDraw.Draw(tile).text((6, 4), caption, fill=(255, 255, 255))
        strip.paste(tile, (256 * k, 0))
    with atomic_output(path) as tmp:
        strip.save(tmp, format="JPEG", quality=90)
    return path


def frames_strip(result, path: Path, labels=("neutral", "happy", "sad", "surprised")) -> Path:
    """One frame per sentence's emotion (where the emotion is strongest and the mouth most open), side by side."""
    import numpy as np

    from emogen.arkit import ARKIT_INDEX
    from emogen.emotion import LABELS

    probs = result.emotion_track.probs.numpy()
    jaw = result.motion.blendshapes[:, ARKIT_INDEX["jawOpen"]].numpy()
    picks = []
    for label in labels:
        i = int(np.argmax(probs[:, LABELS.index(label)] * (0.5 + jaw)))
        picks.append((i, f"{label}  {i / result.motion.fps:.1f} s"))
    save_strip(result.frames, picks, path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder (default out/)")
    parser.add_argument("--size", type=int, default=512, help="video size in pixels (default 512)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--skip-video", action="store_true", help="only the control-layer outputs")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    written = control_layer(args.out)
    if not args.skip_video:
        speaker, files = talking_head(args.out, args.size, args.seed)
        written += files + listening(args.out, speaker, args.size, args.seed)
    print("\nWrote:")
    for path in written:
        print(f"  {path.resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
