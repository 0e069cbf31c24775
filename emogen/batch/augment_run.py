"""Run ``emogen augment``: plan the items, render the missing ones on an engine, judge them, write the dataset.

Layouts (:mod:`emogen.export.dataset`): ``imagefolder`` writes each item to ``OUT/<label>/<id>.png`` as it is
rendered; ``webdataset`` and ``parquet`` keep rendered items in ``OUT/.emogen/items/`` and pack them when every item
is there. ``OUT/manifest.jsonl`` lists exactly the items present, one row each, in plan order (class by class);
``OUT/dataset_info.json`` holds the label order, the ARKit and action-unit names, the class counts and the settings.
An interrupted run resumes: rendered items are kept (their rows are records under ``OUT/.emogen/records``), the
others are rendered (the same item always gives the same bytes).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tarfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..arkit import ARKIT_BLENDSHAPES
from ..emotion import LABELS
from ..export.data import write_json
from ..export.dataset import DATASET_FORMATS, PARQUET_FILE, write_jsonl, write_parquet_table, write_webdataset_shards
from .augment import AugmentConfig, AugmentItem, plan_augment
from .augment_render import AugmentContext, ExpressionFn, label_index, render_augment_item
from .executors import MAP_ENGINES, engine_session, execute
from .manifest import MANIFEST, STATE_DIR, ItemStore, read_jsonl, remove_stale_temporaries

logger = logging.getLogger(__name__)

__all__ = ["INFO_FILE", "AugmentSummary", "check_identities", "identity_digest", "run_augment"]

INFO_FILE = "dataset_info.json"
_ITEM_FILE = re.compile(r"^[0-9a-f]{16}\.(png|mp4)$")
_SHARD = re.compile(r"^augment-\d{6}\.tar$")


@dataclass
class AugmentSummary:
    """What a run made."""

    done: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    render_seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    skipped_identities: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    judges: list[str] = field(default_factory=list)

    @property
    def items_per_second(self) -> float:
        """Items rendered per second of rendering (worker start-up included, judging and packing not)."""
        return self.done / self.render_seconds if self.render_seconds > 0 else 0.0

    def format(self) -> str:
        classes = ", ".join(f"{k} {v}" for k, v in self.counts.items())
        return (
            f"done {self.done}, skipped {self.skipped} (already there), failed {self.failed} in {self.seconds:.1f} s "
            f"(rendering {self.render_seconds:.1f} s, {self.items_per_second:.2f} items/s); classes: {classes}"
        )


def identity_digest(image: np.ndarray) -> str:
    """SHA-256 of a photo's pixels and shape (the identity's part of every item id)."""
    image = np.ascontiguousarray(image)
    return hashlib.sha256(f"{image.shape}:{image.dtype}".encode() + image.tobytes()).hexdigest()


def check_identities(images: Mapping[str, np.ndarray], progress: bool = True) -> tuple[dict, dict[str, str]]:
    """Split identities into those with a face large enough to animate and the rest (name → reason)."""
    from tqdm.auto import tqdm

    from ..face.tracking import FaceTracker

    ok, bad = {}, {}
    with FaceTracker() as tracker:
        for name in tqdm(sorted(images), desc="finding faces", unit="photo", disable=not progress or len(images) < 4):
            try:
                face = tracker.track(images[name])
            except ValueError as err:
                bad[name] = str(err)
                continue
            if face.inter_pupil_distance < 8:
                bad[name] = f"face too small ({face.inter_pupil_distance:.1f} px between the pupils)"
                continue
            ok[name] = images[name]
    return ok, bad


# ---------------------------------------------------------------------------------------------------- out dir
def _check_out_dir(out: Path, fmt: str) -> None:
    """``out`` must be empty, missing, or an emogen dataset (finished or interrupted) of the same format."""
    if not out.exists():
        return
    if not out.is_dir():
        raise ValueError(f"-o {str(out)!r} is a file; give a folder for the dataset.")
    for marker in (out / INFO_FILE, out / STATE_DIR / "run.json"):
        if marker.is_file():
            try:
                previous = json.loads(marker.read_text(encoding="utf-8")).get("format")
            except (OSError, json.JSONDecodeError):
                previous = None
            if previous is not None and previous != fmt:
                raise ValueError(
                    f"{str(out)!r} holds a {previous} dataset; use --format {previous} or another folder."
                )
            return
    if any(out.iterdir()):
        raise ValueError(f"{str(out)!r} is not empty and holds no emogen dataset; give a new or empty folder.")


def _refuse_removing_items(out: Path, store: ItemStore, planned: set[str]) -> None:
    """A folder is completed, never shrunk: refuse (before writing anything) a run whose items would replace some
    that are already there, i.e. a dataset made with other settings (emotions, size, identities, seed …)."""
    existing = {r["id"] for r in store.read_manifest() if "id" in r} | set(store.load_records())
    lost = existing - planned
    if lost:
        raise ValueError(
            f"{str(out)!r} holds {len(existing)} items, {len(lost)} of which this run would not make (the folder was "
            "made with other settings or a larger --per-class); give a new folder, the same settings (raising "
            "--per-class adds items), or --prune to remove them."
        )


def _read_packed(out: Path, row: Mapping[str, Any]) -> bytes | None:
    """An item's bytes from a finished shard or table (``None`` if it is not there)."""
    path = out / str(row.get("file", ""))
    try:
        if "member" in row and path.suffix == ".tar":
            with tarfile.open(path) as tar:
                member = tar.extractfile(str(row["member"]))
                return member.read() if member is not None else None
        if "row" in row and path.suffix == ".parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path, columns=["id", "image" if row.get("frames") is None else "video"])
            i = int(row["row"])
            if table.column("id")[i].as_py() != row["id"]:
                return None
            value = table.column(table.column_names[1])[i].as_py()
            return value["bytes"] if isinstance(value, dict) else value
    except (OSError, KeyError, IndexError, tarfile.TarError, ImportError):
        return None
    return None


