"""Shared pieces of the reliability suite: a folder of bad and edge inputs made once, and the outcome checks.

Every case of the tables ends in one of three outcome classes, asserted exactly:

* ``error``: a clear error. CLI: exit code 2, exactly one line on stderr (``emogen CMD: error: …``) that names the
  value, no traceback. Python: a ``ValueError`` (or subclass) whose one-line message names the value. App: a
  ``gr.Error`` naming it. In every case no output file, no created folder and no temporary file is left behind.
* ``warn``: a documented fallback: the call succeeds and a warning naming the value is logged.
* ``works``: an edge input that is accepted and handled correctly (checked by the case's own assertion).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

OUTCOMES = ("error", "warn", "works")
SR = 16000


def _voiced(seconds: float, rate: int = SR, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * 150 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    return np.stack([x * (1 + 0.1 * c) for c in range(channels)], axis=1) if channels > 1 else x


def _make_inputs(root: Path) -> None:
    import imageio_ffmpeg
    import skimage.data
    import soundfile as sf
    from PIL import Image

    portrait = skimage.data.astronaut()
    Image.fromarray(portrait).save(root / "good.png")
    data = (root / "good.png").read_bytes()
    (root / "truncated.png").write_bytes(data[: len(data) // 2])
    corrupt = bytearray(data)
    corrupt[200:400] = bytes(200)
    (root / "corrupt.png").write_bytes(bytes(corrupt))
    (root / "text.jpg").write_text("this is a text file, not a photo\n")
    (root / "empty.jpg").write_bytes(b"")
    gray = np.asarray(Image.fromarray(portrait).convert("L")).astype(np.uint16) * 257
    Image.fromarray(gray).save(root / "gray16.png")  # Pillow mode I;16
    Image.new("1", (10_000, 9_000)).save(root / "huge.png")  # 90 MP: over the image limit, tiny on disk
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    Image.fromarray(portrait[:, :400]).save(root / "rotated.jpg", exif=exif)
    sf.write(root / "speech.wav", _voiced(1.0), SR)
    sf.write(root / "stereo48k.wav", _voiced(1.0, 48000, channels=2), 48000)
    sf.write(root / "long.wav", np.zeros(1000 * 601, np.int16), 1000, subtype="PCM_16")  # 601 s
    (root / "text.wav").write_text("not audio at all\n" * 20)
    (root / "empty.wav").write_bytes(b"")
    with open(root / "huge.wav", "wb") as f:  # a sparse file over the app's upload limit
        f.truncate(201 * 1024 * 1024)
    ff = imageio_ffmpeg.get_ffmpeg_exe()
    import subprocess

    lavfi = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p"]
    subprocess.run([ff, "-v", "error", "-y", *lavfi, str(root / "silent.mp4")], check=True)
    full = (root / "silent.mp4").read_bytes()
    (root / "truncated.mp4").write_bytes(full[: len(full) // 3])
    (root / "folder").mkdir()
    (root / "no_faces").mkdir()  # a folder of portraits without a face
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)).save(
        root / "no_faces" / "noise.png"
    )
    (root / "notes.txt").write_bytes(b"\xff\xfe\x00bad utf-8 \xc3\x28\n")
    (root / "long_text.txt").write_text("x" * 20_001)


@pytest.fixture(scope="session")
def inputs(tmp_path_factory) -> Path:
    """A folder of bad and edge inputs, made once per session (read-only for the tests)."""
    root = tmp_path_factory.mktemp("inputs")
    _make_inputs(root)
    return root


@pytest.fixture(scope="session")
def readonly_dir(tmp_path_factory) -> Path:
    """A folder nobody may write to: a 0o555 folder for ordinary users; for root (who ignores modes), /sys."""
    if os.geteuid() != 0:
        path = tmp_path_factory.mktemp("readonly")
        path.chmod(0o555)
        return path
    path = Path("/sys/kernel")
    try:
        (path / ".emogen-write-test").touch()
    except OSError:
        return path
    pytest.skip("no unwritable folder on this machine")


class Helpers:
    """What the case tables share (a fixture, since test modules cannot import each other here)."""

    @staticmethod
    def snapshot(folder: Path) -> list[str]:
        """Everything under ``folder`` (relative paths), to compare before and after a call."""
        return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []

    @staticmethod
    def fill(value, ctx: dict[str, str]):
        """``{in}``, ``{out}``, ``{ro}`` in strings (and in lists, tuples, dicts of them) → the test's folders."""
        if isinstance(value, str):
            for key, folder in ctx.items():
                value = value.replace("{" + key + "}", folder)
            return value
        if isinstance(value, (list, tuple)):
            return type(value)(Helpers.fill(v, ctx) for v in value)
        if isinstance(value, dict):
            return {k: Helpers.fill(v, ctx) for k, v in value.items()}
        return value

    @staticmethod
    def assert_one_line_error(message: str, needle: str) -> None:
        assert "\n" not in message.strip(), f"more than one line: {message!r}"
        assert needle in message, f"{needle!r} not named in {message!r}"
        assert "Traceback" not in message

    @staticmethod
    def warnings_naming(caplog, needle: str) -> list[str]:
        return [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and needle in r.getMessage()]


@pytest.fixture(scope="session")
def rel() -> type[Helpers]:
    return Helpers
