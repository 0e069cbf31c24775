"""Calibrate the prosodic speech-emotion diarizer (emogen.diarize.ProsodyEmotionBackend) on emogen's own TTS.

What it does:

1. Synthesises a corpus with both voice families of ``emogen.speech.engines.default_engine`` (``corpus.py``):
   espeak-ng voices and hibari's neural voice ``heart`` as pitch-shifted *simulated* speakers; single-emotion
   utterances and two-segment utterances whose emotion changes mid-way, emotions given as labels at several
   intensities and as random VAD points. A share of the training utterances is added a second time as heard
   through a random recording set-up (room, band-limited channel, gain, noise at 15–40 dB SNR), each speaker's
   neutral reference through the same set-up.
2. Computes the backend's 50 Hz window features (``emogen.diarize.features``) and per-frame targets (the
   commanded VAD; the commanded label for label-driven segments).
3. Fits, on the *training speakers* only: standardisation, ridge regression features → VAD, multinomial logistic
   regression features → label (scikit-learn, at calibration time only); a second head on features read against the
   speaker's neutral reference, without the voice- and gain-dependent features.
4. Evaluates on *held-out speakers* and *held-out sentences*, per voice family, clean and "recorded" (every clip
   through its own recording set-up, fixed seed), without and with the speaker's reference: Spearman between
   commanded and predicted utterance VAD within each speaker, label accuracy, change-point error of the full
   diarizer on two-segment utterances; the same for the model found in ``--before`` (default: the shipped weights,
   read before anything is written), so ``metrics.json`` holds before / after on the same held-out set.
5. Writes ``config.json`` + ``diffusion_pytorch_model.safetensors`` + ``metrics.json`` to ``--out`` (each file
   written completely, then renamed into place).

Run (about 6–7 minutes on 2 shared CPU cores; ``--quick`` about 2)::

    python training/diarizer/calibrate.py --out weights/diarizer    # the shipped weights
    python training/diarizer/calibrate.py --quick                   # small corpus, smoke test (~/.cache/emogen)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import random
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from corpus import (  # the sibling module (this folder is on sys.path when the script runs)
    NEURAL_TEST_SHIFTS,
    NEURAL_TRAIN_SHIFTS,
    REFERENCE_TEXT,
    TEST_SENTENCES,
    TEST_VOICES,
    TRAIN_SENTENCES,
    TRAIN_VOICES,
    RecordingChain,
    Speaker,
    Utterance,
    eval_corpus,
    make_corpus,
    speak,
    speakers,
)
from scipy.stats import spearmanr
from tqdm.auto import tqdm

from emogen.audio import FEATURE_FPS, SAMPLE_RATE, ProsodyFeatures, prosody_features
from emogen.diarize import ProsodyEmotionBackend, SpeechEmotionDiarizer
from emogen.diarize.features import FEATURE_NAMES, SpeakerReference, speaker_reference, window_features
from emogen.diarize.types import FrameEmotion
from emogen.emotion import LABELS
from emogen.models.prosody_emotion import ProsodyEmotionHead

logger = logging.getLogger("calibrate")
#: Features the reference head must not use: they depend on the voice and the recording gain.
ABSOLUTE_FEATURES = ("f0_level_st", "loudness_db")
DIMS = ("valence", "arousal", "dominance")
CONDITIONS = ("clean", "recorded")
#: Recording set-ups of the recorded training copies (as the motion denoiser's corpus) and of the held-out
#: "recorded" condition (every clip noisy, most reverberant or band-limited): probability of each stage.
TRAIN_CHAIN = {"p_room": 0.35, "p_band": 0.25, "p_noise": 0.7}
EVAL_CHAIN = {"p_room": 0.6, "p_band": 0.5, "p_noise": 1.0}


@dataclass
class Sample:
    """Features and targets of one utterance as heard in one condition."""

    utt: Utterance
    waveform: np.ndarray  # 16 kHz
    spans: tuple[tuple[float, float], ...]
    reference: SpeakerReference  # the speaker's neutral reference, heard in the same condition
    features: np.ndarray  # (T, F) against the recording's own medians
    features_ref: np.ndarray  # (T, F) against the reference
    speech: np.ndarray  # (T,)
    target_vad: np.ndarray  # (T, 3)
    target_label: np.ndarray  # (T,) label index, -1 = none
    near_boundary: np.ndarray  # (T,) window crosses a segment change
    prosody: ProsodyFeatures
    chain: RecordingChain | None = None


def analyse(
    utt: Utterance, wave, spans, reference: SpeakerReference, window_s: float, chain=None, prosody=None
) -> Sample:
    pros = prosody_features(wave, SAMPLE_RATE) if prosody is None else prosody
    feats, speech = window_features(pros, window_s=window_s)
    feats_ref, _ = window_features(pros, window_s=window_s, reference=reference)
    t = np.arange(pros.num_frames) / pros.fps
    # segment of each frame: boundaries halfway through the pause between spans
    bounds = [0.5 * (spans[i][1] + spans[i + 1][0]) for i in range(len(spans) - 1)]
    seg = np.searchsorted(np.array(bounds), t, side="right") if bounds else np.zeros(len(t), dtype=np.int64)
    near = np.zeros(len(t), dtype=bool)
    for b in bounds:
        near |= np.abs(t - b) < window_s / 2 + 0.25
    vad = np.array([utt.emotions[i].vad for i in seg], dtype=np.float32)
    lab = [LABELS.index(utt.emotions[i].label) if utt.emotions[i].label is not None else -1 for i in seg]
    return Sample(
        utt, wave, spans, reference, feats.numpy(), feats_ref.numpy(), speech.numpy(), vad,
        np.array(lab, dtype=np.int64), near, pros, chain,
    )  # fmt: skip


def _reference(wave: np.ndarray) -> SpeakerReference:
    return speaker_reference(prosody_features(wave, SAMPLE_RATE))


class References:
    """Each speaker's neutral reading of :data:`REFERENCE_TEXT` (clean, and through any recording set-up)."""

    def __init__(self, spk: list[Speaker]) -> None:
        from emogen.speech import plan_segment

        self.waves = {s: speak(s, [(REFERENCE_TEXT, plan_segment("neutral"))], SAMPLE_RATE)[0] for s in spk}
        self.clean = {s: _reference(w) for s, w in self.waves.items()}

    def through(self, speaker: Speaker, chain: RecordingChain | None) -> SpeakerReference:
        if chain is None:
            return self.clean[speaker]
        return _reference(chain.apply(self.waves[speaker], SAMPLE_RATE, noise_seed=1))


