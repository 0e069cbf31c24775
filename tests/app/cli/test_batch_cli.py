"""`emogen batch` end to end: real animate jobs, failures and path escapes recorded, kill -9 and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from emogen.app.cli import main
from emogen.batch.manifest import read_jsonl

SMALL = {"command": "animate", "size": 64, "duration": 0.2}


@pytest.fixture
def workdir(tmp_path):
    import skimage.data

    Image.fromarray(skimage.data.astronaut()).save(tmp_path / "me.png")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.png").write_bytes((tmp_path / "me.png").read_bytes())
    (tmp_path / "jobs").mkdir()
    os.symlink(tmp_path / "outside" / "secret.png", tmp_path / "jobs" / "innocent.png")
    return tmp_path


def write_jobs(path: Path, jobs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(j) + "\n" for j in jobs))
    return path


def check_root(out: Path, expected_ids: set[str]) -> list[dict]:
    rows = read_jsonl(out / "manifest.jsonl")
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) and set(ids) == expected_ids
    listed = set()
    for row in rows:
        if row["status"] == "done":
            for rel in row["outputs"].values():
                listed.add(rel)
                if rel.endswith(".mp4"):
                    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(out / rel))
                    assert frames == 5
                elif rel.endswith(".json"):
                    json.loads((out / rel).read_text())
                else:
                    assert (out / rel).read_text().startswith("Timecode,")
        else:
            assert row["error"] and not row["outputs"]
    assert {p.name for p in out.iterdir() if p.is_file()} - {"manifest.jsonl"} == listed
    assert not [p for p in out.iterdir() if p.name.startswith(".") and p.name != ".emogen"]
    return rows


def test_batch_animate_jobs_with_failures_and_escapes(workdir, capsys):
    jobs = write_jobs(workdir / "jobs" / "jobs.jsonl", [
        {**SMALL, "emotion": "happy", "curves": "json"},
        {**SMALL, "emotion": "0s neutral, 0.1s sad", "emotion-dynamics": "none", "id": "sad-one"},
        {**SMALL, "emotion": "no-such-emotion"},
        {**SMALL, "emotion": "happy", "image": "innocent.png"},
        {**SMALL, "emotion": "happy", "image": "../me.png"},
        {**SMALL, "emotion": "happy", "image": str(workdir / "outside" / "secret.png")},
        {**SMALL, "emotion": "angry", "size": "huge"},
    ])  # fmt: skip
    out = workdir / "out"
    code = main(["batch", str(jobs), "-o", str(out), "--workers", "2"])
    assert code == 1
    printed = capsys.readouterr().out
    assert "done 2, skipped 0" in printed and "failed 5" in printed
    rows = check_root(out, {r["id"] for r in read_jsonl(out / "manifest.jsonl")})
    status = [r["status"] for r in rows]
    assert status == ["done", "done", "failed", "failed", "failed", "failed", "failed"]
    errors = [r["error"] for r in rows[2:]]
    assert all(r["error"].startswith(f"{r['source']}: ") for r in rows[2:])  # which job failed, always said
    assert "Unknown emotion label" in errors[0]
    assert "outside the allowed folders" in errors[1] and "contains '..'" in errors[2]
    assert "outside the allowed folders" in errors[3] and "huge" in errors[4]
    assert rows[1]["outputs"] == {"output": "sad-one.mp4"}
    assert set(rows[0]["outputs"]) == {"output", "curves"} and rows[0]["outputs"]["curves"].endswith(".curves.json")
    assert all(r["seed"] is not None for r in rows[:2]) and rows[0]["timings"]["run_s"] > 0
    # the same jobs in this process (--workers 0) give the same frames
    other = workdir / "out0"
    assert main(["batch", str(jobs), "-o", str(other), "--workers", "0"]) == 1
    for row in rows[:2]:
        a = imageio_ffmpeg.read_frames(str(out / row["outputs"]["output"]))
        b = imageio_ffmpeg.read_frames(str(other / row["outputs"]["output"]))
        next(a), next(b)
        assert all(
            np.array_equal(np.frombuffer(x, np.uint8), np.frombuffer(y, np.uint8)) for x, y in zip(a, b, strict=True)
        )


def test_input_roots_widen_what_jobs_may_read(workdir):
    jobs = write_jobs(workdir / "jobs" / "jobs.jsonl", [{**SMALL, "emotion": "happy", "image": "innocent.png"}])
    out = workdir / "out"
    code = main(["batch", str(jobs), "-o", str(out), "--workers", "0", "--input-root", str(workdir / "jobs"),
                 "--input-root", str(workdir / "outside")])  # fmt: skip
    assert code == 0
    assert read_jsonl(out / "manifest.jsonl")[0]["status"] == "done"


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["batch", "missing.yaml", "-o", "out"], "no such job file"),
        (["batch", "jobs.txt", "-o", "out"], "must end in"),
        (["batch", "jobs.yaml", "-o", "out", "--address", "auto"], "--engine ray only"),
    ],
)
def test_usage_errors_exit_2_with_one_line(tmp_path, monkeypatch, capsys, argv, match):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "jobs.txt").write_text("")
    (tmp_path / "jobs.yaml").write_text("[]")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert match in err.splitlines()[0]


def test_unreachable_ray_cluster_fails_before_any_output(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    write_jobs(tmp_path / "jobs.jsonl", [SMALL])
    for command in (["batch", "jobs.jsonl"], ["augment", "--per-class", "1"]):
        assert main([*command, "-o", "out", "--engine", "ray", "--address", "auto"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and ("Ray cluster at 'auto'" in err[0] or "needs Ray" in err[0]), err
        assert not (tmp_path / "out").exists()


def _spawn(jobs: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GLOG_minloglevel": "2"}
    return subprocess.Popen(
        [sys.executable, "-m", "emogen", "batch", str(jobs), "-o", str(out), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True,
    )  # fmt: skip


def _kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its worker process, at once
    proc.wait()


def _wait_for(condition, proc, limit=240.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_kill_9_at_any_moment_then_rerun(workdir):
    jobs = write_jobs(workdir / "jobs.jsonl", [
        {**SMALL, "emotion": e, **({"curves": True} if i % 2 else {})}
        for i, e in enumerate(["happy", "sad", "angry", "fearful", "surprised", "disgusted"])
    ])  # fmt: skip
    out = workdir / "out"
    records = out / ".emogen" / "records"
    # kill while the first item renders, right after a record lands, and after a manifest append
    moments = [
        lambda: (out / ".emogen" / "tmp").is_dir() and any((out / ".emogen" / "tmp").iterdir()),
        lambda: records.is_dir() and len(list(records.glob("*.json"))) >= 2,
        lambda: (out / "manifest.jsonl").is_file() and (out / "manifest.jsonl").read_text().count("\n") >= 4,
    ]
    killed_mid_run = 0
    for moment in moments:
        proc = _spawn(jobs, out)
        _wait_for(moment, proc)
        killed_mid_run += proc.poll() is None
        _kill(proc)
    assert killed_mid_run >= 2
    proc = _spawn(jobs, out)
    assert proc.wait(timeout=600) == 0
    from emogen.app.cli.batch import register_cli_commands
    from emogen.batch import load_jobs, plan_items

    register_cli_commands()
    items = plan_items(load_jobs(jobs), base=workdir, roots=[workdir, out])
    rows = check_root(out, {i.id for i in items})
    assert all(r["status"] == "done" for r in rows)
    assert [r["id"] for r in rows] == [i.id for i in items]


def test_avatar_jobs_with_the_speech_beside_the_glb(workdir):
    jobs = write_jobs(workdir / "jobs" / "av.jsonl", [
        {"command": "avatar", "text": "Hi!", "size": 64, "csv": "json", "id": "speaking"},
    ])  # fmt: skip
    out = workdir / "out"
    assert main(["batch", str(jobs), "-o", str(out), "--workers", "0"]) == 0
    [row] = read_jsonl(out / "manifest.jsonl")
    assert row["outputs"] == {"output": "speaking.glb", "csv": "speaking.csv.json", "audio": "speaking.wav"}
    assert (out / "speaking.glb").read_bytes()[:4] == b"glTF" and (out / "speaking.wav").read_bytes()[:4] == b"RIFF"


def test_video_jobs_listening_and_idle(workdir):
    jobs = write_jobs(workdir / "jobs" / "video.jsonl", [
        {"command": "video", "mode": "idle", "duration": 0.4, "size": 64, "curves": "json", "id": "idle"},
        {"command": "video", "mode": "listening", "text": "Oh no.", "size": 64, "id": "listening"},
    ])  # fmt: skip
    out = workdir / "out"
    assert main(["batch", str(jobs), "-o", str(out), "--workers", "0"]) == 0
    rows = {r["id"]: r for r in read_jsonl(out / "manifest.jsonl")}
    assert rows["idle"]["outputs"] == {"output": "idle.mp4", "curves": "idle.curves.json"}
    assert rows["listening"]["outputs"] == {"output": "listening.mp4"}
    frames, secs = imageio_ffmpeg.count_frames_and_secs(str(out / "idle.mp4"))
    assert frames == 10 and json.loads((out / "idle.curves.json").read_text())
