"""hibari-tts as an emogen engine: a small neural English voice with emogen's emotional prosody, offline.

``hibari-tts`` (Apache-2.0, https://github.com/MMWilliams/hibari) ships a 7.9 MB int8 ONNX acoustic model
distilled from Kokoro-82M (voice ``af_heart``), a port of misaki's G2P and a numpy vocoder. Its ``NOTICE`` (in the
wheel's ``.dist-info/licenses``, next to its ``LICENSE``) credits Kokoro-82M and kokoro (Apache-2.0), misaki
(Apache-2.0) and spaCy's tokenizer rules (MIT); :attr:`HibariEngine.license_files` gives their paths. Only the voice
inside the wheel (``"heart"``) is used; hibari's other voices are model-hub downloads and are refused.

* :mod:`.model`: the assets inside the wheel, the in-memory graph patch (per-phoneme speed, per-frame F0 scale,
  duration outputs), the onnxruntime sessions;
* :mod:`.phonemes`: G2P tokens → model calls, misaki symbols → ARPAbet phones with timings;
* :mod:`.vocoder`: pitch and voice quality inside hibari's source-filter vocoder;
* :mod:`.engine`: :class:`HibariEngine`, the :class:`~emogen.speech.TTSEngine`;
* :mod:`.calibration`: :data:`HIBARI_CALIBRATION`, the measured plan → rendered-prosody tables.
"""

from .calibration import HIBARI_CALIBRATION
from .engine import ACOUSTIC_LEAD_S, HIBARI_VOICES, HibariEngine
from .model import HIBARI_VERSION, hibari_installed, locate_assets
from .phonemes import MISAKI_TO_ARPABET, misaki_to_phones

__all__ = [
    "ACOUSTIC_LEAD_S",
    "HIBARI_CALIBRATION",
    "HIBARI_VERSION",
    "HIBARI_VOICES",
    "HibariEngine",
    "MISAKI_TO_ARPABET",
    "hibari_installed",
    "locate_assets",
    "misaki_to_phones",
]
