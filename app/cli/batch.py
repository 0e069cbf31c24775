"""``emogen batch``: many render jobs (any batchable subcommand) into one folder, resumable, locally or on a cluster.

The batchable subcommands are registered in :data:`emogen.batch.COMMANDS` from their own argument parsers
(:func:`register_cli_commands`): a job's options are checked and converted exactly as on the command line, and the
job runs the subcommand's own ``run`` — one source of defaults.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import io
from pathlib import Path
from typing import Any

from ._common import int_range

#: Subcommands a job may call → {output option: accepted suffixes, the first being the default}. ``output`` is
#: always written (named ``<id><suffix>``); the others when the job asks (``<id>.<option><suffix>``).
BATCHABLE: dict[str, dict[str, tuple[str, ...]]] = {
    "talk": {"output": (".mp4",), "curves": (".csv", ".json")},
    "animate": {"output": (".mp4",), "curves": (".csv", ".json")},
    "video": {"output": (".mp4",), "curves": (".csv", ".json")},
    "speak": {"output": (".wav",), "timings": (".json",)},
    "avatar": {
        "output": (".glb",), "video": (".mp4",), "turntable": (".mp4",), "csv": (".csv", ".json"),
        "mesh": (".obj", ".ply"),
    },
}  # fmt: skip
#: Files a subcommand writes beside its output when it has something for them: name → suffix.
COMPANIONS: dict[str, dict[str, str]] = {"avatar": {"audio": ".wav"}}
_NOT_IN_JOBS = frozenset({"help", "verbose", "list_voices", "func", "command"})


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "batch",
        help="run many render jobs from a YAML/JSONL file into one folder (resumable; local, Ray, accelerate)",
        description=(
            "Run every job of JOBS (.yaml, .yml, .json or .jsonl): each job is a subcommand with its long options, "
            'e.g. {"command": "animate", "image": "me.jpg", "emotion": "happy", "duration": 2, "size": 256}. '
            f"Commands: {', '.join(BATCHABLE)}. Outputs go to OUT_ROOT named by the item id (a hash of the job, its "
            "seed, its inputs' content and the emogen version; a job's \"id\" overrides it), with OUT_ROOT/"
            "manifest.jsonl holding one row per item (status done/failed, error, outputs, seed, timings). Finished "
            "items are skipped on a rerun; failed ones run again. Paths in the job file are read relative to its "
            "folder and must stay inside the input roots or OUT_ROOT. Exit status: 0 all done, 1 some failed."
        ),
        epilog=(
            "examples:\n"
            "  emogen batch jobs.yaml -o out/batch --workers 2\n"
            "  emogen batch jobs.jsonl -o out/batch --engine ray --address auto --gpus-per-worker 1\n"
            "  accelerate launch --num_processes 4 -m emogen batch jobs.yaml -o out/batch --engine accelerate\n"
            "job file (YAML):\n"
            "  defaults: {command: animate, size: 256, duration: 2}\n"
            "  jobs:\n"
            "    - {image: faces/ana.jpg, emotion: happy, curves: json}\n"
            '    - {image: faces/ana.jpg, emotion: "0s neutral, 1s sad", id: ana-sad}\n'
            '    - {command: speak, text: "We won!", emotion: happy, timings: true}'
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("jobs", type=Path, metavar="JOBS", help="job file (.yaml, .yml, .json, .jsonl)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT_ROOT", help="output folder")
    p.add_argument("--engine", choices=("local", "ray", "accelerate"), default="local",
                   help="local: a process pool (default); ray: Ray tasks (pip install 'emogen[ray]'); accelerate: "
                   "one process per device, started by `accelerate launch -m emogen batch ...`")  # fmt: skip
    p.add_argument("--workers", type=int_range(0, 1024), metavar="K",
                   help="local: worker processes (default 1; 0 runs in this process); ray: tasks in flight "
                   "(default: the cluster's CPUs)")  # fmt: skip
    p.add_argument("--input-root", type=Path, action="append", default=[], metavar="DIR",
                   help="a folder job paths may point into (repeatable; default: the job file's folder)")  # fmt: skip
    p.add_argument("--seed", type=int_range(0, 2**31 - 1), default=0,
                   help="base of the seeds derived for jobs that give none (default 0)")  # fmt: skip
    p.add_argument("--address", help="Ray cluster address (auto, host:6379, ray://host:10001); default: a local "
                   "Ray instance, or RAY_ADDRESS when set")  # fmt: skip
    p.add_argument("--gpus-per-worker", type=float, default=0.0, metavar="G", help="GPUs per Ray task (num_gpus)")
    p.set_defaults(func=run)


# ------------------------------------------------------------------------------------------ commands as jobs
class _RaisingParser(argparse.ArgumentParser):
    """A parser whose usage errors raise ``ValueError`` (one line) instead of exiting."""

    def error(self, message: str):
        raise ValueError(message)

    def exit(self, status: int = 0, message: str | None = None):
        raise ValueError((message or "").strip() or f"the command exited with status {status}")


@functools.cache
def command_parser(name: str) -> argparse.ArgumentParser:
    """The argument parser of subcommand ``name`` (raising ``ValueError`` on bad input)."""
    if name not in BATCHABLE:
        raise ValueError(f"unknown command {name!r}; batch jobs can call: {', '.join(BATCHABLE)}.")
    root = _RaisingParser(prog="emogen", add_help=False)
    sub = root.add_subparsers(dest="command", parser_class=_RaisingParser)
    importlib.import_module(f"{__package__}.{name}").register(sub)
    return sub.choices[name]


def _job_actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {a.dest: a for a in parser._actions if a.dest not in _NOT_IN_JOBS and a.dest != argparse.SUPPRESS}


def _argv(parser: argparse.ArgumentParser, values: dict[str, Any]) -> list[str]:
    """Command-line arguments that give ``values`` (option dest → value) to ``parser``."""
    argv: list[str] = []
    positionals: list[str] = []
    for dest, action in _job_actions(parser).items():
        if dest not in values or values[dest] is None:
            continue
        value = values[dest]
        if not action.option_strings:
            positionals.append(str(value))
            continue
        flag = max(action.option_strings, key=len)
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
            if not isinstance(value, bool):
                raise ValueError(f"{dest.replace('_', '-')} takes true or false, got {value!r}.")
            if value is (isinstance(action, argparse._StoreTrueAction)):
                argv.append(flag)
        elif isinstance(value, (list, tuple)):
            if action.nargs not in ("+", "*") and not isinstance(action.nargs, int):
                raise ValueError(f"{dest.replace('_', '-')} takes one value, got a list {value!r}.")
            argv += [flag, *(str(v) for v in value)]
        else:
            if isinstance(value, bool):
                raise ValueError(f"{dest.replace('_', '-')} takes a value, got {value!r}.")
            argv.append(f"{flag}={value}")  # "=": values that start with "-" stay values
    return argv + (["--", *positionals] if positionals else [])


def normalize_cli_options(command: str, options: dict[str, Any]) -> dict[str, Any]:
    """A job's options checked and converted by the subcommand's own parser (paths as strings)."""
    parser = command_parser(command)
    required = [a for a in parser._actions if a.required and a.dest == "output"]
    values = dict(options)
    for action in required:
        values[action.dest] = "placeholder" + BATCHABLE[command]["output"][0]
    args = parser.parse_args(_argv(parser, values))
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k in options}


def run_cli_job(command: str, options: dict[str, Any], outputs: dict[str, str], seed: int | None) -> None:
    """Run subcommand ``command`` with a job's options, writing ``outputs`` (its stdout is dropped)."""
    parser = command_parser(command)
    values = {**options, **outputs}
    if seed is not None:
        values["seed"] = seed
    args = parser.parse_args(_argv(parser, values))
    args.verbose, args.command = 0, command
    with contextlib.redirect_stdout(io.StringIO()):
        status = args.func(args)
    if status:
        raise RuntimeError(f"{command} exited with status {status}")


