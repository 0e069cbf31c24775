"""Item ids, derived seeds and path confinement."""

import os

import pytest

from emogen.batch.ids import canonical_json, check_item_id, derive_seed, file_digest, item_id
from emogen.batch.paths import PathEscapeError, confine_path


def test_canonical_json_ignores_key_order_and_tuples():
    assert canonical_json({"b": 1, "a": (1, 2)}) == canonical_json({"a": [1, 2], "b": 1}) == '{"a":[1,2],"b":1}'
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
    with pytest.raises(TypeError):
        canonical_json({"x": object()})


def test_item_id_and_seed_are_content_hashes():
    doc = {"command": "animate", "options": {"emotion": "happy"}, "seed": 3}
    assert item_id(doc) == item_id(dict(reversed(list(doc.items()))))
    assert len(item_id(doc)) == 16 and int(item_id(doc), 16) >= 0
    assert item_id(doc) != item_id({**doc, "seed": 4})
    assert derive_seed(doc, 0) == derive_seed(doc, 0)
    assert derive_seed(doc, 0) != derive_seed(doc, 1)
    assert 0 <= derive_seed(doc, 0) < 2**31


def test_file_digest_reads_content(tmp_path):
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(b"x" * 3_000_000)
    b.write_bytes(b"x" * 3_000_000)
    assert file_digest(a) == file_digest(b)
    b.write_bytes(b"y")
    assert file_digest(a) != file_digest(b)


@pytest.mark.parametrize("good", ["me-sad", "a", "Item_01.v2", "0abc"])
def test_check_item_id_accepts_safe_names(good):
    assert check_item_id(good) == good


@pytest.mark.parametrize("bad", ["", ".hidden", "../x", "a/b", "a b", "x" * 129, 3, None, "end."])
def test_check_item_id_rejects_unsafe_names(bad):
    with pytest.raises(ValueError, match="safe file name"):
        check_item_id(bad)


# ------------------------------------------------------------------------------------------------ confinement
@pytest.fixture
def roots(tmp_path):
    inputs, out, outside = tmp_path / "in", tmp_path / "out", tmp_path / "outside"
    for d in (inputs, out, outside, inputs / "sub"):
        d.mkdir()
    (inputs / "me.png").write_bytes(b"png")
    (inputs / "sub" / "you.png").write_bytes(b"png")
    (outside / "secret.txt").write_text("secret")
    return inputs, out, outside


def test_relative_and_absolute_paths_inside_a_root_are_accepted(roots):
    inputs, out, _ = roots
    assert confine_path("me.png", inputs, [inputs, out]) == (inputs / "me.png").resolve()
    assert confine_path("sub/you.png", inputs, [inputs, out]) == (inputs / "sub" / "you.png").resolve()
    assert confine_path(str(inputs / "me.png"), inputs, [inputs, out]) == (inputs / "me.png").resolve()
    (out / "made.wav").write_bytes(b"wav")
    assert confine_path(str(out / "made.wav"), inputs, [inputs, out]) == (out / "made.wav").resolve()


@pytest.mark.parametrize("value", ["../outside/secret.txt", "sub/../me.png", "sub/../../outside/secret.txt"])
def test_dot_dot_is_rejected_outright(roots, value):
    inputs, out, _ = roots
    with pytest.raises(PathEscapeError, match=r"contains '\.\.'"):
        confine_path(value, inputs, [inputs, out], what="job 1: image")


def test_absolute_escape_is_rejected(roots):
    inputs, out, outside = roots
    with pytest.raises(PathEscapeError, match="outside the allowed folders"):
        confine_path(str(outside / "secret.txt"), inputs, [inputs, out])
    with pytest.raises(PathEscapeError):
        confine_path("/etc/passwd", inputs, [inputs, out])


def test_symlink_escape_is_rejected(roots):
    inputs, out, outside = roots
    os.symlink(outside / "secret.txt", inputs / "innocent.png")
    os.symlink(outside, inputs / "linked_dir")
    with pytest.raises(PathEscapeError, match="outside"):
        confine_path("innocent.png", inputs, [inputs, out])
    with pytest.raises(PathEscapeError, match="outside"):
        confine_path("linked_dir/secret.txt", inputs, [inputs, out])
    os.symlink(inputs / "me.png", inputs / "alias.png")  # a link that stays inside is fine
    assert confine_path("alias.png", inputs, [inputs, out]) == (inputs / "me.png").resolve()


@pytest.mark.parametrize("value", ["", "   ", None, 3, "a\x00b"])
def test_non_paths_are_value_errors(roots, value):
    inputs, out, _ = roots
    with pytest.raises(ValueError):
        confine_path(value, inputs, [inputs, out])
