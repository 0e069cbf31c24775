"""Job files, the registry of commands a job may call, and planning jobs into work items.

A job file lists calls of registered commands, each written as the command name plus its long options (``-`` or
``_`` between words), e.g. ``{"command": "animate", "image": "me.jpg", "emotion": "happy", "duration": 2}``.
Formats: ``.jsonl`` (one object per line; blank lines and ``#`` comments skipped), ``.json`` and ``.yaml``/``.yml``
(a list of jobs, or a mapping ``{"defaults": {...}, "jobs": [...]}`` whose defaults every job inherits; a job's
``null`` takes a default back).

Planning turns each job into a :class:`WorkItem`: options checked and converted by the command, input paths confined
(:mod:`emogen.batch.paths`) and digested, the seed and the item id derived from content (:mod:`emogen.batch.ids`),
output file names derived from the id. A job that cannot be planned (unknown command or option, bad value, a path
escaping the roots, a missing input) becomes a work item that carries its error: it is recorded as failed and the
other jobs go on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from .ids import check_item_id, derive_seed, file_digest, item_id
from .paths import confine_path

__all__ = [
    "COMMANDS",
    "JOB_FORMATS",
    "BatchCommand",
    "CommandRegistry",
    "Job",
    "WorkItem",
    "load_jobs",
    "plan_items",
]

#: Job file suffixes that are read.
JOB_FORMATS: tuple[str, ...] = (".jsonl", ".json", ".yaml", ".yml")
_RESERVED = ("command", "id")


@dataclass(frozen=True)
class BatchCommand:
    """A command that batch jobs may call.

    Args:
        name: the job's ``"command"`` value.
        run: ``run(options, outputs, seed)`` writes the outputs (``{output option: absolute path}``); a module-level
            function, so that it reaches worker processes and Ray tasks by reference.
        options: accepted option names (underscores), outputs and inputs included.
        inputs: options that name input files (confined, digested, shipped to remote workers).
        outputs: output option → accepted suffixes (the first is the default).
        required_outputs: outputs every item writes (the job may not name them: they are named by the item id);
            the other outputs are written when the job asks for them (``true`` or a suffix such as ``"json"``).
        seeded: whether the command takes a ``seed`` option (derived from the item when the job gives none).
        companions: files the command writes beside its ``output`` when it has something for them (the output's
            name with another suffix), name → suffix, e.g. ``{"audio": ".wav"}``; collected when present.
        normalize: checks and converts a job's options (without outputs) the way the command would, raising
            ``ValueError``; returns JSON-like values. ``None`` keeps them as written.
    """

    name: str
    run: Callable[[dict[str, Any], dict[str, str], int | None], None]
    options: frozenset[str]
    inputs: frozenset[str] = frozenset()
    outputs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    required_outputs: frozenset[str] = frozenset({"output"})
    seeded: bool = True
    normalize: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    companions: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = set(self.required_outputs) - set(self.outputs)
        if missing:
            raise ValueError(f"{self.name}: required outputs {sorted(missing)} have no suffixes in outputs.")


class CommandRegistry:
    """Name → :class:`BatchCommand`; entry points register theirs (the ``emogen`` CLI registers its subcommands)."""

    def __init__(self) -> None:
        self._commands: dict[str, BatchCommand] = {}

    def register(self, command: BatchCommand) -> BatchCommand:
        """Add (or replace) ``command``; returns it."""
        if not isinstance(command, BatchCommand):
            raise TypeError(f"expected a BatchCommand, got {type(command).__name__}.")
        self._commands[command.name] = command
        return command

    def get(self, name: object) -> BatchCommand:
        if not isinstance(name, str) or name not in self._commands:
            raise ValueError(f"unknown command {name!r}; batch jobs can call: {', '.join(self.names()) or 'none'}.")
        return self._commands[name]

    def names(self) -> list[str]:
        return sorted(self._commands)

    def __contains__(self, name: object) -> bool:
        return name in self._commands

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


#: The process-wide registry the ``emogen batch`` command plans with.
COMMANDS = CommandRegistry()


@dataclass(frozen=True)
class Job:
    """One job as written (defaults merged): ``spec`` is a mapping of JSON values; ``source`` says where it is."""

    index: int
    spec: dict[str, Any]
    source: str


@dataclass(frozen=True)
class WorkItem:
    """A planned job.

    Args:
        id: item id (outputs are named after it).
        index: the job's position in the job file.
        source: where the job is written (``"jobs.jsonl:4"``).
        job: the job as written (for the manifest).
        command: the command name.
        options: checked options, input paths resolved to absolute paths.
        outputs: output option → file name relative to ``OUT_ROOT``.
        companions: companion name → file name relative to ``OUT_ROOT`` (written only sometimes).
        seed: the seed passed to the command (``None``: the command takes none).
        inputs: input option → SHA-256 of the file's content.
        run: the command's ``run`` callable.
        error: why the job cannot run (then it is recorded as failed without running).
        content: hash of what determines the outputs (equal for jobs that differ only in how they spell paths).
    """

    id: str
    index: int
    source: str
    job: dict[str, Any]
    command: str
    options: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    companions: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    run: Callable | None = field(default=None, repr=False, compare=False)
    error: str | None = None
    content: str = ""


# ------------------------------------------------------------------------------------------------------ job files
def _check_scalar(value: Any, where: str) -> None:
    if isinstance(value, (list, tuple)):
        for v in value:
            _check_scalar(v, where)
        return
    if value is not None and not isinstance(value, (str, int, float, bool)):
        raise ValueError(f"{where}: option values must be strings, numbers, booleans or lists of them, got {value!r}.")


def _as_job(raw: Any, index: int, source: str, defaults: Mapping[str, Any]) -> Job:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{source}: a job must be a mapping of options, got {type(raw).__name__} {raw!r}.")
    spec = {**defaults, **raw}
    for key, value in spec.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"{source}: option names must be strings, got {key!r}.")
        _check_scalar(value, f"{source}: {key}")
    return Job(index=index, spec=dict(spec), source=source)


def load_jobs(path: str | os.PathLike) -> list[Job]:
    """Read a job file (see the module docstring for the formats).

    Raises:
        ValueError: unknown suffix, unreadable content, or jobs that are not mappings of scalar options.
        FileNotFoundError: no such file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in JOB_FORMATS:
        raise ValueError(f"job file {str(path)!r} must end in {', '.join(JOB_FORMATS)}.")
    if not path.is_file():
        raise FileNotFoundError(f"no such job file: {str(path)!r}")
    text = path.read_text(encoding="utf-8")
    name = path.name
    if suffix == ".jsonl":
        jobs = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{name}:{lineno}: not a JSON object ({err.msg}).") from None
            jobs.append(_as_job(raw, len(jobs), f"{name}:{lineno}", {}))
        return jobs
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{name}: not valid JSON ({err.msg} at line {err.lineno}).") from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ValueError(f"{name}: not valid YAML ({err}).") from None
    defaults: Mapping[str, Any] = {}
    if isinstance(data, Mapping):
        unknown = set(data) - {"defaults", "jobs"}
        if unknown or "jobs" not in data:
            raise ValueError(
                f"{name}: a mapping must hold 'jobs' (a list) and optionally 'defaults'; got {sorted(data)}."
            )
        defaults = data.get("defaults") or {}
        if not isinstance(defaults, Mapping):
            raise ValueError(f"{name}: 'defaults' must be a mapping of options, got {defaults!r}.")
        data = data["jobs"]
    if data is None:
        data = []
    if not isinstance(data, list):
        raise ValueError(f"{name}: expected a list of jobs, got {type(data).__name__}.")
    return [_as_job(raw, i, f"{name}: job {i + 1}", defaults) for i, raw in enumerate(data)]


