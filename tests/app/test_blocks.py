"""The Gradio app built with the real pipelines at tiny sizes: every tab's handler, its files, its errors, the API
schema and the queue."""

import json

import numpy as np
import pytest

from emogen.app import EMOTION_MODES, EmotionControls, build_demo
from emogen.io.video import read_video_frames

ENDPOINTS = ("talking_head", "emotion_video", "avatar", "speech", "diarize", "read_emotion", "emotion_track",
             "timeline", "dataset")  # fmt: skip


def _fn(demo, api_name):
    for f in demo.fns.values():
        if f.api_name == api_name:
            return f.fn
    raise KeyError(api_name)


def _is(path, magic: bytes, offset: int = 0) -> bool:
    with open(path, "rb") as f:
        return f.read(offset + len(magic))[offset:] == magic


def test_controls_make_specs():
    assert EmotionControls("Label", "sad", 0.5).spec("hi") == "sad:0.5"
    assert EmotionControls("VAD", valence=0.5, arousal=-0.2, dominance=0).spec(None) == "vad:0.5,-0.2,0"
    assert EmotionControls("Timeline", timeline="0s happy, 1s sad").spec(None) == "0s happy, 1s sad"
    assert EmotionControls("From the text").spec("We won!") == "auto"
    assert EmotionControls("From the voice").spec(None) is None
    with pytest.raises(ValueError, match="needs text"):
        EmotionControls("From the text").spec("  ")
    with pytest.raises(ValueError, match="accepted: Label"):
        EmotionControls("Vibes").spec("hi")
    assert set(EMOTION_MODES) >= {"Label", "VAD", "Timeline"}


def test_every_tab_is_a_named_endpoint_with_optional_media(demo):
    info = demo.get_api_info()["named_endpoints"]
    assert set(info) == {f"/{name}" for name in ENDPOINTS}
    for name in ("talking_head", "emotion_video", "avatar"):
        params = {p["parameter_name"]: p for p in info[f"/{name}"]["parameters"]}
        assert params["image"]["parameter_has_default"] and params["image"]["parameter_default"] is None
        assert params["audio_path"]["parameter_has_default"] and params["audio_path"]["parameter_default"] is None
    assert info["/diarize"]["parameters"][0]["parameter_has_default"]


def test_queue_lets_many_wait_and_renders_one_at_a_time(tiny_pipes, example_audio):
    demo = build_demo(tiny_pipes, example_audio=example_audio, max_queue=20)
    assert demo._queue.max_size == 20 and demo._queue.default_concurrency_limit == 1
    with pytest.raises(ValueError, match="max_queue"):
        build_demo({}, max_queue=0)
    with pytest.raises(ValueError, match="accepted keys"):
        build_demo({"talkinghead": object()})


def test_talking_head_keeps_the_aspect_and_writes_every_file(demo, tiny_pipes):
    from skimage.data import astronaut

    portrait = np.ascontiguousarray(astronaut()[:400, 100:300])  # 2:1, the face in it
    video, plots, files = _fn(demo, "talking_head")(portrait, "Hi there.", None, "Label", "sad", 0.7, size=96, steps=2)
    frames, _ = read_video_frames(video)
    assert frames.shape[1:3] == (96, 48)  # long side = size, the photo's 2:1 aspect (as the CLI), not a square
    assert [p for p, _ in plots] and all(_is(p, b"\x89PNG") for p, _ in plots)
    suffixes = sorted(f.rsplit(".", 1)[1] for f in files)
    assert suffixes == ["csv", "json", "mp4", "wav"]
    assert open(next(f for f in files if f.endswith(".csv"))).readline().startswith("Timecode,BlendShapeCount")


def test_emotion_video_modes(demo, example_audio):
    render = _fn(demo, "emotion_video")
    video, plots, files, info = render(None, "idle", None, None, "Timeline", timeline="0s neutral, 0.5s happy",
                                       size=64, duration=1.0)  # fmt: skip
    assert _is(video, b"ftyp", 4) and info == ""
    assert sorted(f.rsplit(".", 1)[1] for f in files) == ["csv", "json", "mp4"]
    video, _, files, info = render(None, "listening", None, example_audio, "Label", "happy", size=64, mirror=0.6)
    assert info.startswith("Listener responses at")
    record = json.loads(open(next(f for f in files if f.endswith(".json"))).read())
    assert record["mode"] == "listening" and record["emotion"] == "happy:1"
    _, _, files, _ = render(None, "speaking", "What a wonderful surprise, I love it!", None, "From the text", size=64)
    record = json.loads(open(next(f for f in files if f.endswith(".json"))).read())
    assert record["mode"] == "speaking" and record["emotion"] == "auto"


def test_avatar_gives_glb_video_and_downloads(demo):
    glb, video, files = _fn(demo, "avatar")(None, "", None, "Label", "happy", duration=0.6, size=64)
    assert _is(glb, b"glTF") and _is(video, b"ftyp", 4)
    assert sorted(f.rsplit(".", 1)[1] for f in files) == ["csv", "glb", "mp4"]  # silent: no wav


def test_speech_tab(demo):
    wav, contour, plan, phones, files = _fn(demo, "speech")("[happy] We won! [sad] But Sam got hurt.")
    assert _is(wav, b"RIFF") and set(plan["label"]) == {"happy", "sad"}
    assert len(phones) > 5 and (phones["end"] >= phones["start"]).all()
    assert set(contour["segment"]) >= {"happy", "sad"}
    data = json.loads(open(files[1]).read())
    assert data["phones"] and data["segments"]


