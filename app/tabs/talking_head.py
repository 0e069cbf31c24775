"""The Talking head tab: a portrait, text or audio, and an emotion → the video, its emotion plot and ARKit curves."""

from __future__ import annotations

import os

from emogen.emotion import LABELS
from emogen.pipelines.defaults import DEFAULTS, LIMITS

from ..controls import EMOTION_MODES, EmotionControls
from .emotion import EXAMPLE_TIMELINE, warn_if_not_english

__all__ = ["EXAMPLE_TEXT", "build", "check_uploads"]

EXAMPLE_TEXT = "We finally did it! I honestly can't believe it. But I wish Sam could have been here with us."


def _default_portrait():
    from skimage.data import astronaut

    return astronaut()


def check_uploads(image, audio_path: str | None) -> None:
    """The app's upload limits, checked before any work (Gradio's own ``max_file_size`` refuses larger files at
    upload): the photo's pixels, and the audio file's size and duration (read from its header, nothing decoded).

    Raises:
        ValueError: naming the upload and the limit.
    """
    from emogen.io.audio import audio_duration
    from emogen.io.image import to_rgb_uint8

    if image is not None:
        to_rgb_uint8(image, name="The portrait")  # pixels bound, shape, dtype
    if audio_path:
        size = os.path.getsize(audio_path)
        if size > LIMITS.upload_bytes:
            raise ValueError(
                f"The audio file is {size / 2**20:.0f} MiB; the largest accepted is {LIMITS.upload_bytes / 2**20:.0f}"
                " MiB."
            )
        seconds = audio_duration(audio_path)
        if seconds is not None and seconds > LIMITS.duration:
            raise ValueError(f"The audio lasts {seconds:.0f} s; the longest accepted is {LIMITS.duration:g} s.")


def build(gr, talking_head, out_dir) -> None:
    """Add the tab's widgets to the current Blocks, wired to ``talking_head`` (the pipeline)."""
    from emogen.export import plot_emotion_track, write_live_link_csv, write_video
    from emogen.pipelines.pipeline_utils import fit_long_side

    def render(
        image, text, audio_path, mode, label, intensity, v, a, d, timeline, seed, size, steps,
        progress=gr.Progress(track_tqdm=True),  # noqa: B008 (gradio's idiom)
    ):  # fmt: skip
        import torch

        if not (text and text.strip()) and not audio_path:
            raise gr.Error("Give some text to speak or an audio file.")
        controls = EmotionControls(mode, label, float(intensity), float(v), float(a), float(d), timeline or "")
        try:
            check_uploads(image, audio_path)
        except (ValueError, TypeError, FileNotFoundError) as err:
            raise gr.Error(str(err)) from None
        image = image if image is not None else _default_portrait()
        height, width = fit_long_side(image.shape, int(size))  # long side = size, the photo's aspect (as the CLI)
        try:
            spec = controls.spec(text)
            if mode == "From the text":
                warn_if_not_english(gr, [text])
            if mode == "From the voice" and not audio_path:
                raise ValueError("'From the voice' needs an audio file.")
            result = talking_head(
                image=image,
                text=text if text and text.strip() and not audio_path else None,
                audio=audio_path or None,
                emotion=spec,
                num_inference_steps=int(steps),
                height=height,
                width=width,
                generator=torch.Generator().manual_seed(int(seed)),
            )
        except (ValueError, TypeError, FileNotFoundError) as err:
            raise gr.Error(str(err)) from None
        out = out_dir()
        video = write_video(out / "talking_head.mp4", result.frames, fps=result.motion.fps, audio=result.audio,
                            sample_rate=result.sample_rate)  # fmt: skip
        plot = plot_emotion_track(result.emotion_track, out / "emotion.png")
        curves = write_live_link_csv(out / "arkit_curves.csv", result.motion)
        return str(video), str(plot), str(curves)

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
                    seed = gr.Number(value=DEFAULTS.seed, precision=0, label="Seed")
                    size = gr.Slider(256, 1024, value=DEFAULTS.size, step=64, label="Size (long side, px)")
                    steps = gr.Slider(5, 50, value=DEFAULTS.num_inference_steps, step=1, label="Denoising steps")
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
