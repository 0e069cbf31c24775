"""Export a :class:`~emogen.diarize.types.DiarizationResult`: JSON, RTTM and a PNG plot.

RTTM convention. NIST's Rich Transcription Time Marked format (RT-09 evaluation plan, Appendix A) has one
``SPEAKER`` line per turn::

    SPEAKER <file-id> 1 <onset> <duration> <NA> <NA> <label> <confidence> <NA>

emogen writes one line per emotion segment and puts the **emotion label in the speaker-name field** (8th
column), so standard diarization tools (``pyannote.metrics``, ``dscore``) score emotion diarization as if each
emotion were a speaker. The 9th column (confidence) holds the segment's mean label probability; times are in
seconds with millisecond precision; channel is 1. Segments are written for the whole recording, silence
included (it carries the surrounding emotion).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np

from ..emotion import LABELS
from ..io.atomic import atomic_output
from .types import DiarizationResult

__all__ = ["rttm_lines", "write_rttm", "write_json", "plot_diarization", "LABEL_COLORS"]

#: Colour of each label in plots (matplotlib tab10).
LABEL_COLORS: dict[str, str] = {
    "neutral": "#7f7f7f",
    "happy": "#ffbf00",
    "sad": "#1f77b4",
    "angry": "#d62728",
    "fearful": "#9467bd",
    "disgusted": "#2ca02c",
    "surprised": "#ff7f0e",
    "contempt": "#8c564b",
}


def _atomic_write(path: str | os.PathLike, write) -> Path:
    """Write through a temporary file in the target folder, then rename (no half-written outputs)."""
    with atomic_output(path, make_parents=False, suffix=".tmp") as tmp:
        write(str(tmp))
    return Path(path)


def rttm_lines(result: DiarizationResult, file_id: str = "audio") -> list[str]:
    """RTTM ``SPEAKER`` lines, one per segment, emotion label as speaker name (see the module docstring)."""
    if not isinstance(file_id, str) or not file_id or re.search(r"\s", file_id):
        raise ValueError(f"file_id must be a non-empty string without whitespace, got {file_id!r}.")
    return [
        f"SPEAKER {file_id} 1 {s.start:.3f} {s.duration:.3f} <NA> <NA> {s.label} {s.confidence:.4f} <NA>"
        for s in result.segments
    ]


def write_rttm(result: DiarizationResult, path: str | os.PathLike, file_id: str | None = None) -> Path:
    """Write RTTM to ``path`` (``file_id`` defaults to the file's stem)."""
    file_id = file_id or re.sub(r"\s+", "_", Path(path).stem) or "audio"
    text = "\n".join(rttm_lines(result, file_id)) + "\n"
    return _atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def write_json(result: DiarizationResult, path: str | os.PathLike, include_frames: bool = False) -> Path:
    """Write ``result.to_dict(include_frames)`` as JSON."""
    text = json.dumps(result.to_dict(include_frames=include_frames), indent=2) + "\n"
    return _atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def plot_diarization(
    result: DiarizationResult,
    waveform: np.ndarray,
    path: str | os.PathLike,
    sample_rate: int = 16000,
    title: str | None = None,
) -> Path:
    """Waveform, valence/arousal/dominance curves and coloured segments → PNG.

    Args:
        result: the diarization.
        waveform (`np.ndarray` of shape `(samples,)`): the audio it was computed from.
        path: PNG file to write.
        sample_rate: rate of ``waveform``.
        title: figure title.
    """
    from matplotlib.figure import Figure  # object API: no pyplot, no global backend state
    from matplotlib.patches import Patch

    x = np.asarray(waveform, dtype=np.float32).reshape(-1)
    fig = Figure(figsize=(12, 6), dpi=100, constrained_layout=True)
    ax_w, ax_c, ax_s = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [2, 3, 1]})

    step = max(1, len(x) // 20000)
    t = np.arange(0, len(x), step) / sample_rate
    ax_w.plot(t, x[::step], color="#333333", linewidth=0.5)
    ax_w.set_ylabel("waveform")
    ax_w.set_ylim(-1.05, 1.05)
    for seg in result.segments:
        ax_w.axvspan(seg.start, seg.end, color=LABEL_COLORS[seg.label], alpha=0.15, linewidth=0)

    times = result.times.numpy()
    vad = result.vad.float().cpu().numpy()
    speech = result.speech.cpu().numpy()
    curves = (("valence", "#2ca02c"), ("arousal", "#d62728"), ("dominance", "#1f77b4"))
    for j, (name, color) in enumerate(curves):
        ax_c.plot(times, vad[:, j], color=color, label=name, linewidth=1.5)
    ax_c.fill_between(times, -1, 1, where=~speech, color="#dddddd", alpha=0.5, linewidth=0, label="no speech")
    ax_c.axhline(0, color="black", linewidth=0.5)
    ax_c.set_ylim(-1, 1)
    ax_c.set_ylabel("VAD")
    ax_c.legend(loc="upper right", fontsize=8, ncol=4)

    for seg in result.segments:
        ax_s.axvspan(seg.start, seg.end, color=LABEL_COLORS[seg.label], alpha=0.35 + 0.65 * seg.intensity)
        if seg.duration > 0.04 * result.duration:
            ax_s.text(
                (seg.start + seg.end) / 2,
                0.5,
                f"{seg.label}\n{seg.intensity:.2f}",
                ha="center",
                va="center",
                fontsize=8,
            )
    ax_s.set_yticks([])
    ax_s.set_xlim(0, max(result.duration, 1e-3))
    ax_s.set_xlabel("time (s)")
    used = [name for name in LABELS if any(s.label == name for s in result.segments)]
    ax_s.legend(
        handles=[Patch(color=LABEL_COLORS[n], label=n) for n in used], loc="upper right", fontsize=8, ncol=len(used)
    )
    fig.suptitle(title or f"speech-emotion diarization ({result.backend})")
    return _atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