def synthesise(utts: list[Utterance], refs: References, window_s: float, desc: str) -> list[Sample]:
    out = []
    for u in tqdm(utts, desc=desc):
        wave, spans = speak(u.speaker, [(t, e.plan()) for t, e in zip(u.texts, u.emotions, strict=True)], SAMPLE_RATE)
        out.append(analyse(u, wave, spans, refs.clean[u.speaker], window_s))
    return out


def recorded(samples: list[Sample], refs: References, window_s: float, rng, desc: str, **chain_p) -> list[Sample]:
    """The samples as heard through a random recording set-up each (reference through the same set-up)."""
    out = []
    for s in tqdm(samples, desc=desc):
        chain = RecordingChain.draw(rng, **chain_p)
        wave = chain.apply(s.waveform, SAMPLE_RATE)
        out.append(analyse(s.utt, wave, s.spans, refs.through(s.utt.speaker, chain), window_s, chain))
    return out


@dataclass
class Corpus:
    train_speakers: list[Speaker]
    test_speakers: list[Speaker]
    train: list[Sample]  # clean, then the recorded copies
    num_recorded: int
    held_out: dict  # {family: {"clean" | "recorded": (singles, pairs)}}
    gained: dict  # {"-6dB" | "+6dB": [(clean sample, the same clip at that gain)]}
    seconds: float


