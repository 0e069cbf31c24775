"""``emogen app``: the Gradio app, offline, with the shipped pipelines."""

from __future__ import annotations

import argparse

from ._common import int_range


def register(subparsers: argparse._SubParsersAction) -> None:
    from emogen.pipelines.defaults import LIMITS

    from ..blocks import DEFAULT_MAX_QUEUE, PIPELINE_TABS

    default_mb = LIMITS.upload_bytes // 2**20
    p = subparsers.add_parser(
        "app",
        help="start the Gradio app (talking head, emotion video, avatar, speech, diarize, emotion, dataset)",
        description=(
            "Start the emogen Gradio app with the shipped offline pipelines: one tab per capability, each also an "
            "API endpoint for gradio_client. Renders run one at a time; up to --max-queue requests wait."
        ),
        epilog=(
            "examples:\n"
            "  emogen app                                  # http://127.0.0.1:7860\n"
            "  emogen app --host 0.0.0.0 --port 8080 --max-queue 100 --max-upload-mb 20\n"
            "  emogen app --tabs speech                    # Speech, Diarize, Emotion, Dataset: starts fast"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0: all)")
    p.add_argument("--port", type=int_range(1, 65535), default=7860, help="port (default 7860)")
    p.add_argument("--share", action="store_true", help="ask Gradio for a public share link (needs internet)")
    p.add_argument("--max-queue", type=int_range(1, 10_000), default=DEFAULT_MAX_QUEUE, metavar="N",
                   help=f"requests that may wait in the queue (default {DEFAULT_MAX_QUEUE})")  # fmt: skip
    p.add_argument("--max-upload-mb", type=int_range(1, default_mb), default=default_mb, metavar="M",
                   help=f"largest upload in MiB (default and most {default_mb})")  # fmt: skip
    p.add_argument("--tabs", default=",".join(PIPELINE_TABS), metavar="LIST",
                   help=f"the pipeline tabs to load, comma-separated, from {', '.join(PIPELINE_TABS)} (default all; "
                   "Diarize, Emotion and Dataset are always there)")  # fmt: skip
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline by default: no usage pings
    from ..blocks import PIPELINE_TABS, build_demo, shipped_pipelines

    tabs = tuple(t.strip() for t in args.tabs.split(",") if t.strip())
    unknown = sorted(set(tabs) - set(PIPELINE_TABS))
    if unknown:
        raise ValueError(f"--tabs: unknown {unknown}; choose from {', '.join(PIPELINE_TABS)} (comma-separated).")
    demo = build_demo(shipped_pipelines(tabs), max_queue=args.max_queue)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share,
                max_file_size=args.max_upload_mb * 2**20)  # fmt: skip
    return 0
