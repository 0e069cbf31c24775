"""Run planned work items into an output root: skip finished items, run the rest on an engine, record each.

:func:`run_batch` is what ``emogen batch`` calls after planning (:func:`emogen.batch.jobs.plan_items`). Every item
is rendered by its command into a private scratch folder; its files come back as bytes and the one writer (the
driver, or with accelerate the process that ran the item) puts them under ``OUT_ROOT`` atomically, then the
item's record, then a manifest line (:mod:`emogen.batch.manifest`). Items whose record says done and whose outputs
are on disk are skipped; failed items run again.
"""

from __future__ import annotations

import datetime
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from .executors import ENGINES, Outcome, call_item, engine_session, execute
from .jobs import WorkItem
from .manifest import ItemStore

logger = logging.getLogger(__name__)

__all__ = ["BatchContext", "BatchSummary", "run_batch", "run_work_item"]


@dataclass(frozen=True)
class BatchContext:
    """What every worker needs besides the item.

    Args:
        scratch: folder for the items' scratch folders (``None``: the system's temporary folder, e.g. on a remote
            Ray node).
        blobs: input file contents by SHA-256, for workers that cannot read the driver's files (Ray); ``None``:
            workers read the input paths themselves.
    """

    scratch: str | None = None
    blobs: dict[str, bytes] | None = None


@dataclass
class BatchSummary:
    """Counts and speed of one run."""

    done: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    engine: str = "local"
    workers: int | None = 1
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def items_per_second(self) -> float:
        """Items made per second (done items over the whole run's wall time)."""
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def format(self) -> str:
        return (
            f"done {self.done}, skipped {self.skipped} (already finished), failed {self.failed} in "
            f"{self.seconds:.1f} s ({self.items_per_second:.2f} items/s, engine {self.engine})"
        )


# ------------------------------------------------------------------------------------------------------- worker
def run_work_item(item: WorkItem, context: BatchContext) -> dict[str, dict]:
    """Run one item's command in a scratch folder. Runs in a worker process (or a Ray task).

    Returns:
        ``{"files": {name relative to OUT_ROOT: bytes}, "outputs": {output or companion: name}}``.
    """
    if item.error is not None:
        raise ValueError(item.error)
    if item.run is None:
        raise ValueError(f"{item.source}: command {item.command!r} has nothing to run.")
    context = context or BatchContext()
    if context.scratch is not None:
        Path(context.scratch).mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{item.id}-", dir=context.scratch))
    try:
        options = dict(item.options)
        if context.blobs is not None:  # inputs travel as bytes: write them where this worker can read them
            for name, digest in item.inputs.items():
                local = scratch / "inputs" / (digest + Path(str(options[name])).suffix.lower())
                local.parent.mkdir(exist_ok=True)
                local.write_bytes(context.blobs[digest])
                options[name] = str(local)
        out_dir = scratch / "out"
        out_dir.mkdir()
        paths = {name: str(out_dir / Path(rel).name) for name, rel in item.outputs.items()}
        item.run(options, paths, item.seed)
        files, outputs = {}, {}
        for name, rel in item.outputs.items():
            p = Path(paths[name])
            if not p.is_file() or p.stat().st_size == 0:
                raise RuntimeError(f"{item.command} finished without writing its {name} ({p.name}).")
            files[rel], outputs[name] = p.read_bytes(), rel
        for name, rel in item.companions.items():
            p = out_dir / Path(rel).name
            if p.is_file() and p.stat().st_size > 0:
                files[rel], outputs[name] = p.read_bytes(), rel
        return {"files": files, "outputs": outputs}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# ------------------------------------------------------------------------------------------------------ driver
def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _where(item: WorkItem, error: str | None) -> str | None:
    """The error, prefixed with where the job is written (``jobs.yaml: job 3``) unless it says so already."""
    if error is None or not item.source or error.startswith(item.source):
        return error
    return f"{item.source}: {error}"


def _row(item: WorkItem, outcome: Outcome | None) -> dict[str, Any]:
    ok = outcome is not None and outcome.ok
    row: dict[str, Any] = {
        "id": item.id,
        "job": item.job,
        "source": item.source,
        "status": "done" if ok else "failed",
        "error": None if ok else _where(item, outcome.error if outcome is not None else item.error),
        "outputs": dict(outcome.result["outputs"]) if ok else {},
        "seed": item.seed,
        "inputs": dict(item.inputs),
        "timings": {"run_s": round(outcome.seconds, 3) if outcome is not None else 0.0, "finished": _now()},
        "version": __version__,
    }
    if outcome is not None and outcome.traceback:
        row["traceback"] = outcome.traceback
    return row


def _finish(store: ItemStore, item: WorkItem, outcome: Outcome | None, live: bool) -> dict[str, Any]:
    if outcome is not None and outcome.ok:
        for rel, data in outcome.result["files"].items():
            store.write_output(rel, data)
    row = _row(item, outcome)
    store.write_record(row)
    if live:
        store.append_manifest(row)
    return row


def _manifest_rows(store: ItemStore, items: Sequence[WorkItem]) -> list[dict[str, Any]]:
    """This plan's items in job order, then earlier items of the same root by id; one row per item."""
    records = store.load_records()
    rows = [records[i.id] for i in items if i.id in records]
    mine = {i.id for i in items}
    rows += [records[k] for k in sorted(records) if k not in mine]
    return rows


