"""Speed of emogen's two TTS engines in one run: hibari's neural voice next to espeak-ng, same texts, one thread.

For each engine: the real-time factor (synthesis time / audio duration; lower is faster, and its inverse "× real
time") over the same sentences, spoken neutral and with emotions (the emotional plans exercise every prosody path:
hibari's two passes and vocoder edits, espeak-ng's WORLD re-synthesis), median over ``--repeat`` runs; and the load
time: a fresh process importing the engine and speaking its first short sentence, and (hibari) the model load alone.

Usage::

    python benchmarks/bench_tts.py [--repeat 5]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one thread everywhere
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from emogen.speech.measure import SENTENCES as TEXTS  # noqa: E402 (the sentences every prosody measurement uses)

EMOTIONS = ("neutral", "happy", "sad", "angry")

#: A fresh interpreter: import the engine, speak a first short sentence, print the seconds (and hibari's model load).
_FIRST_AUDIO = {
    "hibari": (
        "import time; t = time.perf_counter()\n"
        "from emogen.speech.hibari import HibariEngine\n"
        "e = HibariEngine(threads=1); e.synthesize('Hello there.')\n"
        "print(time.perf_counter() - t, e.runtime.load_seconds)"
    ),
    "espeak": (
        "import time; t = time.perf_counter()\n"
        "from emogen.speech import EspeakEngine\n"
        "EspeakEngine().synthesize('Hello there.', voice='en-us+f3')\n"
        "print(time.perf_counter() - t)"
    ),
}


def first_audio(engine: str) -> tuple[float, float | None]:
    """Seconds from a fresh interpreter to the first sentence (and hibari's model load inside it)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", _FIRST_AUDIO[engine]], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    values = [float(v) for v in out.stdout.split()]
    return values[0], (values[1] if len(values) > 1 else None)


def real_time_factor(engine, voice: str | None, plans: dict, repeat: int) -> tuple[float, float]:
    """(median RTF, audio seconds per run) over TEXTS × plans."""
    for text in TEXTS[:2]:  # warm up (model load, caches)
        engine.synthesize([(text, plans["neutral"])], voice=voice)
    runs, audio = [], 0.0
    for _ in range(repeat):
        spent, audio = 0.0, 0.0
        for text in TEXTS:
            for plan in plans.values():
                t0 = time.perf_counter()
                out = engine.synthesize([(text, plan)], voice=voice)
                spent += time.perf_counter() - t0
                audio += out.duration
        runs.append(spent / audio)
    return statistics.median(runs), audio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from emogen.speech import EspeakEngine, plan_segment
    from emogen.speech.hibari import HibariEngine

    plans = {e: plan_segment(None if e == "neutral" else e) for e in EMOTIONS}
    engines = {
        "hibari (neural, 'heart', 24 kHz)": (HibariEngine(threads=1), None, "hibari"),
        "espeak-ng + WORLD ('en-us+f3', 22.05 kHz)": (EspeakEngine(), "en-us+f3", "espeak"),
    }
    print(f"{len(TEXTS)} sentences × {len(EMOTIONS)} emotions ({', '.join(EMOTIONS)}), one thread, "
          f"median of {args.repeat} runs\n")  # fmt: skip
    print(
        "| engine | audio per run | RTF (all) | × real time | RTF neutral | first audio (fresh process) | model load |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, (engine, voice, key) in engines.items():
        rtf, audio = real_time_factor(engine, voice, plans, args.repeat)
        rtf_neutral, _ = real_time_factor(engine, voice, {"neutral": plans["neutral"]}, args.repeat)
        cold, load = first_audio(key)
        load_s = f"{load:.2f} s" if load is not None else "–"
        print(
            f"| {label} | {audio:.1f} s | {rtf:.4f} | {1 / rtf:.0f}× | {rtf_neutral:.4f} | {cold:.2f} s | {load_s} |"
        )
    print("\nRTF = synthesis time / audio duration. First audio: a fresh interpreter importing emogen.speech (torch "
          "included) and speaking 'Hello there.'. Model load (hibari): reading, checking and patching the ONNX graph "
          "in memory, two onnxruntime sessions and the G2P.")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
