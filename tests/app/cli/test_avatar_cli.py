"""`emogen avatar`: a GLB (validated by reading it back), the speech beside it, curves, errors before any work."""

from __future__ import annotations

import pytest

from emogen.app.cli import main


def test_avatar_writes_glb_curves_and_mesh(tmp_path, capsys):
    glb, csv, obj = tmp_path / "out" / "head.glb", tmp_path / "head.csv", tmp_path / "head.obj"
    code = main(["avatar", "--emotion", "surprised", "--duration", "0.4", "--fps", "10", "-o", str(glb),
                 "--csv", str(csv), "--mesh", str(obj)])  # fmt: skip
    assert code == 0
    from emogen.io.gltf import read_glb

    names = read_glb(glb).target_names  # mesh name → targetNames
    assert any(len(n) == 52 and n[24] == "jawOpen" for n in names.values()), names.keys()
    assert csv.read_text().count("\n") >= 5 and obj.is_file()
    assert not (tmp_path / "out" / "head.wav").exists()  # a silent avatar has no speech file


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--text", "hi", "--audio", "x.wav"], "not both"),
        (["--emotion", "blorp"], "Unknown emotion label"),
        (["--duration", "0"], "--duration"),
        (["--text", "Hi", "--duration", "2"], "silent avatar's length"),
        (["--video", "x.gif"], "--video"),
    ],
)
def test_avatar_errors_before_work(tmp_path, capsys, argv, message):
    assert main(["avatar", "-o", str(tmp_path / "a.glb"), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "a.glb").exists()
