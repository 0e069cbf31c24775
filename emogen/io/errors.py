"""The errors the readers and the output layer raise: all are ``ValueError`` subclasses with one-line messages that
name the file or value and what is accepted, so entry points can print them as they are."""

from __future__ import annotations

from .limits import WorkLimitError

__all__ = ["OutputPathError", "UnreadableInputError", "WorkLimitError", "decoder_reason"]


class UnreadableInputError(ValueError):
    """An input file could not be decoded (missing, empty, truncated, corrupt or of the wrong kind).

    Args:
        message: the one-line message (names the file and what is accepted).
        reason: the decoder's short reason, when there is one (``"a text file"``, ffmpeg's last line, …).
    """

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class OutputPathError(ValueError):
    """An output path cannot be written: wrong format, a folder, or a folder that cannot be created or written."""


def decoder_reason(err: BaseException, limit: int = 160) -> str:
    """A decoder's exception as a short one-line reason (its last non-empty line, truncated)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip() and not line.strip().startswith("===")]
    text = lines[-1] if lines else type(err).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
