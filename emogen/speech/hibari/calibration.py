"""hibari's measured calibration (data): plan features → what the neural voice renders for the same effect.

Fitted with ``python -m emogen.speech.measure calibrate`` (method: :mod:`emogen.speech.calibration`): 6 sentences
(:data:`emogen.speech.measure.SENTENCES`), one feature at a time, Praat via parselmouth; the target is the mean effect
espeak-ng (``en-us`` and ``en-us+f3``, on which emogen's plan rules were set) measures for the same plan value.

What the measurements showed (reference → hibari with no calibration):

* **F0 range**: espeak-ng compresses it and saturates: plan ×1.4 → measured F0 spread ×1.25, ×2.0 and ×2.8 → ×1.40.
  hibari renders the range literally (×1.4 → ×1.35, ×2.0 → ×1.56), so plan ×2.0 becomes ×1.52 here and wider plans
  stay there.
* **rate**: both render it within 3 % (active speech duration). hibari's prosody predictor would also raise F0 at
  faster rates (+1.9 st at ×1.6) where espeak-ng does not; the engine renders rate as timing only (the F0 predicted
  at the voice's own pace, time-warped), and ``rate_pitch`` holds what is left (within ±0.3 st).
* **pitch level**: espeak-ng realises a plan's −6 st as −4.9 st (its pitch floor), hibari exactly; kept as measured.
* **contour**: espeak-ng's WORLD slope of +4 st measures +2.2 st, hibari's +2.8 st (its own declination differs):
  +4 → +3.1 st here.
* **word gaps**: espeak-ng's word-gap setting slows speech more than silence of the same length (its smallest step,
  10 ms, already makes the active speech 10 % longer): 0.01 s → 0.03 s here, 0.05 s → 0.068 s.
* **loudness**: a gain in both engines (within 0.01 dB): identity.
"""

from __future__ import annotations

from ..calibration import ProsodyCalibration

__all__ = ["HIBARI_CALIBRATION"]

#: plan value → value hibari renders, per feature (see the module docstring for how it was measured).
HIBARI_CALIBRATION = ProsodyCalibration(
    engine="hibari heart",
    reference="espeak-ng",
    pitch_shift=((-6, -5.07), (-3, -2.88), (0, 0), (3, 3.1), (6, 6.19)),
    pitch_range=((0.5, 0.483), (0.7, 0.69), (1, 1), (1.4, 1.27), (2, 1.516), (2.8, 1.532)),
    rate=((0.6, 0.601), (0.8, 0.81), (1, 1), (1.25, 1.242), (1.6, 1.54)),
    loudness=(),
    contour=((-4, -4.28), (0, 0), (4, 3.1)),
    word_gap=((0, 0), (0.01, 0.03), (0.02, 0.04), (0.05, 0.068)),
    rate_pitch=((0.6, 0.27), (0.8, 0.25), (1, 0), (1.25, -0.04), (1.6, 0.17)),
    source="fitted by emogen.speech.measure on 6 sentences against espeak-ng en-us, espeak-ng en-us+f3",
)
