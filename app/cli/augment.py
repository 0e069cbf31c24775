"""``emogen augment``: balanced, labelled, reproducible face-expression datasets; ``--report`` reads them back."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._common import fps_type, int_range

#: Public-domain portraits that ship inside installed packages, usable as ``--identities`` names.
BUILTIN_IDENTITIES = ("astronaut", "grace_hopper")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "augment",
        help="make a balanced, labelled dataset of expressions (stills or clips); --report reads it back",
        description=(
            "Render a dataset of faces showing emotions, with exactly --per-class items per class (or a label "
            "histogram filled up), varying identity, head pose, gaze, intensity, blinks, optionally lighting/colour, "
            "mixtures (soft labels) and, for clips, speech-like mouth motion. Each item's labels (label, soft label, "
            "VAD, intensity, 52 ARKit weights, EMFACS action units, pose, lighting, seed) are one row of "
            "OUT_DIR/manifest.jsonl. The same arguments give byte-identical images; an interrupted run resumes. "
            "With only the astronaut, identity does not vary: every item is the same face."
        ),
        epilog=(
            "examples:\n"
            "  emogen augment --identities astronaut --emotions all --per-class 20 -o out/aug\n"
            "  emogen augment --identities faces/ --emotions angry,sad,contempt --per-class 500 --mixtures \\\n"
            "                 --lighting --pose-jitter 12 --workers 2 --format parquet -o out/aug_pq\n"
            "  emogen augment --match-histogram counts.json --judge -o out/fill   # fill a long-tailed dataset up\n"
            "  emogen augment --video --frames 16 --fps 25 --per-class 10 -o out/clips\n"
            "  emogen augment --report out/aug                                   # per-class agreement, confusion\n"
            "load it:\n"
            '  datasets.load_dataset("imagefolder", data_dir="out/aug")         # image, label, probs, vad, ...'
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-o", "--output", type=Path, metavar="OUT_DIR", help="dataset folder (new, empty, or to complete)")
    p.add_argument("--identities", default="astronaut", metavar="DIR|NAMES",
                   help=f"a folder of portraits (png/jpg/webp; every face is an identity) or built-in names "
                   f"{', '.join(BUILTIN_IDENTITIES)} (comma-separated); default astronaut")  # fmt: skip
    p.add_argument("--emotions", default="all", metavar="all|LIST",
                   help="classes: all (neutral, happy, sad, angry, fearful, disgusted, surprised, contempt) or a "
                   "comma-separated list (synonyms accepted)")  # fmt: skip
    p.add_argument("--per-class", type=int_range(0, 10_000_000), metavar="N",
                   help="items per class (with --match-histogram: the level classes are filled up to)")  # fmt: skip
    p.add_argument("--match-histogram", type=Path, metavar="COUNTS.json",
                   help='label counts of an existing dataset, e.g. {"happy": 9000, "sad": 700}: each class gets '
                   "the items it lacks to reach --per-class (default: the largest count)")  # fmt: skip
    p.add_argument("--intensity", default="0.3:1.0", metavar="LO:HI", help="intensity range (default 0.3:1.0)")
    p.add_argument("--mixtures", action="store_true", help="blend half of the items with a second emotion")
    p.add_argument("--pose-jitter", type=float, default=8.0, metavar="DEG",
                   help="head yaw range ±DEG (pitch, roll ±DEG/2); default 8, 0 keeps the photo's pose")  # fmt: skip
    p.add_argument("--lighting", action="store_true", help="randomise lighting and colour (recorded per item)")
    p.add_argument("--video", action="store_true", help="clips (mp4) with blinks, head motion and speech-like mouths")
    p.add_argument("--frames", type=int_range(1, 1000), help="frames per clip (with --video; default 16)")
    p.add_argument("--fps", type=fps_type, help="frames per second of clips (with --video; default 25)")
    p.add_argument("--size", type=int_range(32, 2048), default=224, help="image side in pixels (default 224)")
    p.add_argument("--framing", choices=("face", "portrait", "full"), default="face",
                   help="face: a square of 1.8 face widths (default); portrait: 3 face widths with hair and "
                   "shoulders; full: the whole photo (--size is its long side)")  # fmt: skip
    p.add_argument("--format", choices=("imagefolder", "webdataset", "parquet"), default="imagefolder",
                   help="imagefolder: OUT_DIR/<label>/<id>.png (default); webdataset: tar shards; parquet: one "
                   "table (parquet needs pyarrow: pip install 'emogen[data]')")  # fmt: skip
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="render on the CPU (default) or a CUDA GPU (with Ray: --gpus-per-worker 1)")  # fmt: skip
    p.add_argument("--engine", choices=("local", "ray"), default="local", help="local processes (default) or Ray")
    p.add_argument("--workers", type=int_range(0, 1024), metavar="K",
                   help="local: worker processes (default 1; 0: this process); ray: tasks in flight")  # fmt: skip
    p.add_argument("--address", help="Ray cluster address (auto, host:6379, ray://host:10001)")
    p.add_argument("--gpus-per-worker", type=float, default=0.0, metavar="G", help="GPUs per Ray task")
    p.add_argument("--seed", type=int_range(0, 2**31 - 1), default=0, help="the dataset's seed (default 0)")
    p.add_argument("--judge", nargs="?", const="all", metavar="NAMES",
                   help="also record what installed expression classifiers read on each item (all, or e.g. "
                   "fer2013,facex; see emogen.evaluation.fer)")  # fmt: skip
    p.add_argument("--shard-size", type=int_range(1, 1_000_000), default=1000, help="items per WebDataset shard")
    p.add_argument(
        "--prune",
        action="store_true",
        help="let the run remove items of -o it would not make (smaller --per-class, other settings)",
    )
    p.add_argument("--report", type=Path, metavar="OUT_DIR",
                   help="print the judges' per-class agreement and confusion matrices, then exit")  # fmt: skip
    p.set_defaults(func=run)


# ----------------------------------------------------------------------------------------------------- helpers
_PRIOR = {}


def expression_labels(probs, intensity):
    """Action-unit intensities and ARKit weights of a soft label at an intensity (the control layer's prior)."""
    from emogen.controls import ExpressionPrior
    from emogen.controls.expression import ACTION_UNITS

    if "prior" not in _PRIOR:
        _PRIOR["prior"] = ExpressionPrior()
    prior = _PRIOR["prior"]
    aus = prior.action_units(probs, intensity)
    return dict(zip(ACTION_UNITS, aus.tolist(), strict=True)), prior.from_state(probs, intensity)


def load_identities(spec: str) -> dict:
    """Identity name → RGB uint8 photo, from a folder or built-in names (see ``--identities``)."""
    import numpy as np

    from emogen.io.image import to_rgb_uint8

    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"--identities folder {spec!r} holds no {'/'.join(_IMAGE_SUFFIXES)} images.")
        stems = [p.stem for p in files]
        return {(p.stem if stems.count(p.stem) == 1 else p.name): to_rgb_uint8(p, name=str(p)) for p in files}
    out = {}
    for name in (n.strip() for n in spec.split(",") if n.strip()):
        if name == "astronaut":
            import skimage.data

            out[name] = np.ascontiguousarray(skimage.data.astronaut())
        elif name == "grace_hopper":
            import matplotlib.cbook
            from PIL import Image

            with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
                out[name] = np.asarray(Image.open(f).convert("RGB"))
        else:
            raise ValueError(
                f"--identities {spec!r}: {name!r} is neither a folder nor a built-in portrait "
                f"({', '.join(BUILTIN_IDENTITIES)})."
            )
    if not out:
        raise ValueError(f"--identities {spec!r} names no portrait.")
    return out


