"""The Emotion tab: read VAD and labels from text; turn a label, VAD or timeline into the track a render uses, with
its plot and its path on the valence-arousal plane. API endpoints ``/read_emotion``, ``/emotion_track`` and
``/timeline``."""

from __future__ import annotations

import json

from emogen.pipelines.defaults import DEFAULTS

from ..controls import EXAMPLE_TIMELINE, EmotionControls, emotion_inputs, preview_track
from .common import user_errors

__all__ = ["EXAMPLE_TIMELINE", "build", "preview_track", "warn_if_not_english"]

EXAMPLE_TEXTS = "I am furious that they lied to us again.\nWhat a lovely day!\nI miss her so much."


def warn_if_not_english(gr, texts) -> None:
    """Show a Gradio warning for texts the (English-only) text model would read as neutral; the log has it too."""
    from emogen.controls.text_checks import looks_english

    foreign = [t for t in texts if t and not looks_english(t)]
    if foreign:
        gr.Warning(
            f"{foreign[0][:60]!r} does not look like English: the text model reads English only, so the emotion "
            "will likely come out neutral. Use a label or translate the text."
        )


def build(gr, out_dir) -> None:
    """Add the tab's widgets to the current Blocks."""
    from emogen.controls import analyze_text
    from emogen.export import plot_emotion_track, plot_valence_arousal, write_json

    def read_text(text=EXAMPLE_TEXTS, progress=gr.Progress(track_tqdm=True)):  # noqa: B008 (gradio's idiom)
        """Valence, arousal, dominance and label probabilities of each line of text (the offline text model)."""
        if not text or not text.strip():
            raise gr.Error("Type some text.")
        lines = [line for line in text.splitlines() if line.strip()]
        warn_if_not_english(gr, lines)
        with user_errors(gr):
            results = analyze_text(lines)
        data = [r.to_dict() for r in results]
        points = [(r.vad.valence, r.vad.arousal, f"line {i + 1}") for i, r in enumerate(results)]
        out = out_dir()
        plane = plot_valence_arousal(out / "text_emotion_va.png", points, title="The texts (line numbers)")
        path = write_json(out / "text_emotion.json", data)
        return json.dumps(data, indent=1), str(plane), str(path)

    def plot_track(
        emotion_from="Timeline", label="happy", intensity=1.0, valence=0.6, arousal=0.4, dominance=0.2,
        timeline=EXAMPLE_TIMELINE, dynamics=DEFAULTS.emotion_dynamics, duration=0.0,
    ):  # fmt: skip
        """The emotion track of a label, a VAD point or a timeline (as a render uses it): plot, path on the
        valence-arousal plane, and the track as JSON. ``duration`` 0: a timeline's own length, 3 s otherwise."""
        controls = EmotionControls(emotion_from, label, float(intensity), float(valence), float(arousal),
                                   float(dominance), timeline or "")  # fmt: skip
        with user_errors(gr):
            spec = controls.spec(None)
            track = preview_track(spec, dynamics, float(duration) or None)
            if track.num_frames == 1:  # a constant emotion: the default length of a still render
                track = preview_track(spec, dynamics, DEFAULTS.still_duration)
        out = out_dir()
        plot = plot_emotion_track(track, out / "emotion_track.png", title=spec)
        plane = plot_valence_arousal(out / "emotion_track_va.png", track=track, title=spec)
        data = write_json(out / "emotion_track.json", {"spec": spec, **track.to_dict()})
        return str(plot), str(plane), str(data)

    def expand_timeline(spec=EXAMPLE_TIMELINE, dynamics=DEFAULTS.emotion_dynamics):
        """Plot of a timeline's track with the given dynamics (the one a render uses)."""
        with user_errors(gr):
            track = preview_track(spec, dynamics)
        return str(plot_emotion_track(track, out_dir() / "timeline.png", title=spec))

    with gr.Tab("Emotion", id="emotion"):
        gr.Markdown("Every way of saying an emotion, and what the renders make of it. Nothing here renders video.")
        with gr.Row():
            with gr.Column():
                gr.Markdown("### Read emotion from text")
                in_text = gr.Textbox(label="Text (one per line)", value=EXAMPLE_TEXTS, lines=4)
                read = gr.Button("Read emotion")
                text_plane = gr.Image(label="The texts on the valence-arousal plane", type="filepath", height=360)
                out_json = gr.Code(label="VAD and labels", language="json")
                text_file = gr.File(label="Download (JSON)")
            with gr.Column():
                gr.Markdown("### An emotion over time")
                emotion = emotion_inputs(gr, modes=("Label", "VAD", "Timeline"), elem_prefix="emotion")
                duration = gr.Slider(0, 30, value=0, step=0.5, label="Duration (s; 0: the timeline's own)")
                expand = gr.Button("Plot track", variant="primary")
                out_plot = gr.Image(label="Emotion track", type="filepath")
                track_plane = gr.Image(label="The track on the valence-arousal plane", type="filepath", height=360)
                track_file = gr.File(label="Download (JSON)")
        gr.Examples(
            [["Timeline", EXAMPLE_TIMELINE, "second-order"], ["Timeline", "0s calm, 2s furious, 4s sad:0.5", "none"],
             ["Label", EXAMPLE_TIMELINE, "first-order"]],
            [emotion.mode, emotion.timeline, emotion.dynamics],
            example_labels=["Timeline with overshoot", "Synonyms, linear", "A label"],
        )  # fmt: skip
        read.click(read_text, [in_text], [out_json, text_plane, text_file], api_name="read_emotion",
                   concurrency_id="analysis")  # fmt: skip
        expand.click(plot_track, [*emotion.values, emotion.dynamics, duration], [out_plot, track_plane, track_file],
                     api_name="emotion_track", concurrency_id="analysis")  # fmt: skip
        emotion.timeline.submit(expand_timeline, [emotion.timeline, emotion.dynamics], [out_plot], api_name="timeline",
                                concurrency_id="analysis")  # fmt: skip
