"""Bad and edge input through the ``emogen`` command line, one row per kind, each with its exact outcome class.

``{in}`` is the folder of prepared inputs (see conftest), ``{out}`` an empty folder the command may write to (and
the working directory), ``{ro}`` a folder nobody can write to. Error rows also check that nothing is left behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from emogen.app.cli import main

pytestmark = pytest.mark.reliability

LONG_TEXT = "x" * 20_001


@dataclass(frozen=True)
class Case:
    id: str
    argv: list[str]
    outcome: str
    needle: str
    check: object = None  # for "works": a function (out folder, stdout) -> None


def _frames(path: Path) -> tuple[int, int, int]:
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    first = next(reader)
    reader.close()
    w, h = meta["size"]
    return len(first), h, w


def _mp4_ok(name: str):
    def check(out: Path, stdout: str) -> None:
        path = out / name
        assert path.is_file() and path.read_bytes()[4:8] == b"ftyp"

    return check


def _gray16_not_white(out: Path, stdout: str) -> None:
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(out / "gray.mp4"))
    meta = next(reader)
    import numpy as np

    frame = np.frombuffer(next(reader), np.uint8)
    reader.close()
    assert meta["size"] == (64, 64) and 60 < frame.mean() < 180  # the face, not a near-white page


def _rttm_in_new_folder(out: Path, stdout: str) -> None:
    assert (out / "new" / "deeper" / "s.rttm").read_text().startswith("SPEAKER ")


ANIM = ["animate", "--duration", "0.2", "--size", "64", "--no-idle"]

CASES = [
    # portraits: every decoder failure is one clear line naming the file
    Case("image-truncated-png", [*ANIM, "--emotion", "happy", "--image", "{in}/truncated.png", "-o", "a.mp4"],
         "error", "truncated.png"),
    Case("image-corrupt-png", [*ANIM, "--emotion", "happy", "--image", "{in}/corrupt.png", "-o", "a.mp4"],
         "error", "corrupt.png"),
    Case("image-text-named-jpg", [*ANIM, "--emotion", "happy", "--image", "{in}/text.jpg", "-o", "a.mp4"],
         "error", "text.jpg"),
    Case("image-zero-bytes", [*ANIM, "--emotion", "happy", "--image", "{in}/empty.jpg", "-o", "a.mp4"],
         "error", "empty.jpg"),
    Case("image-folder", [*ANIM, "--emotion", "happy", "--image", "{in}/folder", "-o", "a.mp4"], "error", "folder"),
    Case("image-missing", [*ANIM, "--emotion", "happy", "--image", "{in}/nope.png", "-o", "a.mp4"], "error",
         "nope.png"),
    Case("image-90-megapixels", [*ANIM, "--emotion", "happy", "--image", "{in}/huge.png", "-o", "a.mp4"], "error",
         "huge.png"),
    Case("image-16bit-gray", [*ANIM, "--emotion", "happy", "--image", "{in}/gray16.png", "-o", "gray.mp4"], "works",
         "", _gray16_not_white),
    # emotion specs: never silently read as text, never unbounded
    Case("emotion-unknown-word", [*ANIM, "--emotion", "abc", "-o", "a.mp4"], "error", "'abc'"),
    Case("emotion-bare-time", [*ANIM, "--emotion", "0s", "-o", "a.mp4"], "error", "'0s'"),
    Case("emotion-emoji", [*ANIM, "--emotion", "😀", "-o", "a.mp4"], "error", "😀"),
    Case("emotion-missing-intensity", [*ANIM, "--emotion", "happy:", "-o", "a.mp4"], "error", "'happy:'"),
    Case("emotion-mixture-unknown", [*ANIM, "--emotion", "happy:0.5+blorp:0.5", "-o", "a.mp4"], "error", "'blorp'"),
    Case("emotion-timeline-no-comma", [*ANIM, "--emotion", "0s happy 1s sad", "-o", "a.mp4"], "error",
         "at character 10"),
    Case("emotion-timeline-100000s", ["animate", "--emotion", "0s happy, 100000s sad", "-o", "a.mp4"], "error",
         "100000s"),
    Case("emotion-intensity-1.5", [*ANIM, "--emotion", "happy:1.5", "-o", "a.mp4"], "error", "'1.5'"),
    Case("emotion-vad-out-of-range", [*ANIM, "--emotion", "vad:2,0,0", "-o", "a.mp4"], "error", "'2'"),
    Case("emotion-times-decrease", [*ANIM, "--emotion", "1s happy, 0s sad", "-o", "a.mp4"], "error", "0s follows 1s"),
    Case("emotion-two-labels-no-plus", [*ANIM, "--emotion", "happy sad", "-o", "a.mp4"], "error", "'happy sad'"),
    Case("emotion-timeline-no-first-time", [*ANIM, "--emotion", "happy, 1s sad", "-o", "a.mp4"], "error",
         "'happy, 1s sad'"),
    Case("duration-too-long", ["animate", "--emotion", "happy", "--duration", "100000", "-o", "a.mp4"], "error",
         "100000"),
    Case("duration-zero", ["animate", "--emotion", "happy", "--duration", "0", "-o", "a.mp4"], "error", "--duration"),
    Case("fps-zero", [*ANIM, "--emotion", "happy", "--fps", "0", "-o", "a.mp4"], "error", "--fps"),
    Case("size-huge", [*ANIM, "--emotion", "happy", "--size", "100000", "-o", "a.mp4"], "error", "--size"),
    # outputs: checked before any work
    Case("output-wrong-format", [*ANIM, "--emotion", "happy", "-o", "a.gif"], "error", "a.gif"),
    Case("output-read-only-folder", [*ANIM, "--emotion", "happy", "-o", "{ro}/a.mp4"], "error", "{ro}"),
    Case("output-is-a-folder", [*ANIM, "--emotion", "happy", "-o", "{in}/folder"], "error", "folder"),
    Case("output-parent-is-a-file", [*ANIM, "--emotion", "happy", "-o", "{in}/good.png/a.mp4"], "error", "good.png"),
    Case("curves-wrong-format", [*ANIM, "--emotion", "happy", "--curves", "c.txt", "-o", "a.mp4"], "error", "c.txt"),
    Case("output-missing-folders", [*ANIM, "--emotion", "happy", "-o", "{out}/new/deeper/a.mp4"], "works", "",
         _mp4_ok("new/deeper/a.mp4")),
    # talk: everything that needs no model fails before the models load
    Case("talk-no-text-no-audio", ["talk", "-o", "a.mp4"], "error", "--text"),
    Case("talk-blank-text", ["talk", "--text", "   ", "-o", "a.mp4"], "error", "--text is empty"),
    Case("talk-text-too-long", ["talk", "--text", LONG_TEXT, "-o", "a.mp4"], "error", "20001 characters"),
    Case("talk-unknown-tag", ["talk", "--text", "[abc] Hi there.", "-o", "a.mp4"], "error", "[abc]"),
    Case("talk-unclosed-tag", ["talk", "--text", "[happy Hi there.", "-o", "a.mp4"], "error", "Unmatched '['"),
    Case("talk-unknown-emotion", ["talk", "--text", "Hi.", "--emotion", "blorp", "-o", "a.mp4"], "error", "'blorp'"),
    Case("talk-audio-not-audio", ["talk", "--audio", "{in}/text.wav", "-o", "a.mp4"], "error", "text.wav"),
    Case("talk-audio-zero-bytes", ["talk", "--audio", "{in}/empty.wav", "-o", "a.mp4"], "error", "empty.wav"),
    Case("talk-audio-video-no-sound", ["talk", "--audio", "{in}/silent.mp4", "-o", "a.mp4"], "error", "silent.mp4"),
    Case("talk-audio-is-an-image", ["talk", "--audio", "{in}/good.png", "-o", "a.mp4"], "error", "good.png"),
    Case("talk-audio-601s", ["talk", "--audio", "{in}/long.wav", "-o", "a.mp4"], "error", "601"),
    Case("talk-image-truncated", ["talk", "--text", "Hi.", "--image", "{in}/truncated.png", "-o", "a.mp4"], "error",
         "truncated.png"),
    Case("talk-output-read-only", ["talk", "--text", "Hi.", "-o", "{ro}/a.mp4"], "error", "{ro}"),
    # check: videos only
    Case("check-still-image", ["check", "{in}/good.png"], "error", "still image"),
    Case("check-wav", ["check", "{in}/speech.wav"], "error", "speech.wav"),
    Case("check-text-file", ["check", "{in}/text.jpg"], "error", "text.jpg"),
    Case("check-truncated-mp4", ["check", "{in}/truncated.mp4"], "error", "truncated.mp4"),
    Case("check-reference-not-image", ["check", "{in}/silent.mp4", "--reference", "{in}/text.jpg"], "error",
         "text.jpg"),
    Case("check-nothing", ["check"], "error", "VIDEO"),
    Case("check-grid-tiny-size", ["check", "--grid", "--samples", "--size", "3", "-o", "grid"], "error", "--size"),
    Case("check-grid-no-faces", ["check", "--grid", "--identities", "{in}/no_faces", "-o", "grid"], "error",
         "No face found"),
    # diarize
    Case("diarize-not-audio", ["diarize", "{in}/text.wav"], "error", "text.wav"),
    Case("diarize-video-no-sound", ["diarize", "{in}/silent.mp4"], "error", "silent.mp4"),
    Case("diarize-rttm-wrong-format", ["diarize", "{in}/speech.wav", "--rttm", "x.txt"], "error", "x.txt"),
    Case("diarize-rttm-read-only", ["diarize", "{in}/speech.wav", "--rttm", "{ro}/x.rttm"], "error", "{ro}"),
    Case("diarize-rttm-missing-folders", ["diarize", "{in}/speech.wav", "--rttm", "{out}/new/deeper/s.rttm"],
         "works", "", _rttm_in_new_folder),
    # emotion
    Case("timeline-unknown-word", ["emotion", "--timeline", "abc"], "error", "'abc'"),
    Case("timeline-no-comma", ["emotion", "--timeline", "0s happy 1s sad"], "error", "'1s'"),
    Case("timeline-fps-huge", ["emotion", "--timeline", "happy", "--fps", "1e9"], "error", "--fps"),
    Case("texts-batch-size-zero", ["emotion", "--batch-size", "0", "Hi there"], "error", "--batch-size"),
    Case("texts-with-plot", ["emotion", "Hi there", "--plot", "p.png"], "error", "--plot"),
    Case("timeline-negative-tau", ["emotion", "--timeline", "0s happy", "--tau", "-1"], "error", "--tau"),
    Case("texts-batch-size-huge", ["emotion", "--batch-size", "100000", "Hi there"], "error", "100000"),
    Case("texts-empty", ["emotion", ""], "error", "Text 1 is empty"),
    Case("texts-input-not-utf8", ["emotion", "--input-file", "{in}/notes.txt"], "error", "notes.txt"),
    Case("texts-input-missing", ["emotion", "--input-file", "{in}/nope.txt"], "error", "nope.txt"),
    Case("texts-too-long", ["emotion", "--input-file", "{in}/long_text.txt"], "error", "20001 characters"),
    Case("texts-french", ["emotion", "Je suis très heureux aujourd'hui"], "warn", "Je suis très heureux"),
    Case("texts-arabic", ["emotion", "أنا سعيد جدا اليوم"], "warn", "أنا سعيد"),
    # speak: the format is checked before any speech is made
    Case("speak-mp3-output", ["speak", "Hello there.", "-o", "x.mp3"], "error", "x.mp3"),
    Case("speak-txt-output", ["speak", "Hello there.", "-o", "x.txt"], "error", "x.txt"),
    Case("speak-read-only", ["speak", "Hello there.", "-o", "{ro}/x.wav"], "error", "{ro}"),
    Case("unknown-command", ["bogus"], "error", "bogus"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[f"{c.outcome}-{c.id}" for c in CASES])
def test_cli_input(case, inputs, readonly_dir, tmp_path, capsys, caplog, monkeypatch, rel):
    out = tmp_path / "out"
    out.mkdir()
    ctx = {"in": str(inputs), "out": str(out), "ro": str(readonly_dir)}
    argv, needle = rel.fill(case.argv, ctx), rel.fill(case.needle, ctx)
    monkeypatch.chdir(out)
    before = rel.snapshot(inputs)
    code = main(argv)
    captured = capsys.readouterr()
    if case.outcome == "error":
        lines = [line for line in captured.err.splitlines() if line.strip()]
        assert code == 2, captured.err
        assert len(lines) == 1, captured.err
        assert lines[0].startswith("emogen") and ": error: " in lines[0], lines[0]
        rel.assert_one_line_error(lines[0], needle)
        assert rel.snapshot(out) == [], "left behind on failure"
    elif case.outcome == "warn":
        assert code == 0, captured.err
        assert rel.warnings_naming(caplog, needle), [r.getMessage() for r in caplog.records]
    else:
        assert code == 0, captured.err
        case.check(out, captured.out)
        assert not [p for p in rel.snapshot(out) if ".emogen-tmp-" in p]
    assert rel.snapshot(inputs) == before, "files appeared beside the inputs"
