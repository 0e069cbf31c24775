"""Gradio app (installed as ``emogen.app``): ``build_demo(pipes).launch()``, or ``emogen app`` from a shell."""

from .demo import EMOTION_MODES, EmotionControls, build_demo

__all__ = ["EMOTION_MODES", "EmotionControls", "build_demo"]
