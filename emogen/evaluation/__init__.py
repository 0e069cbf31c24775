"""Measuring generated faces and videos from outside, with models that did not make them.

* :mod:`~emogen.evaluation.readback` — blendshapes read back by MediaPipe's FaceLandmarker (scores and geometry);
* :mod:`~emogen.evaluation.fer` — independent facial-expression classifiers (judges);
* :mod:`~emogen.evaluation.lip_sync` — mouth opening against the audio envelope;
* :mod:`~emogen.evaluation.identity` — face-shape distance to the source portrait;
* :func:`check_video` — all of the above on a rendered mp4 (``emogen check``).

Tests, benchmarks and the ``emogen check`` command all measure through this package.
"""

from .check import VideoCheck, check_video
from .identity import shape_distance
from .lip_sync import audio_envelope, best_lag_correlation, mouth_opening

__all__ = ["VideoCheck", "audio_envelope", "best_lag_correlation", "check_video", "mouth_opening", "shape_distance"]
