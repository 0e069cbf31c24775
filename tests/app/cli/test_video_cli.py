"""`emogen video`: an idle clip end to end, errors before any work."""

from __future__ import annotations

import pytest

from emogen.app.cli import main


def test_idle_video(tmp_path, capsys):
    out = tmp_path / "idle.mp4"
    assert main(["video", "--mode", "idle", "--emotion", "happy", "--duration", "0.4", "--fps", "10", "--size", "64",
                 "--grade", "-o", str(out)]) == 0  # fmt: skip
    from emogen.io.video import read_video_frames

    frames = read_video_frames(out)
    frames = frames[0] if isinstance(frames, tuple) else frames
    assert len(frames) == 4


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--mode", "listening"], "needs --text or --audio"),
        (["--mode", "idle", "--text", "hi"], "takes no speech"),
        (["--mode", "listening", "--text", "hi", "--mirror", "3"], "--mirror"),
        (["--mode", "idle", "--mirror", "0.5"], "needs --mode listening"),
        (["--text", "hi", "--duration", "3"], "idle clip's length"),
        (["--mode", "idle", "--emotion", "blorp"], "Unknown emotion label"),
        (["--mode", "listening", "--text", "hi", "--emotion", "auto"], "--emotion auto"),
    ],
)
def test_video_errors_before_work(tmp_path, capsys, argv, message):
    assert main(["video", "-o", str(tmp_path / "v.mp4"), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "v.mp4").exists()