def register_cli_commands(registry=None) -> None:
    """Register :data:`BATCHABLE` in ``registry`` (default :data:`emogen.batch.COMMANDS`)."""
    from emogen.batch import COMMANDS, BatchCommand

    registry = COMMANDS if registry is None else registry
    for name, outputs in BATCHABLE.items():
        actions = _job_actions(command_parser(name))
        inputs = {d for d, a in actions.items() if a.type is Path and d not in outputs}
        registry.register(BatchCommand(
            name=name, run=functools.partial(run_cli_job, name), options=frozenset(actions) - {"seed"},
            inputs=frozenset(inputs), outputs=outputs, required_outputs=frozenset({"output"}),
            seeded="seed" in actions, normalize=functools.partial(normalize_cli_options, name),
            companions=COMPANIONS.get(name, {}),
        ))  # fmt: skip


# ------------------------------------------------------------------------------------------------------- run
def run(args: argparse.Namespace) -> int:
    from emogen.batch import load_jobs, plan_items, run_batch

    # 1. Check inputs and plan (no rendering yet)
    if args.engine != "ray" and (args.address is not None or args.gpus_per_worker):
        raise ValueError("--address and --gpus-per-worker apply to --engine ray only.")
    if not args.gpus_per_worker >= 0:
        raise ValueError(f"--gpus-per-worker must be >= 0, got {args.gpus_per_worker}.")
    if args.output.exists() and not args.output.is_dir():
        raise ValueError(f"-o {str(args.output)!r} is a file; give a folder.")
    register_cli_commands()
    jobs = load_jobs(args.jobs)
    base = args.jobs.resolve().parent
    roots = [r.resolve() for r in (args.input_root or [base])] + [args.output.resolve()]
    for r in args.input_root:
        if not r.is_dir():
            raise ValueError(f"--input-root {str(r)!r} is not a folder.")
    items = plan_items(jobs, base=base, roots=roots, base_seed=args.seed)
    workers = args.workers if args.workers is not None else (None if args.engine == "ray" else 1)

    # 2. Run
    summary = run_batch(items, args.output, engine=args.engine, workers=workers, address=args.address,
                        gpus_per_worker=args.gpus_per_worker)  # fmt: skip
    if args.engine == "accelerate":
        from accelerate import PartialState

        if not PartialState().is_main_process:
            return 1 if summary.failed else 0

    # 3. Summary
    print(summary.format())
    for ident, error in list(summary.errors.items())[:10]:
        print(f"failed {ident}: {error.splitlines()[0] if error else ''}")
    if len(summary.errors) > 10:
        print(f"... and {len(summary.errors) - 10} more failures (see the manifest)")
    print(f"manifest: {args.output / 'manifest.jsonl'}")
    return 1 if summary.failed else 0
