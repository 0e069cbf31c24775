"""``emogen app``: the Gradio app, offline, with the shipped pipelines."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "app",
        help="start the Gradio app (talking head + emotion explorer)",
        description="Start the emogen Gradio app with the shipped offline pipelines.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--share", action="store_true", help="ask Gradio for a public share link (needs internet)")
    p.add_argument("--no-talking-head", action="store_true", help="only the emotion explorer (starts faster)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline by default: no usage pings
    from emogen.app import build_demo

    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be in 1..65535, got {args.port}.")
    pipes = {}
    if not args.no_talking_head:
        from emogen.pipelines import EmoTalkingHeadPipeline

        pipes["talking_head"] = EmoTalkingHeadPipeline.from_pretrained()
    demo = build_demo(pipes)
    from emogen.pipelines.defaults import LIMITS

    demo.queue().launch(
        server_name=args.host, server_port=args.port, share=args.share, max_file_size=LIMITS.upload_bytes
    )
    return 0
