"""The app's tests build the Blocks with the real pipeline classes at tiny sizes (see ``tiny_talking_head`` in
tests/conftest.py): every tab runs end to end in seconds."""

import pytest


@pytest.fixture(scope="session")
def tiny_pipes(make_tiny_talking_head):
    """``build_demo``'s ``pipes``: every pipeline tab, on one set of tiny motion components and espeak-ng."""
    from emogen.pipelines import EmoHeadAvatarPipeline, EmoSpeechPipeline, EmoVideoPipeline

    th = make_tiny_talking_head()
    shared = {k: getattr(th, k) for k in ("emotion_encoder", "motion_denoiser", "scheduler", "tts")}
    pipes = {
        "talking_head": th,
        "emotion_video": EmoVideoPipeline(**shared),
        "avatar": EmoHeadAvatarPipeline(**shared),
        "speech": EmoSpeechPipeline(tts=shared["tts"]),
    }
    for pipe in pipes.values():
        pipe.set_progress_bar_config(disable=True)
    return pipes


@pytest.fixture(scope="session")
def example_audio(tiny_pipes, tmp_path_factory):
    """The example recording, as the app makes it."""
    from emogen.app.tabs.common import make_example_speech

    return make_example_speech(tiny_pipes["speech"], tmp_path_factory.mktemp("examples"))


@pytest.fixture(scope="session")
def demo(tiny_pipes, example_audio):
    """The whole app, built once with the tiny pipelines."""
    from emogen.app import build_demo

    return build_demo(tiny_pipes, example_audio=example_audio)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (the browser tests save a screenshot when the call failed)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
