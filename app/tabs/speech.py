"""The Speech tab: text with inline emotion tags → the speech alone, its pitch per segment, the vocal plan and the
phone timings, and downloads (wav, json). API endpoint ``/speech``."""

from __future__ import annotations

from ..controls import EmotionControls, emotion_inputs
from .common import EXAMPLE_SPEECH, user_errors, voices

__all__ = ["build"]

EXAMPLE_TIMELINE = "0s neutral, 1.5s angry:0.8, 3s sad:0.6"
_PLAN_COLUMNS = ["text", "label", "intensity", "start", "end", "pitch_shift", "pitch_range", "rate", "loudness",
                 "contour", "voice_quality"]  # fmt: skip


def build(gr, speech_pipe, out_dir) -> None:
    """Add the tab's widgets to the current Blocks, wired to ``speech_pipe`` (an ``EmoSpeechPipeline``)."""
    import pandas as pd

    from emogen.audio import prosody_features
    from emogen.export import LABEL_COLORS, write_json, write_wav

    def speak_text(
        text=EXAMPLE_SPEECH, emotion_from="From the text", label="happy", intensity=1.0, valence=0.6, arousal=0.4,
        dominance=0.2, timeline=EXAMPLE_TIMELINE, voice=None, speed=1.0,
        progress=gr.Progress(track_tqdm=True),  # noqa: B008 (gradio's idiom)
    ):  # fmt: skip
        """Speak the text; ``[happy]``, ``[sad:0.7]`` tags change the emotion inside it, the emotion applies to the
        rest ("From the text": each sentence's own). Returns the wav, the pitch per segment, the vocal plan, the
        phone timings and the files (wav, json with phones and plan)."""
        if not text or not text.strip():
            raise gr.Error("Type some text to speak.")
        controls = EmotionControls(emotion_from, label, float(intensity), float(valence), float(arousal),
                                   float(dominance), timeline or "")  # fmt: skip
        with user_errors(gr):
            spec = controls.spec(text)
            result = speech_pipe(text, emotion=spec, voice=voice or None, speed=float(speed))
        out = out_dir()
        wav = write_wav(out / "speech.wav", result.waveform, result.sample_rate)
        phones = pd.DataFrame([(p.phone, round(p.start, 3), round(p.end, 3)) for p in result.phones],
                              columns=["phone", "start", "end"])  # fmt: skip
        plan = result.plan.to_dict()
        data = write_json(out / "speech.json", {"text": text, "emotion": spec, **plan,
                                                "phones": phones.to_dict(orient="records")})  # fmt: skip
        pitch = prosody_features(result.waveform, result.sample_rate)
        spans = [(s.get("start", 0.0), s.get("end", 0.0), s["label"]) for s in plan["segments"]]
        voiced = zip(pitch.f0_hz.tolist(), pitch.voiced.tolist(), strict=True)
        rows = [(i / pitch.fps, hz, next((lab for a, b, lab in spans if a <= i / pitch.fps <= b), "pause"))
                for i, (hz, on) in enumerate(voiced) if on]  # fmt: skip
        contour = pd.DataFrame(rows, columns=["time", "pitch (Hz)", "segment"])
        table = pd.DataFrame(plan["segments"]).reindex(columns=_PLAN_COLUMNS)
        return str(wav), contour, table, phones, [str(wav), str(data)]

    voice_names, default_voice = voices(getattr(speech_pipe, "tts", None))
    with gr.Tab("Speech", id="speech"):
        gr.Markdown("Emotional speech alone. Tags such as `[happy]` or `[sad:0.7]` change the emotion mid-text; "
                    "pitch, range, rate, loudness and voice quality follow it.")  # fmt: skip
        with gr.Row():
            with gr.Column():
                text = gr.Textbox(label="Text with [emotion] tags", value=EXAMPLE_SPEECH, lines=3)
                emotion = emotion_inputs(gr, mode="From the text", timeline=EXAMPLE_TIMELINE,
                                         dynamics_choices=("none",),
                                         modes=("Label", "VAD", "Timeline", "From the text"),
                                         elem_prefix="speech")  # fmt: skip
                with gr.Row():
                    voice = gr.Dropdown(voice_names, value=default_voice, label="Voice", visible=bool(voice_names))
                    speed = gr.Slider(0.5, 2.0, value=1.0, step=0.05, label="Speed")
                go = gr.Button("Speak", variant="primary")
            with gr.Column():
                audio = gr.Audio(label="Speech", type="filepath")
                contour = gr.ScatterPlot(x="time", y="pitch (Hz)", color="segment", color_map=dict(LABEL_COLORS),
                                         label="Pitch per segment (coloured by its emotion)", height=240)  # fmt: skip
                plan = gr.Dataframe(label="Vocal plan per segment (semitones, factors, dB)", wrap=True)
                phones = gr.Dataframe(label="Phone timings (s)", max_height=240)
                files = gr.File(label="Downloads", file_count="multiple")
        gr.Examples(
            [[EXAMPLE_SPEECH, "From the text", "happy"], ["We won the match! Sam was amazing.", "Label", "happy"],
             ["Where were you? I waited for two hours. Never mind.", "Timeline", "happy"],
             ["I don't think I can do this anymore.", "Label", "sad"]],
            [text, emotion.mode, emotion.label],
            example_labels=["Tags in the text", "Happy", "A timeline over three sentences", "Sad"],
        )  # fmt: skip
        go.click(speak_text, [text, *emotion.values, voice, speed], [audio, contour, plan, phones, files],
                 api_name="speech", concurrency_id="render")  # fmt: skip
