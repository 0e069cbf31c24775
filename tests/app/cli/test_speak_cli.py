"""`emogen speak`: writes a WAV and timings JSON, prints the paths, fails cleanly."""

from __future__ import annotations

import json

import pytest
import soundfile as sf

from emogen.app.cli import main


@pytest.mark.parametrize(
    ("voice", "engine", "rate", "pause"),
    [(None, "hibari", 24000, "SIL"), ("en-us+f3", "espeak-ng", 22050, "_")],  # neural by default, espeak by name
)
def test_speak_writes_audio_and_timings(tmp_path, capsys, voice, engine, rate, pause):
    wav, js = tmp_path / "out.wav", tmp_path / "out.json"
    argv = ["speak", "[happy] We won! [sad:0.7] But Sam got hurt.", "-o", str(wav), "--timings", str(js)]
    code = main(argv + (["--voice", voice] if voice else []))
    assert code == 0
    printed = capsys.readouterr().out
    assert str(wav) in printed and str(js) in printed
    audio, sr = sf.read(wav)
    assert sr == rate and audio.ndim == 1 and len(audio) > sr
    data = json.loads(js.read_text())
    assert data["engine"] == engine and data["voice"] == (voice or "heart")
    assert any(p["phone"].startswith(pause) for p in data["phones"])  # ARPAbet "SIL" (hibari), espeak's "_:"
    assert [s["label"] for s in data["plan"]["segments"]] == ["happy", "sad"]
    assert data["phones"][0].keys() == {"phone", "start", "end"}
    assert data["duration"] == round(len(audio) / sr, 4)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_list_voices_shows_both_families(capsys):
    assert main(["speak", "--list-voices"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "# hibari voices" and lines[1].startswith("heart ") and "neural" in lines[1]
    assert "# espeak-ng voices" in lines and "en-us+f3" in out and "female" in out


def test_errors_are_one_line_and_write_nothing(tmp_path, capsys):
    wav = tmp_path / "x.wav"
    assert main(["speak", "", "-o", str(wav)]) == 2
    assert "error" in capsys.readouterr().err and not wav.exists()
    assert main(["speak", "Hello"]) == 2
    assert "-o" in capsys.readouterr().err
    assert main(["speak", "Hello", "--voice", "klingon", "-o", str(wav)]) == 2
    assert "'klingon'" in capsys.readouterr().err and not wav.exists()
    assert main(["speak", "Hello", "-o", str(tmp_path / "x.mp3")]) == 2  # WAV bytes under another name: refused
    assert ".wav" in capsys.readouterr().err and not (tmp_path / "x.mp3").exists()
    assert main(["speak", "Hello", "-o", str(tmp_path / "new" / "x.wav")]) == 0  # missing folders are created
    assert (tmp_path / "new" / "x.wav").is_file()