def build_corpus(quick: bool, window_s: float, recorded_share: float) -> Corpus:
    """Synthesise and analyse the training and held-out sets (see the module docstring)."""
    if quick:
        train_spk, test_spk = speakers(TRAIN_VOICES[:3], NEURAL_TRAIN_SHIFTS[:2]), speakers(TEST_VOICES[:2], (3.5,))
        per_voice, per_neural = (3, 2), (4, 3)
    else:
        train_spk, test_spk = speakers(TRAIN_VOICES, NEURAL_TRAIN_SHIFTS), speakers(TEST_VOICES, NEURAL_TEST_SHIFTS)
        per_voice, per_neural = (10, 8), (20, 16)
    t0 = time.time()
    refs = References(train_spk + test_spk)
    espeak_train = [s for s in train_spk if s.family == "espeak-ng"]
    neural_train = [s for s in train_spk if s.family == "hibari"]
    train_utts = make_corpus(espeak_train, TRAIN_SENTENCES, *per_voice, seed=0)
    train_utts += make_corpus(neural_train, TRAIN_SENTENCES, *per_neural, seed=1)
    train = synthesise(train_utts, refs, window_s, "train")
    chosen = sorted(random.Random(2).sample(range(len(train)), round(recorded_share * len(train))))
    rng = np.random.default_rng(3)
    train += recorded([train[i] for i in chosen], refs, window_s, rng, "train, recorded", **TRAIN_CHAIN)

    held_out, gained = {}, {}
    for family in ("espeak-ng", "hibari"):
        spk = [s for s in test_spk if s.family == family]
        s_utts, p_utts = eval_corpus(spk, TEST_SENTENCES, repeats=2)
        singles = synthesise(s_utts, refs, window_s, f"held-out {family} singles")
        pairs = synthesise(p_utts, refs, window_s, f"held-out {family} pairs")
        g = np.random.default_rng(4)  # the same set-ups for every run
        held_out[family] = {
            "clean": (singles, pairs),
            "recorded": (
                recorded(singles, refs, window_s, g, f"held-out {family} singles, recorded", **EVAL_CHAIN),
                recorded(pairs, refs, window_s, g, f"held-out {family} pairs, recorded", **EVAL_CHAIN),
            ),
        }
        for db in (-6.0, 6.0):  # the same clips at another recording gain
            couples = gained.setdefault(f"{db:+.0f}dB", [])
            for s in singles[::3]:
                couples.append((s, analyse(s.utt, s.waveform, s.spans, s.reference, window_s, prosody=regain(s, db))))
    n_eval = sum(len(a) + len(b) for f in held_out.values() for a, b in f.values())
    seconds = time.time() - t0
    logger.info("corpus: %d train, %d held-out samples (%.0f s)", len(train), n_eval, seconds)
    return Corpus(train_spk, test_spk, train, len(chosen), held_out, gained, seconds)


def regain(sample: Sample, db: float) -> ProsodyFeatures:
    """The sample's prosody recorded ``db`` louder (without clipping): only the frame energy moves (Praat's pitch,
    HNR, the alpha ratio and the syllable-nuclei rate use relative thresholds), so no re-analysis is needed."""
    return dataclasses.replace(sample.prosody, energy_db=(sample.prosody.energy_db + db).clamp_min(-100.0))


# ------------------------------------------------------------------------------------------------------------ fit
def fit(
    samples: list[Sample], ridge_alpha: float, logistic_c: float, use_ref: bool = False, drop: tuple[str, ...] = ()
) -> dict[str, torch.Tensor]:
    from sklearn.linear_model import LogisticRegression, Ridge

    keep = [s.speech & ~s.near_boundary for s in samples]
    X = np.concatenate([(s.features_ref if use_ref else s.features)[k] for s, k in zip(samples, keep, strict=True)])
    Y = np.concatenate([s.target_vad[k] for s, k in zip(samples, keep, strict=True)])
    L = np.concatenate([s.target_label[k] for s, k in zip(samples, keep, strict=True)])
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


