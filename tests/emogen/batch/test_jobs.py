"""Job files and planning: formats, defaults, ids and seeds from content, per-job errors."""

import json

import pytest

from emogen.batch import load_jobs, plan_items


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_with_defaults_jsonl_with_comments_and_json_list(tmp_path):
    y = _write(tmp_path / "jobs.yaml", "defaults: {command: paint, level: 2}\njobs:\n  - {level: 5}\n  - {}\n")
    jobs = load_jobs(y)
    assert [j.spec for j in jobs] == [{"command": "paint", "level": 5}, {"command": "paint", "level": 2}]
    assert jobs[1].source == "jobs.yaml: job 2"
    j = _write(tmp_path / "jobs.jsonl", '# a comment\n{"command": "paint"}\n\n{"command": "paint", "level": 1}\n')
    assert [x.source for x in load_jobs(j)] == ["jobs.jsonl:2", "jobs.jsonl:4"]
    js = _write(tmp_path / "jobs.json", json.dumps([{"command": "paint"}]))
    assert len(load_jobs(js)) == 1
    assert load_jobs(_write(tmp_path / "empty.yaml", "")) == []


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("jobs.txt", "", "must end in"),
        ("jobs.jsonl", '{"command": "paint"}\nnot json\n', "jobs.jsonl:2"),
        ("jobs.yaml", "jobs: [1, 2]", "must be a mapping"),
        ("jobs.yaml", "other: []", "'jobs'"),
        ("jobs.yaml", "- {command: paint, level: {nested: 1}}", "option values"),
        ("jobs.yaml", "[unclosed", "not valid YAML"),
    ],
)
def test_bad_job_files_are_value_errors(tmp_path, name, text, match):
    with pytest.raises(ValueError, match=match):
        load_jobs(_write(tmp_path / name, text))


def test_missing_job_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_jobs(tmp_path / "nope.yaml")


def _plan(tmp_path, registry, text, **kwargs):
    jobs = load_jobs(_write(tmp_path / "jobs.yaml", text))
    return plan_items(jobs, base=tmp_path, roots=[tmp_path, tmp_path / "out"], registry=registry, **kwargs)


def test_ids_and_seeds_come_from_content(tmp_path, registry):
    (tmp_path / "a.png").write_bytes(b"A")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "copy.png").write_bytes(b"A")
    items = _plan(tmp_path, registry, """
- {command: paint, level: 2, image: a.png}
- {command: paint, level: "2", image: ./sub/copy.png}
- {command: paint, level: 2, image: a.png, seed: 7}
- {command: paint, level: 2, image: a.png, id: mine, meta: true}
""")  # fmt: skip
    # the same content under another path spelling and "2" vs 2: one item (planned once)
    assert len(items) == 3
    first, seeded, named = items
    assert first.seed == _plan(tmp_path, registry, "- {command: paint, level: 2, image: a.png}")[0].seed
    assert first.id != seeded.id and seeded.seed == 7
    assert named.id == "mine" and named.outputs == {"output": "mine.png", "meta": "mine.meta.json"}
    assert first.outputs == {"output": f"{first.id}.png"}
    assert first.inputs["image"] and first.options["image"] == str((tmp_path / "a.png").resolve())
    # the base seed and the input's content change the item
    assert _plan(tmp_path, registry, "- {command: paint, level: 2, image: a.png}", base_seed=1)[0].id != first.id
    (tmp_path / "a.png").write_bytes(b"B")
    assert _plan(tmp_path, registry, "- {command: paint, level: 2, image: a.png}")[0].id != first.id


@pytest.mark.parametrize(
    ("job", "match"),
    [
        ("{command: nope}", "unknown command 'nope'"),
        ("{level: 1}", "unknown command None"),
        ("{command: paint, colour: red}", "has no option 'colour'"),
        ("{command: paint, output: x.png}", "named by the item id"),
        ("{command: paint, meta: csv}", "'meta' takes true or one of json"),
        ("{command: paint, level: high}", "level must be an integer"),
        ("{command: paint, image: missing.png}", "no such file"),
        ("{command: paint, image: ../x.png}", "contains '..'"),
        ("{command: paint, image: /etc/passwd}", "outside the allowed folders"),
        ("{command: paint, seed: -1}", "seed must be a non-negative integer"),
        ("{command: paint, id: ../evil}", "safe file name"),
    ],
)
def test_a_bad_job_becomes_a_failed_item_and_the_others_are_planned(tmp_path, registry, job, match):
    items = _plan(tmp_path, registry, f"- {{command: paint, level: 1}}\n- {job}\n- {{command: paint, level: 3}}\n")
    assert len(items) == 3
    assert items[0].error is None and items[2].error is None
    assert items[1].error is not None and match in items[1].error
    assert items[1].id not in (items[0].id, items[2].id)


def test_two_different_jobs_with_one_explicit_id_are_refused(tmp_path, registry):
    with pytest.raises(ValueError, match="share the id 'x'"):
        _plan(tmp_path, registry, "- {command: paint, level: 1, id: x}\n- {command: paint, level: 2, id: x}\n")


def test_null_takes_a_default_back(tmp_path, registry):
    (tmp_path / "a.png").write_bytes(b"A")
    text = "defaults: {command: paint, image: a.png, colour: red}\njobs:\n  - {level: 1, colour: null}\n"
    text += "  - {level: 1, colour: null, image: null}\n"
    with_image, without = _plan(tmp_path, registry, text)
    assert with_image.error is None and without.error is None
    assert "image" in with_image.options and "image" not in without.options
