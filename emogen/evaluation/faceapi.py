"""Judges that run in Node.js: face-api.js (expressions, identity descriptors, 68 landmarks) and Human's emotion net.

One persistent Node process (``judges_server.js``, shipped next to this module) serves all of them on the
WebAssembly TensorFlow.js backend; see :mod:`emogen.evaluation.fer` for installation.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import struct
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .judge import LABELS, Judge, _as_rgb, _progress

__all__ = [
    "DEFAULT_NPM_PREFIX",
    "SAME_PERSON_THRESHOLD",
    "FaceAPI",
    "FaceAPIJudge",
    "HumanJudge",
    "NodeServer",
    "identity_distance",
    "mouth_opening_68",
]

#: face-api.js's usual same-person threshold on the Euclidean distance of two faceRecognitionNet descriptors.
SAME_PERSON_THRESHOLD = 0.6
#: Default npm prefix holding the Node packages.
DEFAULT_NPM_PREFIX = Path("~/.cache/emogen/faceapi")
SERVER_SCRIPT = Path(__file__).with_name("judges_server.js")


class NodeServer:
    """A persistent ``judges_server.js`` process (face-api.js and/or Human on tfjs-wasm).

    Args:
        prefix: npm prefix with the packages installed (see the module docstring).
        enable: which libraries to load, any of ``"faceapi"``, ``"human"``.
        timeout: seconds to wait for one reply (or for start-up) before the process is killed.
    """

    def __init__(
        self,
        prefix: str | Path = DEFAULT_NPM_PREFIX,
        enable: Sequence[str] = ("faceapi", "human"),
        timeout: float = 300.0,
    ) -> None:
        self.prefix = Path(prefix).expanduser().resolve()
        self.enabled = tuple(enable)
        self.timeout = float(timeout)
        node = shutil.which("node")
        if node is None:
            raise FileNotFoundError("node (Node.js >= 18) is not on PATH")
        need = {"faceapi": "face-api", "human": "human"}
        for lib in self.enabled:
            if not (self.prefix / "node_modules" / "@vladmandic" / need[lib]).is_dir():
                raise FileNotFoundError(
                    f"no @vladmandic/{need[lib]} under {self.prefix}; see emogen.evaluation.fer for the install"
                )
        self._dir = Path(tempfile.mkdtemp(prefix="emogen-judges-"))
        self._stderr = open(self._dir / "stderr.log", "w+b")  # noqa: SIM115 (closed in close())
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = subprocess.Popen(
            [node, str(SERVER_SCRIPT), str(self.prefix), ",".join(self.enabled)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            bufsize=1,
        )
        try:
            first = self._readline()
            if first.strip() != "ready":
                raise RuntimeError(f"judges_server.js did not start: {first.strip()} {self._stderr_tail()}")
        except BaseException:
            self.close()
            raise

    def _stderr_tail(self, n: int = 2000) -> str:
        with contextlib.suppress(Exception):
            self._stderr.flush()
            return (self._dir / "stderr.log").read_bytes()[-n:].decode(errors="replace")
        return ""

    def _readline(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self._proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.timeout)
        if reader.is_alive() or not result or not result[0]:
            code = self._proc.poll()
            tail = self._stderr_tail()
            self.close()
            raise RuntimeError(f"judges_server.js gave no reply (exit code {code}): {tail}")
        return result[0]

    def request(self, op: str, image: np.ndarray, **fields: Any) -> dict[str, Any]:
        """Send one image to ``op`` (``"faceapi"`` or ``"human"``) and return the JSON reply."""
        if self._proc is None:
            raise RuntimeError("the judge server is closed")
        rgb = _as_rgb(image)
        with self._lock:
            path = self._dir / "frame.rgb"
            path.write_bytes(struct.pack("<II", rgb.shape[1], rgb.shape[0]) + rgb.tobytes())
            assert self._proc.stdin is not None
            try:
                self._proc.stdin.write(json.dumps({"op": op, "path": str(path), **fields}) + "\n")
                self._proc.stdin.flush()
            except (BrokenPipeError, OSError) as err:
                tail = self._stderr_tail()
                self.close()
                raise RuntimeError(f"judges_server.js died: {tail}") from err
            reply = json.loads(self._readline())
        if not reply.get("ok", False):
            raise RuntimeError(f"judges_server.js: {reply.get('error')}")
        return reply

    def close(self) -> None:
        """Stop the Node process and remove its temporary folder (idempotent)."""
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(Exception):
                if proc.stdin is not None:
                    proc.stdin.close()
                proc.wait(timeout=5)
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
            if proc.stdout is not None:
                proc.stdout.close()
        with contextlib.suppress(Exception):
            self._stderr.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> NodeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


class FaceAPIJudge(Judge):
    """face-api.js faceExpressionNet behind its SSD-MobileNetV1 detector and 68-point landmarks."""

    name = "faceapi"
    NATIVE = {"angry": "angry", "disgusted": "disgust", "fearful": "fear", "happy": "happy", "sad": "sad",
              "surprised": "surprise", "neutral": "neutral"}  # fmt: skip

    def __init__(self, server: NodeServer) -> None:
        self.server = server

    def predict_one(self, image: np.ndarray) -> np.ndarray:
        r = self.server.request("faceapi", image, want=["expressions"])
        if not r["face"]:
            return self.no_face()
        p = {self.NATIVE[k]: float(v) for k, v in r["expressions"].items()}
        return np.array([p[k] for k in LABELS])


class HumanJudge(Judge):
    """``@vladmandic/human``'s emotion model (oarriaga FER2013 mini-Xception) behind BlazeFace + FaceMesh."""

    name = "human"

    def __init__(self, server: NodeServer) -> None:
        self.server = server

    def predict_one(self, image: np.ndarray) -> np.ndarray:
        r = self.server.request("human", image)
        if not r["face"] or "probs" not in r:
            return self.no_face()
        p = dict(zip(r["labels"], r["probs"], strict=True))
        return np.array([p[k] for k in LABELS], dtype=np.float64)