# ------------------------------------------------------------------------------------------------------- evaluate
class _Precomputed(ProsodyEmotionBackend):
    """The backend on features computed beforehand (the diarizer's smoothing and segmentation run as usual)."""

    def __init__(self, model: ProsodyEmotionHead) -> None:
        super().__init__(model)
        self.sample: Sample | None = None

    def __call__(self, waveform, sample_rate=SAMPLE_RATE, *, reference=None) -> FrameEmotion:
        s = self.sample
        use_ref = reference is not None
        vad, probs = self.predict_features(torch.from_numpy(s.features_ref if use_ref else s.features), use_ref)
        return FrameEmotion(vad=vad, probs=probs, speech=torch.from_numpy(s.speech), fps=FEATURE_FPS)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    r = spearmanr(a, b)[0]
    return float(r) if np.isfinite(r) else float("nan")


def evaluate(model: ProsodyEmotionHead, singles: list[Sample], pairs: list[Sample], use_ref: bool) -> dict:
    backend = _Precomputed(model)
    pred, true, labels_true, labels_pred, who = [], [], [], [], []
    for s in singles:  # utterance level: mean prediction over speech frames
        vad, probs = backend.predict_features(torch.from_numpy(s.features_ref if use_ref else s.features), use_ref)
        sp = torch.from_numpy(s.speech)
        pred.append(vad[sp].mean(0).numpy())
        true.append(np.array(s.utt.emotions[0].vad))
        labels_true.append(s.utt.emotions[0].label)
        labels_pred.append(LABELS[int(probs[sp].mean(0).argmax())])
        who.append(s.utt.speaker.name)
    pred, true = np.array(pred), np.array(true)
    per_speaker = {n: {} for n in DIMS}
    for name in sorted(set(who)):
        m = np.array([x == name for x in who])
        for j, n in enumerate(DIMS):
            per_speaker[n][name] = round(_spearman(true[m, j], pred[m, j]), 4)
    out = {
        "spearman_within_speaker_mean": {n: float(np.nanmean(list(v.values()))) for n, v in per_speaker.items()},
        "spearman_within_speaker": per_speaker,
        "spearman_pooled": {n: _spearman(true[:, j], pred[:, j]) for j, n in enumerate(DIMS)},
        "label_accuracy_utterance": float(np.mean([a == b for a, b in zip(labels_true, labels_pred, strict=True)])),
    }
    groups = {"neutral": "low", "sad": "low", "contempt": "low"}
    same = [groups.get(a, "high") == groups.get(b, "high") for a, b in zip(labels_true, labels_pred, strict=True)]
    out["arousal_group_accuracy_utterance"] = float(np.mean(same))
    confusion = np.zeros((len(LABELS), len(LABELS)), dtype=int)
    for a, b in zip(labels_true, labels_pred, strict=True):
        confusion[LABELS.index(a), LABELS.index(b)] += 1
    out["label_confusion"] = {"labels": list(LABELS), "rows_true_cols_pred": confusion.tolist()}

    diarizer = SpeechEmotionDiarizer(backend)  # change points: HMM + minimum duration + boundary refinement
    errors = []
    for s in pairs:
        backend.sample = s
        result = diarizer(s.waveform, SAMPLE_RATE, reference=s.reference if use_ref else None)
        truth = 0.5 * (s.spans[0][1] + s.spans[1][0])
        errors.append(min((abs(seg.start - truth) for seg in result.segments[1:]), default=math.inf))
    finite = [e for e in errors if math.isfinite(e)]
    out["change_point"] = {
        "pairs": len(pairs),
        "with_boundary": len(finite),
        "median_abs_error_s": float(np.median(finite)) if finite else None,
        "within_0.3s": float(np.mean([e <= 0.3 for e in errors])) if errors else None,
    }
    return out


