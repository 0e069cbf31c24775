"""Helpers for the GLB tests: the Khronos glTF validator (Node.js) and three.js in headless Chromium.

The npm packages live outside the repository, in ``$EMOGEN_GLTF_TOOLS`` (default ``~/.cache/emogen/gltf-tools``)::

    mkdir -p ~/.cache/emogen/gltf-tools && cd ~/.cache/emogen/gltf-tools && npm init -y \\
        && npm install --save-exact gltf-validator@2.0.0-dev.3.10 three@0.187.0

Tests that need them skip cleanly when Node.js, the packages, Chromium (``/usr/bin/chromium``) or Playwright for
Python are missing. Chromium is driven by Playwright with ``executable_path`` (never ``playwright install``).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "gltf_tools"
TOOLS = Path(os.environ.get("EMOGEN_GLTF_TOOLS", Path.home() / ".cache" / "emogen" / "gltf-tools"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-gpu",
    "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--no-default-browser-check", "--mute-audio",
]  # fmt: skip


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: needs Chromium (headless, software WebGL)")


def validator_available() -> bool:
    return shutil.which("node") is not None and (TOOLS / "node_modules" / "gltf-validator").is_dir()


@pytest.fixture(scope="session")
def validate_glb():
    """``validate_glb(path) -> report dict`` (the validator's JSON); skips without Node.js or the package."""
    if not validator_available():
        pytest.skip(f"needs node and the npm package gltf-validator in {TOOLS} (see tests/emogen/export/conftest.py)")

    def run(path: Path) -> dict:
        proc = subprocess.run(
            ["node", str(HERE / "validate.js"), str(TOOLS / "node_modules"), str(path)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"the glTF validator failed: {proc.stderr}")
        return json.loads(proc.stdout)

    return run


class _Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript",
                      ".glb": "model/gltf-binary"}  # fmt: skip

    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def _serve(directory: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def glb_page():
    """``with glb_page(glb_path, tmp_dir) as page:`` — a Playwright page with the GLB loaded in three.js."""
    if CHROMIUM is None:
        pytest.skip("needs a Chromium binary (apt-get install chromium)")
    if not (TOOLS / "node_modules" / "three").is_dir():
        pytest.skip(f"needs the npm package three in {TOOLS} (see tests/emogen/export/conftest.py)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install playwright)")

    @contextlib.contextmanager
    def open_page(glb: Path, workdir: Path):
        site = workdir / "site"
        site.mkdir(exist_ok=True)
        for name in ("viewer.html", "viewer.js"):
            shutil.copy(HERE / name, site / name)
        if not (site / "three").exists():
            (site / "three").symlink_to(TOOLS / "node_modules" / "three")
        shutil.copy(glb, site / "model.glb")
        with _serve(site) as base, sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 480, "height": 480})
                page.goto(f"{base}/viewer.html?glb=model.glb", wait_until="load")
                page.wait_for_function("window.__ready || window.__error", timeout=120_000)
                error = page.evaluate("window.__error")
                if error:
                    raise AssertionError(f"three.js could not load the GLB: {error}")
                yield page
            finally:
                browser.close()

    return open_page