class FaceAPI:
    """face-api.js identity descriptors and 68 landmarks from a :class:`NodeServer`."""

    def __init__(self, server: NodeServer) -> None:
        self.server = server

    def analyse(self, image: np.ndarray, want: Sequence[str] = ("landmarks", "descriptor")) -> dict[str, Any]:
        """The raw reply for one image (``face``, ``box``, ``score`` and the parts in ``want``)."""
        return self.server.request("faceapi", image, want=list(want))

    def descriptors(self, images: Sequence[np.ndarray], progress: bool = False) -> np.ndarray:
        """faceRecognitionNet descriptors ``(N, 128)`` (NaN rows without a face)."""
        out = np.full((len(images), 128), np.nan)
        for i, im in enumerate(_progress(images, progress, "descriptors")):
            r = self.analyse(im, ("descriptor",))
            if r["face"]:
                out[i] = r["descriptor"]
        return out

    def landmarks(self, images: Sequence[np.ndarray], progress: bool = False) -> np.ndarray:
        """68 iBUG landmarks ``(N, 68, 2)`` in pixels (NaN without a face)."""
        out = np.full((len(images), 68, 2), np.nan)
        for i, im in enumerate(_progress(images, progress, "landmarks")):
            r = self.analyse(im, ("landmarks",))
            if r["face"]:
                out[i] = r["landmarks"]
        return out


def identity_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance between face-api descriptors ``(..., 128)`` (< 0.6: usually the same person)."""
    return np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64), axis=-1)


def mouth_opening_68(landmarks: np.ndarray, pairs: Sequence[tuple[int, int]] = ((62, 66),)) -> np.ndarray:
    """Inner-lip gap normalised by the inter-ocular distance, from 68 iBUG landmarks ``(..., 68, 2)``.

    The gap is the mean distance of the inner-lip point ``pairs`` (0-based; default the middle pair 62–66), the
    inter-ocular distance that of the outer eye corners 36–45. About 0 for closed lips; NaN where the landmarks are.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    gap = np.mean([np.linalg.norm(lm[..., i, :] - lm[..., j, :], axis=-1) for i, j in pairs], axis=0)
    iod = np.linalg.norm(lm[..., 36, :] - lm[..., 45, :], axis=-1)
    return gap / iod