def gain_shift(model: ProsodyEmotionHead, gained: dict[str, list[tuple[Sample, Sample]]]) -> dict[str, float]:
    """Mean arousal change (reference-free head) when the same clips are recorded 6 dB quieter / louder."""
    out = {}
    for key, couples in gained.items():
        delta = []
        for base, moved in couples:
            a = [model(torch.from_numpy(s.features))[0][torch.from_numpy(s.speech)].mean(0)[1] for s in (base, moved)]
            delta.append(float(a[1] - a[0]))
        out[key] = float(np.mean(delta))
    return out


def evaluate_all(model: ProsodyEmotionHead, held_out: dict, gained: dict) -> dict:
    """``{family: {condition: {"no_reference" | "with_reference": metrics}}}`` plus the gain sensitivity."""
    model = model.eval()
    out = {}
    with torch.no_grad():
        for family, conds in held_out.items():
            out[family] = {
                cond: {
                    head: evaluate(model, singles, pairs, use_ref=head == "with_reference")
                    for head in ("no_reference", "with_reference")
                }
                for cond, (singles, pairs) in conds.items()
            }
        out["arousal_shift_with_gain"] = gain_shift(model, gained)
    return out


def speed(model: ProsodyEmotionHead, pairs: list[Sample]) -> float:
    """Audio seconds per compute second of the full diarizer (prosody features included)."""
    diarizer = SpeechEmotionDiarizer(ProsodyEmotionBackend(model))
    t0, audio = time.perf_counter(), 0.0
    for s in pairs:
        diarizer(s.waveform, SAMPLE_RATE)
        audio += len(s.waveform) / SAMPLE_RATE
    return audio / max(time.perf_counter() - t0, 1e-9)


