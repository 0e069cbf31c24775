"""Engines that run independent work items: in this process, a local process pool, or Ray.

Every engine calls the same ``fn(item, context)`` (a module-level function, so it reaches other processes by
reference) and yields one :class:`Outcome` per item as items finish, in completion order. ``context`` is shipped
once per worker (a pool initializer, or one object in Ray's store), not once per item. An exception inside ``fn``
becomes the outcome's ``error``; it never stops the other items. Nothing here depends on which worker runs which
item: seeds and output names come from the items themselves, and every item is computed with one torch intra-op
thread (:data:`ITEM_THREADS`) whatever the engine, because some float reductions round differently with another
thread count: so every engine and every number of workers gives the same bytes. Parallelism comes from workers.

The ``accelerate`` engine is not a map over a pool but one process per device (``accelerate launch``); see
:func:`emogen.batch.runner.run_batch`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["ENGINES", "ITEM_THREADS", "MAP_ENGINES", "Outcome", "call_item", "execute"]

#: Engines of ``emogen batch``; :data:`MAP_ENGINES` are those :func:`execute` runs.
ENGINES: tuple[str, ...] = ("local", "ray", "accelerate")
MAP_ENGINES: tuple[str, ...] = ("local", "ray")
#: torch intra-op threads while an item is computed, in every engine (see the module docstring).
ITEM_THREADS = 1
#: Exceptions reported as one line (user errors); anything else also keeps its traceback.
_USER_ERRORS = (ValueError, TypeError, FileNotFoundError)
# attempts an item gets when its worker process dies (a crash or the out-of-memory killer)
_POOL_ATTEMPTS = 2

WorkFn = Callable[[Any, Any], Any]


@dataclass
class Outcome:
    """What running one item gave: ``result`` or ``error`` (one line; ``traceback`` for unexpected errors)."""

    item: Any
    result: Any = None
    error: str | None = None
    traceback: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def _quiet_environment() -> None:
    """Worker processes show no progress bars of their own (the driver shows one for all items)."""
    os.environ["TQDM_DISABLE"] = "1"  # read when tqdm is first imported
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("GLOG_minloglevel", "2")
    import tqdm.std

    init = tqdm.std.tqdm.__init__
    if not getattr(init, "_emogen_silenced", False):  # tqdm was imported already: switch its bars off here

        def silenced(self, *args, **kwargs):
            kwargs["disable"] = True
            init(self, *args, **kwargs)

        silenced._emogen_silenced = True
        tqdm.std.tqdm.__init__ = silenced


@contextlib.contextmanager
def _item_threads() -> Iterator[None]:
    """torch at :data:`ITEM_THREADS` intra-op threads for the duration (the caller's count is restored)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        yield
        return
    before = torch.get_num_threads()
    if before != ITEM_THREADS:
        torch.set_num_threads(ITEM_THREADS)
    try:
        yield
    finally:
        if before != ITEM_THREADS:
            torch.set_num_threads(before)


def call_item(fn: WorkFn, item: Any, context: Any) -> Outcome:
    """Run ``fn(item, context)`` with :data:`ITEM_THREADS` torch threads, timing it and turning an exception into
    the outcome's error."""
    start = time.perf_counter()
    try:
        with _item_threads():
            result = fn(item, context)
    except Exception as err:  # noqa: BLE001 - one failing item must not stop the others
        message = f"{type(err).__name__}: {err}" if not isinstance(err, _USER_ERRORS) else str(err)
        trace = None if isinstance(err, _USER_ERRORS) else traceback.format_exc(limit=20)
        return Outcome(item, error=message or type(err).__name__, traceback=trace,
                       seconds=time.perf_counter() - start)  # fmt: skip
    return Outcome(item, result=result, seconds=time.perf_counter() - start)


# ----------------------------------------------------------------------------------------------- process pool
_CONTEXT: Any = None


def _init_worker(context: Any) -> None:
    global _CONTEXT
    _quiet_environment()
    _CONTEXT = context


def _pool_call(fn: WorkFn, item: Any) -> Outcome:
    outcome = call_item(fn, item, _CONTEXT)
    outcome.item = None  # the driver keeps the item; do not send it back
    return outcome


def _run_pool(fn: WorkFn, items: Sequence[Any], context: Any, workers: int) -> Iterator[Outcome]:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    # spawn: forked children of a process holding OpenGL contexts, TFLite or torch threads are not safe
    ctx = multiprocessing.get_context("spawn")
    attempts = {i: 0 for i in range(len(items))}
    todo = list(range(len(items)))
    while todo:
        broken: list[int] = []
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(context,)) as pool:
            futures = {pool.submit(_pool_call, fn, items[i]): i for i in todo}
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    i = futures[future]
                    try:
                        outcome = future.result()
                    except BrokenProcessPool:
                        broken.append(i)
                        continue
                    except Exception as err:  # noqa: BLE001 - e.g. a result that cannot be pickled
                        outcome = Outcome(None, error=f"{type(err).__name__}: {err}")
                    outcome.item = items[i]
                    yield outcome
        todo = []
        for i in sorted(broken):
            attempts[i] += 1
            if attempts[i] >= _POOL_ATTEMPTS:
                yield Outcome(items[i], error="the worker process died while running this item (a crash or out of "
                                             "memory)")  # fmt: skip
            else:
                todo.append(i)
        if todo:
            logger.warning("a worker process died; retrying %d unfinished items in a fresh pool", len(todo))


