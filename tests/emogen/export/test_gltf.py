"""GLB export of head avatars: round trip, the Khronos validator, trimesh, three.js in Chromium; OBJ and PLY."""

from __future__ import annotations

import io

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from emogen.arkit import ARKIT_BLENDSHAPES, ARKIT_INDEX
from emogen.export.gltf import avatar_mesh_arrays, rotation_to_quaternion, write_glb
from emogen.export.mesh import write_obj, write_ply
from emogen.head.avatar import HeadAvatar
from emogen.io.gltf import read_glb
from emogen.motion import MotionTrack


@pytest.fixture(scope="module")
def avatar():
    return HeadAvatar.from_portrait(skimage.data.astronaut(), progress=False)


@pytest.fixture(scope="module")
def motion():
    t = torch.linspace(0.0, 1.0, 30)
    b = torch.zeros(30, 52)
    b[:, ARKIT_INDEX["jawOpen"]] = (torch.sin(t * 9) * 0.5 + 0.5) * 0.8
    b[:, ARKIT_INDEX["eyeBlinkLeft"]] = (t > 0.5).float()
    rot = torch.stack([0.1 * torch.sin(t * 4), 0.35 * torch.sin(t * 3), 0.05 * t], -1)
    gaze = torch.stack([0.25 * torch.sin(t * 5), 0.1 * torch.cos(t * 5)], -1)
    return MotionTrack(blendshapes=b, head_rotation=rot, head_translation=torch.zeros(30, 3), gaze=gaze, fps=25)


@pytest.fixture(scope="module")
def glb(avatar, motion, tmp_path_factory):
    return write_glb(tmp_path_factory.mktemp("glb") / "head.glb", avatar, motion)


