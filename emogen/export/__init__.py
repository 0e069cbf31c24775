"""Writers: every file emogen produces is written here, atomically (a temporary file renamed into place).

* :func:`write_video` — mp4 (H.264 + AAC) from frames and audio;
* :func:`write_wav` — WAV audio; :func:`write_audio` — WAV, FLAC, Ogg or MP3 by suffix;
  :func:`write_json`, :func:`write_text` — data files;
* :func:`write_curves` — ARKit curves as a Live Link Face CSV or JSON;
* :func:`write_rttm` — speech-emotion diarization as NIST RTTM;
* :func:`write_webdataset_shards`, :func:`write_parquet_table`, :func:`write_jsonl` — labelled datasets
  (:mod:`emogen.export.dataset`; the layouts of ``emogen augment``);
* :func:`plot_emotion_track`, :func:`plot_valence_arousal`, :func:`plot_blendshape_curves`, :func:`plot_diarization` —
  PNG plots.

Readers live in :mod:`emogen.io`; so does the output layer every writer goes through (:mod:`emogen.io.output`:
paths checked before any work, temporaries removed on any exit and after a hard kill).
"""

from .audio import AUDIO_OUTPUT_FORMATS, write_audio, write_wav
from .curves import CURVE_FORMATS, live_link_face_rows, write_curves, write_curves_json, write_live_link_csv
from .data import write_json, write_text
from .dataset import DATASET_FORMATS, write_jsonl, write_parquet_table, write_webdataset_shards
from .gltf import write_glb
from .plots import (
    LABEL_COLORS,
    plot_blendshape_curves,
    plot_diarization,
    plot_emotion_track,
    plot_valence_arousal,
    save_figure,
)
from .rttm import rttm_lines, write_rttm
from .video import write_video

__all__ = [
    "AUDIO_OUTPUT_FORMATS",
    "CURVE_FORMATS",
    "DATASET_FORMATS",
    "LABEL_COLORS",
    "live_link_face_rows",
    "plot_blendshape_curves",
    "plot_diarization",
    "plot_emotion_track",
    "plot_valence_arousal",
    "rttm_lines",
    "save_figure",
    "write_curves",
    "write_curves_json",
    "write_glb",
    "write_json",
    "write_jsonl",
    "write_live_link_csv",
    "write_parquet_table",
    "write_rttm",
    "write_audio",
    "write_text",
    "write_video",
    "write_webdataset_shards",
    "write_wav",
]
