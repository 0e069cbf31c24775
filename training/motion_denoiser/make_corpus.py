"""Generate the synthetic (audio, emotion, motion) corpus the motion denoiser is trained on.

Each clip: 1–2 sentences (EmoBank texts; ``train`` split for training shards, ``dev`` for validation, so validation
sentences are never heard in training), spoken by the neural voice (half the clips) or a random espeak-ng voice at a
random speed, each sentence with its own emotion (a label at a random intensity, or a random VAD point); the
engines of :func:`emogen.speech.engines.default_engine` give the waveform and phone timings; the per-sentence
emotions become an :class:`~emogen.emotion.EmotionTrack` (keyframes at the sentence onsets, optional affect
dynamics); :class:`~emogen.controls.ExpressionPrior` gives the expression and
:func:`emogen.motion.teacher.teacher_motion` the full motion (visemes scaled by the clean speech's syllable loudness,
expression, blinks, head, gaze).

Audio augmentation (the motion is unchanged, it follows the phones and the clean speech): pitch shift (±2 semitones,
librosa), room reverberation (35 %: RT60 0.15–0.8 s, 20–60 % wet), a band-limited channel (25 %: 100–400 Hz to
3–7 kHz), gain (±6 dB), additive white or pink noise (SNR 15–40 dB); speed variation comes from the TTS rate itself
(the phone timings follow it).

Shards are safetensors files (written to a temp file, then renamed) holding the clips concatenated along time:

* ``mel`` float16 ``(Σ mel_frames, 80)`` — 16 kHz log-mel at 50 Hz (:func:`emogen.audio.log_mel`);
* ``motion`` float32 ``(Σ frames, 60)`` — packed :class:`~emogen.motion.MotionTrack` at 25 fps;
* ``vad (Σ frames, 3)``, ``probs (Σ frames, 8)``, ``intensity (Σ frames,)``, ``velocity (Σ frames, 3)``;
* ``mel_offsets``, ``frame_offsets`` int64 ``(clips + 1,)``;
* metadata ``clips``: JSON list (text, voice, speed, emotions, augmentation, seed) per clip.

Usage::

    python training/motion_denoiser/make_corpus.py --out ~/.cache/emogen/motion_corpus --train 1600 --val 120

Each clip's randomness derives from ``(seed, split, clip index)``, so shards can be generated in any order or in
parallel (``--shard-index`` / ``--num-shards``) and are reproducible.

Texts: EmoBank (Buechel & Hahn 2017), CC-BY-SA 4.0 — looked up in ``$EMOGEN_EMOBANK`` or
``../shared/data/emobank/emobank_train_dev.csv``; a small built-in sentence list is used when it is absent.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import logging
import math
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from tqdm.auto import tqdm

logger = logging.getLogger("make_corpus")

FPS = 25.0
FALLBACK_SENTENCES = (
    "We won the match today, and everyone was cheering.",
    "I can't believe you did that to me.",
    "The train leaves at seven, so please don't be late.",
    "Look at the size of that wave!",
    "Nobody told me the meeting had been cancelled.",
    "She smiled, picked up the letter and walked away.",
    "Could you pass me the salt, please?",
    "That smell is absolutely revolting.",
    "I heard a noise downstairs in the middle of the night.",
    "Thank you so much for coming to my party.",
    "Why would anyone leave the door wide open?",
    "My grandmother used to bake bread every Sunday morning.",
)
VOICE_BASES = ("en-us", "en", "en-gb-x-rp")
VOICE_VARIANTS = ("", "+m1", "+m2", "+m3", "+m4", "+m5", "+m6", "+m7", "+f1", "+f2", "+f3", "+f4", "+f5")
NEURAL_SHARE = 0.5  # clips spoken by the neural voice (emogen's default); the rest by a random espeak-ng voice


@functools.lru_cache(maxsize=1)
def _engine():
    """Both voice families, routed by voice name (espeak-ng alone when hibari-tts is not installed)."""
    from emogen.speech.engines import default_engine

    return default_engine()


def find_emobank() -> Path | None:
    candidates = [os.environ.get("EMOGEN_EMOBANK", "")]
    here = Path(__file__).resolve()
    candidates += [str(p / "shared" / "data" / "emobank" / "emobank_train_dev.csv") for p in here.parents]
    candidates += [str(p.parent / "shared" / "data" / "emobank" / "emobank_train_dev.csv") for p in here.parents]
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c)
    return None


def load_sentences(split: str) -> list[str]:
    """EmoBank sentences of a split (``train`` / ``dev``), cleaned to speakable English of 4–20 words."""
    path = find_emobank()
    if path is None:
        logger.warning("EmoBank not found; using %d built-in sentences.", len(FALLBACK_SENTENCES))
        half = len(FALLBACK_SENTENCES) * 3 // 4
        return list(FALLBACK_SENTENCES[:half] if split == "train" else FALLBACK_SENTENCES[half:])
    out = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["split"] != split:
                continue
            text = re.sub(r"\s+", " ", row["text"].replace('"', "")).strip()
            words = len(text.split())
            if 4 <= words <= 20 and re.search(r"[A-Za-z]", text) and sum(c.isalpha() for c in text) > 0.6 * len(text):
                out.append(text)
    return sorted(set(out))


def random_emotion(g: torch.Generator):
    """A label at a random intensity (80 %) or a random VAD point (20 %)."""
    from emogen.emotion import LABELS, VAD, EmotionLabel

    if float(torch.rand((), generator=g)) < 0.2:
        v = (torch.rand(3, generator=g) * 2 - 1) * torch.tensor([0.9, 0.9, 0.7])
        return VAD(*[round(float(x), 3) for x in v])
    label = LABELS[int(torch.randint(len(LABELS), (), generator=g))]
    intensity = round(0.3 + 0.7 * float(torch.rand((), generator=g)), 3) if label != "neutral" else 1.0
    return EmotionLabel(label, intensity)


def augment(wave: np.ndarray, sr: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Recording conditions: pitch shift, room reverberation, a band-limited channel, gain and noise; returns the
    waveform and what was done (so the motion model hears speech as microphones record it, not only clean TTS)."""
    import librosa

    from emogen.audio import band_limit, pink_noise, reverberate

    info: dict = {}
    if rng.random() < 0.5:
        steps = float(rng.uniform(-2.0, 2.0))
        wave = librosa.effects.pitch_shift(wave, sr=sr, n_steps=steps)
        info["pitch_semitones"] = round(steps, 2)
    if rng.random() < 0.35:
        rt60, wet = float(rng.uniform(0.15, 0.8)), float(rng.uniform(0.2, 0.6))
        wave = reverberate(wave, sr, rt60, wet, rng)
        info["reverb"] = {"rt60_s": round(rt60, 2), "wet": round(wet, 2)}
    if rng.random() < 0.25:
        low, high = float(rng.uniform(100.0, 400.0)), float(rng.uniform(3000.0, 7000.0))
        wave = band_limit(wave, sr, low, high).astype(np.float32)
        info["band_hz"] = [round(low), round(high)]
    gain_db = float(rng.uniform(-6.0, 6.0))
    wave = wave * 10 ** (gain_db / 20)
    info["gain_db"] = round(gain_db, 2)
    if rng.random() < 0.7:
        snr = float(rng.uniform(15.0, 40.0))
        noise = pink_noise(len(wave), rng) if rng.random() < 0.5 else rng.standard_normal(len(wave))
        power = float(np.mean(wave**2)) + 1e-12
        wave = wave + noise * math.sqrt(power / 10 ** (snr / 10)) / (np.std(noise) + 1e-9)
        info["snr_db"] = round(snr, 1)
    return np.clip(wave, -1.0, 1.0).astype(np.float32), info


