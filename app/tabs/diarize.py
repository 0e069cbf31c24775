"""The Diarize tab: a recording → where its emotion changes: segments table, timeline plot and downloads (RTTM,
JSON). API endpoint ``/diarize``."""

from __future__ import annotations

import inspect
from pathlib import Path

from .common import check_uploads, user_errors

__all__ = ["build"]


def build(gr, out_dir, example_audio: str | None = None) -> None:
    """Add the tab's widgets to the current Blocks (the offline prosody backend)."""
    import pandas as pd

    from emogen.diarize import SpeechEmotionDiarizer
    from emogen.export import plot_diarization, write_json, write_rttm

    min_default = inspect.signature(SpeechEmotionDiarizer).parameters["min_segment_s"].default

    def diarize_audio(audio_path=None, min_segment=min_default, progress=gr.Progress(track_tqdm=True)):  # noqa: B008
        """Speech-emotion diarization of a recording (wav, mp3, flac, ogg or a video's soundtrack): segments with
        label, intensity and V/A/D, a plot, and the files (RTTM, JSON). Offline, from prosody: arousal is
        recovered well, valence only weakly."""
        from emogen.io.audio import load_audio

        if not audio_path:
            raise gr.Error("Upload or record some speech first.")
        with user_errors(gr):
            check_uploads(None, audio_path)
            waveform, rate = load_audio(audio_path)
            result = SpeechEmotionDiarizer(min_segment_s=float(min_segment))(waveform, rate)
        out, stem = out_dir(), Path(audio_path).stem.replace(" ", "_") or "audio"
        table = pd.DataFrame([s.to_dict() for s in result.segments])
        plot = plot_diarization(result, waveform, out / f"{stem}.png", sample_rate=rate, title=Path(audio_path).name)
        files = [write_rttm(result, out / f"{stem}.rttm", file_id=stem),
                 write_json(out / f"{stem}.json", result.to_dict())]  # fmt: skip
        summary = result.summary()
        mean = summary["mean_vad"]
        text = (f"**{len(result.segments)} segment(s)** over {summary['duration']:.1f} s; mostly "
                f"**{summary['dominant_label']}**; mean valence {mean['valence']:+.2f}, arousal "
                f"{mean['arousal']:+.2f}, dominance {mean['dominance']:+.2f}.")  # fmt: skip
        return table, str(plot), text, [str(f) for f in files]

    with gr.Tab("Diarize", id="diarize"):
        gr.Markdown("Where does the emotion of speech change? Upload or record speech: you get segments with "
                    "label and intensity. The offline backend reads prosody (pitch, loudness, rate, voice quality): "
                    "**arousal is recovered well, valence only weakly.**")  # fmt: skip
        with gr.Row():
            with gr.Column(scale=1):
                audio = gr.Audio(label="Speech (or a video's soundtrack)", type="filepath")
                min_segment = gr.Slider(0.1, 3.0, value=min_default, step=0.1, label="Shortest segment (s)")
                go = gr.Button("Diarize", variant="primary")
                if example_audio:
                    gr.Examples([[example_audio]], [audio], example_labels=["Happy, then sad (the Speech tab's)"])
            with gr.Column(scale=2):
                summary = gr.Markdown()
                plot = gr.Image(label="Waveform, V/A/D and segments", type="filepath")
                table = gr.Dataframe(label="Segments")
                files = gr.File(label="Downloads (RTTM, JSON)", file_count="multiple")
        go.click(diarize_audio, [audio, min_segment], [table, plot, summary, files], api_name="diarize",
                 concurrency_id="analysis")  # fmt: skip
