"""Dataset writers (ImageFolder pieces, WebDataset shards, Parquet) and the judges' agreement report."""

import io
import json
import tarfile

import numpy as np
import pytest
from PIL import Image

from emogen.batch.report import agreement_report, agreement_table, judge_rows
from emogen.export.dataset import encode_png, write_bytes, write_jsonl, write_parquet_table, write_webdataset_shards


def _rows(n=5):
    return [{"id": f"{i:016x}", "label": ["happy", "sad"][i % 2], "probs": [0.0, 1.0], "aus": {"AU1": 0.1 * i},
             "lighting": None, "intensity": 0.5} for i in range(n)]  # fmt: skip


def _png(i):
    return encode_png(np.full((4, 6, 3), i, np.uint8))


def test_png_bytes_are_deterministic_and_bytes_are_atomic(tmp_path):
    assert _png(3) == _png(3) and _png(3) != _png(4)
    with pytest.raises(ValueError):
        encode_png(np.zeros((4, 4), np.uint8))
    path = write_bytes(tmp_path / "a" / "b.bin", b"xyz")
    assert path.read_bytes() == b"xyz" and [p.name for p in path.parent.iterdir()] == ["b.bin"]
    write_jsonl(tmp_path / "m.jsonl", [{"a": 1}, {"b": [1, 2]}])
    assert [json.loads(line) for line in (tmp_path / "m.jsonl").read_text().splitlines()] == [{"a": 1}, {"b": [1, 2]}]


def test_webdataset_shards(tmp_path):
    rows = _rows(5)
    out = write_webdataset_shards(tmp_path, rows, lambda r: (_png(int(r["id"], 16)), "png"),
                                  class_index=lambda r: 1 if r["label"] == "happy" else 2, shard_size=2,
                                  prefix="augment")  # fmt: skip
    assert [r["file"] for r in out] == ["shards/augment-000000.tar"] * 2 + ["shards/augment-000001.tar"] * 2 + [
        "shards/augment-000002.tar"
    ]
    with tarfile.open(tmp_path / "shards" / "augment-000001.tar") as tar:
        names = tar.getnames()
        assert names == [f"{rows[2]['id']}.png", f"{rows[2]['id']}.json", f"{rows[2]['id']}.cls",
                         f"{rows[3]['id']}.png", f"{rows[3]['id']}.json", f"{rows[3]['id']}.cls"]  # fmt: skip
        assert json.loads(tar.extractfile(names[1]).read())["member"] == names[0]
        image = Image.open(io.BytesIO(tar.extractfile(names[0]).read()))
        assert np.asarray(image)[0, 0, 0] == 2
    before = (tmp_path / "shards" / "augment-000000.tar").read_bytes()
    write_webdataset_shards(tmp_path, rows, lambda r: (_png(int(r["id"], 16)), "png"), shard_size=2, prefix="augment",
                            class_index=lambda r: 1 if r["label"] == "happy" else 2)  # fmt: skip
    assert (tmp_path / "shards" / "augment-000000.tar").read_bytes() == before, "reproducible shards"
    wds = pytest.importorskip("webdataset")
    samples = list(wds.WebDataset(str(tmp_path / "shards" / "augment-{000000..000002}.tar"), shardshuffle=False))
    assert [s["__key__"] for s in samples] == [r["id"] for r in rows]
    assert samples[0]["cls"] == b"1" and samples[1]["cls"] == b"2"


def test_parquet_table(tmp_path):
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rows = [{**r, "file": "data/x.parquet"} for r in _rows(5)]
    out = write_parquet_table(tmp_path / "data" / "x.parquet", rows, lambda r: (_png(int(r["id"], 16)), "png"),
                              row_group_size=2)  # fmt: skip
    assert [r["row"] for r in out] == [0, 1, 2, 3, 4]
    table = pq.read_table(tmp_path / "data" / "x.parquet")
    assert table.num_rows == 5 and pq.ParquetFile(tmp_path / "data" / "x.parquet").num_row_groups == 3
    assert table.column("label").to_pylist() == [r["label"] for r in rows]
    assert table.column("image")[3].as_py()["bytes"] == _png(3)
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset("parquet", data_files=str(tmp_path / "data" / "x.parquet"), split="train",
                               cache_dir=str(tmp_path / "cache"))  # fmt: skip
    assert isinstance(ds[3]["image"], Image.Image) and ds[3]["aus"]["AU1"] == pytest.approx(0.3)


# --------------------------------------------------------------------------------------------------- judges
class _FakeJudge:
    def __init__(self, name, verdicts):
        self.name, self.verdicts, self.calls = name, verdicts, 0

    def __call__(self, image):
        from emogen.evaluation.judge import LABELS as JL

        label = self.verdicts[int(image[0, 0, 0])]
        if label is None:
            return np.full((1, 7), np.nan)
        p = np.full(7, 0.01)
        p[JL.index(label)] = 0.94
        return p[None]


class _FakeSet:
    def __init__(self, judges):
        self.judges, self.unavailable = judges, {}

    def __iter__(self):
        return iter(self.judges)

    def __len__(self):
        return len(self.judges)

    @property
    def names(self):
        return [j.name for j in self.judges]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def test_judging_and_the_agreement_report(monkeypatch):
    import emogen.evaluation.fer as fer

    spec = [("happy", 0.9), ("happy", 0.4), ("sad", 0.8), ("sad", 0.6), ("contempt", 0.7), ("neutral", 0.0)]
    rows = [{"id": str(i), "label": lab, "intensity": inten} for i, (lab, inten) in enumerate(spec)]
    one = _FakeJudge("alpha", ["happy", "neutral", "sad", None, "happy", "neutral"])
    two = _FakeJudge("beta", ["happy", "happy", "angry", "sad", "disgust", "sad"])
    monkeypatch.setattr(fer, "open_judges", lambda names: _FakeSet([one, two]))
    ran = judge_rows(rows, lambda r: np.full((8, 8, 3), int(r["id"]), np.uint8), progress=False)
    assert ran == ["alpha", "beta"]
    assert rows[3]["judge"]["alpha"] == {"label": None, "probs": None}
    assert rows[1]["judge"]["alpha"]["label"] == "neutral" and rows[4]["judge"]["beta"]["label"] == "disgusted"
    table = {t["label"]: t for t in agreement_table(rows, [r["judge"]["alpha"]["label"] or "no face" for r in rows])}
    assert table["happy"]["agree"] == 1 and table["happy"]["rate"] == 0.5
    assert table["sad"]["faces"] == 1 and table["sad"]["rate"] == 1.0
    assert table["contempt"]["rate"] is None
    report = agreement_report(rows)
    assert "## alpha" in report and "## beta" in report and "## mean of judges" in report
    assert "| happy | 2 | 2 | 1 | 50 % |" in report and "| contempt | 1 | 1 | 0 | n/a |" in report
    assert "no face" in report and "By intensity" in report
    assert "none has a judge's reading" in agreement_report([{"id": "x", "label": "sad", "intensity": 1.0}])
