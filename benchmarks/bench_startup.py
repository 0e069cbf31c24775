"""Cold start of every ``emogen`` subcommand, next to ``python -c "import torch"`` measured in the same run.

Each command runs in a fresh process doing the smallest real job (so imports, model loading and the work itself are
all counted); the best of ``--repeat`` runs is printed with its ratio to the torch import, and whether the command
imported diffusers. ``talk`` is also timed on a ~9 s sentence to show how much of a typical call is start-up.

Usage::

    python benchmarks/bench_startup.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
_PROBE = (
    "import sys, runpy; sys.argv = ['emogen', *sys.argv[1:]]\n"
    "try:\n    runpy.run_module('emogen', run_name='__main__')\n"
    "except SystemExit as e:\n    code = e.code\nelse:\n    code = 0\n"
    "print('DIFFUSERS=%d' % ('diffusers' in sys.modules), file=sys.stderr); sys.exit(code)"
)


def _run(argv: list[str]) -> tuple[float, bool]:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{proc.stderr[-2000:]}")
    return dt, "DIFFUSERS=1" in proc.stderr


def _best(argv: list[str], repeat: int) -> tuple[float, bool]:
    runs = [_run(argv) for _ in range(repeat)]
    return min(t for t, _ in runs), runs[0][1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="emogen-bench-"))
    wav, mp4 = tmp / "hi.wav", tmp / "a.mp4"
    _run([PY, "-m", "emogen", "speak", "Hello there, this is a short test.", "-o", str(wav)])
    _run([PY, "-m", "emogen", "animate", "--emotion", "happy", "--duration", "0.4", "--size", "128", "-o", str(mp4)])
    commands = {
        "--help": ["--help"],
        "emotion --timeline": ["emotion", "--timeline", "0s neutral, 1s happy", "--json"],
        "emotion TEXT": ["emotion", "I am furious that they lied to us again."],
        "speak": ["speak", "Hello there.", "-o", str(tmp / "s.wav")],
        "diarize": ["diarize", str(wav)],
        "check": ["check", str(mp4)],
        "animate (1 s, 256²)": ["animate", "--emotion", "sad", "--duration", "1", "--size", "256", "-o", str(mp4)],
        "talk (short, 256²)": ["talk", "--text", "Hi there.", "--size", "256", "-o", str(tmp / "t.mp4")],
    }
    base = min(_run([PY, "-c", "import torch"])[0] for _ in range(args.repeat))
    print(f"{'command':24s} {'seconds':>8s} {'× import torch':>15s}  diffusers imported")
    print(f"{'python -c import torch':24s} {base:8.2f} {1.0:15.2f}")
    for name, argv in commands.items():
        seconds, diffusers = _best([PY, "-c", _PROBE, *argv], args.repeat)
        print(f"{'emogen ' + name:24s} {seconds:8.2f} {seconds / base:15.2f}  {'yes' if diffusers else 'no'}")
    text = (
        "Hello! I am a talking head, made from a single photo. And guess what? We just won the championship! "
        "But our coach is leaving us."
    )
    seconds, _ = _best([PY, "-m", "emogen", "talk", "--text", text, "-o", str(tmp / "long.mp4")], 1)
    startup, _ = _best([PY, "-c", "import emogen.pipelines.talking_head, emogen.app.cli"], args.repeat)
    print(
        f"\nemogen talk, {text.count(' ') + 1} words at 512²: {seconds:.2f} s wall, of which {startup:.2f} s imports"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