# ------------------------------------------------------------------------------------------------------- planning
def _option_name(key: str) -> str:
    return key.strip().replace("-", "_")


def _failed(job: Job, error: str) -> WorkItem:
    explicit = job.spec.get("id")
    try:
        ident = check_item_id(explicit) if explicit is not None else None
    except ValueError:
        ident = None
    content = item_id({"job": job.spec, "version": __version__})
    return WorkItem(id=ident or content, index=job.index, source=job.source, job=job.spec,
                    command=str(job.spec.get("command")), error=error, content=content)  # fmt: skip


def _output_suffix(cmd: BatchCommand, option: str, value: Any, where: str) -> str | None:
    suffixes = cmd.outputs[option]
    if value is None or value is False:
        return None
    if value is True:
        return suffixes[0]
    if isinstance(value, str):
        suffix = value.lower() if value.startswith(".") else "." + value.lower()
        if suffix in suffixes:
            return suffix
    raise ValueError(
        f"{where}: {option!r} takes true or one of {', '.join(s.lstrip('.') for s in suffixes)} (outputs are named "
        f"by the item id under OUT_ROOT), got {value!r}."
    )


def _plan_one(job: Job, registry: CommandRegistry, base: Path, roots: Sequence[Path], base_seed: int) -> WorkItem:
    spec = job.spec
    where = job.source
    cmd = registry.get(spec.get("command"))
    options: dict[str, Any] = {}
    for key, value in spec.items():
        if key in _RESERVED or value is None:  # null: not given (it takes back a default of the file)
            continue
        name = _option_name(key)
        if name in options:
            raise ValueError(f"{where}: option {name!r} is given twice.")
        options[name] = value
    accepted = set(cmd.options) | ({"seed"} if cmd.seeded else set())
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ValueError(
            f"{where}: {cmd.name} has no option {', '.join(repr(u) for u in unknown)}; accepted: "
            f"{', '.join(sorted(accepted - set(cmd.required_outputs)))}."
        )
    # outputs: named by the item id
    wanted: dict[str, str] = {}
    for name in cmd.outputs:
        if name in cmd.required_outputs:
            if name in options:
                raise ValueError(f"{where}: {name!r} is named by the item id under OUT_ROOT; remove it from the job.")
            wanted[name] = cmd.outputs[name][0]
        elif name in options:
            suffix = _output_suffix(cmd, name, options.pop(name), where)
            if suffix is not None:
                wanted[name] = suffix
    # inputs: confined, existing files, digested
    digests: dict[str, str] = {}
    for name in sorted(cmd.inputs & set(options)):
        if options[name] is None:
            continue
        path = confine_path(options[name], base, roots, what=f"{where}: {name}")
        if not path.is_file():
            raise ValueError(f"{where}: {name}: no such file {str(options[name])!r}.")
        options[name] = str(path)
        digests[name] = file_digest(path)
    seed = options.pop("seed", None)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"{where}: seed must be a non-negative integer, got {seed!r}.")
    normalized = cmd.normalize(dict(options)) if cmd.normalize is not None else dict(options)
    hashed = {k: ("sha256:" + digests[k] if k in digests else v) for k, v in normalized.items()}
    content = {"command": cmd.name, "options": hashed, "outputs": wanted, "version": __version__}
    if cmd.seeded and seed is None:
        seed = derive_seed(content, base_seed)
    derived = item_id({**content, "seed": seed})
    explicit = spec.get("id")
    ident = check_item_id(explicit, f"{where}: id") if explicit is not None else derived
    outputs = {
        name: f"{ident}{suffix}" if name in cmd.required_outputs else f"{ident}.{name}{suffix}"
        for name, suffix in wanted.items()
    }
    companions = {name: f"{ident}{suffix}" for name, suffix in cmd.companions.items()}
    return WorkItem(id=ident, index=job.index, source=where, job=spec, command=cmd.name, options=normalized,
                    outputs=outputs, companions=companions, seed=seed if cmd.seeded else None, inputs=digests,
                    run=cmd.run, content=derived)  # fmt: skip


