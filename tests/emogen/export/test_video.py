"""write_video: mp4 H.264 yuv420p, audio muxing, atomic writes, bad inputs."""

from __future__ import annotations

import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
import torch

from emogen.export import write_video


def _probe(path) -> str:
    return subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True
    ).stderr


def _frames(n=12, h=64, w=80):
    """Smooth, moving colour gradients (video codecs are not made for noise)."""
    y, x = np.mgrid[0:h, 0:w]
    out = np.stack(
        [np.stack([(x * 3 + 5 * t) % 256, (y * 3) % 256, np.full_like(x, 40 * (t % 4))], -1) for t in range(n)]
    )
    return out.astype(np.uint8)


def test_roundtrip_frames(tmp_path):
    frames = _frames()
    path = write_video(tmp_path / "a.mp4", frames, fps=25)
    info = _probe(path)
    assert "h264" in info and "yuv420p" in info and "25 fps" in info
    n, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert n == 12
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    first = np.frombuffer(next(reader), np.uint8).reshape(meta["size"][1], meta["size"][0], 3)
    assert np.abs(first.astype(int) - frames[0]).mean() < 12  # lossy but close
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4"]  # no temp files left


def test_odd_size_tensor_and_float_input(tmp_path):
    frames = torch.from_numpy(_frames(h=63, w=81)).float() / 255
    path = write_video(tmp_path / "b.mp4", frames, fps=12.5)
    assert "82x64" in _probe(path).replace(" ", "")


def test_audio_is_muxed(tmp_path):
    sr = 16000
    audio = 0.3 * np.sin(2 * np.pi * 440 * np.arange(sr) / sr)
    path = write_video(tmp_path / "c.mp4", _frames(25), fps=25, audio=audio, sample_rate=sr)
    info = _probe(path)
    assert "Audio: aac" in info and "Video: h264" in info


def test_bad_inputs_leave_nothing(tmp_path):
    with pytest.raises(ValueError, match="shape"):
        write_video(tmp_path / "d.mp4", np.zeros((4, 8, 8)), fps=25)
    with pytest.raises(ValueError, match=".mp4"):
        write_video(tmp_path / "d.avi", _frames(), fps=25)
    with pytest.raises(ValueError, match="fps"):
        write_video(tmp_path / "d.mp4", _frames(), fps=0)
    with pytest.raises(ValueError, match="sample_rate"):
        write_video(tmp_path / "d.mp4", _frames(), fps=25, audio=np.zeros(100))
    with pytest.raises(TypeError):
        write_video(tmp_path / "d.mp4", "frames", fps=25)
    assert list(tmp_path.iterdir()) == []


def test_existing_file_replaced_atomically(tmp_path):
    target = tmp_path / "e.mp4"
    target.write_bytes(b"old")
    write_video(target, _frames(), fps=25)
    assert target.read_bytes()[:3] != b"old" and target.stat().st_size > 1000