def make_clip(sentences: list[str], seed: int, prior, augment_audio: bool = True) -> dict:
    """One clip: TTS → emotion track → teacher motion → log-mel (all randomness from ``seed``)."""
    from emogen.audio import SAMPLE_RATE, log_mel
    from emogen.controls import resolve_emotion
    from emogen.emotion import VAD, Keyframe
    from emogen.io.audio import load_audio
    from emogen.motion import pack_motion
    from emogen.motion.teacher import teacher_motion
    from emogen.speech import plan_segment

    g = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    k = 1 + int(torch.randint(2, (), generator=g))
    texts = [sentences[int(i)] for i in torch.randint(len(sentences), (k,), generator=g)]
    emotions = [random_emotion(g) for _ in texts]
    voice = VOICE_BASES[int(torch.randint(len(VOICE_BASES), (), generator=g))]
    voice += VOICE_VARIANTS[int(torch.randint(len(VOICE_VARIANTS), (), generator=g))]
    if float(torch.rand((), generator=g)) < NEURAL_SHARE and "heart" in _engine().voices():
        voice = "heart"  # the default neural voice (hibari-tts)
    speed = round(0.85 + 0.35 * float(torch.rand((), generator=g)), 3)
    segments = [(t, plan_segment(e)) for t, e in zip(texts, emotions, strict=True)]
    speech = _engine().synthesize(segments, voice=voice, speed=speed)

    wave, sr = load_audio(speech.waveform, SAMPLE_RATE, source_rate=speech.sample_rate)
    aug = {}
    if augment_audio:
        wave, aug = augment(wave, sr, rng)
    duration = len(wave) / sr
    frames = max(1, round(duration * FPS))
    keys = [
        Keyframe(round(span[0], 3) if i else 0.0, e)
        for i, (span, e) in enumerate(zip(speech.plan.spans, emotions, strict=True))
    ]
    dynamics = ["first-order", "second-order", None][int(torch.randint(3, (), generator=g))]
    track = resolve_emotion(keys, num_frames=frames, fps=FPS, dynamics=dynamics)
    expression = prior(track)
    motion = teacher_motion(frames, fps=FPS, phones=speech.phones, audio=(speech.waveform, speech.sample_rate),
                            emotion=track, expression=expression, generator=g)  # fmt: skip
    mel = log_mel(wave, sr)
    velocity = track.velocity if track.velocity is not None else torch.gradient(track.vad, spacing=1 / FPS, dim=0)[0]
    return {
        "mel": mel.to(torch.float16),
        "motion": pack_motion(motion),
        "vad": track.vad.float(),
        "probs": track.probs.float(),
        "intensity": track.intensity.float(),
        "velocity": velocity.float(),
        "meta": {
            "texts": texts,
            "emotions": [repr(e) if isinstance(e, VAD) else f"{e.name}:{e.intensity}" for e in emotions],
            "voice": voice,
            "speed": speed,
            "dynamics": dynamics,
            "seed": seed,
            "augmentation": aug,
            "frames": frames,
        },
    }