# ----------------------------------------------------------------------------------------------------- rows
def _row(item: AugmentItem, config: AugmentConfig, result: Mapping[str, Any], file: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": item.id,
        "file": file,
        "identity": item.identity,
        "label": item.label,
        "probs": list(item.probs),
        "vad": result["vad"],
        "intensity": item.intensity,
        "arkit": result["arkit"],
        "aus": result["aus"],
        "pose": dict(item.pose),
        "lighting": item.lighting,
        "seed": item.seed,
        "version": __version__,
    }
    if config.video:
        row.update(frames=config.frames, fps=config.fps, speech=item.speech)
    return row


def run_augment(
    config: AugmentConfig,
    images: Mapping[str, np.ndarray],
    counts: Mapping[str, int],
    out_dir: str | os.PathLike,
    *,
    expression: ExpressionFn,
    fmt: str = "imagefolder",
    engine: str = "local",
    workers: int | None = 1,
    address: str | None = None,
    gpus_per_worker: float = 0.0,
    judge: Sequence[str] | None = None,
    backend: str = "auto",
    shard_size: int = 1000,
    progress: bool = True,
    on_item: Callable[[dict[str, Any]], None] | None = None,
    prune: bool = False,
) -> AugmentSummary:
    """Make (or complete) a dataset in ``out_dir``.

    Args:
        config: what to render and how it varies.
        images: identity name → RGB uint8 photo.
        counts: items per class (:func:`~emogen.batch.augment.class_counts`).
        out_dir: the dataset folder (new, empty, or a dataset of the same format to complete).
        expression: ``(probs, intensity) → (action units, ARKit weights)`` (a module-level function).
        fmt: one of :data:`~emogen.export.dataset.DATASET_FORMATS`.
        engine: ``"local"`` or ``"ray"``; ``workers``, ``address``, ``gpus_per_worker`` as in
            :func:`emogen.batch.executors.execute`.
        judge: judge names to read every item with (``[]``: every installed judge; ``None``: no judging).
        backend: the animator's rasteriser.
        shard_size: items per WebDataset shard.
        progress: show progress bars.
        on_item: called with the row of each item rendered in this run.
        prune: let the run remove items of the folder it would not make (a smaller ``--per-class``, other emotions
            or settings); without it such a run is refused before anything is written.
    """
    if fmt not in DATASET_FORMATS:
        raise ValueError(f"format must be one of {', '.join(DATASET_FORMATS)}, got {fmt!r}.")
    if engine not in MAP_ENGINES:
        raise ValueError(f"engine must be one of {', '.join(MAP_ENGINES)} for augment, got {engine!r}.")
    from tqdm.auto import tqdm

    start = time.perf_counter()
    out = Path(out_dir)
    _check_out_dir(out, fmt)
    summary = AugmentSummary()
    valid, summary.skipped_identities = check_identities(images, progress)
    for name, reason in summary.skipped_identities.items():
        logger.warning("identity %r is left out: %s", name, reason)
    digests = {name: identity_digest(img) for name, img in valid.items()}
    items = plan_augment(config, digests, counts)
    ext = "mp4" if config.video else "png"
    packed = fmt != "imagefolder"

    def place(item: AugmentItem) -> str:
        return f"{STATE_DIR}/items/{item.id}.{ext}" if packed else f"{item.label}/{item.id}.{ext}"

    store = ItemStore(out)
    if not prune:
        _refuse_removing_items(out, store, {i.id for i in items})
    with engine_session(engine, address, workers):  # Ray: reachable before anything is written
        store.prepare([place(i) for i in items])
        write_json(out / STATE_DIR / "run.json", {"format": fmt})
        rows = {r["id"]: r for r in store.read_manifest() if "id" in r}
        records = store.load_records()
        if packed:  # items of a finished pack that are not staged any more: take them back out of it
            for item in items:
                row = records.get(item.id) or rows.get(item.id)
                if row is not None and not store.path(place(item)).is_file():
                    data = _read_packed(out, row)
                    if data is not None:
                        store.write_output(place(item), data)
                        records[item.id] = {**row, "file": place(item)}
        rows.update(records)
        done_ids = {i.id for i in items if i.id in rows and store.outputs_present([place(i)])}
        todo = [i for i in items if i.id not in done_ids]
        summary.skipped = len(items) - len(todo)

        # 1. Render what is missing
        render_start = time.perf_counter()
        context = AugmentContext(config=config, images={digests[n]: valid[n] for n in valid}, expression=expression,
                                 backend=backend)  # fmt: skip
        with tqdm(total=len(todo), desc="augment", unit="item", disable=not progress) as bar:
            for outcome in execute(render_augment_item, todo, context, engine=engine, workers=workers, address=address,
                                   gpus_per_worker=gpus_per_worker):  # fmt: skip
                item = outcome.item
                if outcome.ok:
                    store.write_output(place(item), outcome.result["data"])
                    row = _row(item, config, outcome.result, place(item))
                    store.write_record(row)
                    rows[item.id] = row
                    summary.done += 1
                    if on_item is not None:
                        on_item(row)
                else:
                    summary.failed += 1
                    summary.errors[item.id] = outcome.error
                    logger.warning("item %s (%s, %s) failed: %s", item.id, item.label, item.identity, outcome.error)
                bar.update()
                bar.set_postfix(failed=summary.failed, refresh=False)
        summary.render_seconds = time.perf_counter() - render_start
        present = [
            {**rows[i.id], "file": place(i)} for i in items if i.id in rows and store.outputs_present([place(i)])
        ]

        # 2. Judge
        def read_image(row: Mapping[str, Any]) -> np.ndarray:
            from .report import decode_item

            return decode_item(store.path(str(row["file"])).read_bytes(), ext)

        if judge is not None and present:
            summary.judges = judge_and_record(present, read_image, judge, store, progress)

        # 3. Write the layout, the manifest and the dataset info
        final = _write_layout(out, fmt, present, ext, store, shard_size)
        store.write_manifest(final)
        summary.counts = {label: sum(r["label"] == label for r in final) for label in config.emotions}
        write_json(out / INFO_FILE, {
            "format": fmt, "items": len(final), "classes": summary.counts, "labels": list(LABELS),
            "arkit": list(ARKIT_BLENDSHAPES), "action_units": list(final[0]["aus"]) if final else [],
            "config": asdict(config), "identities": digests, "skipped_identities": summary.skipped_identities,
            "judges": summary.judges, "version": __version__,
        })  # fmt: skip
        if summary.failed == 0:
            shutil.rmtree(out / STATE_DIR, ignore_errors=True)
        summary.seconds = time.perf_counter() - start
        return summary


