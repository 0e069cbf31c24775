"""Screenshots of every tab of the Gradio app, each after a run of its main button: ``docs/figures/app_<tab>.png``.

Run: ``python examples/app_screenshots.py [--out docs/figures] [--chromium /usr/bin/chromium] [--tabs avatar,speech]``.
Needs the ``playwright`` package and a Chromium (Debian's: ``apt-get install chromium``); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
import socket
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("GLOG_minloglevel", "2")

#: tab id → what shows its result
RESULT = {
    "talking_head": "#talking_head-video video[src]",
    "emotion_video": "#emotion_video-video video[src]",
    "avatar": "#avatar-model canvas",
    "speech": "[role=tabpanel]:visible audio[src], [role=tabpanel]:visible .waveform-container",
    "diarize": "[role=tabpanel]:visible table tbody tr",
    "emotion": "[role=tabpanel]:visible img[src*='emotion_track']",
    "dataset": "[role=tabpanel]:visible .thumbnail-item, [role=tabpanel]:visible .grid-wrap img",
}
TABS = {  # tab id → its title in the page
    "talking_head": "Talking head",
    "emotion_video": "Emotion video",
    "avatar": "Avatar",
    "speech": "Speech",
    "diarize": "Diarize",
    "emotion": "Emotion",
    "dataset": "Dataset",
}


def _colours(png: bytes) -> int:
    import io

    import numpy as np
    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")) >> 4
    return len(np.unique(rgb.reshape(-1, 3), axis=0))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/figures"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--tabs", default=",".join(TABS), help="comma-separated tab ids")
    args = parser.parse_args()
    tabs = [t.strip() for t in args.tabs.split(",") if t.strip()]

    from playwright.sync_api import sync_playwright

    from emogen.app.blocks import PIPELINE_TABS, build_demo, shipped_pipelines

    # 1. The app with the shipped pipelines (those of the tabs asked for)
    demo = build_demo(shipped_pipelines(tuple(t for t in tabs if t in PIPELINE_TABS) or ("speech",)))
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            flags = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]  # WebGL on the CPU
            browser = p.chromium.launch(executable_path=args.chromium, headless=True, args=flags)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/")
            # 2. Each tab: open it, press its main button, wait for the result, screenshot
            for tab in tabs:
                start = time.perf_counter()
                page.get_by_role("tab", name=TABS[tab], exact=True).click()
                panel = page.locator("[role=tabpanel]:visible")
                if tab == "diarize":  # the example recording first
                    panel.get_by_role("button", name="Happy, then sad", exact=False).first.click()
                    page.wait_for_timeout(1500)
                panel.locator("button.primary").first.click()
                page.wait_for_selector(RESULT[tab], state="attached", timeout=600_000)
                page.wait_for_timeout(1500)  # videos' first frame
                if tab == "avatar":  # the viewer has loaded the GLB when its canvas shows more than the clear colour
                    canvas = page.locator("#avatar-model canvas").first
                    for _ in range(90):
                        if _colours(canvas.screenshot()) > 50:
                            break
                        page.wait_for_timeout(1000)
                path = args.out / f"app_{tab}.png"
                page.screenshot(path=str(path), full_page=True)
                print(f"{path} ({time.perf_counter() - start:.0f} s)")
            browser.close()
    finally:
        demo.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
