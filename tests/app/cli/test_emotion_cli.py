"""The `emogen emotion` command-line contract (other tools call it exactly like this)."""

import json
import subprocess
import sys

import pytest

from emogen.app.cli import main
from emogen.emotion import LABELS


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_text_json_contract(capsys):
    code, out, _ = run_cli(capsys, "emotion", "--json", "I am furious!", "What a wonderful, happy day")
    assert code == 0
    lines = [json.loads(line) for line in out.strip().splitlines()]
    assert [x["text"] for x in lines] == ["I am furious!", "What a wonderful, happy day"]
    for x in lines:
        assert len(x["vad"]) == 3 and all(-1 <= v <= 1 for v in x["vad"])
        assert set(x["labels"]) == set(LABELS) and sum(x["labels"].values()) == pytest.approx(1, abs=1e-3)
    furious, happy = lines
    assert furious["vad"][0] < 0 < happy["vad"][0]
    assert max(furious["labels"], key=furious["labels"].get) == "angry"
    assert max(happy["labels"], key=happy["labels"].get) == "happy"


def test_readable_summary(capsys):
    code, out, _ = run_cli(capsys, "emotion", "My dog died this morning.")
    assert code == 0 and "My dog died this morning." in out and "V " in out and "A " in out


def test_input_file_in_order_batched(capsys, tmp_path):
    texts = ["I love this!", "This is terrible news.", "The train leaves at noon."] * 7
    f = tmp_path / "in.txt"
    f.write_text("\n".join(texts) + "\n", encoding="utf-8")
    code, out, _ = run_cli(capsys, "emotion", "--json", "--input-file", str(f), "--batch-size", "4")
    rows = [json.loads(line) for line in out.strip().splitlines()]
    assert code == 0 and [r["text"] for r in rows] == texts
    assert rows[0]["vad"][0] > rows[1]["vad"][0]


def test_timeline_json_and_plot(capsys, tmp_path):
    png = tmp_path / "tl.png"
    code, out, _ = run_cli(
        capsys,
        "emotion", "--timeline", "0s neutral, 1s happy:0.8, 2.5s sad", "--fps", "25",
        "--dynamics", "second-order", "--json", "--plot", str(png),
    )  # fmt: skip
    assert code == 0
    track = json.loads(out)
    assert track["fps"] == 25 and len(track["vad"]) == len(track["probs"]) == len(track["intensity"]) == 88
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["emotion", "--timeline", "0s neutral, 1s hapy"], "Did you mean 'happy'"),
        (["emotion", "--timeline", "0s happy, 0s sad"], "must increase"),
        (["emotion", ""], "empty"),
        (["emotion"], "Nothing to do"),
        (["emotion", "--input-file", "/nonexistent/file.txt"], "does not exist"),
        (["emotion", "--timeline", "0s happy", "--fps", "0"], "fps"),
    ],
)
def test_bad_input_is_one_clear_line(capsys, argv, message):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and message in err and "Traceback" not in err


def test_console_script_help_everywhere():
    for args in ([], ["emotion"]):
        proc = subprocess.run(
            [sys.executable, "-m", "emogen", *args, "--help"], capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0 and "usage: emogen" in proc.stdout
