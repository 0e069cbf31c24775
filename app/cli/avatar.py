"""``emogen avatar``: a rigged 3D head (GLB with 52 ARKit morph targets and an animation) from a portrait."""

from __future__ import annotations

import argparse
from pathlib import Path

from emogen.pipelines.defaults import DEFAULTS, LIMITS

from ._common import check_output, fps_type, int_range


def _angle(lo: float, hi: float):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected degrees, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be in [{lo:g}, {hi:g}] degrees, got {text}")
        return value

    return parse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "avatar",
        help="build a rigged 3D head from a portrait and write a GLB (52 ARKit morph targets + animation)",
        description=(
            "Build a closed, textured 3D head from the face in a photo, rigged with the 52 ARKit blendshapes as "
            "morph targets (jaw opens the mouth, lids close over the eyes, eyes rotate for gaze, a neck joint), "
            "animate it speaking TEXT or an AUDIO file (or silent) with an emotion, and write a GLB that engines "
            "and three.js open; optionally a rendered video, a turntable, the ARKit curves and the speech as WAV."
        ),
        epilog=(
            "examples:\n"
            "  emogen avatar --emotion happy -o out/head.glb --video out/head.mp4\n"
            '  emogen avatar --image me.jpg --text "[happy] We won! [sad] But Sam got hurt." -o out/me.glb '
            "--csv out/me.csv\n"
            "  emogen avatar --image me.jpg --audio speech.wav --yaw 30 --video out/side.mp4 -o out/me.glb\n"
            "  emogen avatar --image me.jpg --turntable out/turn.mp4 -o out/me.glb"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--image", type=Path, help="portrait photo (default: scikit-image's public-domain astronaut)")
    p.add_argument("--emotion", metavar="SPEC", help="emotion spec or timeline (default: the text's tags, the "
                   "voice's diarized emotion, or neutral)")  # fmt: skip
    p.add_argument("--text", help="words to speak (may hold [emotion] tags); exclusive with --audio")
    p.add_argument("--audio", type=Path, help="speech to lip-sync (wav, mp3, flac)")
    p.add_argument("--duration", type=float, help=f"seconds when silent (default {DEFAULTS.still_duration:g} s)")
    p.add_argument("--fps", type=fps_type, default=DEFAULTS.fps, help=f"frames per second (default {DEFAULTS.fps:g})")
    p.add_argument("--seed", type=int, default=DEFAULTS.seed, help=f"random seed (default {DEFAULTS.seed})")
    p.add_argument(
        "--size",
        type=int_range(*LIMITS.size),
        default=DEFAULTS.size,
        help=f"side of --video/--turntable frames in pixels (default {DEFAULTS.size})",
    )
    p.add_argument("--yaw", type=_angle(-180, 180), default=0.0, help="camera yaw for --video, degrees (default 0)")
    p.add_argument("--pitch", type=_angle(-89, 89), default=0.0, help="camera pitch for --video, degrees")
    p.add_argument("--video", type=Path, help="also render the animated avatar to this .mp4")
    p.add_argument("--turntable", type=Path, help="also render a 360° orbit at neutral to this .mp4")
    p.add_argument("--csv", type=Path, help="also write the ARKit curves (.csv Live Link Face, or .json)")
    p.add_argument(
        "--mesh",
        type=Path,
        help="also write the neutral mesh (.obj, with its .mtl and texture .png beside it, or .ply)",
    )
    p.add_argument("-o", "--output", type=Path, required=True, help="output .glb (the speech goes beside it as .wav)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # 1. Check what needs no model: outputs, text, audio, spec, duration
    if args.text is not None and args.audio is not None:
        raise ValueError("Give --text or --audio (or neither, for a silent avatar), not both.")
    if args.text is not None and not args.text.strip():
        raise ValueError('--text is empty; give the words to speak, e.g. --text "Hello there!".')
    if args.audio is not None and not args.audio.is_file():
        raise ValueError(f"--audio: no such file {str(args.audio)!r}.")
    if args.duration is not None and (args.text is not None or args.audio is not None):
        raise ValueError(
            "--duration sets a silent avatar's length; with --text or --audio it lasts as long as the speech."
        )
    if args.duration is not None and not (0 < args.duration <= LIMITS.duration):
        raise ValueError(f"--duration must be in (0, {LIMITS.duration:g}] seconds, got {args.duration}.")
    check_output(args.output, (".glb",))
    for option, value, suffixes in (
        ("--video", args.video, (".mp4",)),
        ("--turntable", args.turntable, (".mp4",)),
        ("--csv", args.csv, (".csv", ".json")),
        ("--mesh", args.mesh, (".obj", ".ply")),
    ):
        if value is not None:
            check_output(value, suffixes, option)
    if args.emotion is not None and not (args.text is not None and args.emotion.strip().lower() == "auto"):
        from emogen.controls import parse_emotion_spec

        parse_emotion_spec(args.emotion)
    from ._common import load_portrait

    image = load_portrait(args.image)
    audio = sample_rate = None
    if args.audio is not None:
        from emogen.io.audio import load_audio

        audio, sample_rate = load_audio(args.audio, None, mono=False)

    # 2. Build and animate
    import torch

    from emogen.pipelines import EmoHeadAvatarPipeline

    pipe = EmoHeadAvatarPipeline.from_pretrained()
    out = pipe(
        image, audio=audio, text=args.text, emotion=args.emotion, sample_rate=sample_rate, duration=args.duration,
        fps=args.fps, size=args.size, yaw=args.yaw, pitch=args.pitch,
        generator=torch.Generator().manual_seed(args.seed), output_type="np" if args.video is not None else "avatar",
    )  # fmt: skip

    # 3. Write
    from emogen.export import write_curves, write_glb, write_video, write_wav

    print(write_glb(args.output, out.avatar, out.motion))
    if len(out.audio):
        print(write_wav(args.output.with_suffix(".wav"), out.audio, out.sample_rate))
    if args.video is not None:
        print(write_video(args.video, out.frames, fps=out.motion.fps, audio=out.audio if len(out.audio) else None,
                          sample_rate=out.sample_rate))  # fmt: skip
    if args.turntable is not None:
        from emogen.render.avatar import turntable

        frames = turntable(out.avatar, pipe.renderer, frames=max(24, round(4 * args.fps)), size=args.size)
        print(write_video(args.turntable, frames, fps=args.fps))
    if args.csv is not None:
        print(write_curves(args.csv, out.motion))
    if args.mesh is not None:
        from emogen.export.mesh import write_obj, write_ply

        print((write_obj if args.mesh.suffix.lower() == ".obj" else write_ply)(args.mesh, out.avatar))
    return 0
