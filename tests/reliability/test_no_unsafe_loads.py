"""No code path deserialises user-supplied files with pickle: a static scan of every installed package's sources.

``torch.load`` (without ``weights_only=True``), ``pickle``/``dill``/``joblib``/``marshal`` loads, ``numpy.load`` with
``allow_pickle=True``, ``shelve`` and ``torch.jit.load`` can all run code hidden in a file. emogen reads weights from
safetensors and JSON and media through decoders. The one pickle format users bring (FLAME's ``.pkl``) may only be
read by a ``pickle.Unpickler`` subclass that overrides ``find_class`` with an allow-list, which the scan checks too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("emogen", "controls", "pipelines", "app")
#: module → functions that execute code from the bytes they read
UNSAFE = {
    "pickle": {"load", "loads", "Unpickler"},
    "_pickle": {"load", "loads", "Unpickler"},
    "cPickle": {"load", "loads", "Unpickler"},
    "dill": {"load", "loads"},
    "joblib": {"load"},
    "marshal": {"load", "loads"},
    "shelve": {"open"},
    "torch": {"load"},
    "torch.jit": {"load"},
    "numpy": {"load"},
}


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Local name → module or ``module.function`` it was imported as."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                names[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                names[a.asname or a.name] = f"{node.module}.{a.name}"
    return names


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _is_safe(call: ast.Call, target: str) -> bool:
    keywords = {k.arg: k.value for k in call.keywords}
    if target == "torch.load":  # the weights-only unpickler refuses code
        value = keywords.get("weights_only")
        return isinstance(value, ast.Constant) and value.value is True
    if target == "numpy.load":  # plain arrays only, unless pickles are allowed
        value = keywords.get("allow_pickle")
        return value is None or (isinstance(value, ast.Constant) and value.value is False)
    return False


def _resolve(name: str, aliases: dict[str, str]) -> str:
    head, _, rest = name.partition(".")
    resolved = aliases.get(head, head) + (f".{rest}" if rest else "")
    return resolved.replace("np.", "numpy.", 1) if resolved.startswith("np.") else resolved


def unsafe_calls(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases = _aliases(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):  # an Unpickler subclass must restrict what it builds
            bases = {_resolve(b, aliases) for b in filter(None, map(_dotted, node.bases))}
            methods = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
            if bases & {"pickle.Unpickler", "_pickle.Unpickler"} and "find_class" not in methods:
                found.append(f"{path.relative_to(root)}:{node.lineno}: {node.name} (Unpickler without find_class)")
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        if name is None:
            continue
        resolved = _resolve(name, aliases)
        module, _, func = resolved.rpartition(".")
        if func in UNSAFE.get(module, ()) and not _is_safe(node, f"{module}.{func}"):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {resolved}")
    return found


def test_no_code_path_unpickles_files():
    found = [hit for folder in SOURCES for path in sorted((ROOT / folder).rglob("*.py")) for hit in unsafe_calls(path)]
    assert not found, "unsafe deserialisation (use safetensors / JSON, or weights_only=True):\n" + "\n".join(found)


def test_the_scan_finds_what_it_looks_for(tmp_path):
    """The scanner itself: each unsafe form is found, the safe forms are not."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import pickle, torch\nimport numpy as np\nfrom joblib import load as jl\nimport pickle as pk\n"
        "pickle.load(open('x'))\npk.loads(b'')\ntorch.load('w.pt')\nnp.load('a.npy', allow_pickle=True)\njl('m')\n"
        "torch.load('w.pt', weights_only=True)\nnp.load('a.npy')\n"
        "class Open(pickle.Unpickler):\n    pass\n"
        "class Guarded(pickle.Unpickler):\n    def find_class(self, module, name):\n        raise KeyError(name)\n"
    )
    hits = unsafe_calls(sample, tmp_path)
    expected = ["pickle.load", "pickle.loads", "torch.load", "numpy.load", "joblib.load"]
    assert sorted(h.split(": ", 1)[1] for h in hits) == sorted([*expected, "Open (Unpickler without find_class)"])
