"""The Emotion video tab: a face speaking, listening or idle through an emotion → the video, its plots and
downloads (mp4, ARKit curves as CSV, the run's cues and grade as JSON). API endpoint ``/emotion_video``."""

from __future__ import annotations

from emogen.pipelines.defaults import DEFAULTS

from ..controls import EmotionControls, emotion_inputs
from .common import check_uploads, example_portraits, portrait, user_errors

__all__ = ["build"]

VIDEO_MODES = ("speaking", "listening", "idle")
EXAMPLE_TIMELINE = "0s neutral, 1s happy:0.8, 2.5s surprised:0.6"
LISTEN_TO = "[sad] I lost my keys again this morning. [happy] But then I found them in the fridge!"
_EMOTION_MODES = ("Label", "VAD", "Timeline", "From the text", "From the voice")
_NOTES = {"From the text": "speaking: each sentence's emotion read from its words (English; `[happy]` tags win); "
                           "not for listening or idle.",
          "From the voice": "speaking: the emotion of the speech (the text's `[happy]` tags, or the audio file's "
                            "diarized emotion); listening: neutral, plus the share of the speaker's emotion set by "
                            "Mirror; idle: neutral."}  # fmt: skip
_SPEECH_LABEL = {"speaking": "Text the face says", "listening": "What the other person says (spoken by the TTS)"}