def _plan_run(store: ItemStore, items: Sequence[WorkItem]) -> tuple[list[WorkItem], list[WorkItem]]:
    """(items to run, items already finished)."""
    records = store.load_records()
    finished = [i for i in items if i.error is None and store.is_done(records.get(i.id), i.outputs.values())]
    done_ids = {i.id for i in finished}
    return [i for i in items if i.id not in done_ids], finished


def run_batch(
    items: Sequence[WorkItem],
    out_root: str | os.PathLike,
    *,
    engine: str = "local",
    workers: int | None = 1,
    address: str | None = None,
    gpus_per_worker: float = 0.0,
    progress: bool = True,
    on_item: Callable[[dict[str, Any]], None] | None = None,
) -> BatchSummary:
    """Run ``items`` into ``out_root`` (see the module docstring); returns the summary.

    Args:
        items: planned work items (distinct ids).
        out_root: the output root.
        engine: ``"local"`` (process pool), ``"ray"`` or ``"accelerate"`` (one process per device, started by
            ``accelerate launch``; every process calls this with the same items).
        workers: local — processes (``0``: this process); Ray — tasks in flight (``None``: the cluster's CPUs);
            ignored by accelerate (one item at a time per process).
        address: Ray cluster address (``None``: a local instance unless ``RAY_ADDRESS`` is set).
        gpus_per_worker: GPUs each Ray task reserves.
        progress: show a progress bar (with ETA).
        on_item: called with each finished row (in the writing process).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}.")
    store = ItemStore(out_root)
    if engine == "accelerate":
        return _run_accelerate(items, store, progress, on_item)
    with engine_session(engine, address, workers):  # Ray: reachable before anything is written
        start = time.perf_counter()
        store.prepare([rel for i in items for rel in (*i.outputs.values(), *i.companions.values())])
        todo, finished = _plan_run(store, items)
        store.write_manifest(_manifest_rows(store, items))  # a torn line of an interrupted run is repaired here
        summary = BatchSummary(skipped=len(finished), engine=engine, workers=workers)
        runnable = [i for i in todo if i.error is None]
        from tqdm.auto import tqdm

        with tqdm(total=len(todo), desc="batch", unit="item", disable=not progress) as bar:
            for item in (i for i in todo if i.error is not None):
                _count(summary, _finish(store, item, None, live=True), on_item)
                bar.update()
            context = BatchContext(scratch=None if engine == "ray" else str(store.tmp_dir))
            if engine == "ray":
                blobs = {}
                for item in runnable:
                    for name, digest in item.inputs.items():
                        blobs.setdefault(digest, Path(item.options[name]).read_bytes())
                context = BatchContext(scratch=None, blobs=blobs)
            for outcome in execute(run_work_item, runnable, context, engine=engine, workers=workers, address=address,
                                   gpus_per_worker=gpus_per_worker):  # fmt: skip
                _count(summary, _finish(store, outcome.item, outcome, live=True), on_item)
                bar.update()
                bar.set_postfix(failed=summary.failed, refresh=False)
        store.write_manifest(_manifest_rows(store, items))
        summary.seconds = time.perf_counter() - start
        return summary


def _count(summary: BatchSummary, row: dict[str, Any], on_item) -> None:
    if row["status"] == "done":
        summary.done += 1
    else:
        summary.failed += 1
        summary.errors[row["id"]] = row["error"]
    if on_item is not None:
        on_item(row)


def _run_accelerate(items: Sequence[WorkItem], store: ItemStore, progress: bool, on_item) -> BatchSummary:
    """One share of the items per process (``PartialState().split_between_processes``); names and seeds come
    from the items, so the split never changes an output."""
    try:
        from accelerate import PartialState
        from accelerate.utils import gather_object
    except ImportError:
        raise ValueError("the accelerate engine needs accelerate: pip install accelerate.") from None
    import torch
    from tqdm.auto import tqdm

    accelerator = getattr(torch, "accelerator", None)
    has_device = accelerator.is_available() if accelerator is not None else torch.cuda.is_available()
    state = PartialState(cpu=not has_device)  # without a device: one CPU process each (gloo)
    if state.device.type == "cuda":
        torch.cuda.set_device(state.device)
    start = time.perf_counter()
    if state.is_main_process:
        store.prepare([rel for i in items for rel in (*i.outputs.values(), *i.companions.values())])
    state.wait_for_everyone()
    todo, finished = _plan_run(store, items)  # every process sees the same records before anyone writes
    state.wait_for_everyone()
    summary = BatchSummary(skipped=len(finished), engine="accelerate", workers=state.num_processes)
    context = BatchContext(scratch=str(store.tmp_dir))
    with state.split_between_processes(list(todo)) as mine:
        bar = tqdm(mine, desc=f"batch (process {state.process_index})", unit="item",
                   disable=not progress or not state.is_main_process)  # fmt: skip
        for item in bar:
            outcome = None if item.error is not None else call_item(run_work_item, item, context)
            _count(summary, _finish(store, item, outcome, live=False), on_item)
    counts = gather_object([(summary.done, summary.failed, summary.errors)])
    state.wait_for_everyone()
    summary.done = sum(c[0] for c in counts)
    summary.failed = sum(c[1] for c in counts)
    summary.errors = {k: v for c in counts for k, v in c[2].items()}
    if state.is_main_process:
        store.write_manifest(_manifest_rows(store, items))
    state.wait_for_everyone()
    summary.seconds = time.perf_counter() - start
    return summary
