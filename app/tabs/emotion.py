"""The Emotion tab: read VAD and labels from text, expand a timeline into the track a render would use."""

from __future__ import annotations

import json

from emogen.pipelines.defaults import DEFAULTS

__all__ = ["EXAMPLE_TIMELINE", "build", "preview_track", "warn_if_not_english"]

EXAMPLE_TIMELINE = "0s neutral, 1s happy:0.9, 3.5s surprised:0.7, 5.5s sad:0.6"


def warn_if_not_english(gr, texts) -> None:
    """Show a Gradio warning for texts the (English-only) text model would read as neutral; the log has it too."""
    from emogen.controls.text_checks import looks_english

    foreign = [t for t in texts if t and not looks_english(t)]
    if foreign:
        gr.Warning(
            f"{foreign[0][:60]!r} does not look like English: the text model reads English only, so the emotion "
            "will likely come out neutral. Use a label or translate the text."
        )


def preview_track(spec: str, dynamics: str = DEFAULTS.emotion_dynamics, duration: float | None = None):
    """The :class:`~emogen.emotion.EmotionTrack` a render with this spec and dynamics uses (at the default fps).

    Raises:
        ValueError: a malformed spec (a single word that is not a label, a timeline missing a ',', …) or one
            longer than the limits allow, exactly as a render would.
    """
    from emogen.controls import resolve_emotion

    return resolve_emotion(
        spec, fps=DEFAULTS.fps, duration=duration, dynamics=None if dynamics == "none" else dynamics
    )


def build(gr, out_dir) -> None:
    """Add the tab's widgets to the current Blocks."""
    from emogen.controls import analyze_text
    from emogen.export import plot_emotion_track

    def read_text(text):
        if not text or not text.strip():
            raise gr.Error("Type some text.")
        lines = [line for line in text.splitlines() if line.strip()]
        warn_if_not_english(gr, lines)
        try:
            results = analyze_text(lines)
        except (ValueError, TypeError) as err:
            raise gr.Error(str(err)) from None
        return json.dumps([r.to_dict() for r in results], indent=1)

    def expand_timeline(spec, dynamics):
        try:
            track = preview_track(spec, dynamics)
        except (ValueError, TypeError) as err:
            raise gr.Error(str(err)) from None
        return str(plot_emotion_track(track, out_dir() / "timeline.png", title=spec))

    with gr.Tab("Emotion"):
        with gr.Row():
            with gr.Column():
                in_text = gr.Textbox(label="Text (one per line)", value="I am furious!\nWhat a lovely day.")
                read = gr.Button("Read emotion")
                out_json = gr.Code(label="VAD and labels", language="json")
            with gr.Column():
                spec = gr.Textbox(label="Timeline", value=EXAMPLE_TIMELINE)
                dyn = gr.Radio(
                    ["none", "first-order", "second-order"], value=DEFAULTS.emotion_dynamics, label="Dynamics"
                )
                expand = gr.Button("Plot timeline")
                out_plot = gr.Image(label="Timeline", type="filepath")
        read.click(read_text, inputs=[in_text], outputs=[out_json])
        expand.click(expand_timeline, inputs=[spec, dyn], outputs=[out_plot])