def build(gr, video_pipe, out_dir, example_audio: str | None = None) -> None:
    """Add the tab's widgets to the current Blocks, wired to ``video_pipe`` (an ``EmoVideoPipeline``)."""
    from emogen.export import plot_blendshape_curves, plot_emotion_track, write_curves, write_json, write_video
    from emogen.pipelines.pipeline_utils import fit_long_side

    def render_video(
        image=None, mode="idle", text=None, audio_path=None, emotion_from="Timeline", label="happy", intensity=1.0,
        valence=0.6, arousal=0.4, dominance=0.2, timeline=EXAMPLE_TIMELINE, dynamics=DEFAULTS.emotion_dynamics,
        duration=0.0, mirror=0.5, grade=False, seed=DEFAULTS.seed, size=DEFAULTS.size,
        progress=gr.Progress(track_tqdm=True),  # noqa: B008 (gradio's idiom)
    ):  # fmt: skip
        """A face (default: the astronaut) speaking, listening to someone or idle through an emotion.

        speaking: it says the text or the audio file. listening: the text or audio is the other person; the face
        stays silent, nods and smiles at their backchannel points and takes on ``mirror`` of their emotion. idle:
        blinks, head sway and gaze for ``duration`` seconds (0: a timeline's own length, else 3 s).
        """
        import torch

        speech = dict(text=text if text and text.strip() and not audio_path else None, audio=audio_path or None)
        if mode == "idle":
            speech = dict(text=None, audio=None)
        controls = EmotionControls(emotion_from, label, float(intensity), float(valence), float(arousal),
                                   float(dominance), timeline or "")  # fmt: skip
        with user_errors(gr):
            check_uploads(image, speech["audio"])
            image = portrait(image)
            height, width = fit_long_side(image.shape, int(size))
            spec = controls.spec(speech["text"] if mode == "speaking" else None)
            result = video_pipe(
                image, emotion=spec, mode=mode, duration=float(duration) or None, mirror=float(mirror),
                grade=bool(grade), emotion_dynamics=dynamics, height=height, width=width,
                generator=torch.Generator().manual_seed(int(seed)), **speech,
            )  # fmt: skip
        out = out_dir()
        sound = result.audio if len(result.audio) else None
        video = write_video(out / "emotion_video.mp4", result.frames, fps=result.motion.fps, audio=sound,
                            sample_rate=result.sample_rate)  # fmt: skip
        plots = [(str(plot_emotion_track(result.emotion_track, out / "emotion.png")), "The face's emotion"),
                 (str(plot_blendshape_curves(result.motion, out / "arkit_curves.png")),
                  "ARKit curves and head pose")]  # fmt: skip
        record = {"mode": result.mode, "emotion": spec, "cues": result.cues, "grade": result.grade}
        files = [video, write_curves(out / "arkit_curves.csv", result.motion),
                 write_json(out / "emotion_video.json", record)]  # fmt: skip
        cues = ", ".join(f"{t:.1f} s ({kind})" for t, kind in result.cues or []) or "none"
        info = f"Listener responses at {cues}." if result.cues is not None else ""
        return str(video), plots, [str(f) for f in files], info

    with gr.Tab("Emotion video", id="emotion_video"):
        gr.Markdown("A face living through an emotion: **speaking**, **listening** to someone (lips closed, nods "
                    "and smiles at their pauses, catching part of their emotion) or **idle**.")  # fmt: skip
        with gr.Row():
            with gr.Column():
                image = gr.Image(label="Portrait (empty: the public-domain astronaut)", type="numpy")
                mode = gr.Radio(list(VIDEO_MODES), value="idle", label="The face is")
                with gr.Group(visible=False) as speech_box:
                    text = gr.Textbox(label=_SPEECH_LABEL["speaking"], value=LISTEN_TO, lines=2)
                    audio = gr.Audio(label="…or an audio file (replaces the text)", type="filepath")
                duration = gr.Slider(0, 30, value=0, step=0.5, label="Duration (s; 0: the timeline's own, or 3 s)")
                mirror = gr.Slider(0, 1, value=0.5, step=0.05, label="Mirror: share of the speaker's emotion taken on",
                                   visible=False)  # fmt: skip
                emotion = emotion_inputs(gr, timeline=EXAMPLE_TIMELINE, modes=_EMOTION_MODES, notes=_NOTES,
                                         elem_prefix="emotion_video")  # fmt: skip
                with gr.Accordion("Settings", open=False, elem_id="emotion_video-settings"):
                    grade = gr.Checkbox(value=False, label="Colour grade following valence and arousal")
                    seed = gr.Number(value=DEFAULTS.seed, precision=0, label="Seed")
                    size = gr.Slider(64, 1024, value=DEFAULTS.size, step=32, label="Size (long side, px)")
                go = gr.Button("Render", variant="primary")
            with gr.Column():
                video = gr.Video(label="Emotion video", autoplay=True, elem_id="emotion_video-video")
                info = gr.Markdown()
                plots = gr.Gallery(label="Plots", columns=1, height="auto", object_fit="contain")
                files = gr.File(label="Downloads", file_count="multiple")

        def show_mode(chosen):
            return (gr.update(visible=chosen != "idle"), gr.update(label=_SPEECH_LABEL.get(chosen)),
                    gr.update(visible=chosen == "idle"), gr.update(visible=chosen == "listening"))  # fmt: skip

        mode.change(show_mode, mode, [speech_box, text, duration, mirror], queue=False, api_visibility="private",
                    show_progress="hidden")  # fmt: skip
        examples = [[None, "idle", LISTEN_TO, None, "Timeline", EXAMPLE_TIMELINE],
                    [None, "listening", LISTEN_TO, None, "Label", EXAMPLE_TIMELINE],
                    [None, "speaking", "[happy] Guess what? We won!", None, "Timeline", EXAMPLE_TIMELINE]]  # fmt: skip
        labels = ["Idle through a timeline", "Listening to good and bad news", "Speaking"]
        if example_audio:
            examples.append([(example_portraits()[1:] or [None])[0], "listening", "", example_audio, "Label",
                             EXAMPLE_TIMELINE])  # fmt: skip
            labels.append("Listening to a recording")
        gr.Examples(examples, [image, mode, text, audio, emotion.mode, emotion.timeline], example_labels=labels)
        inputs = [image, mode, text, audio, *emotion.values, emotion.dynamics, duration, mirror, grade, seed, size]
        go.click(render_video, inputs, [video, plots, files, info], api_name="emotion_video", concurrency_id="render")