def test_round_trip_keeps_geometry_morphs_texture_and_animation(avatar, motion, glb):
    data = avatar_mesh_arrays(avatar)
    c = read_glb(glb)
    assert c.target_names["head"] == list(ARKIT_BLENDSHAPES)
    skin, mouth = c.meshes["head"]
    np.testing.assert_array_equal(skin.attributes["POSITION"], data["skin"]["positions"].astype(np.float32))
    np.testing.assert_array_equal(skin.faces, data["skin"]["faces"])
    np.testing.assert_array_equal(skin.attributes["TEXCOORD_0"], data["skin"]["uv"].astype(np.float32))
    assert len(skin.targets) == len(mouth.targets) == 52
    for k in (ARKIT_INDEX["jawOpen"], ARKIT_INDEX["browInnerUp"], ARKIT_INDEX["tongueOut"]):
        np.testing.assert_array_equal(skin.targets[k]["POSITION"], data["skin"]["morphs"][k].astype(np.float32))
        np.testing.assert_array_equal(mouth.targets[k]["POSITION"], data["mouth"]["morphs"][k].astype(np.float32))
    normals = skin.attributes["NORMAL"]
    assert np.allclose(np.linalg.norm(normals, axis=-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(c.texture, avatar.texture())  # PNG is lossless
    # the skeleton: root → neck → head → eyes, and the skin's joints
    assert c.nodes["head"]["parent"] == "neck" and c.nodes["neck"]["parent"] == "root"
    assert c.nodes["eye_L"]["parent"] == c.nodes["eye_R"]["parent"] == "head"
    assert c.skins["neck"] == ["neck", "head"]
    # the animation: the avatar's own weights (gaze folded into eyeLook*) and rotations
    out = avatar(motion)
    times, weights = c.animation["head_mesh.weights"]
    np.testing.assert_allclose(times, np.arange(30) / 25.0, atol=1e-6)
    np.testing.assert_allclose(weights.reshape(30, 52), out.weights.numpy(), atol=1e-6)
    _, quat = c.animation["head.rotation"]
    np.testing.assert_allclose(
        np.abs((quat * rotation_to_quaternion(out.head_rotation.numpy())).sum(-1)), 1, atol=1e-5
    )
    assert {"eye_L.rotation", "eye_R.rotation", "root.translation"} <= set(c.animation)


def test_sparse_file_holds_the_same_morphs(avatar, tmp_path, glb):
    sparse = write_glb(tmp_path / "sparse.glb", avatar, sparse=True)
    assert sparse.stat().st_size < 0.6 * glb.stat().st_size
    dense, thin = read_glb(glb).meshes["head"], read_glb(sparse).meshes["head"]
    for a, b in zip(dense, thin, strict=True):
        for ta, tb in zip(a.targets, b.targets, strict=True):
            np.testing.assert_array_equal(ta["POSITION"], tb["POSITION"])


def test_khronos_validator_reports_no_errors_or_warnings(glb, avatar, tmp_path, validate_glb):
    report = validate_glb(glb)
    assert report["issues"]["numErrors"] == 0, report["issues"]["messages"][:10]
    assert report["issues"]["numWarnings"] == 0, report["issues"]["messages"][:10]
    sparse = validate_glb(write_glb(tmp_path / "sparse.glb", avatar, sparse=True, morph_normals=False))
    assert sparse["issues"]["numErrors"] == 0, sparse["issues"]["messages"][:10]
    # the validator does check what we rely on: a corrupted file is an error
    broken = tmp_path / "broken.glb"
    broken.write_bytes(glb.read_bytes()[: glb.stat().st_size // 2])
    assert validate_glb(broken)["issues"]["numErrors"] > 0


def test_trimesh_loads_the_glb(glb, avatar):
    trimesh = pytest.importorskip("trimesh")
    scene = trimesh.load(glb, force="scene", process=False)
    sizes = sorted(len(g.vertices) for g in scene.geometry.values())
    p = avatar.parts
    assert sizes == sorted([p["skin"].stop, p["mouth"].stop - p["mouth"].start, avatar.eye_dirs.shape[0]])
    skin = max(scene.geometry.values(), key=lambda g: len(g.vertices))
    assert skin.visual.kind == "texture"


def test_writer_rejects_bad_arguments(avatar, tmp_path, motion):
    with pytest.raises(ValueError, match=r"\.glb"):
        write_glb(tmp_path / "head.gltf", avatar)
    with pytest.raises(TypeError, match="HeadAvatar"):
        write_glb(tmp_path / "head.glb", object())
    with pytest.raises(ValueError, match="fps"):
        write_glb(tmp_path / "head.glb", avatar, motion, fps=-1)
    (tmp_path / "folder.glb").mkdir()
    with pytest.raises(ValueError, match="folder"):
        write_glb(tmp_path / "folder.glb", avatar)


def test_fps_resamples_the_clip(avatar, motion, tmp_path):
    c = read_glb(write_glb(tmp_path / "h.glb", avatar, motion, fps=50))
    times, _ = c.animation["head.rotation"]
    assert len(times) == 60 and abs(times[1] - 0.02) < 1e-6


def test_rotation_to_quaternion_matches_axis_angle():
    angle = 0.7
    r = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    np.testing.assert_allclose(rotation_to_quaternion(r), [0, np.sin(angle / 2), 0, np.cos(angle / 2)], atol=1e-12)
    r180 = np.diag([-1.0, 1.0, -1.0])
    np.testing.assert_allclose(np.abs(rotation_to_quaternion(r180)), [0, 1, 0, 0], atol=1e-12)


def test_obj_and_ply_load_in_trimesh(avatar, tmp_path):
    trimesh = pytest.importorskip("trimesh")
    obj = write_obj(tmp_path / "head.obj", avatar)
    assert (tmp_path / "head.mtl").is_file() and (tmp_path / "head.png").is_file()
    assert "map_Kd head.png" in (tmp_path / "head.mtl").read_text()
    mesh = trimesh.load(obj, force="mesh", process=False)
    assert len(mesh.vertices) == avatar.num_vertices and len(mesh.faces) == len(avatar.faces)
    ply = trimesh.load(write_ply(tmp_path / "head.ply", avatar), process=False)
    assert len(ply.vertices) == avatar.num_vertices and ply.visual.kind == "vertex"
    with pytest.raises(ValueError, match=r"\.ply"):
        write_ply(tmp_path / "head.stl", avatar)


def _luma(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float64) @ [0.2126, 0.7152, 0.0722]


@pytest.mark.browser
def test_three_js_loads_the_glb_and_jaw_open_opens_the_mouth(glb, avatar, glb_page, tmp_path):
    data = avatar_mesh_arrays(avatar)
    with glb_page(glb, tmp_path) as page:
        report = page.evaluate("window.__report")
        assert report["webgl2"] and report["count"] == 52
        assert report["morphTargets"] == list(ARKIT_BLENDSHAPES)
        assert sum(m["skinned"] for m in report["meshes"]) == 2  # skin and mouth follow the neck joint
        canvas = page.locator("canvas")
        page.evaluate("window.resetMorphs()")
        closed = _luma(canvas.screenshot())
        page.evaluate("window.setMorph('jawOpen', 1.0)")
        opened = _luma(canvas.screenshot())
        # the mouth: between the mouth corners, from the upper lip down to the opened lower lip
        skin = data["skin"]["positions"]
        weld = avatar.skin_weld.numpy()
        lm = {i: skin[np.flatnonzero(weld == i)[0]] for i in (61, 291, 13, 14, 10)}
        low = lm[14] + data["skin"]["morphs"][ARKIT_INDEX["jawOpen"]][np.flatnonzero(weld == 14)[0]]
        pts = [lm[61], lm[291], lm[13], low]
        px = [page.evaluate("p => window.projectToScreen(p)", [float(x) for x in p]) for p in pts]
        x0, x1 = int(min(p["x"] for p in px[:2])) + 3, int(max(p["x"] for p in px[:2])) - 3
        y0, y1 = int(px[2]["y"]) + 1, int(px[3]["y"])
        assert x1 - x0 > 10 and y1 - y0 > 4, (x0, x1, y0, y1)
        brow = page.evaluate("p => window.projectToScreen(p)", [float(x) for x in lm[10]])
        bx, by = int(brow["x"]), int(brow["y"])
        mouth_change = np.abs(opened[y0:y1, x0:x1] - closed[y0:y1, x0:x1]).mean()
        forehead_change = np.abs(
            opened[by : by + 12, bx - 10 : bx + 10] - closed[by : by + 12, bx - 10 : bx + 10]
        ).mean()
        assert mouth_change > 15.0, mouth_change
        assert forehead_change < 1.0, forehead_change
        if __import__("os").environ.get("EMOGEN_GOLDEN_DEBUG"):
            Image.fromarray(np.concatenate([closed, opened], 1).astype(np.uint8)).save(tmp_path / "three_jaw.png")
        # the clip plays: the weights at two times differ
        w1, w2 = page.evaluate("window.setAnimationTime(0.2)"), page.evaluate("window.setAnimationTime(0.9)")
        assert len(w1) == 52 and w1 != w2
        with pytest.raises(Exception, match="unknown morph target"):
            page.evaluate("window.setMorph('noSuchShape', 1)")
