"""The layout rules of DESIGN §1, checked on the source tree.

* dependency direction ``app → pipelines → controls → emogen`` (nothing points back), and no pipeline imports a
  sibling pipeline;
* no library file over 500 lines;
* ``weights/`` holds weights, configs, metrics and model cards only; training scripts live in ``training/``;
* the commands that need no learned model start without importing diffusers.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: source folder → installed package (pyproject's package-dir)
PACKAGES = {"emogen": "emogen", "controls": "emogen.controls", "pipelines": "emogen.pipelines", "app": "emogen.app"}
LAYERS = {"emogen": 0, "emogen.controls": 1, "emogen.pipelines": 2, "emogen.app": 3}
#: entry points that may import the top layer (``python -m emogen`` runs the command line)
ENTRY_POINTS = {"emogen/__main__.py"}


def _layer(module: str) -> tuple[int, str] | None:
    for name in ("emogen.app", "emogen.pipelines", "emogen.controls"):
        if module == name or module.startswith(name + "."):
            return LAYERS[name], name
    if module == "emogen" or module.startswith("emogen."):
        return 0, "emogen"
    return None


def _modules():
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            name = ".".join([package, *(p for p in parts if p != "__init__")])
            yield path, name


def _imports(path: Path, module: str):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if path.name != "__init__.py":
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:  # `from emogen import pipelines`
                yield node.lineno, f"{target}.{alias.name}"


def test_dependency_direction():
    bad = []
    for path, module in _modules():
        rel = str(path.relative_to(ROOT))
        if rel in ENTRY_POINTS:
            continue
        own = _layer(module)
        for line, target in _imports(path, module):
            other = _layer(target)
            if own and other and other[0] > own[0]:
                bad.append(f"{rel}:{line} ({own[1]}) imports {target} ({other[1]})")
    assert not bad, "imports against app → pipelines → controls → emogen:\n" + "\n".join(bad)


def test_no_pipeline_imports_a_sibling():
    bad = []
    for path, module in _modules():
        if not module.startswith("emogen.pipelines."):
            continue
        parts = module.split(".")
        if len(parts) < 4:  # pipeline_utils, defaults, the package itself
            continue
        own = parts[2]
        for line, target in _imports(path, module):
            t = target.split(".")
            if (
                target.startswith("emogen.pipelines.")
                and len(t) > 2
                and t[2] not in (own, "pipeline_utils", "defaults")
            ):
                if (ROOT / "pipelines" / t[2]).is_dir():
                    bad.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not bad, "pipelines share steps through the core, not each other:\n" + "\n".join(bad)


def test_no_library_file_over_500_lines():
    long = []
    for path, _ in _modules():
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > 500:
            long.append(f"{path.relative_to(ROOT)}: {n} lines")
    assert not long, "split these modules:\n" + "\n".join(long)


def test_weights_hold_weights_configs_metrics_and_cards_only():
    allowed = {".safetensors", ".json", ".md"}
    stray = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "weights").rglob("*")
        if p.is_file() and p.suffix not in allowed and p.name != "__init__.py" and "__pycache__" not in p.parts
    ]
    assert not stray, f"move scripts to training/ and figures to docs/: {stray}"


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["speak", "--list-voices"],
        ["emotion", "--timeline", "0s neutral, 1s happy", "--json"],
        ["check", "--help"],
        ["diarize", "--help"],
    ],
)
def test_light_commands_do_not_import_diffusers(argv):
    code = (
        "import sys; from emogen.app.cli import main; rc = main(sys.argv[1:]); "
        "assert 'diffusers' not in sys.modules, sorted(m for m in sys.modules if m.startswith('diffusers'))[:3]; "
        "sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
