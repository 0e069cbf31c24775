"""`emogen speak`: writes a WAV and timings JSON, prints the paths, fails cleanly."""

from __future__ import annotations

import json

import soundfile as sf

from emogen.app.cli import main


def test_speak_writes_audio_and_timings(tmp_path, capsys):
    wav, js = tmp_path / "out.wav", tmp_path / "out.json"
    code = main(
        [
            "speak",
            "[happy] We won! [sad:0.7] But Sam got hurt.",
            "--voice",
            "en-us+f3",
            "-o",
            str(wav),
            "--timings",
            str(js),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert str(wav) in printed and str(js) in printed
    audio, sr = sf.read(wav)
    assert sr == 22050 and audio.ndim == 1 and len(audio) > sr
    data = json.loads(js.read_text())
    assert [s["label"] for s in data["plan"]["segments"]] == ["happy", "sad"]
    assert data["phones"][0].keys() == {"phone", "start", "end"}
    assert data["duration"] == round(len(audio) / sr, 4)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_list_voices(capsys):
    assert main(["speak", "--list-voices"]) == 0
    out = capsys.readouterr().out
    assert "en-us+f3" in out and "female" in out


def test_errors_are_one_line_and_write_nothing(tmp_path, capsys):
    wav = tmp_path / "x.wav"
    assert main(["speak", "", "-o", str(wav)]) == 2
    assert "error" in capsys.readouterr().err and not wav.exists()
    assert main(["speak", "Hello"]) == 2
    assert "-o" in capsys.readouterr().err
    assert main(["speak", "Hello", "-o", str(tmp_path / "x.mp3")]) == 2  # WAV bytes under another name: refused
    assert ".wav" in capsys.readouterr().err and not (tmp_path / "x.mp3").exists()
    assert main(["speak", "Hello", "-o", str(tmp_path / "new" / "x.wav")]) == 0  # missing folders are created
    assert (tmp_path / "new" / "x.wav").is_file()