# ------------------------------------------------------------------------------------------------------ writing
def write_outputs(model: ProsodyEmotionHead, metrics: dict, out: Path) -> None:
    """Write the model and metrics.json to ``out``: all files complete in a temporary folder, then renamed in."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".calibrate-", dir=out))
    try:
        ProsodyEmotionBackend(model).save_pretrained(tmp)
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        for f in sorted(tmp.iterdir()):
            os.chmod(f, 0o644)
            os.replace(f, out / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_before(path: Path | None) -> ProsodyEmotionHead | None:
    if path is None or not (path / "config.json").is_file():
        return None
    try:
        return ProsodyEmotionBackend.from_pretrained(path).model
    except ValueError as err:  # made for other features: cannot be compared on these
        logger.warning("Not comparing with %s: %s", path, err)
        return None


def _headline(m: dict) -> list[float]:
    """Within-speaker Spearman A, V, D, label accuracy, share of change points within 0.3 s."""
    rho = m["spearman_within_speaker_mean"]
    return [rho["arousal"], rho["valence"], rho["dominance"], m["label_accuracy_utterance"]] + [
        m["change_point"]["within_0.3s"]
    ]


def summary_table(metrics: dict) -> str:
    """Plain-text before → after table of the main numbers."""
    rows = ["family     condition head   | A rho         V rho         D rho         label acc     cp<=0.3s"]
    after, before = metrics["held_out"], metrics.get("before", {})
    for family, conds in after.items():
        if family == "arousal_shift_with_gain":
            continue
        for cond, heads in conds.items():
            for head, m in heads.items():
                b = before.get(family, {}).get(cond, {}).get(head)
                new = _headline(m)
                old = _headline(b) if b else [None] * len(new)
                cells = [f"{x:.2f}" if o is None else f"{o:.2f} -> {x:.2f}" for o, x in zip(old, new, strict=True)]
                rows.append(f"{family:10s} {cond:9s} {head[:6]:6s} | " + "  ".join(f"{c:12s}" for c in cells))
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path.home() / ".cache" / "emogen" / "diarizer")
    parser.add_argument("--before", type=Path, default=None, help="model to compare with (default: shipped weights)")
    parser.add_argument("--quick", action="store_true", help="small corpus (smoke test)")
    parser.add_argument("--window", type=float, default=1.0, help="feature window in seconds")
    parser.add_argument("--ridge-alpha", type=float, default=10.0)
    parser.add_argument("--logistic-c", type=float, default=0.1)
    parser.add_argument("--recorded-share", type=float, default=0.2, help="training share added as recorded")
    args = parser.parse_args(argv)
    if not 0.0 <= args.recorded_share <= 1.0:
        raise ValueError(f"--recorded-share must be in [0, 1], got {args.recorded_share!r}.")
    if not 0.1 <= args.window <= 10:
        raise ValueError(f"--window must be in [0.1, 10] seconds, got {args.window!r}.")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("emogen").setLevel(logging.ERROR)  # the TTS warns about clipping-free headroom etc.
    torch.manual_seed(0)
    torch.set_num_threads(1)
    from emogen.diarize.backends import default_weights_dir

    t0 = time.time()
    before_dir = default_weights_dir() if args.before is None else args.before
    before = load_before(before_dir)  # read before anything is written

    # 1. Speakers and corpus
    corpus = build_corpus(args.quick, args.window, args.recorded_share)
    train, held_out, gained = corpus.train, corpus.held_out, corpus.gained

    # 2. Fit both heads
    model = ProsodyEmotionHead(window_s=args.window)
    model.head.set_tensors(**fit(train, args.ridge_alpha, args.logistic_c))
    ref_head = fit(train, args.ridge_alpha, args.logistic_c, use_ref=True, drop=ABSOLUTE_FEATURES)
    model.reference_head.set_tensors(**ref_head)

    # 3. Evaluate after and before on the same held-out set
    metrics = {"held_out": evaluate_all(model, held_out, gained)}
    if before is not None:
        metrics["before"] = evaluate_all(before, held_out, gained)
    metrics["speed_audio_seconds_per_compute_second"] = speed(model, held_out["espeak-ng"]["clean"][1][:6])
    train_audio = sum(len(s.waveform) for s in train) / SAMPLE_RATE
    metrics["calibration"] = {
        "train_speakers": [s.name for s in corpus.train_speakers],
        "test_speakers": [s.name for s in corpus.test_speakers],
        "simulated_speakers": "hibari voice 'heart' pitch-shifted by the semitones in the name (not real speakers)",
        "train_utterances_clean": len(train) - corpus.num_recorded,
        "train_utterances_recorded": corpus.num_recorded,
        "train_audio_seconds": round(train_audio, 1),
        "held_out_counts": {
            f: {"singles": len(c["clean"][0]), "pairs": len(c["clean"][1])} for f, c in held_out.items()
        },
        "recorded_share": args.recorded_share,
        "recorded_train_set_ups": {"draw": TRAIN_CHAIN, "seed": 3},
        "set_up_ranges": " ".join(RecordingChain.draw.__doc__.split(";")[0].split()),
        "recorded_eval_set_ups": {"draw": EVAL_CHAIN, "seed": 4},
        "before": (
            f"{'the shipped weights' if args.before is None else before_dir} (on this version's features)"
            if before is not None
            else None
        ),
        "ridge_alpha": args.ridge_alpha,
        "logistic_c": args.logistic_c,
        "window_s": args.window,
        "vad_weights_by_feature": {
            n: [round(float(w), 4) for w in model.head.vad_weight[:, i]] for i, n in enumerate(FEATURE_NAMES)
        },
        "reference_head_vad_weights_by_feature": {
            n: [round(float(w), 4) for w in ref_head["vad_weight"][:, i]] for i, n in enumerate(FEATURE_NAMES)
        },
        "corpus_seconds": round(corpus.seconds, 1),
    }

    # 4. Write
    write_outputs(model, metrics, args.out)
    logger.info("wrote %s\n%s", args.out, summary_table(metrics))
    logger.info("arousal shift with gain: %s", metrics["held_out"]["arousal_shift_with_gain"])
    logger.info("done in %.0f s", time.time() - t0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
