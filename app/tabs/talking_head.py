"""The Talking head tab: a portrait, text or audio, and an emotion → the video, its emotion and ARKit plots, and
downloads (mp4, wav, ARKit curves as CSV and JSON). API endpoint ``/talking_head``."""

from __future__ import annotations

from emogen.pipelines.defaults import DEFAULTS, LIMITS

from ..controls import EXAMPLE_TIMELINE, EmotionControls, emotion_inputs
from .common import check_uploads, example_portraits, portrait, user_errors, voices
from .emotion import warn_if_not_english

__all__ = ["EXAMPLE_TEXT", "build", "check_uploads"]

EXAMPLE_TEXT = "We finally did it! I honestly can't believe it. But I wish Sam could have been here with us."


def build(gr, talking_head, out_dir, example_audio: str | None = None) -> None:
    """Add the tab's widgets to the current Blocks, wired to ``talking_head`` (the pipeline)."""
    from emogen.export import plot_blendshape_curves, plot_emotion_track, write_curves, write_video, write_wav
    from emogen.pipelines.pipeline_utils import fit_long_side

    def render(
        image=None, text=EXAMPLE_TEXT, audio_path=None, emotion_from="Timeline", label="happy", intensity=1.0,
        valence=0.6, arousal=0.4, dominance=0.2, timeline=EXAMPLE_TIMELINE, seed=DEFAULTS.seed, size=DEFAULTS.size,
        steps=DEFAULTS.num_inference_steps, dynamics=DEFAULTS.emotion_dynamics, voice=DEFAULTS.voice,
        progress=gr.Progress(track_tqdm=True),  # noqa: B008 (gradio's idiom)
    ):  # fmt: skip
        """Animate the portrait (default: the astronaut) speaking the text, or the audio file, with the emotion.

        Returns the mp4, the emotion and ARKit-curve plots, and the files (mp4, wav, ARKit CSV and JSON).
        """
        import torch

        if not (text and text.strip()) and not audio_path:
            raise gr.Error("Give some text to speak or an audio file.")
        spoken = text if text and text.strip() and not audio_path else None
        controls = EmotionControls(emotion_from, label, float(intensity), float(valence), float(arousal),
                                   float(dominance), timeline or "")  # fmt: skip
        with user_errors(gr):
            check_uploads(image, audio_path)
            image = portrait(image)
            height, width = fit_long_side(image.shape, int(size))  # long side = size, the photo's aspect (as the CLI)
            if emotion_from == "From the voice" and not audio_path:
                raise ValueError("'From the voice' needs an audio file.")
            spec = controls.spec(spoken)
            if emotion_from == "From the text":
                warn_if_not_english(gr, [spoken])
            result = talking_head(
                image=image, text=spoken, audio=audio_path or None, emotion=spec, voice=voice or None,
                num_inference_steps=int(steps), emotion_dynamics=dynamics, height=height, width=width,
                generator=torch.Generator().manual_seed(int(seed)),
            )  # fmt: skip
        out = out_dir()
        video = write_video(out / "talking_head.mp4", result.frames, fps=result.motion.fps, audio=result.audio,
                            sample_rate=result.sample_rate)  # fmt: skip
        plots = [(str(plot_emotion_track(result.emotion_track, out / "emotion.png")), "Emotion track"),
                 (str(plot_blendshape_curves(result.motion, out / "arkit_curves.png")),
                  "ARKit curves and head pose")]  # fmt: skip
        files = [video, write_wav(out / "talking_head.wav", result.audio, result.sample_rate),
                 write_curves(out / "arkit_curves.csv", result.motion),
                 write_curves(out / "arkit_curves.json", result.motion)]  # fmt: skip
        return str(video), plots, [str(f) for f in files]

    voice_names, default_voice = voices(getattr(talking_head, "tts", None))
    with gr.Tab("Talking head", id="talking_head"):
        gr.Markdown("A photo speaks your text (emotional speech) or an audio file, with an emotion you choose.")
        with gr.Row():
            with gr.Column():
                image = gr.Image(label="Portrait (empty: the public-domain astronaut)", type="numpy",
                                 elem_id="talking_head-image")  # fmt: skip
                text = gr.Textbox(label="Text to speak ([happy] … [sad:0.7] … tags allowed)", value=EXAMPLE_TEXT,
                                  lines=3, elem_id="talking_head-text")  # fmt: skip
                audio = gr.Audio(label="…or an audio file (speech; replaces the text)", type="filepath")
                emotion = emotion_inputs(gr, elem_prefix="talking_head")
                with gr.Accordion("Settings", open=False, elem_id="talking_head-settings"):
                    voice = gr.Dropdown(voice_names, value=default_voice, label="Voice", visible=bool(voice_names))
                    seed = gr.Number(value=DEFAULTS.seed, precision=0, label="Seed")
                    size = gr.Slider(64, 1024, value=DEFAULTS.size, step=32, label="Size (long side, px)",
                                     elem_id="talking_head-size")  # fmt: skip
                    steps = gr.Slider(LIMITS.num_inference_steps[0], 50, value=DEFAULTS.num_inference_steps, step=1,
                                      label="Denoising steps", elem_id="talking_head-steps")  # fmt: skip
                go = gr.Button("Render", variant="primary", elem_id="talking_head-go")
            with gr.Column():
                video = gr.Video(label="Talking head", autoplay=True, elem_id="talking_head-video")
                plots = gr.Gallery(label="Plots", columns=1, height="auto", object_fit="contain")
                files = gr.File(label="Downloads", file_count="multiple", elem_id="talking_head-files")
        inputs = [image, text, audio, *emotion.values, seed, size, steps, emotion.dynamics, voice]
        examples = [
            [None, EXAMPLE_TEXT, None, "Timeline", EXAMPLE_TIMELINE],
            [None, "[happy] We won the match! [sad:0.7] But Sam got hurt.", None, "From the text", EXAMPLE_TIMELINE],
        ]
        labels = ["Astronaut, emotion timeline", "Tags in the text"]
        for path, name in zip(example_portraits()[1:], ["Grace Hopper, emotion from the text"], strict=False):
            examples.append([path, EXAMPLE_TEXT, None, "From the text", EXAMPLE_TIMELINE])
            labels.append(name)
        if example_audio:
            examples.append([None, "", example_audio, "From the voice", EXAMPLE_TIMELINE])
            labels.append("A recording, emotion from the voice")
        gr.Examples(examples, [image, text, audio, emotion.mode, emotion.timeline], example_labels=labels)
        go.click(render, inputs=inputs, outputs=[video, plots, files], api_name="talking_head",
                 concurrency_id="render")  # fmt: skip
