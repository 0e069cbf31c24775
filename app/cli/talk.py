"""``emogen talk``: a talking-head mp4 (with its soundtrack) from a portrait + text or speech + an emotion."""

from __future__ import annotations

import argparse
from pathlib import Path

from emogen.pipelines.defaults import DEFAULTS, LIMITS

from ._common import add_render_options, check_output, int_range


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "talk",
        help="make a portrait speak text (emotional TTS) or an audio file, with an emotion, and write an mp4",
        description=(
            "Animate the face in a photo speaking TEXT (spoken by the emotional TTS) or an AUDIO file, with lip "
            "sync, head motion, blinks and gaze from the shipped motion model, and an emotion (label, "
            "label:intensity, mixture, vad:v,a,d, free text or a timeline). Without --emotion the face follows "
            "the text's [tags] (else neutral), or with --audio the emotion diarized from the voice."
        ),
        epilog=(
            "examples:\n"
            '  emogen talk --text "We won the match!" --emotion happy:0.8 -o out/won.mp4\n'
            '  emogen talk --image me.jpg --text "[happy] We won! [sad:0.7] But Sam got hurt." -o out/me.mp4\n'
            "  emogen talk --audio speech.wav --curves out/speech.csv -o out/speech.mp4   # emotion from the voice\n"
            '  emogen talk --audio speech.wav --emotion "0s neutral, 2s angry" --size 256 --seed 3 -o out/a.mp4'
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--text", help="words to speak (may hold [emotion] tags); exclusive with --audio")
    p.add_argument("--audio", type=Path, help="speech to lip-sync (wav, mp3, flac, or a video's soundtrack)")
    p.add_argument(
        "--emotion",
        metavar="SPEC",
        help="emotion spec or timeline (default: the text's tags / neutral, or diarized from --audio); with --text, "
        "'auto' reads each sentence's emotion from its words",
    )
    add_render_options(p)
    p.add_argument(
        "--steps", type=int_range(*LIMITS.num_inference_steps), default=DEFAULTS.num_inference_steps,
        help=f"denoising steps of the motion model (default {DEFAULTS.num_inference_steps})",
    )  # fmt: skip
    p.add_argument("--voice", help="TTS voice for --text, e.g. en-us, en, en-us+f3 (see `emogen speak --list-voices`)")
    p.add_argument("-o", "--output", type=Path, required=True, help="output .mp4")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # 1. Check what needs no model (the pipeline checks the rest): outputs, text, audio, spec, photo
    if (args.text is None) == (args.audio is None):
        raise ValueError('Give exactly one of --text "words to speak" or --audio FILE.')
    if args.text is not None and not args.text.strip():
        raise ValueError('--text is empty; give the words to speak, e.g. --text "Hello there!".')
    if args.text is not None and len(args.text) > LIMITS.text_chars:
        raise ValueError(f"--text has {len(args.text)} characters; the most one call speaks is {LIMITS.text_chars}.")
    if args.audio is not None and not args.audio.is_file():
        raise ValueError(f"--audio: no such file {str(args.audio)!r}.")
    check_output(args.output, (".mp4",))
    if args.curves is not None:
        check_output(args.curves, (".csv", ".json"), "--curves")
    if args.emotion is not None and not (args.text is not None and args.emotion.strip().lower() == "auto"):
        from emogen.controls import parse_emotion_spec

        parse_emotion_spec(args.emotion)  # a misspelt label fails before the models load
    if args.text is not None:
        from emogen.controls.segments import parse_tagged_text

        parse_tagged_text(args.text)  # so does a bad [tag]

    from emogen.pipelines.pipeline_utils import fit_long_side

    from ._common import load_portrait

    image = load_portrait(args.image)
    height, width = fit_long_side(image.shape, args.size)  # long side = --size, the photo's aspect (as the app)
    audio = sample_rate = None
    if args.audio is not None:  # decoded once, before the models load; its own rate and channels are kept
        from emogen.io.audio import load_audio

        audio, sample_rate = load_audio(args.audio, None, mono=False)

    # 2. Generate
    import torch

    from emogen.pipelines import EmoTalkingHeadPipeline

    pipe = EmoTalkingHeadPipeline.from_pretrained()
    out = pipe(
        image=image,
        text=args.text,
        audio=audio,
        sample_rate=sample_rate,
        emotion=args.emotion,
        emotion_dynamics=args.emotion_dynamics,
        voice=args.voice,
        num_inference_steps=args.steps,
        fps=args.fps,
        height=height,
        width=width,
        generator=torch.Generator().manual_seed(args.seed),
    )

    # 3. Write
    from emogen.export import write_curves, write_video

    path = write_video(args.output, out.frames, fps=out.motion.fps, audio=out.audio, sample_rate=out.sample_rate)
    if args.curves is not None:
        print(write_curves(args.curves, out.motion))
    print(path)
    return 0