def test_diarize_tab(demo, example_audio):
    table, plot, summary, files = _fn(demo, "diarize")(example_audio)
    assert len(table) >= 1 and {"start", "end", "label"} <= set(table.columns)
    assert _is(plot, b"\x89PNG") and "segment" in summary
    rttm = next(f for f in files if f.endswith(".rttm"))
    assert open(rttm).readline().startswith("SPEAKER")


def test_emotion_tab(demo):
    data, plane, path = _fn(demo, "read_emotion")("What a lovely day!\nI am furious.")
    assert len(json.loads(data)) == 2 and _is(plane, b"\x89PNG")
    plot, plane, path = _fn(demo, "emotion_track")("VAD", valence=-0.5, arousal=0.5, dominance=0.0)
    assert _is(plot, b"\x89PNG") and _is(plane, b"\x89PNG")
    assert json.loads(open(path).read())["spec"] == "vad:-0.5,0.5,0"
    assert _is(_fn(demo, "timeline")("0s neutral, 1s happy", "second-order"), b"\x89PNG")


def test_dataset_tab(demo):
    grid, table, summary, files = _fn(demo, "dataset")(["astronaut"], None, ["happy", "sad"], 1, 48)
    assert len(grid) == 2 and all(_is(p, b"\x89PNG") for p, _ in grid)
    assert list(table["label"]) == ["happy", "sad"]
    assert sorted(f.rsplit(".", 1)[1] for f in files) == ["json", "jsonl", "zip"]


@pytest.mark.parametrize(
    ("endpoint", "args", "kwargs", "match"),
    [
        ("talking_head", (None, "", None), {}, "text to speak or an audio"),
        ("talking_head", (None, "Hi", None, "Timeline"), {"timeline": "0s happy, 1s angyr"}, "Did you mean"),
        ("talking_head", (None, "Hi", None, "From the voice"), {}, "needs an audio file"),
        ("talking_head", (np.zeros((4, 4), np.uint8), "Hi", None), {}, "4×4 pixels"),
        ("emotion_video", (None, "speaking", None, None, "Label"), {}, "needs `audio` or `text`"),
        ("avatar", (None, "Hi", "/no/such.wav"), {}, "no such.wav|such.wav"),
        ("speech", ("",), {}, "Type some text"),
        ("diarize", (None,), {}, "Upload or record"),
        ("timeline", ("1s happy, 0s sad", "none"), {}, "must increase"),
        ("emotion_track", ("Label", "blissful-ish"), {}, "blissful-ish"),
        ("dataset", (["astronaut"], None, []), {}, "at least one emotion"),
        ("dataset", (["astronaut"], None, ["happy"], 500), {}, "at most"),
    ],
)
def test_bad_input_is_a_gradio_error_naming_the_value(demo, endpoint, args, kwargs, match):
    import gradio as gr

    with pytest.raises(gr.Error, match=match):
        _fn(demo, endpoint)(*args, **kwargs)


def test_timeline_preview_is_what_gets_rendered(tiny_talking_head):
    """The timeline preview and a render of the same spec give the same track (the same function, shared
    defaults)."""
    import torch

    from emogen.app.controls import preview_track

    spec = "0s neutral, 0.5s happy, 1.2s sad:0.6"
    audio = torch.randn(16000 * 2) * 0.01  # the emotion comes from the spec, not the audio
    out = tiny_talking_head(
        audio=audio, emotion=spec, num_inference_steps=1, output_type="motion", generator=torch.Generator()
    )
    preview = preview_track(spec, duration=out.emotion_track.duration)
    assert preview.num_frames == out.emotion_track.num_frames
    torch.testing.assert_close(preview.vad, out.emotion_track.vad, atol=1e-5, rtol=0)
    torch.testing.assert_close(preview.probs, out.emotion_track.probs, atol=1e-5, rtol=0)
    # and it is not linear interpolation: the default dynamics shape the transition
    linear = preview_track(spec, "none", duration=out.emotion_track.duration)
    assert not torch.allclose(preview.vad, linear.vad, atol=1e-3)


def test_cli_options(monkeypatch):
    import argparse

    from emogen.app.cli import app as app_cli

    parser = argparse.ArgumentParser()
    app_cli.register(parser.add_subparsers())
    args = parser.parse_args(["app", "--host", "0.0.0.0", "--port", "8080", "--share", "--max-queue", "20",
                              "--max-upload-mb", "5", "--tabs", "speech"])  # fmt: skip
    launched = {}

    class _Demo:
        def launch(self, **kwargs):
            launched.update(kwargs)

    monkeypatch.setattr("emogen.app.blocks.build_demo", lambda pipes, max_queue: launched.update(
        pipes=sorted(pipes), max_queue=max_queue) or _Demo())  # fmt: skip
    monkeypatch.setattr("emogen.app.blocks.shipped_pipelines", lambda tabs: dict.fromkeys(tabs))
    assert app_cli.run(args) == 0
    assert launched == dict(pipes=["speech"], max_queue=20, server_name="0.0.0.0", server_port=8080, share=True,
                            max_file_size=5 * 2**20)  # fmt: skip
    with pytest.raises(SystemExit):
        parser.parse_args(["app", "--port", "0"])
    with pytest.raises(ValueError, match="--tabs"):
        app_cli.run(parser.parse_args(["app", "--tabs", "video"]))
