"""Dataset writers: raw bytes, JSON lines, PNG, and labelled item collections as ImageFolder, WebDataset shards or
a Parquet table. Every file is written atomically (a temporary file renamed into place).

The three layouts hold the same rows (one JSON object per item, with a ``file`` relative to the dataset folder):

* ``imagefolder`` — ``OUT/<label>/<id>.png`` (or ``.mp4``) plus ``metadata.jsonl`` (the rows with ``file_name``),
  which ``datasets.load_dataset("imagefolder", data_dir=OUT)`` reads as extra columns;
* ``webdataset`` — tar shards ``OUT/shards/<prefix>-000000.tar`` of ``<id>.png``/``.mp4``, ``<id>.json`` (the row)
  and ``<id>.cls`` (the label's index) members, readable with ``webdataset.WebDataset``;
* ``parquet`` — one table ``OUT/data/train-00000-of-00001.parquet`` with the rows' columns plus the encoded item
  (``image``: ``{bytes, path}``, the layout of ``datasets.Image``; ``video``: the mp4 bytes), readable with
  ``datasets.load_dataset("parquet", data_files=...)`` or ``pyarrow.parquet``.

Writing Parquet needs ``pyarrow`` (``pip install 'emogen[data]'``); the others need nothing beyond the standard
library and Pillow.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tarfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..io.atomic import atomic_output

logger = logging.getLogger(__name__)

__all__ = [
    "DATASET_FORMATS",
    "PARQUET_FILE",
    "encode_png",
    "write_bytes",
    "write_jsonl",
    "write_parquet_table",
    "write_webdataset_shards",
]

#: Layouts of :func:`emogen augment`'s datasets.
DATASET_FORMATS: tuple[str, ...] = ("imagefolder", "webdataset", "parquet")
#: Where the Parquet layout puts its table (the ``datasets`` naming of a single-file train split).
PARQUET_FILE = "data/train-00000-of-00001.parquet"


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (missing folders are created). Returns the path."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}.")
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return Path(path)


def write_jsonl(path: str | os.PathLike, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write one compact JSON object per line, atomically."""
    text = "".join(json.dumps(dict(r), ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows)
    return write_bytes(path, text.encode("utf-8"))


def encode_png(image: np.ndarray, compress_level: int = 6) -> bytes:
    """PNG bytes of an RGB uint8 image ``(H, W, 3)``; the same pixels always give the same bytes."""
    from PIL import Image

    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be RGB uint8 of shape (H, W, 3), got {image.dtype} {image.shape}.")
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


# -------------------------------------------------------------------------------------------------- webdataset
def _tar_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0  # reproducible shards: no clock in the archive
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(data))


def write_webdataset_shards(
    folder: str | os.PathLike,
    rows: Sequence[Mapping[str, Any]],
    read_item: Callable[[Mapping[str, Any]], tuple[bytes, str]],
    *,
    class_index: Callable[[Mapping[str, Any]], int] | None = None,
    shard_size: int = 1000,
    prefix: str = "train",
) -> list[dict[str, Any]]:
    """Pack items into tar shards (WebDataset layout), in ``rows`` order.

    Args:
        folder: the dataset folder; shards go to ``folder/shards/<prefix>-NNNNNN.tar``.
        rows: one mapping per item with an ``id`` (the sample key; it must hold no ``.``).
        read_item: ``row → (encoded bytes, extension)``, e.g. ``(png bytes, "png")``.
        class_index: ``row → int`` written as the ``.cls`` member (omitted when ``None``).
        shard_size: items per shard.
        prefix: shard file prefix.

    Returns:
        The rows, each with ``file`` (the shard, relative to ``folder``) and ``member`` (the item's file in it);
        ``<id>.json`` in the shard holds the same row.
    """
    if shard_size < 1:
        raise ValueError(f"shard_size must be a positive integer, got {shard_size!r}.")
    folder = Path(folder)
    out: list[dict[str, Any]] = []
    for start in range(0, len(rows), shard_size):
        name = f"shards/{prefix}-{start // shard_size:06d}.tar"
        chunk = rows[start : start + shard_size]
        with atomic_output(folder / name) as tmp:
            with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tar:
                for row in chunk:
                    key = str(row["id"])
                    if "." in key or "/" in key:
                        raise ValueError(f"a WebDataset key may hold no '.' or '/', got {key!r}.")
                    data, ext = read_item(row)
                    member = f"{key}.{ext}"
                    full = {**row, "file": name, "member": member}
                    _tar_member(tar, member, data)
                    _tar_member(tar, f"{key}.json", json.dumps(full, ensure_ascii=False).encode("utf-8"))
                    if class_index is not None:
                        _tar_member(tar, f"{key}.cls", str(int(class_index(row))).encode("ascii"))
                    out.append(full)
    return out


# ------------------------------------------------------------------------------------------------------ parquet
def _hf_features(schema, media: str) -> bytes | None:
    """The ``huggingface`` schema metadata that makes ``datasets`` decode the image column, when it is installed."""
    try:
        from datasets import Features, Image
    except ImportError:
        logger.info("datasets is not installed: the Parquet table carries no datasets feature metadata")
        return None
    features = Features.from_arrow_schema(schema)
    if media == "image":
        features["image"] = Image()
    return json.dumps({"info": {"features": features.to_dict()}}).encode("utf-8")


def write_parquet_table(
    path: str | os.PathLike,
    rows: Sequence[Mapping[str, Any]],
    read_item: Callable[[Mapping[str, Any]], tuple[bytes, str]],
    *,
    media: str = "image",
    row_group_size: int = 256,
) -> list[dict[str, Any]]:
    """Write the rows and their encoded items as one Parquet table, in row groups (bounded memory).

    Args:
        path: the ``.parquet`` file.
        rows: one mapping per item (JSON values; every row has the same keys).
        read_item: ``row → (encoded bytes, extension)``.
        media: ``"image"`` (a ``{bytes, path}`` column that ``datasets`` decodes to PIL images) or ``"video"``
            (the mp4 bytes).
        row_group_size: rows per row group.

    Returns:
        The rows, each with ``row`` (its index in the table; also a column).
    """
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ValueError(
            "--format parquet needs pyarrow: pip install 'emogen[data]' (or pip install pyarrow)."
        ) from None
    if media not in ("image", "video"):
        raise ValueError(f"media must be 'image' or 'video', got {media!r}.")
    if not rows:
        raise ValueError("no rows to write.")
    full = [{**r, "row": i} for i, r in enumerate(rows)]
    meta = pa.Table.from_pylist(full)
    if media == "image":
        field = pa.field("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())]))
    else:
        field = pa.field("video", pa.binary())
    schema = meta.schema.append(field)
    hf = _hf_features(schema, media)
    if hf is not None:
        schema = schema.with_metadata({b"huggingface": hf})
    with atomic_output(path) as tmp:
        with pq.ParquetWriter(tmp, schema) as writer:
            for start in range(0, len(rows), row_group_size):
                chunk = rows[start : start + row_group_size]
                media_values = []
                for row in chunk:
                    data, ext = read_item(row)
                    media_values.append({"bytes": data, "path": f"{row['id']}.{ext}"} if media == "image" else data)
                table = meta.slice(start, len(chunk)).append_column(field, pa.array(media_values, type=field.type))
                writer.write_table(table.replace_schema_metadata(schema.metadata))
    return full
