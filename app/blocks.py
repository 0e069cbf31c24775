"""The emogen Gradio app: ``build_demo(pipes)`` puts one tab per capability together; each tab is a module of
:mod:`emogen.app.tabs` that wires widgets to a pipeline, nothing more.

Tabs: **Talking head** (a portrait, text or audio, an emotion → video, emotion plot, ARKit curves) and **Emotion**
(text → VAD and labels; a timeline → the track a render uses).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["build_demo"]


def _out_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="emogen-app-"))


def build_demo(pipes: Mapping[str, Any], *, title: str = "emogen") -> Any:
    """Build the Gradio Blocks.

    Args:
        pipes: ``{"talking_head": EmoTalkingHeadPipeline}`` (any callable with that pipeline's ``__call__``
            signature returning a ``TalkingHeadOutput``). Tabs whose pipeline is missing are not shown.

    Returns:
        ``gr.Blocks`` (call ``.launch()``).
    """
    import gradio as gr

    from .tabs import emotion, talking_head

    with gr.Blocks(title=title) as demo:
        gr.Markdown(f"# {title}\nEmotion-controllable talking heads and speech — offline, CPU-friendly.")
        if pipes.get("talking_head") is not None:
            talking_head.build(gr, pipes["talking_head"], _out_dir)
        emotion.build(gr, _out_dir)
    return demo
