"""The emogen Gradio app: ``build_demo(pipes)`` wires pipelines to widgets, nothing more.

Tabs:
* **Talking head** — a portrait (upload, or the public-domain astronaut), text to speak or an audio file, and the
  emotion as a label + intensity, VAD sliders, a keyframed timeline, the text's own emotion, or the voice's own
  emotion (audio only). Shows the video, the emotion timeline plot and the ARKit curves (CSV download).
* **Emotion** — read VAD and labels from text, expand a timeline into a plot.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emogen.emotion import LABELS

logger = logging.getLogger(__name__)

__all__ = ["build_demo", "EmotionControls", "EMOTION_MODES"]

#: How the talking-head tab takes its emotion.
EMOTION_MODES: tuple[str, ...] = ("Label", "VAD", "Timeline", "From the text", "From the voice")

EXAMPLE_TEXT = "We finally did it! I honestly can't believe it. But I wish Sam could have been here with us."
EXAMPLE_TIMELINE = "0s neutral, 1s happy:0.9, 3.5s surprised:0.7, 5.5s sad:0.6"


@dataclass(frozen=True)
class EmotionControls:
    """The values of the emotion widgets; :meth:`spec` turns them into a control-layer spec (or ``None``)."""

    mode: str
    label: str = "happy"
    intensity: float = 1.0
    valence: float = 0.0
    arousal: float = 0.0
    dominance: float = 0.0
    timeline: str = ""

    def spec(self, text: str | None) -> str | None:
        if self.mode == "Label":
            return f"{self.label}:{self.intensity:g}"
        if self.mode == "VAD":
            return f"vad:{self.valence:g},{self.arousal:g},{self.dominance:g}"
        if self.mode == "Timeline":
            return self.timeline
        if self.mode == "From the text":
            if not text or not text.strip():
                raise ValueError("'From the text' needs text to speak.")
            return f"text:{text.strip()}"
        if self.mode == "From the voice":
            return None  # the pipeline diarizes the audio and follows its emotion
        raise ValueError(f"Unknown emotion mode {self.mode!r}; accepted: {', '.join(EMOTION_MODES)}.")


def _default_portrait() -> np.ndarray:
    from skimage.data import astronaut

    return astronaut()


def _out_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="emogen-app-"))


def build_demo(pipes: Mapping[str, Any], *, title: str = "emogen") -> Any:
    """Build the Gradio Blocks.

    Args:
        pipes: ``{"talking_head": EmoTalkingHeadPipeline}`` (any callable with that pipeline's ``__call__``
            signature returning a ``TalkingHeadOutput``). Tabs whose pipeline is missing are not shown.

    Returns:
        ``gr.Blocks`` (call ``.launch()``).
    """
    import gradio as gr

    from emogen.controls import analyze_text, plot_emotion_track, resolve_emotion
    from emogen.io.curves import write_live_link_csv
    from emogen.io.video import write_video

    talking_head = pipes.get("talking_head")

    def render(
        image, text, audio_path, mode, label, intensity, v, a, d, timeline, seed, size, steps,
        progress=gr.Progress(track_tqdm=True),  # noqa: B008 (gradio's idiom)
    ):  # fmt: skip
        import torch

        if not (text and text.strip()) and not audio_path:
            raise gr.Error("Give some text to speak or an audio file.")
        controls = EmotionControls(mode, label, float(intensity), float(v), float(a), float(d), timeline or "")
        try:
            spec = controls.spec(text)
            if mode == "From the voice" and not audio_path:
                raise ValueError("'From the voice' needs an audio file.")
            result = talking_head(
                image=image if image is not None else _default_portrait(),
                text=text if text and text.strip() and not audio_path else None,
                audio=audio_path or None,
                emotion=spec,
                num_inference_steps=int(steps),
                height=int(size),
                width=int(size),
                generator=torch.Generator().manual_seed(int(seed)),
            )
        except (ValueError, TypeError, FileNotFoundError) as err:
            raise gr.Error(str(err)) from None
        out = _out_dir()
        video = write_video(out / "talking_head.mp4", result.frames, fps=result.motion.fps, audio=result.audio,
                            sample_rate=result.sample_rate)  # fmt: skip
        plot = plot_emotion_track(result.emotion_track, out / "emotion.png")
        curves = write_live_link_csv(out / "arkit_curves.csv", result.motion)
        return str(video), str(plot), str(curves)

    def read_text(text):
        if not text or not text.strip():
            raise gr.Error("Type some text.")
        return json.dumps([r.to_dict() for r in analyze_text([line for line in text.splitlines() if line.strip()])],
                          indent=1)  # fmt: skip

    def expand_timeline(spec, dynamics):
        try:
            track = resolve_emotion(spec, fps=25, dynamics=None if dynamics == "none" else dynamics)
        except (ValueError, TypeError) as err:
            raise gr.Error(str(err)) from None
        return str(plot_emotion_track(track, _out_dir() / "timeline.png", title=spec))

    with gr.Blocks(title=title) as demo:
        gr.Markdown(f"# {title}\nEmotion-controllable talking heads and speech — offline, CPU-friendly.")
        if talking_head is not None:
            with gr.Tab("Talking head"):
                with gr.Row():
                    with gr.Column():
                        image = gr.Image(label="Portrait (empty: the public-domain astronaut)", type="numpy")
                        text = gr.Textbox(label="Text to speak", value=EXAMPLE_TEXT, lines=3)
                        audio = gr.Audio(label="…or an audio file (speech)", type="filepath")
                        mode = gr.Radio(list(EMOTION_MODES), value="Timeline", label="Emotion from")
                        with gr.Row():
                            label = gr.Dropdown(list(LABELS), value="happy", label="Emotion")
                            intensity = gr.Slider(0, 1, value=1.0, step=0.05, label="Intensity")
                        with gr.Row():
                            v = gr.Slider(-1, 1, value=0.6, step=0.05, label="Valence")
                            a = gr.Slider(-1, 1, value=0.4, step=0.05, label="Arousal")
                            d = gr.Slider(-1, 1, value=0.2, step=0.05, label="Dominance")
                        timeline = gr.Textbox(label="Timeline", value=EXAMPLE_TIMELINE)
                        with gr.Accordion("Settings", open=False):
                            seed = gr.Number(value=0, precision=0, label="Seed")
                            size = gr.Slider(256, 1024, value=512, step=64, label="Size (px)")
                            steps = gr.Slider(5, 50, value=20, step=1, label="Denoising steps")
                        go = gr.Button("Render", variant="primary")
                    with gr.Column():
                        video = gr.Video(label="Talking head")
                        plot = gr.Image(label="Emotion timeline", type="filepath")
                        curves = gr.File(label="ARKit curves (Live Link Face CSV)")
                go.click(
                    render,
                    inputs=[image, text, audio, mode, label, intensity, v, a, d, timeline, seed, size, steps],
                    outputs=[video, plot, curves],
                )
        with gr.Tab("Emotion"):
            with gr.Row():
                with gr.Column():
                    in_text = gr.Textbox(label="Text (one per line)", value="I am furious!\nWhat a lovely day.")
                    read = gr.Button("Read emotion")
                    out_json = gr.Code(label="VAD and labels", language="json")
                with gr.Column():
                    spec = gr.Textbox(label="Timeline", value=EXAMPLE_TIMELINE)
                    dyn = gr.Radio(["none", "first-order", "second-order"], value="second-order", label="Dynamics")
                    expand = gr.Button("Plot timeline")
                    out_plot = gr.Image(label="Timeline", type="filepath")
            read.click(read_text, inputs=[in_text], outputs=[out_json])
            expand.click(expand_timeline, inputs=[spec, dyn], outputs=[out_plot])
    return demo
