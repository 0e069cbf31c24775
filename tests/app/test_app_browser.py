"""The real app in headless Chromium (Playwright): every tab opens, a portrait uploads, a short clip renders and
plays, an artefact downloads, and the 3D viewer draws the avatar. On failure the page's screenshot is kept under
``$EMOGEN_TEST_ARTEFACTS`` (default: pytest's temporary folder, ``artefacts/``)."""

import io
import os
import shutil
import socket
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "") if p and os.path.exists(p)), None)
TABS = ("Talking head", "Emotion video", "Avatar", "Speech", "Diarize", "Emotion", "Dataset")
TIMEOUT_MS = 240_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(demo):
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("needs Chromium at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package (pip install)")
    with sync_api.sync_playwright() as p:
        # WebGL through SwiftShader: the 3D viewer draws without a GPU
        args = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-dev-shm-usage"]
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url, request, tmp_path_factory):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(app_url)
    page.get_by_role("tab", name="Talking head").wait_for()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        folder = Path(os.environ.get("EMOGEN_TEST_ARTEFACTS", tmp_path_factory.getbasetemp() / "artefacts"))
        folder.mkdir(parents=True, exist_ok=True)
        shot = folder / f"{request.node.name}.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failed page: {shot}")
    context.close()


def _settle(page, selector: str, timeout: int = TIMEOUT_MS):
    """Wait until ``selector`` is attached (a render's output)."""
    page.wait_for_selector(selector, state="attached", timeout=timeout)


def _colours(png: bytes) -> int:
    """Distinct colours (4 bits a channel) in a screenshot."""
    import numpy as np
    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")) >> 4
    return len(np.unique(rgb.reshape(-1, 3), axis=0))


def _set_slider(page, elem_id: str, value: str, tries: int = 5) -> None:
    """Type ``value`` into a slider's number box until the slider itself shows it (a slider inside an accordion
    that has just opened can still be mounting and reset what was typed before it hydrated)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.locator(f"#{elem_id} input[type=number]")
    box.wait_for(state="visible")
    check = f"() => document.querySelector('#{elem_id} input[type=range]').value == '{value}'"
    for attempt in range(tries):
        box.fill(value)
        box.press("Tab")
        try:
            page.wait_for_function(check, timeout=5_000)
            return
        except PlaywrightTimeout:
            if attempt == tries - 1:
                raise


def test_every_tab_opens(page):
    for name in TABS:
        page.get_by_role("tab", name=name, exact=True).click()
        tab = page.get_by_role("tabpanel").filter(has=page.locator("button.primary, button.lg")).first
        assert tab.is_visible(), name
    page.get_by_role("tab", name="Emotion", exact=True).click()
    page.get_by_text("Plot track").wait_for()


def test_emotion_mode_shows_only_its_controls(page):
    timeline, vad = page.locator("#talking_head-emotion-timeline"), page.locator("#talking_head-emotion-vad")
    timeline.locator("textarea, input").first.wait_for()
    assert not vad.is_visible()
    page.locator("#talking_head-emotion-from").get_by_text("VAD", exact=True).click()
    vad.get_by_text("Valence", exact=True).first.wait_for()
    timeline.wait_for(state="hidden")
    # the live point on the valence-arousal plane (drawn after the panel shows: wait for it, a one-shot check raced
    # the plot's first draw on a loaded machine)
    vad.locator("canvas, svg").first.wait_for(state="visible")


def test_render_play_download(page, tmp_path):
    from skimage.data import astronaut
    from skimage.io import imsave

    photo = tmp_path / "portrait.png"
    imsave(photo, astronaut()[:400, 100:300])  # a 2:1 portrait: the video keeps its aspect
    # the tab's own Settings accordion (not the page footer's "Settings" link): its widgets mount when it opens
    page.locator("#talking_head-settings").get_by_text("Settings", exact=True).click()
    page.locator("#talking_head-image input[type=file]").set_input_files(str(photo))
    page.locator("#talking_head-image img").first.wait_for()
    page.locator("#talking_head-text textarea").fill("Hi there.")
    for elem, value in (("talking_head-steps", "2"), ("talking_head-size", "96")):
        _set_slider(page, elem, value)
    page.locator("#talking_head-go").click()
    _settle(page, "#talking_head-video video[src]")
    size = page.eval_on_selector(
        "#talking_head-video video",
        """async v => { if (v.readyState < 1) await new Promise(r => v.addEventListener('loadedmetadata', r));
                        v.muted = true; await v.play(); await new Promise(r => setTimeout(r, 300));
                        return [v.videoWidth, v.videoHeight, v.currentTime, v.paused]; }""",
    )
    assert size[:2] == [48, 96] and size[2] > 0 and not size[3]
    link = page.locator("#talking_head-files a[download]").first
    with page.expect_download() as info:
        link.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.stat().st_size > 1000


def test_avatar_in_the_3d_viewer(page):
    page.get_by_role("tab", name="Avatar", exact=True).click()
    page.get_by_text("Camera and settings", exact=True).click()
    page.locator("#avatar-text textarea").fill("")
    _set_slider(page, "avatar-size", "64")
    page.locator("#avatar-go").click()
    _settle(page, "#avatar-model canvas")
    canvas = page.locator("#avatar-model canvas").first
    canvas.wait_for(state="visible")
    # the model is drawn: the viewer's pixels are no longer one flat clear colour
    deadline = time.monotonic() + 90
    while True:
        colours = _colours(canvas.screenshot())
        if colours > 50 or time.monotonic() > deadline:
            break
        page.wait_for_timeout(1000)
    info = page.eval_on_selector("#avatar-model canvas", "c => [c.width, c.height]")
    assert colours > 50, f"the 3D viewer shows no model (canvas {info}, {colours} colours)"
    _settle(page, "#avatar-video video[src]")
