"""``emogen speak``: emotional text-to-speech with phone timings."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import check_output


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "speak",
        help="speak text with an emotion (per segment with [tags]); write a WAV and phone timings",
        description=(
            "Speak TEXT with its prosody and voice quality shaped by the emotion (pitch level and range, rate, "
            "loudness, pauses, contour, voice quality). Emotion may change inside the text with tags such as "
            "'[happy] We won! [sad:0.7] But Sam got hurt.' The default voice is the neural 'heart' (hibari-tts, "
            "offline); --voice with an espeak-ng voice name (en-us, en-us+f3, other languages) speaks with espeak-ng."
        ),
        epilog=(
            "examples:\n"
            '  emogen speak "We won the match!" --emotion happy -o out/won.wav --timings out/won.json\n'
            '  emogen speak "[happy] We won! [sad:0.7] But Sam got hurt." -o out/mixed.wav\n'
            '  emogen speak "We won the match!" --emotion happy --voice en-us+f3 -o out/espeak.wav   # espeak-ng\n'
            '  emogen speak "First. Second. Third." --emotion "0s neutral, 2s angry" -o out/rising.wav\n'
            "  emogen speak --list-voices"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("text", nargs="?", help="text to speak (may hold [emotion] tags)")
    p.add_argument(
        "--emotion",
        metavar="SPEC",
        help="emotion of untagged text: label, label:intensity, mixture, vad:v,a,d, free text, a timeline "
        "'0s neutral, 2s happy', or 'auto' (read from each sentence); default neutral",
    )
    p.add_argument(
        "--voice",
        help="voice: heart (neural, the default) or an espeak-ng voice, e.g. en-us, en, en-us+f3 (see --list-voices)",
    )
    p.add_argument("--speed", type=float, default=1.0, help="global rate factor in [0.25, 4] (default 1)")
    p.add_argument("--list-voices", action="store_true", help="list the accepted voices (both families) and exit")
    p.add_argument("-o", "--output", type=Path, help="output WAV file")
    p.add_argument("--timings", type=Path, help="also write phones and the per-segment plan as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from emogen.speech import default_engine

    engine = default_engine()
    if args.list_voices:
        for family in getattr(engine, "engines", [engine]):
            print(f"# {family.name} voices")
            for name, desc in family.voices().items():
                print(f"{name:22s} {desc}")
        return 0
    if args.text is None:
        raise ValueError('Give the TEXT to speak, e.g. emogen speak "Hello there!" -o hello.wav')
    if args.output is None:
        raise ValueError("Give the output WAV file with -o OUT.wav.")
    check_output(args.output, (".wav",))
    if args.timings is not None:
        check_output(args.timings, (".json",), "--timings")

    from emogen.controls import speech_pieces
    from emogen.export import write_json, write_wav
    from emogen.speech import speak

    pieces, track = speech_pieces(args.text, args.emotion)
    out = speak(pieces, engine, track=track, voice=args.voice, speed=args.speed)
    wav = write_wav(args.output, out.waveform, out.sample_rate)
    print(f"audio:   {wav}  ({out.duration:.2f} s, {out.sample_rate} Hz)")
    if args.timings is not None:
        spoke = engine.engine_for(args.voice) if hasattr(engine, "engine_for") else engine
        data = {"text": args.text, "engine": spoke.name, "voice": out.plan.voice, **out.timings()}
        print(f"timings: {write_json(args.timings, data)}")
    return 0
