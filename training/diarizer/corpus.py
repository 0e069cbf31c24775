"""The diarizer's calibration corpus: emotional speech from both voice families, clean and "recorded".

* **Speakers.** espeak-ng voices (many real voice variants: male and female, three accents) and hibari's neural voice
  ``"heart"`` (emogen's default voice). hibari has one voice, so its *speakers are simulated*: its audio is pitch
  shifted (``librosa.effects.pitch_shift``, which moves the formants along with F0, like a smaller or larger voice) by
  a fixed number of semitones per speaker. They are not real speakers: they share one voice's timbre, rhythm and
  prosody model, and only test F0 level and spectral envelope changes.
* **Sentences.** Training and held-out sentences are disjoint, for both families.
* **Recording conditions** (:class:`RecordingChain`): room reverberation, a band-limited channel, a gain and
  additive white or pink noise at 15–40 dB SNR: the same recording model as the motion denoiser's corpus
  (``training/motion_denoiser/make_corpus.py``), without its pitch shift. The chain's parameters (and its room's
  impulse response) are fixed by one draw, so a speaker's neutral reference can go through the same chain as the
  utterance (same room, microphone and level; independent noise), as a user's reference recording would.
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass

import numpy as np

from emogen.emotion import LABEL_VAD, LABELS, VAD

NEURAL_VOICE = "heart"
TRAIN_SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "I never thought we would see each other again after all these years.",
    "Please put the books back on the shelf when you are done.",
    "We are leaving for the coast early tomorrow morning.",
    "Did you hear what happened at the meeting yesterday?",
    "The train was late again, so I walked home in the rain.",
    "She opened the letter and read it twice without a word.",
    "There is a small cafe around the corner that sells fresh bread.",
    "My brother fixed the old radio with a piece of wire.",
    "They painted the whole house blue over the long weekend.",
    "You should have told me about the test before today.",
    "The children ran across the field towards the river.",
    "He keeps his keys in the drawer next to the door.",
    "Nobody answered the phone when I called the office.",
    "We found a quiet table near the window and ordered tea.",
    "The garden looks different now that the trees are gone.",
)
TEST_SENTENCES = (
    "I can't believe you finished the whole project by yourself.",
    "The museum closes at six, so we only have an hour left.",
    "Someone left the lights on in the kitchen all night.",
    "We will meet again at the station on Friday afternoon.",
    "Her new song is playing on every radio station this week.",
    "The doctor said I need to rest for a few more days.",
)
#: Spoken neutrally by every speaker (train and test) as its speaker reference; in neither sentence set.
REFERENCE_TEXT = "This is how I usually sound when I read a plain sentence aloud. Nothing special happens here."
TRAIN_VOICES = (
    "en-us", "en-us+m1", "en-us+m3", "en-us+f1", "en-us+f3", "en+m2", "en+f2", "en+m5",
    "en-gb-x-rp+m3", "en-gb-x-rp+f1", "en+m6", "en-us+f2",
)  # fmt: skip
TEST_VOICES = ("en-us+m4", "en+m7", "en-us+f5", "en-gb-x-rp+f4", "en+f5", "en-gb-x-rp+m2")
#: Simulated speakers of the neural voice: pitch shifts in semitones (training / held out).
NEURAL_TRAIN_SHIFTS = (0.0, -3.0, 2.0)
NEURAL_TEST_SHIFTS = (-1.5, 3.5)


@dataclass(frozen=True)
class Speaker:
    """A TTS voice, optionally pitch shifted by ``semitones`` (a simulated speaker)."""

    voice: str
    semitones: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.voice, str) or not self.voice:
            raise ValueError(f"voice must be a non-empty string, got {self.voice!r}.")
        if not math.isfinite(self.semitones) or abs(self.semitones) > 12:
            raise ValueError(f"semitones must be within ±12, got {self.semitones!r}.")

    @property
    def name(self) -> str:
        return self.voice if self.semitones == 0 else f"{self.voice}{self.semitones:+g}st"

    @property
    def family(self) -> str:
        return "hibari" if self.voice == NEURAL_VOICE else "espeak-ng"


def speakers(voices, shifts) -> list[Speaker]:
    """espeak-ng voices and pitch-shifted neural-voice speakers."""
    return [Speaker(v) for v in voices] + [Speaker(NEURAL_VOICE, float(s)) for s in shifts]


@functools.lru_cache(maxsize=1)
def engine():
    """Both voice families behind one voice namespace (:func:`emogen.speech.engines.default_engine`)."""
    from emogen.speech.engines import default_engine

    eng = default_engine()
    if NEURAL_VOICE not in eng.voices():
        raise RuntimeError("hibari-tts is not installed: the neural voice family cannot be calibrated.")
    return eng


def speak(speaker: Speaker, segments, sample_rate: int) -> tuple[np.ndarray, tuple[tuple[float, float], ...]]:
    """``(waveform at sample_rate, spans)`` of ``[(text, SpeechPlanSegment), …]`` spoken by ``speaker``."""
    import librosa

    from emogen.io.audio import load_audio

    out = engine().synthesize(list(segments), voice=speaker.voice)
    wave, _ = load_audio(out.waveform, sample_rate, source_rate=out.sample_rate)
    if speaker.semitones:
        wave = librosa.effects.pitch_shift(wave, sr=sample_rate, n_steps=speaker.semitones).astype(np.float32)
    return wave, tuple(out.plan.spans)


# ------------------------------------------------------------------------------------------------------ emotions
@dataclass(frozen=True)
class Emotion:
    """A commanded emotion: a label at an intensity, or a VAD point (label None)."""

    vad: tuple[float, float, float]
    label: str | None
    intensity: float

    def plan(self):
        from emogen.speech import plan_segment

        if self.label is None:
            return plan_segment(VAD(*self.vad))
        return plan_segment(self.label, self.intensity)


def label_emotion(label: str, intensity: float) -> Emotion:
    if label == "neutral":
        return Emotion((0.0, 0.0, 0.0), "neutral", 1.0)
    c = np.array(LABEL_VAD[label]) * intensity
    return Emotion(tuple(float(v) for v in c), label, intensity)


def random_emotion(rng: random.Random) -> Emotion:
    if rng.random() < 0.7:
        return label_emotion(rng.choice(LABELS), rng.choice((0.4, 0.7, 1.0)))
    return Emotion(tuple(round(rng.uniform(-0.9, 0.9), 3) for _ in range(3)), None, 1.0)


@dataclass(frozen=True)
class Utterance:
    speaker: Speaker
    texts: tuple[str, ...]
    emotions: tuple[Emotion, ...]


def make_corpus(spk: list[Speaker], sentences, n_single: int, n_pair: int, seed: int) -> list[Utterance]:
    """Training utterances: ``n_single`` single-emotion and ``n_pair`` two-emotion utterances per speaker."""
    rng = random.Random(seed)
    utts = []
    for s in spk:
        for _ in range(n_single):
            utts.append(Utterance(s, (rng.choice(sentences),), (random_emotion(rng),)))
        for _ in range(n_pair):
            a, b = random_emotion(rng), random_emotion(rng)
            while abs(a.vad[1] - b.vad[1]) < 0.3:  # a change worth finding: arousal differs
                b = random_emotion(rng)
            utts.append(Utterance(s, tuple(rng.sample(sentences, 2)), (a, b)))
    return utts


EVAL_PAIRS = (
    ("neutral", "angry"), ("sad", "happy"), ("happy", "sad"), ("angry", "neutral"), ("sad", "surprised"),
    ("fearful", "sad"),
)  # fmt: skip


def eval_corpus(spk: list[Speaker], sentences, repeats: int = 1) -> tuple[list[Utterance], list[Utterance]]:
    """Held-out evaluation per speaker, ``repeats`` times (other sentences): every label at two intensities
    (singles, neutral once) and six label pairs (changes)."""
    rng = random.Random(1234)
    singles, pairs = [], []
    for s in spk:
        for _ in range(repeats):
            for label in LABELS:
                for inten in (1.0,) if label == "neutral" else (0.5, 1.0):
                    singles.append(Utterance(s, (rng.choice(sentences),), (label_emotion(label, inten),)))
            for a, b in EVAL_PAIRS:
                emotions = (label_emotion(a, 1.0), label_emotion(b, 1.0))
                pairs.append(Utterance(s, tuple(rng.sample(sentences, 2)), emotions))
    return singles, pairs


# ------------------------------------------------------------------------------------------- recording chain
@dataclass(frozen=True)
class RecordingChain:
    """One recording set-up: room (RT60 s, wet share), channel band (Hz), gain (dB), noise (SNR dB, kind).

    ``None`` leaves a stage out. :meth:`apply` is deterministic in the chain and ``noise_seed``.
    """

    seed: int
    rt60_s: float | None = None
    wet: float = 0.0
    band_hz: tuple[float, float] | None = None
    gain_db: float = 0.0
    snr_db: float | None = None
    pink: bool = False

    @classmethod
    def draw(
        cls, rng: np.random.Generator, p_room: float = 0.35, p_band: float = 0.25, p_noise: float = 0.7
    ) -> RecordingChain:
        """A random set-up: room (RT60 0.15–0.8 s, 20–60 % wet), band 100–400 Hz to 3–7 kHz, gain −10…+6 dB,
        white or pink noise at 15–40 dB SNR; each stage with its probability (the gain always)."""
        for name, p in (("p_room", p_room), ("p_band", p_band), ("p_noise", p_noise)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {p!r}.")
        seed = int(rng.integers(2**31))
        room = rng.random() < p_room
        rt60, wet = float(rng.uniform(0.15, 0.8)), float(rng.uniform(0.2, 0.6))
        band = rng.random() < p_band
        low, high = float(rng.uniform(100.0, 400.0)), float(rng.uniform(3000.0, 7000.0))
        gain = float(rng.uniform(-10.0, 6.0))
        noise = rng.random() < p_noise
        snr, pink = float(rng.uniform(15.0, 40.0)), bool(rng.random() < 0.5)
        return cls(
            seed=seed,
            rt60_s=round(rt60, 3) if room else None,
            wet=round(wet, 3) if room else 0.0,
            band_hz=(round(low), round(high)) if band else None,
            gain_db=round(gain, 2),
            snr_db=round(snr, 1) if noise else None,
            pink=pink,
        )

    def apply(self, wave: np.ndarray, sr: int, noise_seed: int = 0) -> np.ndarray:
        """The waveform as this set-up records it (float32; the gain is limited so that peaks stay below 0.99)."""
        from emogen.audio import band_limit, pink_noise, reverberate

        x = np.asarray(wave, dtype=np.float64)
        if x.ndim != 1 or len(x) == 0:
            raise ValueError(f"RecordingChain.apply needs a non-empty mono waveform, got shape {x.shape}.")
        if self.rt60_s is not None:
            x = reverberate(x, sr, self.rt60_s, self.wet, np.random.default_rng(self.seed))
        if self.band_hz is not None:
            x = band_limit(x, sr, *self.band_hz)
        x = x * 10 ** (self.gain_db / 20)
        if self.snr_db is not None:
            rng = np.random.default_rng([self.seed, noise_seed])
            noise = pink_noise(len(x), rng) if self.pink else rng.standard_normal(len(x))
            power = float(np.mean(x**2)) + 1e-12
            x = x + noise * math.sqrt(power / 10 ** (self.snr_db / 10)) / (np.std(noise) + 1e-9)
        peak = float(np.max(np.abs(x)))
        if peak > 0.99:  # a recording level that would clip: the engineer turns it down
            x = x * (0.99 / peak)
        return x.astype(np.float32)

    def to_dict(self) -> dict:
        return {
            "rt60_s": self.rt60_s,
            "wet": self.wet,
            "band_hz": list(self.band_hz) if self.band_hz else None,
            "gain_db": self.gain_db,
            "snr_db": self.snr_db,
            "noise": ("pink" if self.pink else "white") if self.snr_db is not None else None,
        }
