"""``emogen talk``: a talking-head mp4 (with its soundtrack) from a portrait + text or speech + an emotion."""

from __future__ import annotations

import argparse
from pathlib import Path


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
    p.add_argument("--image", type=Path, help="portrait photo (default: scikit-image's public-domain astronaut)")
    p.add_argument("--text", help="words to speak (may hold [emotion] tags); exclusive with --audio")
    p.add_argument("--audio", type=Path, help="speech to lip-sync (wav, mp3, flac, or a video's soundtrack)")
    p.add_argument(
        "--emotion",
        metavar="SPEC",
        help="emotion spec or timeline (default: the text's tags / neutral, or diarized from --audio)",
    )
    p.add_argument(
        "--emotion-dynamics",
        choices=("first-order", "second-order", "none"),
        default="first-order",
        help="how the face moves between the emotions of tagged sentences or diarized segments (default first-order)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed of the motion, blinks and gaze (default 0)")
    p.add_argument("--size", type=int, default=512, help="long side of the video in pixels (default 512)")
    p.add_argument("--fps", type=float, default=25.0, help="frames per second (default 25)")
    p.add_argument("--steps", type=int, default=20, help="denoising steps of the motion model (default 20)")
    p.add_argument("--voice", help="TTS voice for --text, e.g. en-us, en, en-us+f3 (see `emogen speak --list-voices`)")
    p.add_argument("--curves", type=Path, help="also write the ARKit curves (.csv Live Link Face, or .json)")
    p.add_argument("-o", "--output", type=Path, required=True, help="output .mp4")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from emogen.io.video import write_video

    from ._common import check_render_options, load_portrait

    # 1. Check inputs (before loading anything heavy)
    if (args.text is None) == (args.audio is None):
        raise ValueError('Give exactly one of --text "words to speak" or --audio FILE.')
    if args.text is not None and not args.text.strip():
        raise ValueError('--text is empty; give the words to speak, e.g. --text "Hello there!".')
    if args.audio is not None and not args.audio.is_file():
        raise ValueError(f"--audio: no such file {str(args.audio)!r}.")
    if args.output.suffix.lower() != ".mp4":
        raise ValueError(f"--output must end in .mp4, got {str(args.output)!r}.")
    check_render_options(args)
    if not 1 <= args.steps <= 1000:
        raise ValueError(f"--steps must be in [1, 1000], got {args.steps}.")
    image = load_portrait(args.image)
    if args.emotion is not None and args.text is None:  # an unknown label fails before loading the models
        from emogen.controls import resolve_emotion

        resolve_emotion(args.emotion)
    h, w = image.shape[:2]
    height, width = (args.size, None) if h >= w else (None, args.size)  # long side = --size, photo's aspect

    # 2. Generate
    from emogen.pipelines.talking_head import EmoTalkingHeadPipeline

    pipe = EmoTalkingHeadPipeline.from_pretrained()
    out = pipe(
        image=image,
        text=args.text,
        audio=None if args.audio is None else str(args.audio),
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
    path = write_video(
        args.output, np.asarray(out.frames), fps=out.motion.fps, audio=out.audio, sample_rate=out.sample_rate
    )
    if args.curves is not None:
        from emogen.io.curves import write_curves

        write_curves(args.curves, out.motion)
        print(args.curves)
    print(path)
    return 0
