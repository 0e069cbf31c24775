"""The `make demo` job: everything emogen can do offline on this machine, written under ``--out``.

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

TEXTS = [
    "We won the championship! I can't stop smiling.",
    "I am furious that they lied to us again.",
    "My grandmother passed away last night.",
    "Please close the door when you leave.",
    "There is someone in the house and the lights just went out.",
]
TIMELINE = "0s neutral, 1.2s happy:0.8, 3s sad:0.6, 4.5s surprised, 6s neutral"


def control_layer(out: Path) -> list[Path]:
    """Text → emotion, and an emotion timeline with affect dynamics → per-frame track, ARKit curves and plots."""
    from emogen.arkit import ARKIT_BLENDSHAPES
    from emogen.controls import ExpressionPrior, analyze_text, plot_emotion_track, resolve_emotion

    written = []
    start = time.perf_counter()
    results = analyze_text(TEXTS)
    print(f"Text → emotion ({time.perf_counter() - start:.2f} s for {len(TEXTS)} texts, model loading included):")
    for r in results:
        v, a, d = r.vad
        top = ", ".join(f"{n} {p:.2f}" for n, p in r.top(2))
        print(f"  V {v:+.2f} A {a:+.2f} D {d:+.2f} | {top:28s} | {r.text}")
    path = out / "demo_text_emotion.jsonl"
    path.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in results))
    written.append(path)

    track = resolve_emotion(TIMELINE, fps=25, dynamics="second-order")
    written.append(plot_emotion_track(track, out / "demo_emotion_timeline.png", title=TIMELINE))
    weights = ExpressionPrior()(track)
    path = out / "demo_expression_prior.csv"
    with path.open("w") as f:
        f.write("time," + ",".join(ARKIT_BLENDSHAPES) + "\n")
        for i, row in enumerate(weights.tolist()):
            f.write(f"{i / track.fps:.2f}," + ",".join(f"{x:.4f}" for x in row) + "\n")
    written.append(path)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder (default out/)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    written = control_layer(args.out)
    print("\nWrote:")
    for path in written:
        print(f"  {path.resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
