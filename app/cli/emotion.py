"""``emogen emotion``: read emotion from text, or expand an emotion timeline into a per-frame track."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from emogen.pipelines.defaults import DEFAULTS, LIMITS


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "emotion",
        help="read VAD and labels from text, or expand an emotion timeline",
        description=(
            "Read valence/arousal/dominance (each in [-1, 1]) and a label distribution from free text, or expand "
            "an emotion spec or timeline into a per-frame track."
        ),
        epilog=(
            'examples:\n  emogen emotion "I am furious" "What a lovely day"\n'
            "  emogen emotion --json --input-file sentences.txt\n"
            '  emogen emotion --timeline "0s neutral, 1s happy:0.8, 2.5s sad" --fps 25 --dynamics second-order '
            "--plot out/timeline.png"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("texts", nargs="*", help="texts to analyse")
    p.add_argument("--input-file", type=Path, help="analyse one text per line of this file (UTF-8), in order")
    p.add_argument(
        "--timeline",
        metavar="SPEC",
        help="emotion spec or timeline to expand per frame, e.g. '0s neutral, 1.2s happy:0.8, 3s sad:0.5'",
    )
    p.add_argument("--fps", type=float, default=25.0, help="frame rate of the expanded track (default 25)")
    p.add_argument("--duration", type=float, help="length in seconds (default: last keyframe + 1 s)")
    p.add_argument(
        "--dynamics",
        choices=("none", "first-order", "second-order"),
        default=DEFAULTS.emotion_dynamics,
        help=f"affect dynamics between keyframes, as renders use them (default {DEFAULTS.emotion_dynamics}; "
        "none: linear interpolation)",
    )
    p.add_argument("--tau", type=float, help="first-order time constant in seconds (default 0.35)")
    p.add_argument("--period", type=float, help="second-order natural period in seconds (default 1.0)")
    p.add_argument("--damping", type=float, help="second-order damping ratio (default 0.5; 1 = no overshoot)")
    p.add_argument("--plot", type=Path, help="with --timeline: save a plot of V/A/D and the top labels over time")
    p.add_argument("--json", action="store_true", help="print JSON (one object per text per line)")
    p.add_argument("--batch-size", type=int, default=64, help="texts per batch (default 64)")
    p.set_defaults(func=run)


def _format_text(result) -> str:
    v, a, d = result.vad
    top = ", ".join(f"{name} {p:.2f}" for name, p in result.top(3))
    return f"{result.text}\n  V {v:+.2f}  A {a:+.2f}  D {d:+.2f}  |  {top}"


def _run_texts(args: argparse.Namespace) -> int:
    from emogen.controls import analyze_text

    texts = list(args.texts)
    if args.input_file is not None:
        if not args.input_file.is_file():
            raise FileNotFoundError(f"--input-file {str(args.input_file)!r} does not exist or is not a file.")
        size = args.input_file.stat().st_size
        if size > LIMITS.upload_bytes:
            raise ValueError(
                f"--input-file {str(args.input_file)!r} is {size / 2**20:.0f} MiB; the largest accepted is "
                f"{LIMITS.upload_bytes / 2**20:.0f} MiB (split it)."
            )
        try:
            lines = args.input_file.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as err:
            raise ValueError(f"--input-file {str(args.input_file)!r} is not UTF-8 text ({err}).") from None
        blank = [i + 1 for i, line in enumerate(lines) if not line.strip()]
        if blank:
            raise ValueError(
                f"--input-file {str(args.input_file)!r} has empty lines ({', '.join(map(str, blank[:5]))}"
                f"{'…' if len(blank) > 5 else ''}); give one non-empty text per line."
            )
        texts += lines
    for i, text in enumerate(texts):
        if not text.strip():
            raise ValueError(f"Text {i + 1} is empty; give some words to analyse.")
    if not 1 <= args.batch_size <= LIMITS.text_batch:
        raise ValueError(f"--batch-size must be in [1, {LIMITS.text_batch}], got {args.batch_size}.")
    results = analyze_text(texts, batch_size=args.batch_size, show_progress=len(texts) > args.batch_size)
    for r in results:
        print(json.dumps(r.to_dict(), ensure_ascii=False) if args.json else _format_text(r))
    return 0


def _run_timeline(args: argparse.Namespace) -> int:
    from emogen.controls import make_dynamics, resolve_emotion
    from emogen.export import plot_emotion_track

    for name in ("tau", "period", "damping", "duration"):  # named as the options are, before the library's checks
        value = getattr(args, name)
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ValueError(f"--{name} must be a positive number, got {value}.")
    dynamics = make_dynamics(args.dynamics, tau=args.tau, period=args.period, damping=args.damping)
    track = resolve_emotion(args.timeline, fps=args.fps, duration=args.duration, dynamics=dynamics)
    if args.plot is not None:
        plot_emotion_track(track, args.plot, title=args.timeline)
        print(f"plot: {args.plot}", file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps({"spec": args.timeline, **track.to_dict()}))
    else:
        top = track.top_label()
        step = max(1, round(track.fps / 4))
        print(f"{track.num_frames} frames at {track.fps:g} fps ({track.duration:.2f} s)")
        print("  time     V      A      D    int  label")
        for i in range(0, track.num_frames, step):
            v, a, d = track.vad[i].tolist()
            print(f"{i / track.fps:6.2f}s {v:+.2f}  {a:+.2f}  {d:+.2f}  {float(track.intensity[i]):.2f}  {top[i]}")
    return 0


def run(args: argparse.Namespace) -> int:
    if not (0 < args.fps <= LIMITS.fps):
        raise ValueError(f"--fps must be in (0, {LIMITS.fps:g}], got {args.fps}.")
    if args.plot is not None and args.timeline is None:
        raise ValueError("--plot draws a --timeline's track; with texts use --json for their VAD and labels.")
    if args.plot is not None:
        from ._common import check_output

        check_output(args.plot, (".png", ".svg", ".pdf"), "--plot")
    if args.timeline is not None:
        if args.texts or args.input_file:
            raise ValueError("Give either texts/--input-file or --timeline, not both.")
        return _run_timeline(args)
    if not args.texts and args.input_file is None:
        raise ValueError("Nothing to do: give texts, --input-file FILE, or --timeline SPEC (see --help).")
    return _run_texts(args)
