"""The speech engines under test: every engine-independent test runs on espeak-ng and on hibari."""

from __future__ import annotations

import pytest

from emogen.speech import EspeakEngine
from emogen.speech.hibari import HibariEngine

#: engine name → (engine factory, the voice its tests speak with)
ENGINES = {
    "espeak-ng": (EspeakEngine, "en-us+f3"),
    "hibari": (HibariEngine, "heart"),
}


@pytest.fixture(scope="module", params=list(ENGINES))
def engine_voice(request):
    """``(engine, voice)`` for each engine."""
    make, voice = ENGINES[request.param]
    return make(), voice
