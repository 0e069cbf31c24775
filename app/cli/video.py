"""``emogen video``: a face living through an emotion timeline — speaking, listening or idle — as an mp4."""

from __future__ import annotations

import argparse
from pathlib import Path

from emogen.pipelines.defaults import DEFAULTS, LIMITS

from ._common import add_render_options, check_output


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "video",
        help="a face speaking, listening or idle through an emotion timeline, as an mp4",
        description=(
            "Render the face in a photo living through an emotion timeline. speaking: it says TEXT or an AUDIO "
            "file. listening: TEXT/AUDIO is the other person; the face stays silent, nods and smiles at the "
            "speaker's backchannel points, looks at them and takes on part of their emotion (--mirror). idle: "
            "blinks, head sway and gaze. --grade adds a colour grade that follows valence and arousal."
        ),
        epilog=(
            "examples:\n"
            '  emogen video --emotion "0s neutral, 2s happy" --mode idle --duration 4 -o out/idle.mp4\n'
            "  emogen video --image me.jpg --mode listening --audio them.wav --mirror 0.6 -o out/listen.mp4\n"
            '  emogen video --mode listening --text "[sad] I lost my keys again. [happy] But I found them!" '
            "-o out/l.mp4\n"
            '  emogen video --text "[happy] We won!" --grade -o out/speak.mp4'
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--emotion", metavar="SPEC", help="the face's own emotion spec or timeline (default neutral; "
                   "speaking with --audio: the voice's; 'auto' with --text: read from each sentence's "
                   "words)")  # fmt: skip
    p.add_argument("--mode", choices=("speaking", "listening", "idle"), default="speaking", help="default speaking")
    p.add_argument("--text", help="speaking: the words to say; listening: what the other person says")
    p.add_argument("--audio", type=Path, help="speaking: the face's speech; listening: the other person's")
    p.add_argument("--duration", type=float, help=f"idle: seconds (default {DEFAULTS.still_duration:g})")
    p.add_argument("--mirror", type=float, help="listening: share of the speaker's emotion (0-1, default 0.5)")
    p.add_argument("--grade", action="store_true", help="emotion-aware colour grade (recorded in --curves JSON)")
    add_render_options(p)
    p.add_argument("-o", "--output", type=Path, required=True, help="output .mp4")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # 1. Check what needs no model
    if args.text is not None and args.audio is not None:
        raise ValueError("Give --text or --audio, not both.")
    if args.mode != "idle" and args.text is None and args.audio is None:
        raise ValueError(f"--mode {args.mode} needs --text or --audio.")
    if args.mode == "idle" and (args.text is not None or args.audio is not None):
        raise ValueError("--mode idle takes no speech; use --mode speaking or listening with --text/--audio.")
    if args.audio is not None and not args.audio.is_file():
        raise ValueError(f"--audio: no such file {str(args.audio)!r}.")
    if args.duration is not None and not (0 < args.duration <= LIMITS.duration):
        raise ValueError(f"--duration must be in (0, {LIMITS.duration:g}] seconds, got {args.duration}.")
    if args.duration is not None and args.mode != "idle":
        raise ValueError(f"--duration sets an idle clip's length; --mode {args.mode} lasts as long as the speech.")
    if args.mirror is not None and args.mode != "listening":
        raise ValueError("--mirror is the listener's share of the speaker's emotion; it needs --mode listening.")
    if args.mirror is not None and not 0.0 <= args.mirror <= 1.0:
        raise ValueError(f"--mirror must be a share in [0, 1], got {args.mirror}.")
    mirror = 0.5 if args.mirror is None else args.mirror
    check_output(args.output, (".mp4",))
    if args.curves is not None:
        check_output(args.curves, (".csv", ".json"), "--curves")
    if args.emotion is not None and args.emotion.strip().lower() == "auto":
        if args.mode != "speaking" or args.text is None:
            raise ValueError("--emotion auto reads the emotion from --text as the face speaks it (--mode speaking).")
    elif args.emotion is not None:
        from emogen.controls import parse_emotion_spec

        parse_emotion_spec(args.emotion)
    from emogen.pipelines.pipeline_utils import fit_long_side

    from ._common import load_portrait

    image = load_portrait(args.image)
    height, width = fit_long_side(image.shape, args.size)
    audio = sample_rate = None
    if args.audio is not None:
        from emogen.io.audio import load_audio

        audio, sample_rate = load_audio(args.audio, None, mono=False)

    # 2. Generate
    import torch

    from emogen.pipelines import EmoVideoPipeline

    pipe = EmoVideoPipeline.from_pretrained()
    out = pipe(
        image, emotion=args.emotion, audio=audio, text=args.text, mode=args.mode, duration=args.duration,
        sample_rate=sample_rate, mirror=mirror, grade=args.grade, emotion_dynamics=args.emotion_dynamics,
        fps=args.fps, height=height, width=width, generator=torch.Generator().manual_seed(args.seed),
    )  # fmt: skip

    # 3. Write
    from emogen.export import write_curves, write_video

    sound = out.audio if len(out.audio) else None
    print(write_video(args.output, out.frames, fps=out.motion.fps, audio=sound, sample_rate=out.sample_rate))
    if args.curves is not None:
        print(write_curves(args.curves, out.motion))
    if out.cues is not None:
        print(f"listener responses at {', '.join(f'{t:.1f} s ({k})' for t, k in out.cues) or 'none'}")
    return 0