def plan_items(
    jobs: Sequence[Job],
    *,
    base: str | os.PathLike,
    roots: Sequence[str | os.PathLike],
    registry: CommandRegistry | None = None,
    base_seed: int = 0,
) -> list[WorkItem]:
    """Plan ``jobs`` into work items, one per distinct item id, in job order.

    Args:
        jobs: from :func:`load_jobs`.
        base: folder relative paths are taken from (the job file's folder).
        roots: folders input paths may lie in (the input roots and ``OUT_ROOT``).
        registry: the commands (default :data:`COMMANDS`).
        base_seed: mixed into the seeds derived for jobs that give none.

    Returns:
        Work items; a job that cannot be planned carries its ``error``. A job identical to an earlier one (same id,
        same content) is planned once.

    Raises:
        ValueError: two different jobs given the same explicit ``id``.
    """
    registry = registry or COMMANDS
    base = Path(base)
    roots = [Path(r) for r in roots]
    items: list[WorkItem] = []
    seen: dict[str, WorkItem] = {}
    for job in jobs:
        try:
            item = _plan_one(job, registry, base, roots, base_seed)
        except (ValueError, TypeError) as err:
            item = _failed(job, str(err))
        if item.id in seen:
            first = seen[item.id]
            if first.content != item.content:
                raise ValueError(f"{item.source} and {first.source} share the id {item.id!r} but differ.")
            continue
        seen[item.id] = item
        items.append(item)
    return items
