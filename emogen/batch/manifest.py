"""Records and manifests: the on-disk state that makes a run resumable after ``kill -9`` at any moment.

Layout under an output root::

    OUT_ROOT/manifest.jsonl            one row per item (rewritten atomically; appended to live while a run goes on)
    OUT_ROOT/<outputs named by item id>
    OUT_ROOT/.emogen/records/<id>.json the row of each finished (done or failed) item, written atomically
    OUT_ROOT/.emogen/tmp/              scratch space of running items (emptied when a run starts)

Order of writes for one item: its output files (each atomically: a temporary file renamed into place), then its
record, then a manifest line. A crash before the record leaves at most complete files that the next run writes
again (same name, same content); a crash during a manifest append leaves a torn last line that the next run
replaces by a manifest rebuilt from the records. So after a rerun every item is present exactly once and no file
is ever half-written.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..export.data import write_json
from ..export.dataset import write_bytes, write_jsonl
from .ids import ID_PATTERN

logger = logging.getLogger(__name__)

__all__ = ["MANIFEST", "STATE_DIR", "ItemStore", "read_jsonl", "remove_stale_temporaries"]

#: File name of the manifest in an output root.
MANIFEST = "manifest.jsonl"
#: Hidden folder holding records and scratch space.
STATE_DIR = ".emogen"


def _process_gone(pid_text: str) -> bool:
    if not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def remove_stale_temporaries(folder: str | os.PathLike, prefixes: tuple[str, ...] = ()) -> None:
    """Remove the hidden temporaries an interrupted write left in ``folder``: emogen's own (``.emogen-tmp-<pid>-…``
    of processes that are gone, ``.emogen-video-…``) and files starting with one of ``prefixes``."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    for p in folder.glob(".*"):
        name = p.name
        if name.startswith(".emogen-tmp-"):
            stale = _process_gone(name[len(".emogen-tmp-") :].split("-", 1)[0])
        else:
            stale = name.startswith(".emogen-video-") or (p.is_file() and name.startswith(prefixes))
        if stale:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)


def read_jsonl(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of a JSON-lines file; a torn or unreadable line (an interrupted append) is skipped with a warning."""
    rows = []
    path = Path(path)
    if not path.is_file():
        return rows
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                logger.warning("%s:%d: skipping an unreadable line (an interrupted write?)", path, lineno)
                continue
            if isinstance(row, dict):
                rows.append(row)
    return rows


class ItemStore:
    """Outputs, records and the manifest of one output root (see the module docstring).

    Args:
        root: the output root (created when missing).
        manifest: manifest file name inside ``root``.
    """

    def __init__(self, root: str | os.PathLike, manifest: str = MANIFEST) -> None:
        self.root = Path(root)
        self.manifest_path = self.root / manifest
        self.records_dir = self.root / STATE_DIR / "records"
        self.tmp_dir = self.root / STATE_DIR / "tmp"

    # ------------------------------------------------------------------------------------------- start of a run
    def prepare(self, names: Iterable[str] = ()) -> None:
        """Create the folders and remove what an interrupted run left: scratch space, and the temporary files of
        records, of the manifest and in the folders of the output files ``names`` (relative to ``root``)."""
        self.records_dir.mkdir(parents=True, exist_ok=True)
        if self.tmp_dir.exists():
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        names = list(names)
        stale = tuple(f".{Path(n).name}." for n in [self.manifest_path.name, *names])
        for folder in {self.root} | {(self.root / n).parent for n in names}:
            remove_stale_temporaries(folder, stale)
        remove_stale_temporaries(self.records_dir, (".",))  # every hidden file there is an unfinished record

    # ------------------------------------------------------------------------------------------------ records
    def load_records(self) -> dict[str, dict[str, Any]]:
        """Every readable record, by item id (unreadable ones are skipped: their items run again)."""
        out: dict[str, dict[str, Any]] = {}
        if not self.records_dir.is_dir():
            return out
        for p in sorted(self.records_dir.glob("*.json")):
            try:
                row = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                logger.warning("skipping an unreadable record %s", p)
                continue
            if isinstance(row, dict) and row.get("id") == p.stem:
                out[p.stem] = row
        return out

    def write_record(self, row: Mapping[str, Any]) -> None:
        ident = str(row["id"])
        if not ID_PATTERN.match(ident):
            raise ValueError(f"not a usable item id: {ident!r}")
        write_json(self.records_dir / f"{ident}.json", dict(row), indent=None)

    def remove_record(self, ident: str) -> None:
        (self.records_dir / f"{ident}.json").unlink(missing_ok=True)

    # ------------------------------------------------------------------------------------------------ outputs
    def path(self, name: str) -> Path:
        """Absolute path of an output named relative to the root."""
        return self.root / name

    def write_output(self, name: str, data: bytes) -> Path:
        """Write one output file atomically."""
        return write_bytes(self.root / name, data)

    def outputs_present(self, names: Iterable[str]) -> bool:
        """Whether every named output exists and is not empty."""
        for n in names:
            p = self.root / n
            try:
                if not p.is_file() or p.stat().st_size == 0:
                    return False
            except OSError:
                return False
        return True

    def is_done(self, row: Mapping[str, Any] | None, names: Iterable[str] | None = None) -> bool:
        """Whether ``row`` (a record) says done and its outputs (``names``, default the row's) are on disk."""
        if not row or row.get("status") != "done":
            return False
        outputs = row.get("outputs") or {}
        return self.outputs_present(names if names is not None else outputs.values())

    # ----------------------------------------------------------------------------------------------- manifest
    def append_manifest(self, row: Mapping[str, Any]) -> None:
        """Append one row with a single ``write`` (a reader following the file sees whole lines)."""
        line = (json.dumps(dict(row), ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        fd = os.open(self.manifest_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def write_manifest(self, rows: Sequence[Mapping[str, Any]]) -> Path:
        """Replace the manifest with ``rows`` atomically."""
        return write_jsonl(self.manifest_path, rows)

    def read_manifest(self) -> list[dict[str, Any]]:
        return read_jsonl(self.manifest_path)
