"""The accelerate engine with two processes (torchrun, CPU/gloo) splits the items and gives the local engine's
outputs (slow: starts two processes)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from emogen.app.cli import main
from emogen.batch.manifest import read_jsonl

pytestmark = pytest.mark.slow
pytest.importorskip("accelerate")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_split_the_items(tmp_path):
    import skimage.data

    torchrun = Path(sys.executable).parent / "torchrun"
    if not torchrun.exists() and shutil.which("torchrun") is None:
        pytest.skip("torchrun is not installed")
    Image.fromarray(skimage.data.astronaut()).save(tmp_path / "me.png")
    jobs = tmp_path / "jobs.jsonl"
    small = {"command": "animate", "size": 64, "duration": 0.2, "image": "me.png"}
    jobs.write_text("".join(json.dumps({**small, "emotion": e}) + "\n" for e in ("happy", "sad", "angry", "fearful")))
    assert main(["batch", str(jobs), "-o", str(tmp_path / "local"), "--workers", "0"]) == 0
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GLOG_minloglevel": "2"}
    cmd = [str(torchrun if torchrun.exists() else "torchrun"), "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(_free_port()), "-m", "emogen", "batch", str(jobs), "-o", str(tmp_path / "acc"),
           "--engine", "accelerate"]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("done 4, skipped 0") == 1, "only the main process prints the summary"
    local, acc = read_jsonl(tmp_path / "local" / "manifest.jsonl"), read_jsonl(tmp_path / "acc" / "manifest.jsonl")
    assert [r["id"] for r in acc] == [r["id"] for r in local]
    for row in local:
        name = row["outputs"]["output"]
        assert (tmp_path / "acc" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
