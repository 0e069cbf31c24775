"""run_batch: outputs named by id, one manifest row per item, resume, failures isolated, crash at any write."""

import json
from pathlib import Path

import pytest
from PIL import Image

from emogen.batch import ItemStore, load_jobs, plan_items, run_batch
from emogen.batch.manifest import read_jsonl

JOBS = """
- {command: paint, level: 1}
- {command: paint, level: 2, meta: true}
- {command: paint, level: 3, fail: "on purpose"}
- {command: paint, level: 4, id: four, note: hello}
- {command: paint, colour: red}
- {command: paint, level: 5, image: me.png}
"""


@pytest.fixture
def plan(tmp_path, registry):
    (tmp_path / "me.png").write_bytes(b"\x07rest")
    (tmp_path / "jobs.yaml").write_text(JOBS)

    def make():
        jobs = load_jobs(tmp_path / "jobs.yaml")
        return plan_items(jobs, base=tmp_path, roots=[tmp_path], registry=registry)

    return make


def check_consistent(out: Path, items) -> list[dict]:
    """Every item exactly once in the manifest; every listed output opens; no stray or temporary files."""
    rows = read_jsonl(out / "manifest.jsonl")
    ids = [r["id"] for r in rows]
    assert sorted(ids) == sorted({i.id for i in items}), "each item exactly once"
    assert len(ids) == len(set(ids))
    listed = set()
    for row in rows:
        for rel in row["outputs"].values():
            listed.add(rel)
            path = out / rel
            if rel.endswith(".png"):
                with Image.open(path) as im:
                    im.load()
            elif rel.endswith(".txt"):
                assert path.read_text() == "hello"
            else:
                json.loads(path.read_text())
    on_disk = {p.name for p in out.iterdir() if p.is_file() and p.name != "manifest.jsonl"}
    assert on_disk == listed, "outputs on disk are exactly the manifest's"
    return rows


def test_run_resume_and_failures(tmp_path, plan):
    out = tmp_path / "out"
    items = plan()
    summary = run_batch(items, out, workers=0, progress=False)
    assert (summary.done, summary.failed, summary.skipped) == (4, 2, 0)
    rows = {r["id"]: r for r in check_consistent(out, items)}
    by_level = {i.job.get("level"): i for i in items}
    assert rows[by_level[3].id]["status"] == "failed" and "on purpose" in rows[by_level[3].id]["error"]
    assert rows["four"]["outputs"] == {"output": "four.png", "note": "four.txt"}
    assert rows[by_level[2].id]["outputs"] == {
        "output": f"{by_level[2].id}.png",
        "meta": f"{by_level[2].id}.meta.json",
    }
    assert rows[by_level[1].id]["seed"] == by_level[1].seed
    assert [r["id"] for r in read_jsonl(out / "manifest.jsonl")] == [i.id for i in items], "job order"
    first = {p.name: p.read_bytes() for p in out.glob("*.png")}
    # a rerun skips what is done and retries what failed
    again = run_batch(plan(), out, workers=0, progress=False)
    assert (again.done, again.failed, again.skipped) == (0, 2, 4)
    check_consistent(out, items)
    assert {p.name: p.read_bytes() for p in out.glob("*.png")} == first
    # a deleted output is made again, with the same bytes
    (out / "four.png").unlink()
    third = run_batch(plan(), out, workers=0, progress=False)
    assert (third.done, third.skipped) == (1, 3)
    assert (out / "four.png").read_bytes() == first["four.png"]


class Crash(BaseException):
    """Stands in for kill -9: not an Exception, so nothing catches it."""


@pytest.mark.parametrize("method", ["write_output", "write_record", "append_manifest", "write_manifest"])
def test_a_crash_at_any_write_then_a_rerun_leaves_every_item_exactly_once(tmp_path, plan, monkeypatch, method):
    out = tmp_path / "out"
    original = getattr(ItemStore, method)
    calls = {"n": 0}
    for crash_at in range(1, 12):
        calls["n"] = 0

        def crashing(self, *args, _at=crash_at, **kwargs):
            calls["n"] += 1
            if calls["n"] == _at:
                if method == "append_manifest":  # torn line: half of the row, then the crash
                    with open(self.manifest_path, "a", encoding="utf-8") as f:
                        f.write('{"id": "torn')
                raise Crash
            return original(self, *args, **kwargs)

        monkeypatch.setattr(ItemStore, method, crashing)
        try:
            run_batch(plan(), out, workers=0, progress=False)
        except Crash:
            pass
        monkeypatch.setattr(ItemStore, method, original)
        summary = run_batch(plan(), out, workers=0, progress=False)
        assert summary.done + summary.skipped == 4
        check_consistent(out, plan())


def test_two_roots_get_the_same_files(tmp_path, plan):
    # (the process pool needs a command that worker processes can import: see tests/app/cli/test_batch_cli.py)
    a, b = tmp_path / "a", tmp_path / "b"
    run_batch(plan(), a, workers=0, progress=False)
    run_batch(plan(), b, workers=0, progress=False)
    assert {p.name: p.read_bytes() for p in a.glob("*.png")} == {p.name: p.read_bytes() for p in b.glob("*.png")}


def test_accelerate_engine_in_one_process(tmp_path, plan):
    pytest.importorskip("accelerate")
    out = tmp_path / "out"
    summary = run_batch(plan(), out, engine="accelerate", progress=False)
    assert (summary.done, summary.failed) == (4, 2)
    check_consistent(out, plan())
    assert run_batch(plan(), out, engine="accelerate", progress=False).skipped == 4


def test_unknown_engine(tmp_path, plan):
    with pytest.raises(ValueError, match="engine must be one of local, ray, accelerate"):
        run_batch(plan(), tmp_path / "out", engine="spark")


def test_items_run_with_one_torch_thread_and_the_callers_count_comes_back():
    import torch

    from emogen.batch.executors import ITEM_THREADS, call_item

    before = torch.get_num_threads()
    outcome = call_item(lambda item, ctx: torch.get_num_threads(), None, None)
    assert outcome.result == ITEM_THREADS == 1
    assert torch.get_num_threads() == before
    failed = call_item(lambda item, ctx: 1 / 0, None, None)
    assert failed.error == "ZeroDivisionError: division by zero" and "Traceback" in failed.traceback
    assert call_item(lambda item, ctx: int("x"), None, None).traceback is None  # a ValueError: one line
