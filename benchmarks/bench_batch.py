"""Throughput of `emogen batch` and `emogen augment` per engine, in one run: local with 1 and 2 worker processes,
and Ray (a local instance with as many CPUs as workers).

Workloads (both through the library calls the commands make):

* ``batch`` — ``--jobs`` animate jobs (astronaut, ``--size`` px, ``--duration`` s at 25 fps, one emotion each);
* ``augment`` — ``--items`` dataset stills (8 classes, 224 px, lighting and mixtures on).

Each engine renders into a fresh folder. ``items/s`` is over the whole wall time, which includes starting the worker
processes (and Ray); ``steady items/s`` counts from the first finished item to the last, i.e. without start-up.
The outputs of every engine are compared byte for byte with the first engine's. Usage::

    python benchmarks/bench_batch.py [--jobs 24] [--items 160] [--size 256] [--duration 1] [--no-ray]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

EMOTIONS = ("happy", "sad", "angry", "fearful", "surprised", "disgusted", "contempt", "neutral")


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.suffix in (".mp4", ".png")}


class Clock:
    """Times at which items finished (the ``on_item`` callback)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.start = time.perf_counter()

    def tick(self, row) -> None:
        self.times.append(time.perf_counter())


def _result(workload, engine, workers, summary, clock: Clock, files, reference) -> dict:
    return {"workload": workload, "engine": engine, "workers": workers, "items": summary.done,
            "failed": summary.failed, "seconds": time.perf_counter() - clock.start, "times": clock.times,
            "same": files == reference}  # fmt: skip


def bench_batch(engines, tmp: Path, jobs: int, size: int, duration: float) -> list[dict]:
    from PIL import Image
    from skimage.data import astronaut

    from emogen.app.cli.batch import register_cli_commands
    from emogen.batch import load_jobs, plan_items, run_batch

    Image.fromarray(astronaut()).save(tmp / "me.png")
    lines = [{"command": "animate", "image": "me.png", "emotion": EMOTIONS[i % len(EMOTIONS)], "seed": i,
              "size": size, "duration": duration} for i in range(jobs)]  # fmt: skip
    (tmp / "jobs.jsonl").write_text("".join(json.dumps(j) + "\n" for j in lines))
    register_cli_commands()
    results, reference = [], None
    for engine, workers in engines:
        out = tmp / f"batch-{engine}-{workers}"
        items = plan_items(load_jobs(tmp / "jobs.jsonl"), base=tmp, roots=[tmp, out])
        clock = Clock()
        summary = run_batch(items, out, engine=engine, workers=workers, progress=False, on_item=clock.tick)
        files = _files(out)
        reference = reference if reference is not None else files
        results.append(_result("batch", engine, workers, summary, clock, files, reference))
    return results


def bench_augment(engines, tmp: Path, items: int) -> list[dict]:
    from emogen.app.cli.augment import expression_labels, load_identities
    from emogen.batch.augment import AugmentConfig, class_counts
    from emogen.batch.augment_run import run_augment
    from emogen.emotion import LABELS

    config = AugmentConfig(lighting=True, mixtures=True)
    counts = class_counts(LABELS, max(1, items // len(LABELS)))
    images = load_identities("astronaut")
    results, reference = [], None
    for engine, workers in engines:
        out = tmp / f"augment-{engine}-{workers}"
        clock = Clock()
        summary = run_augment(config, images, counts, out, expression=expression_labels, engine=engine,
                              workers=workers, progress=False, on_item=clock.tick)  # fmt: skip
        files = _files(out)
        reference = reference if reference is not None else files
        results.append(_result("augment", engine, workers, summary, clock, files, reference))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=24, help="animate jobs of the batch workload")
    parser.add_argument("--items", type=int, default=160, help="stills of the augment workload")
    parser.add_argument("--size", type=int, default=256, help="animate size (px)")
    parser.add_argument("--duration", type=float, default=1.0, help="animate clip length (s)")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray engine")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("GLOG_minloglevel", "2")

    engines = [("local", 1), ("local", 2)]
    if not args.no_ray:
        try:
            import ray  # noqa: F401

            engines.append(("ray", 2))
        except ImportError:
            print("ray is not installed: pip install 'emogen[ray]' (skipping the Ray engine)")
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        rows = bench_batch(engines, Path(tmp), args.jobs, args.size, args.duration)
        rows += bench_augment(engines, Path(tmp), args.items)
    end_load = os.getloadavg()[0]
    print(f"\n{os.cpu_count()} CPUs; load average {load:.1f} at the start, {end_load:.1f} at the end\n")
    print(
        "| workload | engine | workers | items | seconds | items/s | steady items/s | vs 1 local worker | same bytes |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    base: dict[str, float] = {}
    for r in rows:
        rate = r["items"] / r["seconds"]
        t = r["times"]
        steady = (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else float("nan")
        base.setdefault(r["workload"], steady)
        print(f"| {r['workload']} | {r['engine']} | {r['workers']} | {r['items']} | {r['seconds']:.1f} | {rate:.2f} | "
              f"{steady:.2f} | {steady / base[r['workload']]:.2f}× | {'yes' if r['same'] else 'NO'} |")  # fmt: skip
    return 0 if all(r["same"] and not r["failed"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