def _intensity(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(":"))
    except ValueError:
        raise ValueError(f"--intensity must be LOW:HIGH, e.g. 0.3:1.0, got {text!r}.") from None
    if not 0.0 <= lo <= hi <= 1.0:
        raise ValueError(f"--intensity must be LOW:HIGH with 0 <= LOW <= HIGH <= 1, got {text!r}.")
    return lo, hi


def _histogram(path: Path) -> dict:
    if not path.is_file():
        raise ValueError(f"--match-histogram: no such file {str(path)!r}.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"--match-histogram {str(path)!r} is not JSON ({err.msg}).") from None
    if not isinstance(data, dict):
        raise ValueError(
            f'--match-histogram must hold a JSON object of label counts, e.g. {{"happy": 900}}; got {data!r}.'
        )
    return data


def _report(folder: Path) -> int:
    from emogen.batch.augment_run import read_manifest
    from emogen.batch.report import agreement_report

    print(agreement_report(read_manifest(folder)), end="")
    return 0


# --------------------------------------------------------------------------------------------------------- run
def run(args: argparse.Namespace) -> int:
    if args.report is not None:
        if args.output is not None:
            raise ValueError("--report reads a finished dataset; give it alone (without -o).")
        return _report(args.report)

    # 1. Check inputs
    from emogen.batch.augment import AugmentConfig, class_counts, parse_emotions

    if args.output is None:
        raise ValueError("give the dataset folder with -o OUT_DIR (or --report OUT_DIR to read one).")
    if args.per_class is None and args.match_histogram is None:
        raise ValueError("give --per-class N or --match-histogram counts.json.")
    if not args.video and (args.frames is not None or args.fps is not None):
        raise ValueError("--frames and --fps apply to clips; add --video.")
    if args.engine != "ray" and (args.address is not None or args.gpus_per_worker):
        raise ValueError("--address and --gpus-per-worker apply to --engine ray only.")
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available() and args.engine != "ray":
            raise ValueError("--device cuda: no CUDA device is available here (torch.cuda.is_available() is False).")
    if args.format == "parquet":
        import importlib.util

        if importlib.util.find_spec("pyarrow") is None:
            raise ValueError("--format parquet needs pyarrow: pip install 'emogen[data]' (or pip install pyarrow).")
    judge = None
    if args.judge is not None:
        from emogen.evaluation.fer import JUDGE_NAMES

        judge = [] if args.judge == "all" else [j.strip() for j in args.judge.split(",") if j.strip()]
        unknown = sorted(set(judge) - set(JUDGE_NAMES))
        if unknown:
            raise ValueError(f"--judge: unknown judges {unknown}; choose from all, {', '.join(JUDGE_NAMES)}.")
    emotions = parse_emotions(args.emotions)
    histogram = _histogram(args.match_histogram) if args.match_histogram is not None else None
    counts = class_counts(emotions, args.per_class, histogram)
    config = AugmentConfig(
        emotions=emotions, intensity=_intensity(args.intensity), mixtures=args.mixtures, pose_jitter=args.pose_jitter,
        lighting=args.lighting, video=args.video, frames=args.frames or 16, fps=args.fps or 25.0, size=args.size,
        framing=args.framing, seed=args.seed, device=args.device,
    )  # fmt: skip
    images = load_identities(args.identities)

    # 2. Render, judge, write
    from emogen.batch.augment_run import run_augment

    workers = args.workers if args.workers is not None else (None if args.engine == "ray" else 1)
    summary = run_augment(config, images, counts, args.output, expression=expression_labels, fmt=args.format,
                          engine=args.engine, workers=workers, address=args.address,
                          gpus_per_worker=args.gpus_per_worker, judge=judge, shard_size=args.shard_size,
                          prune=args.prune)  # fmt: skip

    # 3. Summary
    print(summary.format())
    for name, reason in summary.skipped_identities.items():
        print(f"left out identity {name}: {reason}")
    for ident, error in list(summary.errors.items())[:10]:
        print(f"failed {ident}: {error}")
    if args.judge is not None:
        ran = ", ".join(summary.judges) or "none installed"
        print(f"judges: {ran}; per-class agreement: emogen augment --report {args.output}")
    print(f"manifest: {args.output / 'manifest.jsonl'}")
    return 1 if summary.failed else 0
