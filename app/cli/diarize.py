"""``emogen diarize``: speech-emotion diarization of an audio file (segments, RTTM, JSON, plot)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._common import check_output


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "diarize",
        help="find where the emotion of speech changes: segments with label and intensity",
        description=(
            "Speech-emotion diarization: emotion per 50 Hz frame (valence, arousal, dominance and label "
            "probabilities), smoothed into segments with a minimum duration. The default 'prosody' backend works "
            "offline from pitch, loudness, rate and voice quality: it recovers arousal well and valence only "
            "weakly. Pass the folder of a local transformers audio-classification model to use it instead."
        ),
        epilog=(
            "examples:\n"
            "  emogen diarize speech.wav\n"
            "  emogen diarize speech.wav --json > speech.json\n"
            "  emogen diarize speech.wav --rttm out/speech.rttm --plot out/speech.png\n"
            "  emogen diarize interview.mp4 --backend models/my-ser-wav2vec2\n"
            "\nRTTM: one SPEAKER line per segment with the emotion label in the speaker-name field."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("audio", type=Path, help="audio (wav, flac, ogg, mp3) or video file with an audio track")
    p.add_argument("--json", action="store_true", help="print one JSON object (segments + summary) instead of a table")
    p.add_argument("--frames", action="store_true", help="with --json: include the 50 Hz frame values")
    p.add_argument("--rttm", type=Path, metavar="OUT.rttm", help="write segments as NIST RTTM")
    p.add_argument("--plot", type=Path, metavar="OUT.png", help="write a plot: waveform, V/A/D curves, segments")
    p.add_argument(
        "--backend", default="prosody", metavar="prosody|PATH",
        help="'prosody' (offline default) or the directory of a local transformers audio-classification model",
    )  # fmt: skip
    p.add_argument("--min-segment", type=float, default=0.5, metavar="SECONDS", help="shortest segment (default 0.5)")
    p.add_argument(
        "--reference", type=Path, metavar="AUDIO", help="neutral speech of the same speaker (normalisation)"
    )
    p.set_defaults(func=run)


def _table(result) -> str:
    lines = [f"{'start':>8} {'end':>8}  {'label':<10} {'int.':>5}  {'val.':>6} {'aro.':>6} {'dom.':>6}  {'conf.':>5}"]
    for s in result.segments:
        v, a, d = s.vad
        lines.append(
            f"{s.start:8.2f} {s.end:8.2f}  {s.label:<10} {s.intensity:5.2f}  {v:+6.2f} {a:+6.2f} {d:+6.2f}  "
            f"{s.confidence:5.2f}"
        )
    summ = result.summary()
    mv = summ["mean_vad"]
    lines.append(
        f"{len(result.segments)} segment(s) over {summ['duration']:.2f} s; dominant: {summ['dominant_label']}; "
        f"mean V/A/D {mv['valence']:+.2f} {mv['arousal']:+.2f} {mv['dominance']:+.2f} (backend: {summ['backend']})"
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.rttm is not None:
        check_output(args.rttm, (".rttm",), "--rttm")
    if args.plot is not None:
        check_output(args.plot, (".png",), "--plot")
    if args.frames and not args.json:
        raise ValueError("--frames only applies with --json.")

    from emogen.io.audio import load_audio

    waveform, sr = load_audio(args.audio)  # unreadable or too long audio fails before the model loads

    from emogen.diarize import SpeechEmotionDiarizer
    from emogen.export import plot_diarization, write_rttm

    diarizer = SpeechEmotionDiarizer(args.backend, min_segment_s=args.min_segment)
    result = diarizer(waveform, sr, reference=args.reference)
    written = []
    if args.rttm is not None:
        written.append(("rttm", write_rttm(result, args.rttm, file_id=args.audio.stem.replace(" ", "_") or "audio")))
    if args.plot is not None:
        written.append(("plot", plot_diarization(result, waveform, args.plot, sample_rate=sr, title=args.audio.name)))
    if args.json:
        data = result.to_dict(include_frames=args.frames)
        data["audio"] = str(args.audio)
        data["outputs"] = {k: str(v) for k, v in written}
        print(json.dumps(data))
    else:
        print(_table(result))
        for kind, path in written:
            print(f"{kind}: {path}")
    return 0
