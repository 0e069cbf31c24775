"""The Gradio app, built with a small real stand-in for the talking-head pipeline."""

import pytest

from emogen.app import EMOTION_MODES, EmotionControls, build_demo


def _fn(demo, name):
    for f in demo.fns.values():
        if getattr(f, "name", None) == name or getattr(f.fn, "__name__", None) == name:
            return f.fn
    raise KeyError(name)


def test_controls_make_specs():
    assert EmotionControls("Label", "sad", 0.5).spec("hi") == "sad:0.5"
    assert EmotionControls("VAD", valence=0.5, arousal=-0.2, dominance=0).spec(None) == "vad:0.5,-0.2,0"
    assert EmotionControls("Timeline", timeline="0s happy, 1s sad").spec(None) == "0s happy, 1s sad"
    assert EmotionControls("From the text").spec("We won!") == "text:We won!"
    assert EmotionControls("From the voice").spec(None) is None
    with pytest.raises(ValueError, match="needs text"):
        EmotionControls("From the text").spec("  ")
    assert set(EMOTION_MODES) >= {"Label", "VAD", "Timeline"}


def test_render_wires_pipeline_to_files(tmp_path, stand_in_pipe):
    pipe = stand_in_pipe
    demo = build_demo({"talking_head": pipe})
    render = _fn(demo, "render")
    video, plot, curves = render(None, "Hello there", None, "Label", "sad", 0.7, 0, 0, 0, "", 3, 256, 10)
    assert pipe.calls[-1]["emotion"] == "sad:0.7" and pipe.calls[-1]["height"] == 256
    assert open(video, "rb").read(12)[4:8] == b"ftyp"
    assert open(plot, "rb").read(4) == b"\x89PNG"
    header = open(curves).readline()
    assert header.startswith("Timecode,BlendShapeCount,EyeBlinkLeft")


def test_bad_ui_input_is_a_gradio_error(stand_in_pipe):
    import gradio as gr

    demo = build_demo({"talking_head": stand_in_pipe})
    render = _fn(demo, "render")
    with pytest.raises(gr.Error, match="text to speak or an audio"):
        render(None, "", None, "Label", "sad", 1.0, 0, 0, 0, "", 0, 256, 10)
    with pytest.raises(gr.Error, match="Did you mean"):
        render(None, "Hi", None, "Timeline", "sad", 1.0, 0, 0, 0, "0s happy, 1s angyr", 0, 256, 10)
    expand = _fn(demo, "expand_timeline")
    with pytest.raises(gr.Error, match="must increase"):
        expand("1s happy, 0s sad", "none")


def test_emotion_tab_without_pipelines():
    demo = build_demo({})
    path = _fn(demo, "expand_timeline")("0s neutral, 1s happy", "second-order")
    assert open(path, "rb").read(4) == b"\x89PNG"


def test_timeline_preview_is_what_gets_rendered(tiny_talking_head):
    """The Emotion tab's timeline preview and a render of the same spec give the same track (shared defaults)."""
    import torch

    from emogen.app.tabs.emotion import preview_track

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
