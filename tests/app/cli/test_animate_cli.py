"""`emogen animate` end to end (tiny size, short clip)."""

from __future__ import annotations

import csv

import imageio_ffmpeg
import pytest

from emogen.app.cli import main


def test_animate_astronaut(tmp_path, capsys):
    out = tmp_path / "happy.mp4"
    curves = tmp_path / "happy.csv"
    code = main(
        [
            "animate",
            "--emotion",
            "happy:0.8",
            "--duration",
            "0.4",
            "--size",
            "128",
            "--seed",
            "1",
            "-o",
            str(out),
            "--curves",
            str(curves),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert str(out) in printed
    n, secs = imageio_ffmpeg.count_frames_and_secs(str(out))
    assert n == 10
    rows = list(csv.reader(curves.open()))
    smile = [float(r[rows[0].index("MouthSmileLeft")]) for r in rows[1:]]
    assert min(smile) > 0.5


def test_animate_timeline_no_idle(tmp_path):
    out = tmp_path / "t.mp4"
    assert (
        main(
            [
                "animate",
                "--emotion",
                "0s neutral, 0.2s sad",
                "--duration",
                "0.4",
                "--fps",
                "10",
                "--size",
                "96",
                "--no-idle",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert imageio_ffmpeg.count_frames_and_secs(str(out))[0] == 4


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--emotion", "happy", "-o", "x.avi"], ".mp4"),
        (["--emotion", "happy", "--size", "8", "-o", "x.mp4"], "--size"),
        (["--emotion", "happy", "--image", "/nope.jpg", "-o", "x.mp4"], "no such file"),
        (["--emotion", "happy:7", "-o", "x.mp4"], "happy"),
    ],
)
def test_animate_bad_arguments(tmp_path, capsys, argv, message):
    argv = [a if a not in ("x.mp4", "x.avi") else str(tmp_path / a) for a in argv]
    assert main(["animate", *argv]) == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
