"""Bad and edge input through the Gradio app's functions (the Blocks built around the tiny real pipeline), one row
per kind, each with its exact outcome class (see conftest); the upload limits are checked here at function level."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

pytestmark = pytest.mark.reliability

# render(image, text, audio_path, mode, label, intensity, v, a, d, timeline, seed, size, steps)
SAY = "Hello there."


@dataclass(frozen=True)
class Case:
    id: str
    fn: str  # "render", "expand_timeline", "read_text", "check_uploads"
    args: tuple
    outcome: str
    needle: str


def _r(image=None, text=SAY, audio=None, mode="Label", timeline="", size=64):
    return (image, text, audio, mode, "happy", 1.0, 0.0, 0.0, 0.0, timeline, 0, size, 1)


BIG = np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (9_000, 10_000, 3))  # 90 MP, no memory

CASES = [
    Case("preview-unknown-word", "expand_timeline", ("abc", "none"), "error", "'abc'"),
    Case("preview-timeline-no-comma", "expand_timeline", ("0s happy 1s sad", "none"), "error", "'1s'"),
    Case("preview-100000s", "expand_timeline", ("0s happy, 100000s sad", "first-order"), "error", "100000s"),
    Case("preview-emoji", "expand_timeline", ("🎉", "none"), "error", "🎉"),
    Case("preview-empty", "expand_timeline", ("", "none"), "error", "Empty"),
    Case("read-text-too-long", "read_text", ("x" * 20_001,), "error", "20001 characters"),
    Case("read-text-french", "read_text", ("Je suis très heureux aujourd'hui",), "warn", "Je suis très"),
    Case("read-text-chinese", "read_text", ("我今天非常高兴",), "warn", "我今天"),
    Case("render-timeline-unknown-word", "render", _r(mode="Timeline", timeline="abc"), "error", "'abc'"),
    Case("render-timeline-no-comma", "render", _r(mode="Timeline", timeline="0s happy 1s sad"), "error",
         "at character 10"),
    Case("render-from-voice-no-audio", "render", _r(mode="From the voice"), "error", "needs an audio file"),
    Case("render-nothing-to-say", "render", _r(text=""), "error", "text to speak or an audio file"),
    Case("render-text-too-long", "render", _r(text="x" * 20_001), "error", "20001 characters"),
    Case("render-unclosed-tag", "render", _r(text="[happy Hello."), "error", "Unmatched '['"),
    Case("render-image-90mp", "render", _r(image=BIG), "error", "90 MP"),
    Case("render-image-nan", "render", _r(image=np.full((64, 64, 3), np.nan)), "error", "NaN"),
    Case("render-audio-601s", "render", _r(text="", audio="{in}/long.wav"), "error", "601 s"),
    Case("render-audio-201mib", "render", _r(text="", audio="{in}/huge.wav"), "error", "201 MiB"),
    Case("render-audio-not-audio", "render", _r(text="", audio="{in}/text.wav"), "error", "text.wav"),
    Case("render-audio-image", "render", _r(text="", audio="{in}/good.png"), "error", "good.png"),
    Case("upload-audio-601s", "check_uploads", (None, "{in}/long.wav"), "error", "601 s"),
    Case("upload-audio-201mib", "check_uploads", (None, "{in}/huge.wav"), "error", "201 MiB"),
    Case("upload-image-90mp", "check_uploads", (BIG, None), "error", "90 MP"),
    Case("upload-image-5-channels", "check_uploads", (np.zeros((8, 8, 5), np.uint8), None), "error", "(8, 8, 5)"),
]  # fmt: skip


def _fn(demo, name):
    for f in demo.fns.values():
        if getattr(f.fn, "__name__", None) == name:
            return f.fn
    raise KeyError(name)


@pytest.fixture(scope="module")
def app(tiny_talking_head):
    from emogen.app import build_demo

    return build_demo({"talking_head": tiny_talking_head})


@pytest.mark.parametrize("case", CASES, ids=[f"{c.outcome}-{c.id}" for c in CASES])
def test_app_input(case, app, inputs, tmp_path, caplog, monkeypatch, rel):
    import gradio as gr

    from emogen.app.tabs.talking_head import check_uploads

    monkeypatch.setattr("emogen.app.blocks.tempfile.tempdir", str(tmp_path))  # the app's outputs land here
    fn = check_uploads if case.fn == "check_uploads" else _fn(app, case.fn)
    args = rel.fill(case.args, {"in": str(inputs)})
    before = rel.snapshot(inputs)
    if case.outcome == "error":
        with pytest.raises((gr.Error, ValueError)) as info:
            fn(*args)
        message = info.value.message if isinstance(info.value, gr.Error) else str(info.value)
        rel.assert_one_line_error(message, case.needle)
        assert rel.snapshot(tmp_path) == [], "left behind on failure"
    else:
        with pytest.warns(UserWarning, match="does not look like English"):  # shown in the app as gr.Warning
            fn(*args)
        assert rel.warnings_naming(caplog, case.needle), [r.getMessage() for r in caplog.records]
    assert rel.snapshot(inputs) == before


def test_app_keeps_the_photo_aspect_like_the_cli(app, tmp_path, monkeypatch):
    """A 512 x 384 portrait at size 96 comes out 96 x 72 from the app, as from `emogen talk --size 96`."""
    import imageio_ffmpeg
    import skimage.data

    monkeypatch.setattr("emogen.app.blocks.tempfile.tempdir", str(tmp_path))
    image = np.ascontiguousarray(skimage.data.astronaut()[:, 64:448])  # 512 high, 384 wide
    video, _, _ = _fn(app, "render")(*_r(image=image, text="Hi.", size=96))
    reader = imageio_ffmpeg.read_frames(video)
    size = next(reader)["size"]
    reader.close()
    assert size == (72, 96)  # (width, height)
