"""The emogen Gradio app: ``build_demo(pipes)`` puts one tab per capability together; each tab is a module of
:mod:`emogen.app.tabs` that wires widgets to a pipeline, nothing more.

Tabs and their API endpoints (``gradio_client.Client(url).predict(..., api_name="/talking_head")``):

* **Talking head** ``/talking_head`` — a portrait speaks text or audio with an emotion (``EmoTalkingHeadPipeline``);
* **Emotion video** ``/emotion_video`` — a face speaking, listening or idle through an emotion (``EmoVideoPipeline``);
* **Avatar** ``/avatar`` — a rigged 3D head (GLB) from a portrait, with a rendered video (``EmoHeadAvatarPipeline``);
* **Speech** ``/speech`` — text with inline emotion tags → speech, phone timings, pitch (``EmoSpeechPipeline``);
* **Diarize** ``/diarize`` — a recording → where its emotion changes (segments, plot, RTTM);
* **Emotion** ``/read_emotion``, ``/emotion_track``, ``/timeline`` — text, label, VAD or timeline → the track;
* **Dataset** ``/dataset`` — a small ``emogen augment`` run: a balanced, labelled dataset.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_MAX_QUEUE", "PIPELINE_TABS", "build_demo", "shipped_pipelines"]

#: The keys of ``pipes`` and the tab each one drives.
PIPELINE_TABS: dict[str, str] = {
    "talking_head": "Talking head",
    "emotion_video": "Emotion video",
    "avatar": "Avatar",
    "speech": "Speech",
}
#: Requests that may wait in the queue (beyond that, new ones are refused with a "queue full" message).
DEFAULT_MAX_QUEUE = 64


def _out_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="emogen-app-"))


def shipped_pipelines(tabs: tuple[str, ...] = tuple(PIPELINE_TABS)) -> dict[str, Any]:
    """The shipped offline pipelines for ``tabs`` (keys of :data:`PIPELINE_TABS`), sharing one set of models: each
    is the same as its ``from_pretrained()``."""
    unknown = sorted(set(tabs) - set(PIPELINE_TABS))
    if unknown:
        raise ValueError(f"Unknown tabs {unknown}; accepted: {', '.join(PIPELINE_TABS)}.")
    from emogen.pipelines import EmoHeadAvatarPipeline, EmoSpeechPipeline, EmoTalkingHeadPipeline, EmoVideoPipeline

    pipes: dict[str, Any] = {}
    if not tabs:
        return pipes
    talking_head = EmoTalkingHeadPipeline.from_pretrained()
    shared = {k: getattr(talking_head, k) for k in ("emotion_encoder", "motion_denoiser", "scheduler", "tts")}
    builders = {
        "talking_head": lambda: talking_head,
        "emotion_video": lambda: EmoVideoPipeline(**shared),
        "avatar": lambda: EmoHeadAvatarPipeline(**shared),
        "speech": lambda: EmoSpeechPipeline(tts=shared["tts"]),
    }
    for name in tabs:
        pipes[name] = builders[name]()
    return pipes


def build_demo(
    pipes: Mapping[str, Any],
    *,
    title: str = "emogen",
    example_audio: str | None = None,
    max_queue: int = DEFAULT_MAX_QUEUE,
) -> Any:
    """Build the Gradio Blocks, its queue configured.

    Args:
        pipes: pipelines by tab (:data:`PIPELINE_TABS`): ``talking_head`` (``EmoTalkingHeadPipeline``),
            ``emotion_video`` (``EmoVideoPipeline``), ``avatar`` (``EmoHeadAvatarPipeline``), ``speech``
            (``EmoSpeechPipeline``); any callable with that pipeline's ``__call__`` signature and output will do.
            Tabs whose pipeline is missing are not shown; Diarize, Emotion and Dataset need none.
        title: the page title.
        example_audio: a speech recording the examples use (default: made by the ``speech`` pipeline, if given).
        max_queue: requests that may wait; renders run one at a time (analyses one at a time beside them).

    Returns:
        ``gr.Blocks`` (call ``.launch(max_file_size=...)``).
    """
    import gradio as gr

    from .tabs import avatar, dataset, diarize, emotion, emotion_video, speech, talking_head
    from .tabs.common import make_example_speech

    unknown = sorted(set(pipes) - set(PIPELINE_TABS))
    if unknown:
        raise ValueError(f"Unknown pipelines {unknown}; accepted keys: {', '.join(PIPELINE_TABS)}.")
    if isinstance(max_queue, bool) or not isinstance(max_queue, int) or max_queue < 1:
        raise ValueError(f"max_queue must be a positive integer, got {max_queue!r}.")
    if example_audio is None and pipes.get("speech") is not None:
        example_audio = make_example_speech(pipes["speech"], _out_dir())

    with gr.Blocks(title=title) as demo:
        gr.Markdown(f"# {title}\nEmotion-controllable talking heads, 3D avatars, emotion video and emotional "
                    "speech — offline, CPU-friendly. Every tab is also an API endpoint (see “Use via API” "
                    "below).")  # fmt: skip
        with gr.Tabs():
            if pipes.get("talking_head") is not None:
                talking_head.build(gr, pipes["talking_head"], _out_dir, example_audio)
            if pipes.get("emotion_video") is not None:
                emotion_video.build(gr, pipes["emotion_video"], _out_dir, example_audio)
            if pipes.get("avatar") is not None:
                avatar.build(gr, pipes["avatar"], _out_dir, example_audio)
            if pipes.get("speech") is not None:
                speech.build(gr, pipes["speech"], _out_dir)
            diarize.build(gr, _out_dir, example_audio)
            emotion.build(gr, _out_dir)
            dataset.build(gr, _out_dir)
    demo.queue(max_size=max_queue, default_concurrency_limit=1)
    return demo
