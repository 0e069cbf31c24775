import pytest

from emogen.io.atomic import atomic_output


def test_success_replaces_and_failure_keeps_previous(tmp_path):
    target = tmp_path / "out" / "a.txt"
    with atomic_output(target) as tmp:
        tmp.write_text("first")
    assert target.read_text() == "first"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("writer crashed")
    assert target.read_text() == "first"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.txt"]  # no temp files left


def test_missing_folder_and_directory_targets(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        with atomic_output(tmp_path / "missing" / "x.wav", make_parents=False):
            pass
    with pytest.raises(ValueError, match="is a directory"):
        with atomic_output(tmp_path):
            pass


def test_permissions_are_those_of_a_plain_write(tmp_path):
    """Not the 0o600 of the temporary file: outputs must be readable by whoever could read a normally written one."""
    import os

    old = os.umask(0o022)
    try:
        with atomic_output(tmp_path / "new.csv") as tmp:
            tmp.write_text("a")
        assert (tmp_path / "new.csv").stat().st_mode & 0o777 == 0o644
        existing = tmp_path / "kept.csv"
        existing.write_text("old")
        existing.chmod(0o640)
        with atomic_output(existing) as tmp:
            tmp.write_text("new")
        assert existing.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)
