"""FLAME via smplx: loading (npz, and pickles with chumpy objects through the restricted unpickler), the ARKit →
FLAME least-squares map and driving it with a MotionTrack — on a tiny synthetic FLAME-format file built here (the
real FLAME is licensed and never ships)."""

from __future__ import annotations

import pickle
import sys
import types

import numpy as np
import pytest
import torch

from emogen.arkit import ARKIT_INDEX
from emogen.face.blendshapes import canonical_template, face_topology, load_blendshapes
from emogen.face.rig import IPD_METRES, euler_to_rotation
from emogen.head.flame import FlameRig, load_flame_model
from emogen.motion import MotionTrack

pytest.importorskip("smplx")

#: The synthetic model's 10 expression components are these ARKit fields (so the fitted map is known).
EXPRESSIONS = ("jawOpen", "mouthSmileLeft", "mouthSmileRight", "browInnerUp", "eyeBlinkLeft", "eyeBlinkRight",
               "mouthPucker", "browDownLeft", "browDownRight", "cheekPuff")  # fmt: skip


def _synthetic_flame() -> dict:
    """FLAME's file layout at a tiny size: MediaPipe's canonical face as the template (metres), 10 + 10
    components, 5 joints, every vertex skinned to the neck (so a head turn turns all of it)."""
    rng = np.random.default_rng(0)
    v = canonical_template()[:468] * IPD_METRES
    _, fields, _ = load_blendshapes()
    fields = fields.double().numpy()[:, :468] * IPD_METRES
    shape = rng.normal(0, 1e-3, (468, 3, 10))
    expr = np.stack([fields[ARKIT_INDEX[n]] for n in EXPRESSIONS], -1)
    joints = np.array([[0, -0.02, -0.05], [0, -0.08, -0.1], [0, -0.07, -0.04], [0.032, 0, -0.01], [-0.032, 0, -0.01]])
    regressor = np.zeros((5, 468))
    for j, p in enumerate(joints):  # each joint: the mean of the 4 vertices nearest to it, shifted to the joint
        regressor[j, np.argsort(np.linalg.norm(v - p, axis=-1))[:4]] = 0.25
    weights = np.zeros((468, 5))
    weights[:, 1] = 1.0
    return {
        "v_template": v,
        "f": face_topology().faces.astype(np.uint32),
        "shapedirs": np.concatenate([shape, expr], -1),
        "posedirs": np.zeros((468, 3, 36)),
        "J_regressor": regressor,
        "kintree_table": np.array([[4294967295, 0, 1, 1, 1], [0, 1, 2, 3, 4]], dtype=np.uint32),
        "weights": weights,
        "bs_style": "lbs",
    }


def _write_pickle(path, data: dict) -> None:
    """Write the model as FLAME's pickles are: arrays as chumpy ``Ch`` objects, the regressor as a CSC matrix."""
    from scipy.sparse import csc_matrix

    module = types.ModuleType("chumpy.ch")

    class Ch:  # what chumpy pickles: an object whose state holds the array under "x"
        def __init__(self, x):
            self.x = x

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    module.Ch = Ch
    package = types.ModuleType("chumpy")
    package.ch = module
    saved = {k: sys.modules.get(k) for k in ("chumpy", "chumpy.ch")}
    sys.modules.update({"chumpy": package, "chumpy.ch": module})
    try:
        wrapped = dict(data, v_template=Ch(data["v_template"]), shapedirs=Ch(data["shapedirs"]),
                       J_regressor=csc_matrix(data["J_regressor"]))  # fmt: skip
        path.write_bytes(pickle.dumps(wrapped, protocol=2))
    finally:
        for k, m in saved.items():
            if m is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = m


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("flame")
    data = _synthetic_flame()
    np.savez(d / "flame.npz", **{k: v for k, v in data.items() if k != "bs_style"})
    _write_pickle(d / "flame.pkl", data)
    return d / "flame.npz", d / "flame.pkl"


@pytest.fixture(scope="module")
def rig(model_files):
    return FlameRig.from_file(model_files[0], num_expression=10)


def test_npz_and_chumpy_pickle_load_the_same_arrays(model_files):
    npz, pkl = model_files
    a = load_flame_model(npz)
    b = load_flame_model(pkl, allow_pickle=True)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert a["posedirs"].shape == (468 * 3, 36) and list(a["parents"]) == [-1, 0, 1, 1, 1]


def test_pickles_need_opt_in_and_code_is_refused(model_files, tmp_path):
    with pytest.raises(ValueError, match="allow_pickle=True"):
        load_flame_model(model_files[1])

    class Evil:
        def __reduce__(self):
            return (__import__("os").system, ("echo pwned > " + str(tmp_path / "pwned"),))

    bad = tmp_path / "evil.pkl"
    bad.write_bytes(pickle.dumps({"v_template": Evil()}, protocol=2))
    with pytest.raises(ValueError, match="only numpy arrays"):
        load_flame_model(bad, allow_pickle=True)
    assert not (tmp_path / "pwned").exists()
    with pytest.raises(ValueError, match="No FLAME model"):
        load_flame_model(tmp_path / "missing.npz")
    np.savez(tmp_path / "partial.npz", v_template=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="missing"):
        load_flame_model(tmp_path / "partial.npz")


def test_arkit_map_recovers_the_expression_components(rig):
    m = rig.arkit_to_flame.numpy()
    assert m.shape == (52, 12)
    for j, name in enumerate(EXPRESSIONS):
        row = m[ARKIT_INDEX[name], :10]
        assert abs(row[j] - 1.0) < 0.05, (name, row)
        assert np.abs(np.delete(row, j)).max() < 0.05, (name, row)
    assert np.abs(m[ARKIT_INDEX["eyeLookInLeft"]]).max() == 0.0  # gaze turns the eyes instead


def test_motion_drives_expression_and_neck(rig):
    _, fields, _ = load_blendshapes()
    still = rig(MotionTrack.zeros(1)).vertices[0]
    jaw = rig(MotionTrack.from_weights({"jawOpen": 1.0})).vertices[0]
    target = fields[ARKIT_INDEX["jawOpen"], :468] * IPD_METRES
    err = (jaw - still - target).norm(dim=-1).max()
    assert err < 0.05 * target.norm(dim=-1).max(), err
    turn = MotionTrack.zeros(3)
    turn = MotionTrack(blendshapes=turn.blendshapes, head_rotation=torch.tensor([[0, 0.3, 0]] * 3),
                       head_translation=torch.tensor([[0, 0, 0.01]] * 3), gaze=turn.gaze, fps=25)  # fmt: skip
    out = rig(turn)
    assert out.vertices.shape == (3, 468, 3) and out.joints.shape == (3, 5, 3)
    pivot = rig(MotionTrack.zeros(1)).joints[0, 1]
    r = euler_to_rotation(torch.tensor([0.0, 0.3, 0.0]))
    expected = (still - pivot) @ r.T + pivot + torch.tensor([0, 0, 0.01])
    torch.testing.assert_close(out.vertices[0], expected, atol=1e-5, rtol=0)


def test_bad_arguments(model_files):
    with pytest.raises(ValueError, match="num_expression"):
        FlameRig.from_file(model_files[0], num_expression=0)
    with pytest.raises(TypeError, match="MotionTrack"):
        FlameRig.from_file(model_files[0], num_expression=2)(torch.zeros(1, 52))
