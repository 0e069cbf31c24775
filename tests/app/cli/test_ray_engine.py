"""The Ray engine on a local 2-CPU Ray instance gives exactly what the local engine gives (slow: starts Ray)."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from emogen.app.cli import main
from emogen.batch.manifest import read_jsonl

pytestmark = pytest.mark.slow
ray = pytest.importorskip("ray")

VOLATILE = ("timings",)


def _stable(rows):
    return [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows]


def _files(root):
    return {p.name: p.read_bytes() for p in sorted(root.iterdir()) if p.is_file() and p.name != "manifest.jsonl"}


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_ray_batch_equals_local(tmp_path, local_ray):
    import skimage.data

    Image.fromarray(skimage.data.astronaut()).save(tmp_path / "me.png")
    jobs = tmp_path / "jobs.jsonl"
    small = {"command": "animate", "size": 64, "duration": 0.2, "image": "me.png"}
    jobs.write_text("".join(json.dumps(j) + "\n" for j in [
        {**small, "emotion": "happy", "curves": True},
        {**small, "emotion": "sad", "id": "sad"},
        {**small, "emotion": "angry", "seed": 5},
        {**small, "emotion": "no-such-label"},
        {**small, "emotion": "happy", "image": "../me.png"},
    ]))  # fmt: skip
    assert main(["batch", str(jobs), "-o", str(tmp_path / "local"), "--workers", "2"]) == 1
    assert main(["batch", str(jobs), "-o", str(tmp_path / "ray"), "--engine", "ray", "--workers", "2"]) == 1
    assert _stable(read_jsonl(tmp_path / "ray" / "manifest.jsonl")) == _stable(
        read_jsonl(tmp_path / "local" / "manifest.jsonl")
    )
    assert _files(tmp_path / "ray") == _files(tmp_path / "local")
    # the same semantics on a rerun: everything finished is skipped
    assert main(["batch", str(jobs), "-o", str(tmp_path / "ray"), "--engine", "ray", "--workers", "2"]) == 1
    assert len(read_jsonl(tmp_path / "ray" / "manifest.jsonl")) == 5


def test_ray_augment_equals_local(tmp_path, local_ray):
    args = ["augment", "--emotions", "happy,contempt", "--per-class", "2", "--size", "48", "--lighting"]
    assert main([*args, "--workers", "2", "-o", str(tmp_path / "local")]) == 0
    assert main([*args, "--engine", "ray", "--workers", "2", "-o", str(tmp_path / "ray")]) == 0
    for sub in ("happy", "contempt"):
        assert _files(tmp_path / "ray" / sub) == _files(tmp_path / "local" / sub)
    assert (tmp_path / "ray" / "manifest.jsonl").read_bytes() == (tmp_path / "local" / "manifest.jsonl").read_bytes()
