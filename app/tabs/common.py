"""What the tabs share: the upload checks, the example inputs, and user errors shown as ``gr.Error``."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from emogen.pipelines.defaults import LIMITS

__all__ = [
    "EXAMPLE_SPEECH",
    "check_uploads",
    "example_portraits",
    "make_example_speech",
    "portrait",
    "user_errors",
    "voices",
]

#: What the example recording says (made with the Speech tab's pipeline when the app starts).
EXAMPLE_SPEECH = "[happy] We won the match, I can't believe it! [sad:0.8] But Sam got hurt, and he is in hospital."


def check_uploads(image, audio_path: str | None) -> None:
    """The app's upload limits, checked before any work (Gradio's own ``max_file_size`` refuses larger files at
    upload): the photo's pixels, and the audio file's size and duration (read from its header, nothing decoded).

    Raises:
        ValueError: naming the upload and the limit.
    """
    from emogen.io.audio import audio_duration
    from emogen.io.image import to_rgb_uint8

    if image is not None:
        to_rgb_uint8(image, name="The portrait")  # pixels bound, shape, dtype
    if audio_path:
        size = os.path.getsize(audio_path)
        if size > LIMITS.upload_bytes:
            raise ValueError(
                f"The audio file is {size / 2**20:.0f} MiB; the largest accepted is {LIMITS.upload_bytes / 2**20:.0f}"
                " MiB."
            )
        seconds = audio_duration(audio_path)
        if seconds is not None and seconds > LIMITS.duration:
            raise ValueError(f"The audio lasts {seconds:.0f} s; the longest accepted is {LIMITS.duration:g} s.")


def portrait(image):
    """The uploaded photo, or the public-domain astronaut (as ``emogen`` commands without ``--image``)."""
    if image is not None:
        return image
    from skimage.data import astronaut

    return astronaut()


def example_portraits() -> list[str]:
    """Public-domain portraits that ship inside installed packages: the astronaut (scikit-image, NASA) and Grace
    Hopper (matplotlib's sample data, US Navy)."""
    import matplotlib
    import skimage

    paths = [Path(skimage.__file__).parent / "data" / "astronaut.png",
             Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"]  # fmt: skip
    return [str(p) for p in paths if p.is_file()]


def make_example_speech(speech_pipe, folder: Path) -> str:
    """Speak :data:`EXAMPLE_SPEECH` with ``speech_pipe`` (an ``EmoSpeechPipeline``) into ``folder``: the example
    recording of the tabs that take audio (nothing is downloaded)."""
    from emogen.export import write_wav

    result = speech_pipe(EXAMPLE_SPEECH)
    return str(write_wav(Path(folder) / "example_speech.wav", result.waveform, result.sample_rate))


def voices(tts) -> tuple[list[str], str | None]:
    """The voices a pipeline's TTS component accepts, and its default (``([], None)`` without one)."""
    if tts is None:
        return [], None
    return list(tts.voices()), tts.default_voice


@contextlib.contextmanager
def user_errors(gr):
    """Show bad input (``ValueError``, ``TypeError``, a missing file) as a ``gr.Error`` naming the value."""
    try:
        yield
    except (ValueError, TypeError, FileNotFoundError) as err:
        raise gr.Error(str(err)) from None
