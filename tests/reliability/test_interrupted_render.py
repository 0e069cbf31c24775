"""A render killed at any point never costs the previous output, never leaves a partial file under the output's
name, and leaves no temporary litter once the next write into the same folder has run.

A child process encodes a video over an existing one; the parent kills it (``kill -9`` of its whole process group,
ffmpeg included) at points chosen at random, from seeded draws, among: before encoding, once the temporary folder
exists, and once the partial video in it has grown past a random size. The points are found by watching the
folder, not by timing. SIGINT (Ctrl-C) is the other kind of interruption: there ``finally`` runs, so nothing at all
is left, even before the next run.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from emogen.export import write_video
from emogen.io.output import TEMP_PREFIX

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(300)]

CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    from emogen.export import write_video

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (int(sys.argv[2]), 192, 192, 3), dtype=np.uint8)  # noise: slow to encode
    audio = (0.2 * np.sin(np.arange(48000 * 6) / 7)).reshape(-1, 2).astype(np.float32)
    print("ready", flush=True)
    write_video(sys.argv[1], frames, fps=25, audio=audio, sample_rate=48000)
    print("done", flush=True)
    """
)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith((TEMP_PREFIX, ".emogen-video-"))]


def _partial_size(folder: Path) -> int:
    return sum(f.stat().st_size for t in _temporaries(folder) if t.is_dir() for f in t.glob("video*"))


def _wait(condition, proc: subprocess.Popen, limit: float = 120.0) -> bool:
    """Poll ``condition`` until it holds or the child ends (a guard against hanging, not a measurement)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    return False


def _start(script: Path, out: Path, frames: int) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(out), str(frames)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, start_new_session=True,
    )  # fmt: skip
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _points(seed: int, n: int) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    kinds = ["before-encoding", "temp-folder", "partial-video"]
    draws = [(kind, 0) for kind in kinds]  # every kind once …
    draws += [(rng.choice(kinds), 0) for _ in range(n - len(kinds))]  # … then random ones
    return [(kind, rng.randint(1, 400_000) if kind == "partial-video" else 0) for kind, _ in draws]


def _kill_at(point: tuple[str, int], script: Path, out: Path) -> None:
    kind, size = point
    proc = _start(script, out, frames=150)
    folder = out.parent
    if kind == "temp-folder":
        _wait(lambda: any(t.is_dir() for t in _temporaries(folder)), proc)
    elif kind == "partial-video":
        _wait(lambda: _partial_size(folder) >= size, proc)
    os.killpg(proc.pid, signal.SIGKILL)  # the child and its ffmpeg, at once
    proc.wait()


def _check_after_kill(out: Path, previous: str) -> None:
    assert _digest(out) == previous, "the previous output changed"
    names = {p.name for p in out.parent.iterdir() if not p.name.startswith(TEMP_PREFIX)}
    assert names == {out.name}, f"a partial file appeared under another name: {names}"


@pytest.mark.parametrize("seed, kills", [(0, 3), pytest.param(1, 12, marks=pytest.mark.slow)])
def test_kill_9_keeps_previous_output_and_next_run_clears_litter(tmp_path, seed, kills):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    folder = tmp_path / "renders"
    out = folder / "talk.mp4"
    write_video(out, np.full((5, 32, 32, 3), 200, np.uint8), fps=25)
    previous = _digest(out)
    for point in _points(seed, kills):
        _kill_at(point, script, out)
        _check_after_kill(out, previous)
    assert _temporaries(folder), "the kills left nothing to clean up: the test did not reach the encoder"
    # the next run (here: this process, which started before the killed ones) removes what they left
    write_video(folder / "next.mp4", np.zeros((3, 32, 32, 3), np.uint8), fps=25)
    assert _temporaries(folder) == []
    assert _digest(out) == previous and (folder / "next.mp4").stat().st_size > 0


def test_ctrl_c_mid_encoding_leaves_nothing(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    out = tmp_path / "renders" / "talk.mp4"
    proc = _start(script, out, frames=400)
    assert _wait(lambda: out.parent.is_dir() and _partial_size(out.parent) > 0, proc)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
    proc.wait(timeout=120)
    assert proc.returncode != 0
    assert not out.exists()
    assert _temporaries(out.parent) == []


def test_sigterm_to_the_command_line_leaves_nothing(tmp_path):
    """``emogen`` turns SIGTERM into an exception, so ``finally`` runs and the temporaries go, as with Ctrl-C."""
    script = tmp_path / "child.py"
    script.write_text(CHILD.replace("import sys\n", "import sys\nfrom emogen.app.cli import _terminate_cleanly\n"
                                    "_terminate_cleanly()\n", 1))  # fmt: skip
    out = tmp_path / "renders" / "talk.mp4"
    proc = _start(script, out, frames=400)
    assert _wait(lambda: out.parent.is_dir() and _partial_size(out.parent) > 0, proc)
    proc.send_signal(signal.SIGTERM)  # the command only: its ffmpeg is stopped by the cleanup
    proc.wait(timeout=120)
    assert proc.returncode != 0
    assert not out.exists()
    assert _temporaries(out.parent) == []


def test_running_renders_are_not_taken_for_litter(tmp_path):
    """A temporary of a process that is still alive (another render into the same folder) is left alone."""
    from emogen.io.output import clean_stale_temporaries, temp_prefix

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        alive = tmp_path / f"{TEMP_PREFIX}{sleeper.pid}-talk.mp4.abc"
        alive.mkdir()
        gone = tmp_path / f"{TEMP_PREFIX}999999999-talk.mp4.abc"
        gone.mkdir()
        mine = tmp_path / f"{temp_prefix(tmp_path / 'a.mp4')}xyz"
        mine.touch()
        legacy = tmp_path / ".emogen-video-abc123"
        legacy.mkdir()
        os.utime(legacy, (0, 0))  # older than this process
        removed = clean_stale_temporaries(tmp_path)
        assert sorted(p.name for p in removed) == sorted([gone.name, legacy.name])
        assert alive.exists() and mine.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
