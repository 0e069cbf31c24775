"""``HibariEngine``: hibari's bundled neural voice behind emogen's plain :class:`~emogen.speech.TTSEngine` interface.

Per segment of a plan (after the engine's :class:`~emogen.speech.calibration.ProsodyCalibration`):

* **rate**: ``rate × speed`` per phoneme. The graph rounds ``raw / speed`` to the 25 ms grid per symbol, which
  quantises a single global speed badly, so for rates other than 1 the raw durations (one cheap prosody pass) are
  rounded with error diffusion and each symbol gets its own speed: the total follows ``1 / rate`` within 1 %. The
  model's prosody predictor would also raise and steepen F0 at faster rates; the F0 it predicts at its own pace is
  time-warped onto the new durations instead, so rate changes timing only (as in espeak-ng).
* **pitch**: level, range, contour and tremor as a per-frame F0 factor (:func:`~.vocoder.f0_scale`) fed to the
  decoder and the vocoder's pulse source; a pure level shift needs one pass, range/contour/jitter two.
* **voice quality** in the vocoder (:func:`~.vocoder.vocode`), **loudness** as a gain, the **pause** as silence
  before the segment (a ``SIL`` phone; the segment's span starts after it), **word gaps** as silence at each word
  onset (4 ms fades; lengthening the space symbol instead renders stretched sound, not silence).
* **phones** from the model's durations: ARPAbet with CMUdict stress digits and ``SIL`` for pauses (punctuation,
  and word spaces only where the audio is silent: :func:`~.phonemes.misaki_to_phones`), boundaries
  moved :data:`ACOUSTIC_LEAD_S` earlier (the sound of a symbol starts about 50 ms before its duration slot; measured
  on fricative noise and vowel voicing), covering the waveform without gaps: they sum to the audio length.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..calibration import ProsodyCalibration
from ..plan import SpeechPlan, SpeechPlanSegment
from ..segments import Segments, prepare_segments, soft_limit
from ..text import MAX_CHARS, check_length
from ..types import PhoneSegment, SpeechResult
from .calibration import HIBARI_CALIBRATION
from .model import FRAMES_PER_UNIT, HOP, SAMPLE_RATE, HibariRuntime, get_runtime
from .phonemes import SILENCE, Chunk, misaki_to_phones, pack_tokens
from .vocoder import VOICED_HZ, f0_scale, vocode, warp_f0

__all__ = ["ACOUSTIC_LEAD_S", "HEADROOM_DB", "HIBARI_VOICES", "PAUSE_DB", "HibariEngine"]

logger = logging.getLogger(__name__)

#: The voices this engine speaks: only the one inside the wheel (the others are hub downloads, never used).
HIBARI_VOICES: dict[str, str] = {
    "heart": "American English, female: neural voice (hibari-tts, distilled from Kokoro-82M af_heart), default",
}
#: hibari's voices that exist but are not bundled (downloaded from a model hub by hibari itself): refused by name.
_HUB_VOICES = ("emma", "fenrir", "fable", "kore")
#: Gain before each segment's loudness: hibari's own level (active RMS about −25 dBFS, peaks about −10 dBFS) already
#: matches emogen's espeak-ng output after its −6 dB headroom.
HEADROOM_DB: float = 0.0
#: How much earlier a symbol sounds than its duration slot (measured on 9 sentences); phone boundaries move by it.
ACOUSTIC_LEAD_S: float = 0.05
#: A word space is a pause (``SIL``) when its audio is this far (dB) below the median active level of its call.
PAUSE_DB: float = -25.0
_UNIT = FRAMES_PER_UNIT * HOP  # samples per duration unit (25 ms)


class HibariEngine:
    """hibari-tts's bundled voice ``"heart"`` (American English, female) with emogen's emotional prosody.

    The model is the ``hibari-tts`` wheel's own (Apache-2.0; its ``NOTICE`` credits Kokoro-82M, misaki and spaCy;
    :attr:`license_files` points at both), loaded from the installed package and patched in memory on first use
    (:mod:`emogen.speech.hibari.model`); nothing is downloaded. Creating an engine is cheap; the model loads on the
    first :meth:`synthesize` (about 1–2 s) and is shared by every engine with the same ``threads`` in the process.

    Args:
        default_voice: voice used when a call names none (only ``"heart"``).
        threads: onnxruntime intra-op threads (1 is fastest on small shared machines; parallelise across calls).
        max_chars: longest text one call accepts.
        calibration: plan → rendered prosody (default :data:`~emogen.speech.hibari.HIBARI_CALIBRATION`, which
            matches the effects espeak-ng measures for the same plan); ``ProsodyCalibration.identity("hibari")``
            renders the plan's numbers literally.
        acoustic_lead_s: how much earlier than its duration slot a phone sounds, in [0, 0.2] s.

    Raises:
        ValueError: a bad argument (named with its value).
    """

    name = "hibari"

    def __init__(
        self,
        default_voice: str = "heart",
        threads: int = 1,
        max_chars: int = MAX_CHARS,
        calibration: ProsodyCalibration | None = None,
        acoustic_lead_s: float = ACOUSTIC_LEAD_S,
    ) -> None:
        if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 64:
            raise ValueError(f"threads must be an integer in [1, 64], got {threads!r}.")
        if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
            raise ValueError(f"max_chars must be a positive integer, got {max_chars!r}.")
        if calibration is not None and not isinstance(calibration, ProsodyCalibration):
            raise TypeError(f"calibration must be a ProsodyCalibration, got {type(calibration).__name__}.")
        if not (isinstance(acoustic_lead_s, (int, float)) and 0.0 <= acoustic_lead_s <= 0.2):
            raise ValueError(f"acoustic_lead_s must be a number in [0, 0.2] seconds, got {acoustic_lead_s!r}.")
        self.threads = threads
        self.max_chars = max_chars
        self.calibration = HIBARI_CALIBRATION if calibration is None else calibration
        self.acoustic_lead = int(round(acoustic_lead_s * SAMPLE_RATE))
        self.default_voice = self.check_voice(default_voice)

    def __repr__(self) -> str:
        return f"HibariEngine(default_voice={self.default_voice!r}, threads={self.threads})"

    # ------------------------------------------------------------------------------------------- interface
    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE

    @property
    def runtime(self) -> HibariRuntime:
        """The loaded model (loaded on first use)."""
        return get_runtime(self.threads)

    def voices(self) -> dict[str, str]:
        """Accepted voice names → descriptions."""
        return dict(HIBARI_VOICES)

    def check_voice(self, voice: str | None) -> str:
        """The voice to use (``default_voice`` if ``None``), validated.

        Raises:
            TypeError: ``voice`` is not a string.
            ValueError: naming the unknown voice and the accepted one.
        """
        if voice is None:
            return self.default_voice
        if not isinstance(voice, str):
            raise TypeError(f"voice must be a string such as 'heart', got {type(voice).__name__}.")
        name = voice.strip().lower()
        if name in HIBARI_VOICES:
            return name
        why = " (hibari downloads it from a model hub; emogen only uses the voice inside the wheel)"
        raise ValueError(
            f"Unknown hibari voice {voice!r}{why if name in _HUB_VOICES else ''}; the neural voice is "
            f"{', '.join(map(repr, HIBARI_VOICES))}."
        )

    @property
    def license_files(self) -> dict[str, Path | None]:
        """The wheel's LICENSE (Apache-2.0) and NOTICE: keep them next to anything that redistributes the model."""
        assets = self.runtime.assets
        return {"LICENSE": assets.license, "NOTICE": assets.notice}

    def phonemes(self, text: str) -> list[str]:
        """The misaki phoneme string of each model call for ``text``."""
        return [c.phonemes for c in self._chunks(text)]

    def synthesize(self, segments: Segments, voice: str | None = None, speed: float | None = 1.0) -> SpeechResult:
        """Speak text segments, each with its own vocal features, into one waveform with ARPAbet phone timings.

        Args:
            segments: ``[(text, SpeechPlanSegment), …]``, a :class:`~emogen.speech.SpeechPlan` or a plain string.
            voice: ``"heart"`` (``None``: the default).
            speed: global rate factor in [0.25, 4] on top of each segment's rate.

        Returns:
            :class:`~emogen.speech.SpeechResult` at 24 kHz; phones (``"SIL"`` = pause) cover the waveform; the plan
            holds the requested features (the calibrated ones are what was rendered) and each segment's span.

        Raises:
            ValueError: empty / unspeakable text, text over ``max_chars``, unknown voice, speed out of range.
            TypeError: segments of the wrong type.
        """
        items, voice, speed = prepare_segments(segments, voice, speed)
        voice = self.check_voice(voice)
        check_length(sum(len(t) for t, _ in items), self.max_chars)
        rng = np.random.default_rng(0)
        waves, phones, spans, texts, plans = [], [], [], [], []
        t = 0  # samples so far
        for text, seg in items:
            chunks = self._chunks(text)
            if not chunks:
                logger.warning("Skipping a segment with nothing hibari can pronounce: %r", text[:80])
                continue
            pause = int(round(seg.pause / speed * SAMPLE_RATE))
            if pause:
                waves.append(np.zeros(pause, np.float32))
                phones.append((SILENCE, t, t + pause))
                t += pause
            start = t
            for x, ph in self._render(chunks, self.calibration.apply(seg), speed, rng):
                phones.extend((p, a + t, b + t) for p, a, b in ph)
                waves.append(x)
                t += len(x)
            spans.append((start / SAMPLE_RATE, t / SAMPLE_RATE))
            texts.append(text)
            plans.append(seg)
        if not spans:
            raise ValueError(f"Nothing to speak: hibari found nothing to pronounce in {[s for s, _ in items]!r:.120}.")
        merged: list[list] = []
        for p, a, b in phones:  # silences that meet across segments and model calls become one
            if merged and p == SILENCE and merged[-1][0] == SILENCE and merged[-1][2] == a:
                merged[-1][2] = b
            elif b > a:
                merged.append([p, a, b])
        wave = soft_limit(np.concatenate(waves).astype(np.float32))
        plan = SpeechPlan(texts=texts, segments=plans, spans=spans, voice=voice, speed=speed)
        return SpeechResult(
            waveform=wave,
            sample_rate=SAMPLE_RATE,
            phones=[PhoneSegment(p, a / SAMPLE_RATE, b / SAMPLE_RATE) for p, a, b in merged],
            plan=plan,
        )

    # ------------------------------------------------------------------------------------------- rendering
    def _chunks(self, text: str) -> list[Chunk]:
        rt = self.runtime
        return [c for sentence in rt.g2p(text) for c in pack_tokens(sentence, rt.vocab)]

    def _render(
        self, chunks: list[Chunk], seg: SpeechPlanSegment, speed: float, rng: np.random.Generator
    ) -> Iterator[tuple[np.ndarray, list[tuple[str, int, int]]]]:
        """Yield ``(audio, phones)`` per model call of one segment (phone times in samples from the call's start)."""
        rt = self.runtime
        timing = [self._timing(ch, seg.rate * speed) for ch in chunks]
        level = np.float32(2.0 ** (seg.pitch_shift / 12.0))
        scales: list[np.ndarray] = [np.array([level], np.float32)] * len(chunks)
        if seg.pitch_range != 1.0 or seg.contour != 0.0 or seg.jitter != 0.0:  # shaped around the F0 to render
            base = [
                warped if warped is not None else rt.prosody(ch.ids, speeds)[2]
                for ch, (speeds, warped, _) in zip(chunks, timing, strict=True)
            ]
            scale = f0_scale(np.concatenate(base), seg.pitch_shift, seg.pitch_range, seg.contour, seg.jitter, rng)
            if scale is not None:
                bounds = np.cumsum([0] + [len(f) for f in base])
                scales = [scale[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        for i, (_, target, predicted) in enumerate(timing):
            if target is not None:  # the model's own F0 at its own pace, time-warped (see warp_f0)
                ratio = np.where(predicted > VOICED_HZ, target / np.maximum(predicted, 1e-3), 1.0)
                scales[i] = (scales[i] * ratio).astype(np.float32)
        gain = np.float32(10.0 ** ((seg.loudness + HEADROOM_DB) / 20.0))
        gap = int(round(seg.word_gap / speed * SAMPLE_RATE))
        for ch, (sp, _, _), sc in zip(chunks, timing, scales, strict=True):
            out = rt.full(ch.ids, sp, sc)
            if len(sc) > 1 and out["f0"].shape[1] != len(sc):
                raise RuntimeError(f"hibari made {out['f0'].shape[1]} frames where its prosody pass made {len(sc)}.")
            dur = out["durations"].astype(np.int64)
            x = vocode(out, rng, seg.breathiness, seg.tension, seg.jitter) * gain
            total = int(dur.sum()) * _UNIT
            if len(x) != total:
                raise RuntimeError(f"hibari's durations sum to {total} samples but its audio has {len(x)}.")
            silent = self._silent_spaces(x, dur, ch.symbols)
            ph = [
                (p, self._at(round(a * _UNIT), total), self._at(round(b * _UNIT), total))
                for p, a, b in misaki_to_phones(ch.symbols, dur.tolist(), silent)
            ]
            if gap:
                cum = np.concatenate([[0], np.cumsum(dur)]) * _UNIT
                starts = sorted({a for _, a, _ in ph})
                onsets = set()
                for _, i0, _ in ch.words[1:]:  # the phone boundary where the word starts (a shared space's middle)
                    at = self._at(int(cum[i0]), total)
                    onsets.add(max((a for a in starts if a <= at), default=0))
                x, ph = _insert_gaps(x, ph, sorted(o for o in onsets if 0 < o < len(x)), gap)
            yield x.astype(np.float32), [p for p in ph if p[2] > p[1]]

    def _silent_spaces(self, x: np.ndarray, dur: np.ndarray, symbols: list[str]) -> list[bool]:
        """Per symbol: True for a word space whose audio (where it sounds, see ``acoustic_lead``) is silent, i.e.
        more than :data:`PAUSE_DB` below the call's median active level."""
        frame = SAMPLE_RATE // 100
        energy = (x[: len(x) // frame * frame].reshape(-1, frame).astype(np.float64) ** 2).mean(1)
        active = energy[energy > energy.max(initial=0.0) * 1e-4]
        if not len(active):
            return [False] * len(symbols)
        level = float(np.median(active))
        cum = np.concatenate([[0], np.cumsum(dur)]) * _UNIT - self.acoustic_lead
        out = []
        for i, s in enumerate(symbols):
            seg = x[max(0, int(cum[i])) : max(0, int(cum[i + 1]))] if s == " " else x[:0]
            out.append(bool(seg.size) and float(np.mean(seg.astype(np.float64) ** 2)) < level * 10 ** (PAUSE_DB / 10))
        return out

    def _timing(self, ch: Chunk, rate: float) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Per-symbol speeds for ``rate``, and (rate ≠ 1) the F0 to render and the F0 the model predicts at them.

        The graph computes ``max(1, round(raw / speed))`` per symbol; with one global speed most 1–2 unit symbols do
        not move (rate 1.3 gave only 16 % shorter speech). Here the targets ``raw / rate`` are rounded with error
        diffusion (the rounding error carries to the next symbol, minimum 1 unit) and each symbol gets
        ``speed = raw / target``. The F0 to render is the speed-1 prediction time-warped onto the new durations
        (:func:`~.vocoder.warp_f0`): rate changes timing only. Rate 1 keeps the model's own rounding and F0.
        """
        n = len(ch.ids)
        ones = np.ones(n, np.float32)
        if rate == 1.0:
            return ones, None, None
        rt = self.runtime
        dur1, raw, f0_1 = rt.prosody(ch.ids, ones)
        speeds = np.ones(n, np.float32)
        err = 0.0
        for i, r in enumerate(raw.astype(np.float64)):
            if r <= 1e-4:  # clipped to one unit whatever the speed
                err += max(r, 0.0) / rate - 1.0
                continue
            want = r / rate + err
            target = max(1, int(round(want)))
            err = want - target
            speeds[i] = np.float32(r / target)
        dur2, _, f0_2 = rt.prosody(ch.ids, speeds)
        return speeds, warp_f0(f0_1, dur1, dur2, f0_2), f0_2

    def _at(self, sample: int, total: int) -> int:
        """A label boundary moved to where its sound is (``acoustic_lead`` earlier; 0 and the end stay)."""
        if sample <= 0 or sample >= total:
            return sample
        return int(min(total, max(0, sample - self.acoustic_lead)))


def _insert_gaps(x: np.ndarray, ph: list, onsets: list[int], gap: int) -> tuple[np.ndarray, list]:
    """Insert ``gap`` samples of silence at every onset (raised-cosine fades of 4 ms), moving the phones."""
    if not onsets:
        return x, ph
    fade = np.sin(np.linspace(0.0, np.pi / 2, 96, dtype=np.float32)) ** 2
    cuts = [0, *onsets, len(x)]
    pieces = []
    for j, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        seg = x[a:b].copy()
        n = min(len(fade), len(seg))
        if j > 0:
            seg[:n] *= fade[:n]
            pieces.append(np.zeros(gap, np.float32))
        if b < len(x):
            seg[len(seg) - n :] *= fade[::-1][len(fade) - n :]
        pieces.append(seg)

    def move(s: int, is_end: bool) -> int:
        return s + gap * sum(1 for c in onsets if c < s or (c == s and not is_end))

    new = [(p, move(a, False), move(b, True)) for p, a, b in ph]
    new += [(SILENCE, move(c, True), move(c, True) + gap) for c in onsets]
    new.sort(key=lambda r: (r[1], r[2]))
    return np.concatenate(pieces), new
