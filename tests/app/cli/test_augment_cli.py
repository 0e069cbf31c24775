"""`emogen augment` end to end at a small size: balance, manifest = files, byte-identical reruns, formats, resume."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import imageio_ffmpeg
import pytest
from PIL import Image

from emogen.app.cli import main
from emogen.batch.manifest import read_jsonl
from emogen.emotion import LABELS

KEYS = {"id", "file", "identity", "label", "probs", "vad", "intensity", "arkit", "aus", "pose", "lighting", "seed",
        "version"}  # fmt: skip
SMALL = ["--identities", "astronaut", "--size", "48", "--lighting", "--mixtures"]


def files_of(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.png"))}


def check_imagefolder(out: Path, per_class: dict[str, int]) -> list[dict]:
    rows = read_jsonl(out / "manifest.jsonl")
    assert [r["id"] for r in rows] == list(dict.fromkeys(r["id"] for r in rows)), "each item once"
    assert set(files_of(out)) == {r["file"] for r in rows}, "the manifest matches the files exactly"
    assert {lab: sum(r["label"] == lab for r in rows) for lab in per_class} == per_class, "exact balance"
    for r in rows:
        assert KEYS <= set(r) and r["file"] == f"{r['label']}/{r['id']}.png"
        assert len(r["probs"]) == len(LABELS) and len(r["arkit"]) == 52 and len(r["vad"]) == 3
        assert LABELS[max(range(len(LABELS)), key=r["probs"].__getitem__)] == r["label"]
        assert set(r["pose"]) == {"pitch", "yaw", "roll", "gaze_yaw", "gaze_pitch"} and r["lighting"]
        assert "AU12" in r["aus"]
        with Image.open(out / r["file"]) as im:
            assert im.size == (48, 48)
    meta = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    assert [m["file_name"] for m in meta] == [r["file"] for r in rows]
    return rows


def test_all_classes_balanced_and_byte_identical_across_runs_and_workers(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["augment", *SMALL, "--emotions", "all", "--per-class", "2", "--workers", "0", "-o", str(a)]) == 0
    assert "done 16" in capsys.readouterr().out
    rows = check_imagefolder(a, dict.fromkeys(LABELS, 2))
    from emogen.arkit import ARKIT_INDEX

    for r in rows:  # the labels are what was rendered: a smile where happiness is, none in a pure neutral face
        smile = r["arkit"][ARKIT_INDEX["mouthSmileLeft"]]
        assert (smile > 0) == (r["probs"][LABELS.index("happy")] > 0 and r["intensity"] > 0)
        assert (r["aus"]["AU12"] > 0) == (smile > 0)
    info = json.loads((a / "dataset_info.json").read_text())
    assert info["labels"] == list(LABELS) and len(info["arkit"]) == 52 and info["classes"] == dict.fromkeys(LABELS, 2)
    assert not (a / ".emogen").exists()
    # the same arguments, two worker processes: the same bytes
    assert main(["augment", *SMALL, "--emotions", "all", "--per-class", "2", "--workers", "2", "-o", str(b)]) == 0
    assert files_of(a) == files_of(b)
    assert (a / "manifest.jsonl").read_bytes() == (b / "manifest.jsonl").read_bytes()


def test_resume_grow_and_shrink(tmp_path, capsys):
    out = tmp_path / "aug"
    base = ["augment", *SMALL, "--emotions", "happy,sad", "--workers", "0", "-o", str(out)]
    assert main([*base, "--per-class", "2"]) == 0
    first = files_of(out)
    assert main([*base, "--per-class", "3"]) == 0
    assert "done 2, skipped 4" in capsys.readouterr().out
    rows = check_imagefolder(out, {"happy": 3, "sad": 3})
    assert {k: v for k, v in files_of(out).items() if k in first} == first
    before = files_of(out)
    assert main([*base, "--per-class", "1"]) == 2  # would remove items: refused, nothing touched
    assert "--prune" in capsys.readouterr().err and files_of(out) == before
    assert main([*base[:-4], "--emotions", "happy", "--per-class", "3", "--workers", "0", "-o", str(out)]) == 2
    assert files_of(out) == before
    assert main([*base, "--per-class", "1", "--prune"]) == 0
    check_imagefolder(out, {"happy": 1, "sad": 1})
    assert {r["id"] for r in read_jsonl(out / "manifest.jsonl")} < {r["id"] for r in rows}


def test_webdataset_and_parquet_hold_the_same_rows(tmp_path):
    common = ["augment", *SMALL, "--emotions", "angry,contempt", "--per-class", "2", "--workers", "0"]
    assert main([*common, "-o", str(tmp_path / "img")]) == 0
    assert main([*common, "--format", "webdataset", "--shard-size", "3", "-o", str(tmp_path / "wds")]) == 0
    img = read_jsonl(tmp_path / "img" / "manifest.jsonl")
    wds = read_jsonl(tmp_path / "wds" / "manifest.jsonl")
    strip = ("file", "member", "row")
    assert [{k: v for k, v in r.items() if k not in strip} for r in wds] == [
        {k: v for k, v in r.items() if k not in strip} for r in img
    ]
    assert sorted(p.name for p in (tmp_path / "wds" / "shards").iterdir()) == [
        "augment-000000.tar",
        "augment-000001.tar",
    ]
    with tarfile.open(tmp_path / "wds" / wds[3]["file"]) as tar:
        assert tar.extractfile(wds[3]["member"]).read() == (tmp_path / "img" / img[3]["file"]).read_bytes()
    assert not (tmp_path / "wds" / ".emogen").exists()
    pytest.importorskip("pyarrow")
    assert main([*common, "--format", "parquet", "-o", str(tmp_path / "pq")]) == 0
    pq_rows = read_jsonl(tmp_path / "pq" / "manifest.jsonl")
    assert [r["row"] for r in pq_rows] == [0, 1, 2, 3] and pq_rows[0]["file"] == "data/train-00000-of-00001.parquet"
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "pq" / pq_rows[0]["file"])
    assert table.column("id").to_pylist() == [r["id"] for r in img]
    assert table.column("image")[2].as_py()["bytes"] == (tmp_path / "img" / img[2]["file"]).read_bytes()
    # another format into a finished dataset's folder is refused
    assert main([*common, "--format", "parquet", "-o", str(tmp_path / "img")]) == 2


def test_imagefolder_loads_with_datasets(tmp_path):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "aug"
    assert main(["augment", *SMALL, "--emotions", "happy,fearful", "--per-class", "2", "--workers", "0", "-o",
                 str(out)]) == 0  # fmt: skip
    ds = datasets.load_dataset("imagefolder", data_dir=str(out), split="train", cache_dir=str(tmp_path / "cache"))
    assert len(ds) == 4 and sorted(ds["label"]) == ["fearful", "fearful", "happy", "happy"]
    assert len(ds[0]["probs"]) == 8 and ds[0]["image"].size == (48, 48)


def test_video_clips(tmp_path):
    out = tmp_path / "clips"
    assert main(["augment", "--emotions", "surprised", "--per-class", "2", "--video", "--frames", "4", "--size", "48",
                 "--workers", "0", "-o", str(out)]) == 0  # fmt: skip
    rows = read_jsonl(out / "manifest.jsonl")
    assert len(rows) == 2 and all(r["file"].endswith(".mp4") and r["frames"] == 4 for r in rows)
    for r in rows:
        assert imageio_ffmpeg.count_frames_and_secs(str(out / r["file"]))[0] == 4
        assert isinstance(r["speech"], bool)


def test_histogram_fill_up(tmp_path, capsys):
    counts = tmp_path / "counts.json"
    counts.write_text(json.dumps({"happiness": 3, "sadness": 1, "anger": 2}))
    out = tmp_path / "fill"
    assert main(["augment", "--emotions", "happy,sad,angry", "--match-histogram", str(counts), "--size", "48",
                 "--workers", "0", "-o", str(out)]) == 0  # fmt: skip
    rows = read_jsonl(out / "manifest.jsonl")
    assert {lab: sum(r["label"] == lab for r in rows) for lab in ("happy", "sad", "angry")} == {
        "happy": 0, "sad": 2, "angry": 1}  # fmt: skip


def test_report_without_judges(tmp_path, capsys):
    out = tmp_path / "aug"
    assert main(["augment", "--emotions", "sad", "--per-class", "1", "--size", "48", "--workers", "0", "-o",
                 str(out)]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["augment", "--report", str(out)]) == 0
    assert "none has a judge's reading" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--per-class", "2", "--intensity", "0.9:0.1"], "--intensity"),
        (["--per-class", "2", "--emotions", "happy,grumpy"], "grumpy"),
        (["--per-class", "2", "--frames", "8"], "add --video"),
        (["--per-class", "2", "--identities", "nobody"], "neither a folder nor a built-in"),
        (["--per-class", "2", "--judge", "oracle"], "unknown judges"),
        ([], "--per-class N or --match-histogram"),
        (["--per-class", "2", "--match-histogram", "missing.json"], "no such file"),
    ],
)
def test_usage_errors_exit_2_with_one_line(tmp_path, monkeypatch, capsys, extra, match):
    monkeypatch.chdir(tmp_path)
    assert main(["augment", *extra, "-o", str(tmp_path / "out")]) == 2
    assert match in capsys.readouterr().err.splitlines()[0]


def test_refuses_a_foreign_non_empty_folder(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("keep me")
    assert main(["augment", "--per-class", "1", "-o", str(tmp_path)]) == 2
    assert "holds no emogen dataset" in capsys.readouterr().err
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_cuda_without_a_gpu_is_a_usage_error(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is available")
    assert main(["augment", "--per-class", "1", "--device", "cuda", "-o", str(tmp_path / "out")]) == 2
    assert "no CUDA device" in capsys.readouterr().err
