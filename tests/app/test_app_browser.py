"""The real app in headless Chromium: the page builds and shows its controls (skipped without Chromium)."""

import shutil
import socket
import subprocess

import pytest

from emogen.app import build_demo

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs a Chromium binary (apt-get install chromium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_page_renders_both_tabs(tmp_path, stand_in_pipe):
    port = _free_port()
    demo = build_demo({"talking_head": stand_in_pipe})
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        shot = tmp_path / "app.png"
        flags = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1200", "--virtual-time-budget=15000",
        ]  # fmt: skip
        dom = subprocess.run(
            [CHROMIUM, *flags, "--dump-dom", f"http://127.0.0.1:{port}/"], capture_output=True, text=True, timeout=120
        ).stdout
        subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", f"http://127.0.0.1:{port}/"],
                       capture_output=True, timeout=120)  # fmt: skip
    finally:
        demo.close()
    for text in ("Talking head", "Emotion", "Text to speak", "Timeline", "Render", "Valence"):
        assert text in dom, f"{text!r} missing from the rendered page"
    assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 20_000  # not a blank page
