"""Calibrate the prosodic speech-emotion diarizer (emogen.diarize.ProsodyEmotionBackend) on emogen's own TTS.

What it does:

1. Synthesises a corpus with ``emogen.speech.synthesize`` (espeak-ng + WORLD, emotion rules of
   ``emogen.speech.plan``): single-emotion utterances and two-segment utterances whose emotion changes mid-way,
   across many English voices (male and female variants of en-us / en / en-gb-x-rp / …), emotions given as labels
   at several intensities and as random VAD points.
2. Computes the backend's 50 Hz window features (``emogen.diarize.features``) and per-frame targets (the
   commanded VAD; the commanded label for label-driven segments).
3. Fits, on the *training voices* only: standardisation, ridge regression features → VAD, multinomial logistic
   regression features → label (scikit-learn, at calibration time only).
4. Evaluates on *held-out voices* and *held-out sentences*: Spearman between commanded and predicted utterance
   VAD (mean over speech frames), label accuracy, change-point error of the full diarizer on two-segment
   utterances, speed. Writes ``config.json`` + ``model.safetensors`` + ``metrics.json`` next to this script.

Run (about 5–10 minutes on 2 CPU cores)::

    .venv/bin/python training/diarizer/calibrate.py            # config.json, model.safetensors, metrics.json
    .venv/bin/python training/diarizer/calibrate.py --quick    # small corpus, for a smoke test
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr
from tqdm.auto import tqdm

from emogen.audio import SAMPLE_RATE, prosody_features
from emogen.diarize import ProsodyEmotionBackend, SpeechEmotionDiarizer
from emogen.diarize.features import FEATURE_NAMES, SpeakerReference, speaker_reference, window_features
from emogen.emotion import LABEL_VAD, LABELS, VAD
from emogen.io.audio import load_audio
from emogen.models.prosody_emotion import ProsodyEmotionHead

logger = logging.getLogger("calibrate")
HERE = Path(__file__).resolve().parent

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
#: Spoken neutrally by every voice (train and test) as its speaker reference; in neither sentence set.
REFERENCE_TEXT = "This is how I usually sound when I read a plain sentence aloud. Nothing special happens here."
#: Features the reference head must not use: they depend on the voice and the recording gain.
ABSOLUTE_FEATURES = ("f0_level_st", "loudness_db")
TRAIN_VOICES = (
    "en-us", "en-us+m1", "en-us+m3", "en-us+f1", "en-us+f3", "en+m2", "en+f2", "en+m5",
    "en-gb-x-rp+m3", "en-gb-x-rp+f1", "en+m6", "en-us+f2",
)  # fmt: skip
TEST_VOICES = ("en-us+m4", "en+m7", "en-us+f5", "en-gb-x-rp+f4", "en+f5", "en-gb-x-rp+m2")


@dataclass
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


@dataclass
class Utterance:
    voice: str
    texts: tuple[str, ...]
    emotions: tuple[Emotion, ...]


@dataclass
class Sample:
    """Features and targets of one synthesised utterance."""

    utt: Utterance
    waveform: np.ndarray  # 16 kHz
    spans: tuple[tuple[float, float], ...]
    features: np.ndarray  # (T, F)
    speech: np.ndarray  # (T,)
    target_vad: np.ndarray  # (T, 3)
    target_label: np.ndarray  # (T,) label index, -1 = none
    segment: np.ndarray  # (T,) segment index
    near_boundary: np.ndarray  # (T,) window crosses a segment change
    features_ref: np.ndarray | None = None  # (T, F) against the voice's neutral reference


def synthesise(utt: Utterance, window_s: float) -> Sample:
    from emogen.speech import synthesize

    out = synthesize([(t, e.plan()) for t, e in zip(utt.texts, utt.emotions, strict=False)], voice=utt.voice)
    wave, _ = load_audio(out.waveform, SAMPLE_RATE, source_rate=out.sample_rate)
    spans = tuple(out.plan.spans)
    pros = prosody_features(wave, SAMPLE_RATE)
    feats, speech = window_features(pros, window_s=window_s)
    t = np.arange(pros.num_frames) / pros.fps
    # segment of each frame: boundaries halfway through the pause between spans
    bounds = [0.5 * (spans[i][1] + spans[i + 1][0]) for i in range(len(spans) - 1)]
    seg = np.searchsorted(np.array(bounds), t, side="right") if bounds else np.zeros(len(t), dtype=np.int64)
    near = np.zeros(len(t), dtype=bool)
    for b in bounds:
        near |= np.abs(t - b) < window_s / 2 + 0.25
    vad = np.array([utt.emotions[i].vad for i in seg], dtype=np.float32)
    lab = np.array(
        [LABELS.index(utt.emotions[i].label) if utt.emotions[i].label is not None else -1 for i in seg], dtype=np.int64
    )
    return Sample(utt, wave, spans, feats.numpy(), speech.numpy(), vad, lab, seg, near)


def make_corpus(voices, sentences, n_single: int, n_pair: int, seed: int) -> list[Utterance]:
    rng = random.Random(seed)
    utts = []
    for voice in voices:
        for _ in range(n_single):
            utts.append(Utterance(voice, (rng.choice(sentences),), (random_emotion(rng),)))
        for _ in range(n_pair):
            a, b = random_emotion(rng), random_emotion(rng)
            while abs(a.vad[1] - b.vad[1]) < 0.3:  # a change worth finding: arousal differs
                b = random_emotion(rng)
            utts.append(Utterance(voice, tuple(rng.sample(sentences, 2)), (a, b)))
    return utts


def eval_corpus(voices, sentences) -> tuple[list[Utterance], list[Utterance]]:
    """Held-out evaluation: every label at two intensities (singles), and label pairs (changes)."""
    rng = random.Random(1234)
    singles, pairs = [], []
    for voice in voices:
        for label in LABELS:
            for inten in (1.0,) if label == "neutral" else (0.5, 1.0):
                singles.append(Utterance(voice, (rng.choice(sentences),), (label_emotion(label, inten),)))
        for a, b in (("neutral", "angry"), ("sad", "happy"), ("happy", "sad"), ("angry", "neutral"),
                     ("sad", "surprised"), ("fearful", "sad")):  # fmt: skip
            pairs.append(
                Utterance(voice, tuple(rng.sample(sentences, 2)), (label_emotion(a, 1.0), label_emotion(b, 1.0)))
            )
    return singles, pairs


def run_all(utts: list[Utterance], window_s: float, desc: str) -> list[Sample]:
    return [synthesise(u, window_s) for u in tqdm(utts, desc=desc)]


def voice_references(voices) -> dict[str, SpeakerReference]:
    from emogen.speech import plan_segment, synthesize

    refs = {}
    for voice in tqdm(voices, desc="references"):
        out = synthesize([(REFERENCE_TEXT, plan_segment("neutral"))], voice=voice)
        wave, _ = load_audio(out.waveform, SAMPLE_RATE, source_rate=out.sample_rate)
        refs[voice] = speaker_reference(prosody_features(wave, SAMPLE_RATE))
    return refs


def add_reference_features(samples: list[Sample], refs: dict[str, SpeakerReference], window_s: float) -> None:
    for s in tqdm(samples, desc="reference features"):
        pros = prosody_features(s.waveform, SAMPLE_RATE)
        s.features_ref = window_features(pros, window_s=window_s, reference=refs[s.utt.voice])[0].numpy()


def fit(
    samples: list[Sample], ridge_alpha: float, logistic_c: float, use_ref: bool = False, drop: tuple[str, ...] = ()
) -> dict[str, torch.Tensor]:
    from sklearn.linear_model import LogisticRegression, Ridge

    keep = [s.speech & ~s.near_boundary for s in samples]
    X = np.concatenate([(s.features_ref if use_ref else s.features)[k] for s, k in zip(samples, keep, strict=False)])
    Y = np.concatenate([s.target_vad[k] for s, k in zip(samples, keep, strict=False)])
    L = np.concatenate([s.target_label[k] for s, k in zip(samples, keep, strict=False)])
    mean, std = X.mean(0), X.std(0) + 1e-6
    Z = (X - mean) / std
    Z[:, [FEATURE_NAMES.index(d) for d in drop]] = 0.0  # dropped features get zero weight
    ridge = Ridge(alpha=ridge_alpha).fit(Z, Y)
    has = L >= 0
    # balance labels: neutral appears at one intensity only, others at three
    clf = LogisticRegression(C=logistic_c, max_iter=2000, class_weight="balanced").fit(Z[has], L[has])
    label_w = np.zeros((len(LABELS), Z.shape[1]))
    label_b = np.full(len(LABELS), -10.0)
    label_w[clf.classes_] = clf.coef_
    label_b[clf.classes_] = clf.intercept_
    t = lambda a: torch.tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
    return {
        "feature_mean": t(mean),
        "feature_std": t(std),
        "vad_weight": t(ridge.coef_),
        "vad_bias": t(ridge.intercept_),
        "label_weight": t(label_w),
        "label_bias": t(label_b),
    }


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    r = spearmanr(a, b)[0]
    return float(r) if np.isfinite(r) else float("nan")


def evaluate(
    backend: ProsodyEmotionBackend, singles: list[Sample], pairs: list[Sample], refs: dict | None = None
) -> dict:
    use_ref = refs is not None
    # utterance-level ordering (mean prediction over speech frames)
    pred, true, labels_true, labels_pred, voices = [], [], [], [], []
    for s in singles:
        feats = s.features_ref if use_ref else s.features
        vad, probs = backend.predict_features(torch.from_numpy(feats), with_reference=use_ref)
        sp = torch.from_numpy(s.speech)
        pred.append(vad[sp].mean(0).numpy())
        true.append(np.array(s.utt.emotions[0].vad))
        labels_true.append(s.utt.emotions[0].label)
        labels_pred.append(LABELS[int(probs[sp].mean(0).argmax())])
        voices.append(s.utt.voice)
    pred, true = np.array(pred), np.array(true)
    out = {
        "spearman_pooled": {
            n: _spearman(true[:, j], pred[:, j]) for j, n in enumerate(("valence", "arousal", "dominance"))
        },
        "pearson_pooled": {
            n: float(np.corrcoef(true[:, j], pred[:, j])[0, 1])
            for j, n in enumerate(("valence", "arousal", "dominance"))
        },
    }
    per_voice = {n: [] for n in ("valence", "arousal", "dominance")}
    for v in sorted(set(voices)):
        m = np.array([x == v for x in voices])
        for j, n in enumerate(per_voice):
            per_voice[n].append(_spearman(true[m, j], pred[m, j]))
    out["spearman_per_voice_mean"] = {n: float(np.nanmean(v)) for n, v in per_voice.items()}
    out["label_accuracy_utterance"] = float(np.mean([a == b for a, b in zip(labels_true, labels_pred, strict=False)]))
    groups = {"neutral": "low", "sad": "low", "contempt": "low"}
    same = [groups.get(a, "high") == groups.get(b, "high") for a, b in zip(labels_true, labels_pred, strict=True)]
    out["arousal_group_accuracy_utterance"] = float(np.mean(same))
    confusion = np.zeros((len(LABELS), len(LABELS)), dtype=int)
    for a, b in zip(labels_true, labels_pred, strict=False):
        confusion[LABELS.index(a), LABELS.index(b)] += 1
    out["label_confusion"] = {"labels": list(LABELS), "rows_true_cols_pred": confusion.tolist()}

    # sensitivity to the recording gain (absolute loudness is one of the features): arousal shift at ±6 dB
    shifts = {}
    for db in () if use_ref else (-6.0, 6.0):
        delta = []
        for s, p in zip(singles[::3], pred[::3], strict=False):
            scaled = np.clip(s.waveform * 10 ** (db / 20), -1, 1)
            feats, speech = window_features(prosody_features(scaled, SAMPLE_RATE), window_s=backend.window_s)
            vad, _ = backend.predict_features(feats)
            delta.append(float(vad[speech].mean(0)[1]) - float(p[1]))
        shifts[f"{db:+.0f}dB"] = float(np.mean(delta))
    if shifts:
        out["arousal_shift_with_gain"] = shifts

    # change points with the full diarizer (HMM + min duration)
    diarizer = SpeechEmotionDiarizer(backend)
    errors, n_found, elapsed, audio_s = [], 0, 0.0, 0.0
    for s in pairs:
        t0 = time.perf_counter()
        result = diarizer(s.waveform, SAMPLE_RATE, reference=refs[s.utt.voice] if use_ref else None)
        elapsed += time.perf_counter() - t0
        audio_s += len(s.waveform) / SAMPLE_RATE
        truth = 0.5 * (s.spans[0][1] + s.spans[1][0])
        boundaries = [seg.start for seg in result.segments[1:]]
        if boundaries:
            n_found += 1
            errors.append(min(abs(b - truth) for b in boundaries))
        else:
            errors.append(float("inf"))
    finite = [e for e in errors if math.isfinite(e)]
    out["change_point"] = {
        "pairs": len(pairs),
        "with_boundary": n_found,
        "median_abs_error_s": float(np.median(finite)) if finite else None,
        "within_0.3s": float(np.mean([e <= 0.3 for e in errors])),
    }
    out["speed_audio_seconds_per_compute_second"] = audio_s / max(elapsed, 1e-9)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: next to this script)")
    parser.add_argument("--quick", action="store_true", help="small corpus (smoke test)")
    parser.add_argument("--window", type=float, default=1.0, help="feature window in seconds")
    parser.add_argument("--ridge-alpha", type=float, default=10.0)
    parser.add_argument("--logistic-c", type=float, default=0.1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("emogen").setLevel(logging.ERROR)  # the TTS warns about clipping-free headroom etc.
    torch.manual_seed(0)
    n_single, n_pair = (3, 2) if args.quick else (10, 8)
    train_voices = TRAIN_VOICES[:4] if args.quick else TRAIN_VOICES
    test_voices = TEST_VOICES[:2] if args.quick else TEST_VOICES

    t0 = time.time()
    train = run_all(make_corpus(train_voices, TRAIN_SENTENCES, n_single, n_pair, seed=0), args.window, "train")
    s_utts, p_utts = eval_corpus(test_voices, TEST_SENTENCES)
    singles = run_all(s_utts, args.window, "eval singles")
    pairs = run_all(p_utts, args.window, "eval pairs")
    logger.info(
        "corpus: %d train, %d + %d eval utterances (%.0f s)", len(train), len(singles), len(pairs), time.time() - t0
    )

    refs = voice_references(list(train_voices) + list(test_voices))
    for s in train + singles + pairs:
        if getattr(s, "features_ref", None) is None:
            s.features_ref = None
    add_reference_features([s for s in train + singles + pairs if s.features_ref is None], refs, args.window)
    head = fit(train, args.ridge_alpha, args.logistic_c)
    ref_head = fit(train, args.ridge_alpha, args.logistic_c, use_ref=True, drop=ABSOLUTE_FEATURES)
    model = ProsodyEmotionHead(window_s=args.window)
    model.head.set_tensors(**head)
    model.reference_head.set_tensors(**ref_head)
    backend = ProsodyEmotionBackend(model)
    metrics = evaluate(backend, singles, pairs)
    metrics_ref = evaluate(backend, singles, pairs, refs=refs)
    train_audio = sum(len(s.waveform) for s in train) / SAMPLE_RATE
    info = {
        "train_voices": list(train_voices),
        "test_voices": list(test_voices),
        "train_utterances": len(train),
        "train_audio_seconds": round(train_audio, 1),
        "eval_singles": len(singles),
        "eval_pairs": len(pairs),
        "ridge_alpha": args.ridge_alpha,
        "logistic_c": args.logistic_c,
        "window_s": args.window,
        "vad_weights_by_feature": {
            n: [round(float(w), 4) for w in head["vad_weight"][:, i]] for i, n in enumerate(FEATURE_NAMES)
        },
        "reference_head_vad_weights_by_feature": {
            n: [round(float(w), 4) for w in ref_head["vad_weight"][:, i]] for i, n in enumerate(FEATURE_NAMES)
        },
    }
    metrics = {"calibration": info, "held_out": metrics, "held_out_with_reference": metrics_ref}
    args.out.mkdir(parents=True, exist_ok=True)
    backend.save_pretrained(args.out)
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    for key in ("held_out", "held_out_with_reference"):
        summary = {k: v for k, v in metrics[key].items() if k != "label_confusion"}
        logger.info("%s: %s", key, json.dumps(summary))


if __name__ == "__main__":
    main()