def judge_and_record(rows, read_image, names, store: ItemStore, progress: bool) -> list[str]:
    from .report import judge_rows

    ran = judge_rows(rows, read_image, names or None, progress=progress)
    for row in rows:
        store.write_record(row)
    return ran


def _write_layout(
    out: Path, fmt: str, rows: list[dict[str, Any]], ext: str, store: ItemStore, shard_size: int
) -> list[dict[str, Any]]:
    """Write the format's files for ``rows`` (in order) and remove stale items of earlier runs; the final rows."""
    if fmt == "imagefolder":
        keep = {r["file"] for r in rows}
        for label in LABELS:
            folder = out / label
            if not folder.is_dir():
                continue
            remove_stale_temporaries(
                folder, tuple(f".{p.name}." for p in folder.iterdir() if _ITEM_FILE.match(p.name))
            )
            for p in folder.iterdir():
                if _ITEM_FILE.match(p.name) and f"{label}/{p.name}" not in keep:
                    p.unlink()
            if not any(folder.iterdir()):
                folder.rmdir()
        write_jsonl(out / "metadata.jsonl", [{"file_name": r["file"], **r} for r in rows])
        return rows

    def read_item(row: Mapping[str, Any]) -> tuple[bytes, str]:
        return store.path(f"{STATE_DIR}/items/{row['id']}.{ext}").read_bytes(), ext

    staged = [{k: v for k, v in r.items() if k not in ("file", "member", "row")} for r in rows]
    if fmt == "webdataset":
        final = write_webdataset_shards(out, staged, read_item, class_index=lambda r: label_index(r["label"]),
                                        shard_size=shard_size, prefix="augment")  # fmt: skip
        keep = {Path(r["file"]).name for r in final}
        for p in (out / "shards").glob("*.tar") if (out / "shards").is_dir() else ():
            if _SHARD.match(p.name) and p.name not in keep:
                p.unlink()
        return final
    if not rows:
        (out / PARQUET_FILE).unlink(missing_ok=True)
        return []
    return write_parquet_table(out / PARQUET_FILE, [{**r, "file": PARQUET_FILE} for r in staged], read_item,
                               media="video" if ext == "mp4" else "image")  # fmt: skip


def read_manifest(out_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The rows of a dataset's manifest (``ValueError`` when the folder holds none)."""
    path = Path(out_dir) / MANIFEST
    if not path.is_file():
        raise ValueError(f"{str(out_dir)!r} holds no {MANIFEST}; give a folder written by emogen augment.")
    return read_jsonl(path)
