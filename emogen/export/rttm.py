"""Speech-emotion diarization as NIST RTTM (one ``SPEAKER`` line per emotion segment).

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

import os
import re
from pathlib import Path

from ..diarize.types import DiarizationResult
from .data import write_text

__all__ = ["rttm_lines", "write_rttm"]


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
    return write_text(path, text)
