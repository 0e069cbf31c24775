"""Batch work: many render jobs or dataset items, resumable, on one machine or a cluster.

* :mod:`~emogen.batch.jobs` — job files, the registry of commands a job may call (:data:`COMMANDS`), planning;
* :mod:`~emogen.batch.ids` — item ids and seeds derived from content (never from a worker's rank);
* :mod:`~emogen.batch.paths` — confinement of the paths a job file names;
* :mod:`~emogen.batch.manifest` — records and the manifest that make runs resumable after ``kill -9``;
* :mod:`~emogen.batch.executors` — engines: in-process, local process pool, Ray;
* :mod:`~emogen.batch.runner` — :func:`run_batch` (``emogen batch``), including the accelerate engine;
* :mod:`~emogen.batch.augment`, :mod:`~emogen.batch.augment_render`, :mod:`~emogen.batch.augment_run` — balanced,
  labelled datasets (``emogen augment``); :mod:`~emogen.batch.report` — what outside classifiers read on them.

Example::

    from emogen.batch import load_jobs, plan_items, run_batch
    from emogen.app.cli.batch import register_cli_commands

    register_cli_commands()                       # talk, animate, speak
    items = plan_items(load_jobs("jobs.yaml"), base=".", roots=[".", "out"])
    summary = run_batch(items, "out", engine="local", workers=2)
"""

from .executors import ENGINES, Outcome, execute
from .ids import canonical_json, derive_seed, file_digest, item_id
from .jobs import COMMANDS, BatchCommand, CommandRegistry, Job, WorkItem, load_jobs, plan_items
from .manifest import MANIFEST, ItemStore, read_jsonl
from .paths import PathEscapeError, confine_path
from .runner import BatchSummary, run_batch

__all__ = [
    "COMMANDS",
    "ENGINES",
    "MANIFEST",
    "BatchCommand",
    "BatchSummary",
    "CommandRegistry",
    "ItemStore",
    "Job",
    "Outcome",
    "PathEscapeError",
    "WorkItem",
    "canonical_json",
    "confine_path",
    "derive_seed",
    "execute",
    "file_digest",
    "item_id",
    "load_jobs",
    "plan_items",
    "read_jsonl",
    "run_batch",
]
