"""Entry points (installed as ``emogen.app``): the ``emogen`` command line (:mod:`emogen.app.cli`) and the Gradio app
(``build_demo(pipes).launch()``, or ``emogen app`` from a shell)."""

from .blocks import build_demo
from .controls import EMOTION_MODES, EmotionControls

__all__ = ["EMOTION_MODES", "EmotionControls", "build_demo"]