def write_shard(clips: list[dict], path: Path) -> None:
    tensors = {
        name: torch.cat([c[name] for c in clips]).contiguous()
        for name in ("mel", "motion", "vad", "probs", "intensity", "velocity")
    }
    tensors["mel_offsets"] = torch.tensor([0] + list(np.cumsum([c["mel"].shape[0] for c in clips])), dtype=torch.int64)
    tensors["frame_offsets"] = torch.tensor(
        [0] + list(np.cumsum([c["motion"].shape[0] for c in clips])), dtype=torch.int64
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={"clips": json.dumps([c["meta"] for c in clips]), "fps": str(FPS)})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path.home() / ".cache" / "emogen" / "motion_corpus")
    parser.add_argument("--train", type=int, default=1600, help="training clips")
    parser.add_argument("--val", type=int, default=120, help="validation clips (held-out sentences)")
    parser.add_argument("--shard-size", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shard-index", type=int, default=0, help="this worker's index (parallel generation)")
    parser.add_argument("--num-shards", type=int, default=1, help="number of parallel workers")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(1)

    from emogen.controls import ExpressionPrior

    prior = ExpressionPrior()
    for split, count in (("val", args.val), ("train", args.train)):
        sentences = load_sentences("dev" if split == "val" else "train")
        logger.info("%s: %d clips from %d sentences", split, count, len(sentences))
        n_shards = math.ceil(count / args.shard_size)
        for shard in range(n_shards):
            if shard % args.num_shards != args.shard_index:
                continue
            path = args.out / f"{split}-{shard:04d}.safetensors"
            if path.exists():
                logger.info("exists, skipped: %s", path)
                continue
            ids = range(shard * args.shard_size, min(count, (shard + 1) * args.shard_size))
            base = args.seed * 1_000_003 + (0 if split == "train" else 500_000)
            clips = [
                make_clip(sentences, base + i, prior, augment_audio=(split == "train"))
                for i in tqdm(ids, desc=f"{split} shard {shard}", leave=False)
            ]
            write_shard(clips, path)
            logger.info("wrote %s (%d clips)", path, len(clips))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