# ---------------------------------------------------------------------------------------------------------- ray
def _ray_call(fn: WorkFn, item: Any, context: Any) -> Outcome:
    _quiet_environment()
    outcome = call_item(fn, item, context)
    outcome.item = None
    return outcome


@contextlib.contextmanager
def engine_session(engine: str, address: str | None = None, workers: int | None = None) -> Iterator[None]:
    """Around a run: for Ray, connect first (a cluster that cannot be reached fails before any output is touched) and
    shut Ray down afterwards if this started it; other engines need nothing."""
    started = engine == "ray" and start_ray(address, workers)
    try:
        yield
    finally:
        if started:
            import ray

            ray.shutdown()


def start_ray(address: str | None = None, workers: int | None = None) -> bool:
    """Connect to the Ray cluster at ``address`` (``None``: ``RAY_ADDRESS``, else a new local instance with ``workers``
    CPUs) unless Ray is already initialised. Returns whether this call started it (the caller shuts it down).

    Raises:
        ValueError: Ray is not installed, or the cluster cannot be reached (naming the address).
    """
    try:
        import ray
    except ImportError:
        raise ValueError("the ray engine needs Ray: pip install 'emogen[ray]' (or pip install ray).") from None
    if ray.is_initialized():
        return False
    local = address is None and not os.environ.get("RAY_ADDRESS")
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if local and workers:
        kwargs["num_cpus"] = workers
    try:
        ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as err:
        where = address or os.environ.get("RAY_ADDRESS") or "a new local instance"
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"could not reach the Ray cluster at {where!r} ({first}); start one with `ray start --head` on the head "
            "node, or leave out --address for a local Ray instance."
        ) from None
    return True


def _run_ray(
    fn: WorkFn,
    items: Sequence[Any],
    context: Any,
    workers: int | None,
    address: str | None,
    gpus_per_worker: float,
) -> Iterator[Outcome]:
    import ray

    started = start_ray(address, workers)
    try:
        if not workers:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        remote = ray.remote(num_cpus=1, num_gpus=gpus_per_worker, max_retries=1)(_ray_call)
        context_ref = ray.put(context)
        queue = list(range(len(items)))[::-1]
        running: dict[Any, int] = {}
        while queue or running:
            while queue and len(running) < workers:
                i = queue.pop()
                running[remote.remote(fn, items[i], context_ref)] = i
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                i = running.pop(ref)
                try:
                    outcome = ray.get(ref)
                except Exception as err:  # noqa: BLE001 - a worker that died, a task that could not run
                    outcome = Outcome(None, error=f"{type(err).__name__}: {err}".splitlines()[0])
                outcome.item = items[i]
                yield outcome
    finally:
        if started:
            ray.shutdown()


# ---------------------------------------------------------------------------------------------------- dispatch
def execute(
    fn: WorkFn,
    items: Sequence[Any],
    context: Any = None,
    *,
    engine: str = "local",
    workers: int | None = 1,
    address: str | None = None,
    gpus_per_worker: float = 0.0,
) -> Iterator[Outcome]:
    """Run ``fn(item, context)`` for every item; yield outcomes as they finish.

    Args:
        fn: module-level function (it is sent to other processes by reference).
        items: picklable work items.
        context: picklable data every call needs (sent once per worker).
        engine: ``"local"`` or ``"ray"``.
        workers: local — worker processes (``0``: run in this process); Ray — tasks in flight (default: the
            cluster's CPUs). Local workers are started with ``spawn`` and import the main module again: in a
            script, call this under ``if __name__ == "__main__":``.
        address: Ray cluster address (``"auto"``, ``"ray://host:10001"``, ``"host:6379"``); ``None`` starts a
            local Ray instance unless ``RAY_ADDRESS`` is set.
        gpus_per_worker: GPUs each Ray task reserves (``num_gpus``).
    """
    if engine not in MAP_ENGINES:
        raise ValueError(f"engine must be one of {', '.join(MAP_ENGINES)} here, got {engine!r}.")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 0):
        raise ValueError(f"workers must be a non-negative integer, got {workers!r}.")
    if not gpus_per_worker >= 0:
        raise ValueError(f"gpus_per_worker must be >= 0, got {gpus_per_worker!r}.")
    if not items:
        return iter(())
    if engine == "ray":
        return _run_ray(fn, items, context, workers, address, float(gpus_per_worker))
    if not workers:
        return (call_item(fn, item, context) for item in items)
    return _run_pool(fn, items, context, min(workers, len(items)))
