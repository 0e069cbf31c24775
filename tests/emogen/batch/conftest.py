"""A tiny registered command for the batch tests: writes a PNG (and optionally a JSON) from its options."""

import json
from pathlib import Path

import numpy as np
import pytest

from emogen.batch import BatchCommand, CommandRegistry
from emogen.export.dataset import encode_png


def paint_run(options, outputs, seed):
    """Writes a small PNG whose colour follows ``level`` and ``seed``; ``fail`` raises; ``image`` is read."""
    if options.get("fail"):
        raise ValueError(f"asked to fail: {options['fail']}")
    extra = Path(options["image"]).read_bytes()[:1] if options.get("image") else b"\0"
    level = (int(options.get("level", 0)) + seed + extra[0]) % 256
    Path(outputs["output"]).write_bytes(encode_png(np.full((8, 8, 3), level, np.uint8)))
    if "meta" in outputs:
        Path(outputs["meta"]).write_text(json.dumps({"level": level, "seed": seed}))
    if options.get("note"):  # a companion: beside the output, same name, another suffix
        Path(outputs["output"]).with_suffix(".txt").write_text(str(options["note"]))


def paint_normalize(options):
    out = dict(options)
    if "level" in out:
        try:
            out["level"] = int(out["level"])
        except (TypeError, ValueError):
            raise ValueError(f"level must be an integer, got {out['level']!r}") from None
    return out


def make_registry() -> CommandRegistry:
    reg = CommandRegistry()
    reg.register(BatchCommand(
        name="paint", run=paint_run, options=frozenset({"level", "image", "fail", "output", "meta", "note"}),
        inputs=frozenset({"image"}), outputs={"output": (".png",), "meta": (".json",)}, normalize=paint_normalize,
        companions={"note": ".txt"},
    ))  # fmt: skip
    return reg


@pytest.fixture
def registry():
    return make_registry()
