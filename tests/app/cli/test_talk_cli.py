"""``emogen talk``: portrait + text/audio + emotion → mp4 with sound (+ ARKit curves)."""

from __future__ import annotations

import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
import soundfile as sf

from emogen.app.cli import main


def probe(path) -> str:
    """ffmpeg's description of the file's streams."""
    result = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True
    )
    return result.stderr


def test_talk_writes_video_with_audio_and_curves(tmp_path, capsys):
    out, curves = tmp_path / "hi.mp4", tmp_path / "hi.csv"
    code = main(
        ["talk", "--text", "Hi there.", "--emotion", "happy", "--size", "64", "--steps", "2", "--fps", "20",
         "--curves", str(curves), "-o", str(out)]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1] == str(out) and str(curves) in printed
    info = probe(out)
    assert "Video: h264" in info and "64x64" in info and "20 fps" in info and "Audio: aac" in info
    lines = curves.read_text().splitlines()
    assert lines[0].startswith("Timecode,BlendShapeCount,EyeBlinkLeft") and len(lines) > 10


def test_talk_emotion_dynamics_reach_the_pipeline(tmp_path, capsys, monkeypatch):
    """--emotion-dynamics is handed to the pipeline (default first-order) and unknown modes rejected."""
    from emogen.pipelines.talking_head import EmoTalkingHeadPipeline

    seen = []
    call = EmoTalkingHeadPipeline.__call__

    def spy(self, *args, **kwargs):
        seen.append(kwargs.get("emotion_dynamics", "not given"))
        return call(self, *args, **kwargs)

    monkeypatch.setattr(EmoTalkingHeadPipeline, "__call__", spy)
    base = ["talk", "--text", "[happy] We won! [sad] But Sam got hurt.", "--size", "48", "--steps", "1"]
    assert main([*base, "-o", str(tmp_path / "a.mp4")]) == 0
    assert main([*base, "--emotion-dynamics", "none", "-o", str(tmp_path / "b.mp4")]) == 0
    assert main([*base, "--emotion-dynamics", "second-order", "-o", str(tmp_path / "c.mp4")]) == 0
    assert seen == ["first-order", "none", "second-order"]  # make_dynamics("none") is None: steps
    assert main(["talk", "--text", "Hi", "--emotion-dynamics", "bouncy", "-o", str(tmp_path / "x.mp4")]) == 2
    assert "invalid choice: 'bouncy'" in capsys.readouterr().err


def test_talk_lip_syncs_an_audio_file(tmp_path, capsys):
    from emogen.pipelines.speech import EmoSpeechPipeline

    speech = EmoSpeechPipeline()
    speech.set_progress_bar_config(disable=True)
    spoken = speech("Good morning.")
    wav = tmp_path / "speech.wav"
    sf.write(wav, spoken.waveform, spoken.sample_rate)
    out = tmp_path / "speech.mp4"
    assert main(["talk", "--audio", str(wav), "--size", "48", "--steps", "1", "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out)
    assert "Audio: aac" in probe(out)


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["-o", "x.mp4"], "exactly one of --text"),
        (["--text", "Hi", "--audio", "a.wav", "-o", "x.mp4"], "exactly one of --text"),
        (["--text", "  ", "-o", "x.mp4"], "--text is empty"),
        (["--audio", "missing.wav", "-o", "x.mp4"], "--audio: no such file"),
        (["--text", "Hi", "-o", "x.gif"], "must end in .mp4"),
        (["--text", "Hi", "--image", "missing.jpg", "-o", "x.mp4"], "--image: no such file"),
        (["--text", "Hi", "--size", "8", "-o", "x.mp4"], "--size"),
        (["--text", "Hi", "--fps", "0", "-o", "x.mp4"], "--fps"),
        (["--text", "Hi", "--steps", "0", "-o", "x.mp4"], "--steps"),
        (["--text", "Hi", "--curves", "c.txt", "-o", "x.mp4"], "--curves"),
        (["--text", "Hi", "--emotion", "happpy", "--size", "32", "-o", "x.mp4"], "Unknown emotion label 'happpy'"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path, capsys, monkeypatch, argv, match):
    monkeypatch.chdir(tmp_path)
    assert main(["talk", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("emogen talk: error: ")]
    assert len(errors) == 1 and match in errors[0], err
    assert "Traceback" not in "".join(err)
    assert not list(tmp_path.glob("*.mp4"))


def test_default_image_is_the_astronaut(tmp_path, capsys):
    out = tmp_path / "a.mp4"
    assert main(["talk", "--text", "Oh.", "--size", "32", "--steps", "1", "-o", str(out)]) == 0
    capsys.readouterr()
    import imageio.v3 as iio

    first = iio.imread(out, index=0)
    assert first.shape == (32, 32, 3) and np.asarray(first).std() > 10
