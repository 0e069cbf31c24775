"""The emotion input every tab that takes an emotion shares: widget values → a control-layer spec.

* :class:`EmotionControls` — the widgets' values; :meth:`EmotionControls.spec` turns them into a spec;
* :func:`emotion_inputs` — builds the widgets: "Emotion from" picks a mode and only that mode's controls show: a
  label picker with intensity, V/A/D sliders with a live point on the valence-arousal plane, or a timeline editor
  with a live plot of the track a render uses (the same function and defaults as the render);
* :func:`preview_track`, :func:`track_table`, :func:`va_table` — what those live plots show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emogen.pipelines.defaults import DEFAULTS

__all__ = [
    "DYNAMICS",
    "EMOTION_MODES",
    "EXAMPLE_TIMELINE",
    "EmotionControls",
    "EmotionInputs",
    "emotion_inputs",
    "preview_track",
    "track_table",
    "va_table",
]

#: How a tab takes its emotion.
EMOTION_MODES: tuple[str, ...] = ("Label", "VAD", "Timeline", "From the text", "From the voice")
#: Affect dynamics between emotions, as renders use them.
DYNAMICS: tuple[str, ...] = ("none", "first-order", "second-order")
EXAMPLE_TIMELINE = "0s neutral, 1s happy:0.9, 3.5s surprised:0.7, 5.5s sad:0.6"
_CURVE_COLORS = {"valence": "#e65100", "arousal": "#c2185b", "dominance": "#1565c0", "intensity": "#000000"}
_MODE_HELP = {
    "From the text": "Each sentence's emotion is read from its own words (English); `[happy]` tags still win.",
    "From the voice": "The emotion is diarized from the uploaded speech and followed (needs an audio file).",
}


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
        """The spec for a call that speaks ``text`` (``None`` when it speaks an audio file or nothing).

        ``"From the text"`` gives ``"auto"`` (each sentence read by the text model); ``"From the voice"`` gives
        ``None`` (the pipeline diarizes the audio and follows it).

        Raises:
            ValueError: an unknown mode, or "From the text" without text to speak.
        """
        if self.mode == "Label":
            return f"{self.label}:{self.intensity:g}"
        if self.mode == "VAD":
            return f"vad:{self.valence:g},{self.arousal:g},{self.dominance:g}"
        if self.mode == "Timeline":
            return self.timeline
        if self.mode == "From the text":
            if not text or not text.strip():
                raise ValueError("'From the text' needs text to speak; with an audio file choose another mode.")
            return "auto"
        if self.mode == "From the voice":
            return None
        raise ValueError(f"Unknown emotion mode {self.mode!r}; accepted: {', '.join(EMOTION_MODES)}.")


def preview_track(spec: str, dynamics: str = DEFAULTS.emotion_dynamics, duration: float | None = None):
    """The :class:`~emogen.emotion.EmotionTrack` a render with this spec and dynamics uses (at the default fps);
    a render holds the last emotion until its speech ends.

    Raises:
        ValueError: a malformed spec (a single word that is not a label, a timeline missing a ',', …) or one
            longer than the limits allow, exactly as a render would.
    """
    from emogen.controls import resolve_emotion

    return resolve_emotion(
        spec, fps=DEFAULTS.fps, duration=duration, dynamics=None if dynamics == "none" else dynamics
    )


def track_table(track, max_points: int = 400):
    """A track's V/A/D and intensity over time, long format (``time``, ``value``, ``curve``) for ``gr.LinePlot``."""
    import pandas as pd

    step = max(1, -(-track.num_frames // max_points))
    t = track.times[::step].tolist()
    columns = {"valence": track.vad[::step, 0], "arousal": track.vad[::step, 1], "dominance": track.vad[::step, 2],
               "intensity": track.intensity[::step]}  # fmt: skip
    rows = [(ti, float(v), name) for name, values in columns.items() for ti, v in zip(t, values.tolist(), strict=True)]
    return pd.DataFrame(rows, columns=["time", "value", "curve"])


def va_table(points: list[tuple], name: str = "your emotion"):
    """The labels' centroids and ``points`` (``(valence, arousal)``, or with a name as third item) on the
    valence-arousal plane, for ``gr.ScatterPlot``."""
    import pandas as pd

    from emogen.emotion import LABEL_VAD

    rows = [(v, a, label) for label, (v, a, _) in LABEL_VAD.items()]
    rows += [(float(p[0]), float(p[1]), p[2] if len(p) > 2 else name) for p in points]
    return pd.DataFrame(rows, columns=["valence", "arousal", "emotion"])


def va_plot(gr, label: str = "Valence-arousal plane", name: str = "your emotion", value=None):
    """A ``gr.ScatterPlot`` of the valence-arousal plane, each label's centroid in its colour."""
    from emogen.export import LABEL_COLORS

    return gr.ScatterPlot(
        value=value if value is not None else va_table([]), x="valence", y="arousal", color="emotion",
        color_map={**LABEL_COLORS, name: "#000000"}, x_lim=[-1, 1], y_lim=[-1, 1], label=label, height=260,
    )  # fmt: skip


def _first_preview(timeline: str, dynamics: str):
    try:
        return track_table(preview_track(timeline, dynamics))
    except (ValueError, TypeError):
        return None


@dataclass
class EmotionInputs:
    """The emotion widgets of one tab (see :func:`emotion_inputs`); :attr:`values` are the render's inputs."""

    mode: Any
    label: Any
    intensity: Any
    valence: Any
    arousal: Any
    dominance: Any
    timeline: Any
    dynamics: Any

    @property
    def values(self) -> list:
        """``[mode, label, intensity, valence, arousal, dominance, timeline]``: :class:`EmotionControls`' fields."""
        return [self.mode, self.label, self.intensity, self.valence, self.arousal, self.dominance, self.timeline]


def emotion_inputs(
    gr, modes: tuple[str, ...] = EMOTION_MODES, mode: str = "Timeline", timeline: str = EXAMPLE_TIMELINE,
    label: str = "happy", vad: tuple[float, float, float] = (0.6, 0.4, 0.2),
    dynamics_choices: tuple[str, ...] = DYNAMICS, notes: dict[str, str] | None = None, elem_prefix: str = "",
) -> EmotionInputs:  # fmt: skip
    """Add the emotion widgets to the current Blocks and wire their live previews (see the module docstring).

    ``dynamics_choices``: the dynamics the caller's pipeline takes (speech: ``("none",)``, each sentence takes the
    timeline's value at its time); the choice is hidden when there is only one. ``notes``: what "From the text" and
    "From the voice" mean for the caller (default: the talking head's meaning). ``elem_prefix``: HTML ids
    ``<prefix>-emotion-from``, ``-emotion-label``, ``-emotion-vad``, ``-emotion-timeline`` (for styling and tests).
    """
    ids = (lambda name: f"{elem_prefix}-emotion-{name}") if elem_prefix else (lambda name: None)
    from emogen.emotion import LABELS

    radio = gr.Radio(list(modes), value=mode, label="Emotion from", elem_id=ids("from"))
    with gr.Group(visible=mode == "Label", elem_id=ids("label")) as label_box:
        with gr.Row():
            label_in = gr.Dropdown(list(LABELS), value=label, label="Emotion")
            intensity = gr.Slider(0, 1, value=1.0, step=0.05, label="Intensity")
    with gr.Group(visible=mode == "VAD", elem_id=ids("vad")) as vad_box:
        with gr.Row():
            v = gr.Slider(-1, 1, value=vad[0], step=0.05, label="Valence")
            a = gr.Slider(-1, 1, value=vad[1], step=0.05, label="Arousal")
            d = gr.Slider(-1, 1, value=vad[2], step=0.05, label="Dominance")
        plane = va_plot(gr, value=va_table([vad[:2]]))
    with gr.Group(visible=mode == "Timeline", elem_id=ids("timeline")) as timeline_box:
        spec = gr.Textbox(value=timeline, label="Timeline", info="'0s neutral, 1.2s happy:0.8, 3s sad:0.5'")
        dynamics = gr.Radio(
            list(dynamics_choices), label="Dynamics between emotions", visible=len(dynamics_choices) > 1,
            value=DEFAULTS.emotion_dynamics if DEFAULTS.emotion_dynamics in dynamics_choices else dynamics_choices[0],
        )  # fmt: skip
        status = gr.Markdown()
        curve = gr.LinePlot(
            value=_first_preview(timeline, dynamics.value), x="time", y="value", color="curve",
            color_map=_CURVE_COLORS, y_lim=[-1.05, 1.05], height=220,
            label="The track a render uses (the last emotion holds until the end)",
        )  # fmt: skip
    help_boxes = {m: gr.Markdown(text, visible=mode == m) for m, text in {**_MODE_HELP, **(notes or {})}.items()
                  if m in modes}  # fmt: skip

    def show_mode(chosen):
        shown = [chosen == "Label", chosen == "VAD", chosen == "Timeline", *(chosen == m for m in help_boxes)]
        return [gr.update(visible=s) for s in shown]

    def show_point(valence, arousal):
        return va_table([(valence, arousal)])

    def show_timeline(text, how):
        try:
            track = preview_track(text, how)
        except (ValueError, TypeError) as err:
            return gr.skip(), f"⚠ {err}"
        return track_table(track), f"{track.num_frames} frames at {track.fps:g} fps, {track.duration:.1f} s"

    private = dict(queue=False, api_visibility="private", show_progress="hidden")
    radio.change(show_mode, radio, [label_box, vad_box, timeline_box, *help_boxes.values()], **private)
    for slider in (v, a):
        slider.change(show_point, [v, a], plane, **private)
    for widget in (spec, dynamics):
        widget.change(show_timeline, [spec, dynamics], [curve, status], trigger_mode="always_last", **private)
    return EmotionInputs(radio, label_in, intensity, v, a, d, spec, dynamics)
