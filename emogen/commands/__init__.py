"""Subcommands of the ``emogen`` console script.

Each module named in :data:`COMMANDS` exposes ``register(subparsers)``, which adds its parser and sets
``func=run`` (``run(args) -> int``). Modules are imported only when the CLI starts.
"""

COMMANDS: tuple[str, ...] = (
    "app",
    "check",
    "animate",
    "diarize",
    "emotion",
    "speak",
    "talk",
)
