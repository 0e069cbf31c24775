"""Many renders in one call: write a job file, run it with the batch API (the same as `emogen batch`), read the
manifest. Rerunning skips what is finished; a failing job is recorded and the others go on.

Run: ``python examples/batch_render.py [--out out/batch_example] [--workers 2] [--engine local|ray]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from emogen.app.cli.batch import register_cli_commands
from emogen.batch import load_jobs, plan_items, read_jsonl, run_batch

JOBS = """\
# every job is a subcommand with its long options; paths are read relative to this file's folder
defaults: {command: animate, image: astronaut.png, size: 256, duration: 2}
jobs:
  - {emotion: happy, curves: json}                       # also the ARKit curves, as <id>.curves.json
  - {emotion: "0s neutral, 1s sad:0.8", id: astronaut-sad}  # an explicit id names the outputs
  - {emotion: "surprised:0.7+happy:0.3", seed: 7}
  - {emotion: grumpy}                                    # not an emotion: recorded as failed, the rest goes on
  - {command: speak, image: null, size: null, duration: null, text: "We won the match!", emotion: happy,
     timings: true}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/batch_example"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engine", choices=("local", "ray"), default="local")
    args = parser.parse_args()

    # 1. Inputs: a portrait and the job file, side by side
    jobs_dir = args.out / "jobs"
    jobs_dir.mkdir(parents=True, exist_ok=True)
    from PIL import Image
    from skimage.data import astronaut

    Image.fromarray(astronaut()).save(jobs_dir / "astronaut.png")
    (jobs_dir / "jobs.yaml").write_text(JOBS)

    # 2. Plan (ids, seeds and output names from content) and run
    register_cli_commands()  # talk, animate, speak
    out_root = args.out / "renders"
    items = plan_items(load_jobs(jobs_dir / "jobs.yaml"), base=jobs_dir, roots=[jobs_dir, out_root])
    summary = run_batch(items, out_root, engine=args.engine, workers=args.workers)
    print(summary.format())

    # 3. The manifest: one row per item
    for row in read_jsonl(out_root / "manifest.jsonl"):
        what = json.dumps(row["outputs"]) if row["status"] == "done" else row["error"]
        print(f"{row['id']:>18}  {row['status']:6}  {what}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
