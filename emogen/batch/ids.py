"""Item ids and seeds: content hashes, so the same work always lands under the same name.

An item's id is the SHA-256 of a canonical JSON document holding what determines its output — the job spec (input
paths replaced by their content digests), the seed, the inputs' content and the emogen version — cut to
:data:`ID_LENGTH` hex characters. Seeds that are not given are derived from the same content, never from a worker's
rank or a position in a queue, so every engine (local processes, Ray, accelerate) produces the same item under the
same name with the same seed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from typing import Any

__all__ = [
    "ID_LENGTH",
    "ID_PATTERN",
    "canonical_json",
    "check_item_id",
    "content_digest",
    "derive_seed",
    "file_digest",
    "item_id",
]

#: Hex characters of a derived item id (64 bits: collisions are negligible for any realistic batch).
ID_LENGTH = 16
#: What an item id may look like (also user-chosen ids): a safe file name, no leading dot.
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def _plain(value: Any) -> Any:
    """``value`` with tuples as lists, paths as strings, floats that are integers kept as floats."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"cannot hash a non-finite number {value!r}")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot hash a {type(value).__name__} value {value!r}; use JSON values")


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: equal values give equal text."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def content_digest(data: bytes) -> str:
    """SHA-256 hex digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


def file_digest(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file's content (read in chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def item_id(document: Any, length: int = ID_LENGTH) -> str:
    """The id of the item described by ``document`` (any JSON value): ``sha256(canonical_json(document))``."""
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()[:length]


def derive_seed(*parts: Any) -> int:
    """A seed in ``[0, 2**31)`` derived from ``parts`` (JSON values), e.g. an item's content and a base seed."""
    return int(hashlib.sha256(canonical_json(list(parts)).encode("utf-8")).hexdigest()[:8], 16) & 0x7FFFFFFF


def check_item_id(value: Any, what: str = "id") -> str:
    """``value`` if it is a usable item id (see :data:`ID_PATTERN`), else ``ValueError``."""
    if not isinstance(value, str) or not ID_PATTERN.match(value) or value.endswith((".", "-")):
        raise ValueError(
            f"{what} must be 1-128 characters of letters, digits, '.', '_' or '-' starting with a letter or digit "
            f"(a safe file name), got {value!r}."
        )
    return value
