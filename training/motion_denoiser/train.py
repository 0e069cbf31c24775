"""Train the MotionDenoiser (and its EmotionEncoder) on the synthetic corpus of ``make_corpus.py``.

Runs on CPU or GPUs through ``accelerate``::

    accelerate launch training/motion_denoiser/train.py --corpus ~/.cache/emogen/motion_corpus --minutes 25
    python training/motion_denoiser/train.py --corpus ... --steps 200          # same thing, one process

Objective: the denoiser predicts the clean normalised motion ``x0`` (scheduler ``prediction_type="sample"``) from
``x_t``; loss = masked MSE on ``x0`` (jaw and mouth channels weighted ``--lip-weight``) + ``--velocity-weight`` ×
MSE on frame-to-frame differences. Conditions are dropped independently for classifier-free guidance: audio with
``--audio-dropout`` (→ the learned null audio embedding), emotion with ``--emotion-dropout`` (→ the encoder's
learned null conditioning). Half of the clips get a known prefix of 1–25 frames (the continuity channel used by
windowed sampling). AdamW, cosine learning-rate decay, optional EMA of the weights (diffusers ``EMAModel``).

Validation on held-out sentences: the loss at fixed timesteps and noise, and lip sync — motion sampled with DDIM
(10 steps) for the validation clips, Pearson correlation of the predicted ``jawOpen`` with the teacher's and with the
audio envelope (log-mel energy), next to the same numbers without audio (no audio in any guidance pass) as a baseline;
a figure ``lipsync.png``. Emotion: correlation across clips of the clip-mean expression channels (smile, frown, brows,
eyes, nose) between prediction and teacher.

Outputs (written atomically):

* in ``--out`` (default ``weights/talking_head``, the shipped ``EmoTalkingHeadPipeline`` folder, diffusers layout):
  ``motion_denoiser/`` (``config.json`` + ``diffusion_pytorch_model.safetensors``, the corpus normalisation statistics
  as buffers), ``emotion_encoder/``, ``scheduler/scheduler_config.json``; ``tts/config.json`` and ``model_index.json``
  are written when missing, so the folder loads with ``EmoTalkingHeadPipeline.from_pretrained(out)``;
* in ``--card-dir`` (default ``weights/motion_denoiser``): ``metrics.json`` and the
  model card ``README.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open

logger = logging.getLogger("train_motion")

FPS = 25.0
EXPRESSION_CHANNELS = (
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "browInnerUp",
    "browDownLeft",
    "browDownRight",
    "eyeWideLeft",
    "eyeWideRight",
    "noseSneerLeft",
    "cheekSquintLeft",
    "mouthStretchLeft",
)


# ------------------------------------------------------------------------------------------------------------ data
class Clip:
    """One corpus clip (views into a shard's tensors)."""

    def __init__(self, mel, motion, vad, probs, intensity, velocity, meta):
        self.mel, self.motion, self.vad, self.probs = mel, motion, vad, probs
        self.intensity, self.velocity, self.meta = intensity, velocity, meta

    @property
    def frames(self) -> int:
        return self.motion.shape[0]

    def emotion(self, start: int, stop: int):
        from emogen.emotion import EmotionTrack

        return EmotionTrack(
            vad=self.vad[start:stop],
            probs=self.probs[start:stop],
            intensity=self.intensity[start:stop],
            fps=FPS,
            velocity=self.velocity[start:stop],
        )

    def audio(self, start: int, stop: int) -> torch.Tensor:
        """Frame-aligned audio features `(stop - start, 160)` for frames ``[start, stop)``."""
        from emogen.models.motion_sampling import frame_audio_features

        mel = self.mel[2 * start : 2 * stop + 1].float()
        if mel.shape[0] < 2 * (stop - start):  # pad the tail by holding the last frame
            mel = torch.cat([mel, mel[-1:].expand(2 * (stop - start) - mel.shape[0], -1)])
        return frame_audio_features(mel, num_frames=stop - start)


def load_corpus(folder: Path, split: str) -> list[Clip]:
    files = sorted(folder.glob(f"{split}-*.safetensors"))
    if not files:
        raise FileNotFoundError(f"No {split}-*.safetensors shards in {folder}; run make_corpus.py first.")
    clips = []
    for path in files:
        with safe_open(str(path), "pt") as f:
            t = {k: f.get_tensor(k) for k in f.keys()}
            metas = json.loads(f.metadata()["clips"])
        mo, fo = t["mel_offsets"].tolist(), t["frame_offsets"].tolist()
        for i, meta in enumerate(metas):
            a, b = fo[i], fo[i + 1]
            clips.append(
                Clip(
                    t["mel"][mo[i] : mo[i + 1]],
                    t["motion"][a:b],
                    t["vad"][a:b],
                    t["probs"][a:b],
                    t["intensity"][a:b],
                    t["velocity"][a:b],
                    meta,
                )
            )
    return clips


class CropDataset(torch.utils.data.Dataset):
    """Random crops of at most ``frames`` frames (whole clips when shorter)."""

    def __init__(self, clips: list[Clip], frames: int, random_crop: bool = True):
        self.clips, self.frames, self.random_crop = clips, frames, random_crop

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> dict:
        clip = self.clips[i]
        n = min(self.frames, clip.frames)
        start = int(torch.randint(0, clip.frames - n + 1, ())) if self.random_crop else 0
        return {
            "motion": clip.motion[start : start + n],
            "audio": clip.audio(start, start + n),
            "emotion": clip.emotion(start, start + n),
        }


def collate(items: list[dict]) -> dict:
    n = max(it["motion"].shape[0] for it in items)
    b = len(items)
    motion = torch.zeros(b, n, items[0]["motion"].shape[1])
    audio = torch.zeros(b, n, items[0]["audio"].shape[1])
    mask = torch.zeros(b, n, dtype=torch.bool)
    for i, it in enumerate(items):
        k = it["motion"].shape[0]
        motion[i, :k], audio[i, :k], mask[i, :k] = it["motion"], it["audio"], True
        motion[i, k:], audio[i, k:] = it["motion"][-1], it["audio"][-1]
    return {"motion": motion, "audio": audio, "frame_mask": mask, "emotion": [it["emotion"] for it in items]}


# ---------------------------------------------------------------------------------------------------------- model
def build(args, clips: list[Clip]):
    from emogen.arkit import ARKIT_BLENDSHAPES
    from emogen.controls.encoder import EmotionEncoder
    from emogen.models import MotionDenoiser, motion_scheduler

    encoder = EmotionEncoder(embed_dim=args.emotion_dim, hidden_dim=2 * args.emotion_dim)
    model = MotionDenoiser(
        emotion_embed_dim=args.emotion_dim,
        hidden_dim=args.hidden_dim,
        num_layers=args.layers,
        num_heads=args.heads,
        attention_window=args.attention_window,
        dropout=args.dropout,
    )
    motion = torch.cat([c.motion for c in clips])
    mel = torch.cat([c.mel.float() for c in clips])
    model.set_normalization(
        motion.mean(0), motion.std(0), mel.mean(0).repeat(2), mel.std(0).repeat(2), min_std=args.min_std
    )
    scheduler = motion_scheduler()
    weights = torch.ones(model.config.motion_channels)
    for i, name in enumerate(ARKIT_BLENDSHAPES):
        if name.startswith(("jaw", "mouth")):
            weights[i] = args.lip_weight
    return model, encoder, scheduler, weights


def conditioning(encoder, core_encoder, tracks, frames: int, drop: torch.Tensor | None):
    cond = encoder(tracks, num_frames=frames, fps=FPS)
    if drop is None or not bool(drop.any()):
        return cond
    null = core_encoder.null_conditioning(len(tracks), frames, FPS)
    d = drop.to(cond.embeds.device)
    from emogen.emotion import EmotionConditioning

    return EmotionConditioning(
        embeds=torch.where(d[:, None, None], null.embeds.to(cond.embeds.dtype), cond.embeds),
        pooled=torch.where(d[:, None], null.pooled.to(cond.pooled.dtype), cond.pooled),
        mask=cond.mask | d[:, None],
        fps=FPS,
    )


def diffusion_loss(
    model, encoder, scheduler, batch, weights, args, generator=None, timesteps=None, train=True, core=None
):
    """Loss of one batch. ``model``/``encoder`` are what to call (possibly DDP-wrapped); ``core`` = the unwrapped
    ``(model, encoder)`` for their helper methods (defaults to the same objects)."""
    core_model, core_encoder = core if core is not None else (model, encoder)
    device = batch["motion"].device
    b, n, _ = batch["motion"].shape
    x0 = core_model.normalize_motion(batch["motion"])
    noise = torch.randn(x0.shape, generator=generator).to(device) if generator is not None else torch.randn_like(x0)
    if timesteps is None:
        timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (b,), device=device)
    xt = scheduler.add_noise(x0, noise, timesteps)
    drop_audio = drop_emotion = None
    prefix_mask = None
    if train:
        drop_audio = torch.rand(b, device=device) < args.audio_dropout
        drop_emotion = torch.rand(b, device=device) < args.emotion_dropout
        known = torch.randint(1, 26, (b, 1), device=device)
        use = torch.rand(b, 1, device=device) < args.prefix_probability
        prefix_mask = ((torch.arange(n, device=device)[None] < known) & use).float()
    cond = conditioning(encoder, core_encoder, batch["emotion"], n, drop_emotion)
    pred = model(
        xt,
        timesteps,
        audio_features=batch["audio"],
        emotion_embeds=cond.embeds,
        emotion_pooled=cond.pooled,
        emotion_mask=cond.mask,
        audio_mask=None if drop_audio is None else ~drop_audio,
        prefix=x0 if prefix_mask is not None else None,
        prefix_mask=prefix_mask,
        frame_mask=batch["frame_mask"],
    ).sample.float()
    m = batch["frame_mask"].float().unsqueeze(-1)
    w = weights.to(device)
    mse = (((pred - x0) ** 2) * w * m).sum() / (m.sum() * w.sum())
    mv = m[:, 1:] * m[:, :-1]
    vel = ((((pred[:, 1:] - pred[:, :-1]) - (x0[:, 1:] - x0[:, :-1])) ** 2) * w * mv).sum() / (mv.sum() * w.sum())
    return mse + args.velocity_weight * vel, mse, vel


# ----------------------------------------------------------------------------------------------------- validation
def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = math.sqrt(float((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 1e-12 else 0.0


@torch.no_grad()
def validate(model, encoder, scheduler, clips, weights, args, device, figure: Path | None = None) -> dict:
    from emogen.arkit import ARKIT_INDEX
    from emogen.models.motion_sampling import sample_motion

    model.eval()
    encoder.eval()
    # 1. loss at fixed timesteps and noise
    losses = []
    g = torch.Generator(device="cpu").manual_seed(1234)
    ds = CropDataset(clips, args.clip_frames, random_crop=False)
    for start in range(0, len(ds), args.batch_size):
        batch = collate([ds[i] for i in range(start, min(len(ds), start + args.batch_size))])
        batch = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}
        for t in (50, 200, 400, 600, 800):
            ts = torch.full((batch["motion"].shape[0],), t, device=device)
            noise_gen = torch.Generator(device="cpu").manual_seed(int(torch.randint(1 << 30, (), generator=g)))
            _, mse, _ = diffusion_loss(model, encoder, scheduler, batch, weights, args, noise_gen, ts, train=False)
            losses.append(float(mse))
    out = {"val_loss": float(np.mean(losses))}

    # 2. lip sync and emotion on sampled motion
    jaw = ARKIT_INDEX["jawOpen"]
    expr_idx = [ARKIT_INDEX[n] for n in EXPRESSION_CHANNELS]
    sync_clips = clips[: args.sync_clips]
    results = {"audio": [], "no_audio": []}
    curves = []
    for j, clip in enumerate(sync_clips):
        n = clip.frames
        audio = clip.audio(0, n)[None].to(device)
        cond = encoder([clip.emotion(0, n)], num_frames=n, fps=FPS)
        null = encoder.null_conditioning(1, n, FPS)
        env = audio[0].mean(-1).cpu().numpy()  # log-mel energy per frame
        teacher = clip.motion.numpy()
        for key, s_a in (("audio", args.audio_guidance), ("no_audio", 0.0)):
            x = sample_motion(  # the baseline gets no audio at all (every guidance pass without it)
                model,
                scheduler,
                n,
                audio_features=audio if s_a > 0 else None,
                emotion=cond,
                null_emotion=null,
                num_inference_steps=10,
                audio_guidance_scale=s_a,
                emotion_guidance_scale=args.emotion_guidance,
                generator=torch.Generator(device="cpu").manual_seed(j),
                progress=False,
            )
            pred = model.denormalize_motion(x)[0].cpu().numpy()
            results[key].append(
                {
                    "jaw_teacher": pearson(pred[:, jaw], teacher[:, jaw]),
                    "jaw_envelope": pearson(pred[:, jaw], env),
                    "jaw_mae": float(np.abs(pred[:, jaw] - teacher[:, jaw]).mean()),
                    "jaw_std_ratio": float(pred[:, jaw].std() / max(teacher[:, jaw].std(), 1e-6)),
                    "expr_pred": pred[:, expr_idx].mean(0),
                    "expr_teacher": teacher[:, expr_idx].mean(0),
                }
            )
            if key == "audio" and j < 3:
                curves.append((clip.meta, teacher[:, jaw], pred[:, jaw], env))
    teacher_env = [pearson(c.motion[:, jaw].numpy(), c.audio(0, c.frames).mean(-1).numpy()) for c in sync_clips]
    for key, rows in results.items():
        out[f"jaw_corr_teacher_{key}"] = float(np.mean([r["jaw_teacher"] for r in rows]))
        out[f"jaw_corr_envelope_{key}"] = float(np.mean([r["jaw_envelope"] for r in rows]))
        out[f"jaw_mae_{key}"] = float(np.mean([r["jaw_mae"] for r in rows]))
        out[f"jaw_std_ratio_{key}"] = float(np.mean([r["jaw_std_ratio"] for r in rows]))
        ep = np.stack([r["expr_pred"] for r in rows]).ravel()
        et = np.stack([r["expr_teacher"] for r in rows]).ravel()
        out[f"expression_corr_{key}"] = pearson(ep, et)
    out["jaw_corr_envelope_teacher"] = float(np.mean(teacher_env))

    if figure is not None and curves:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(len(curves) + 1, 1, figsize=(11, 2.6 * (len(curves) + 1)))
        for ax, (meta, tj, pj, env) in zip(axes, curves, strict=False):
            t = np.arange(len(tj)) / FPS
            ax.plot(t, tj, label="teacher jawOpen", lw=1.5)
            ax.plot(t, pj, label="predicted jawOpen", lw=1.5)
            e = (env - env.min()) / (env.max() - env.min() + 1e-9) * max(tj.max(), 0.1)
            ax.plot(t, e, label="audio envelope (scaled)", lw=0.8, color="gray", alpha=0.7)
            ax.set_title(f"{' / '.join(meta['emotions'])} — {meta['voice']}: {meta['texts'][0][:70]}", fontsize=8)
            ax.set_xlabel("s")
            ax.legend(fontsize=7, loc="upper right")
        ax = axes[-1]
        labels = ["pred vs teacher", "pred vs envelope"]
        with_audio = [out["jaw_corr_teacher_audio"], out["jaw_corr_envelope_audio"]]
        without = [out["jaw_corr_teacher_no_audio"], out["jaw_corr_envelope_no_audio"]]
        x = np.arange(2)
        ax.bar(x - 0.2, with_audio, 0.4, label=f"with audio (s_a={args.audio_guidance})")
        ax.bar(x + 0.2, without, 0.4, label="without audio")
        ax.axhline(out["jaw_corr_envelope_teacher"], color="k", ls="--", lw=0.8, label="teacher vs envelope")
        ax.set_xticks(x, labels)
        ax.set_ylabel("Pearson r (jawOpen), held-out")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(figure, dpi=90)
        plt.close(fig)
    model.train()
    encoder.train()
    return out


# ----------------------------------------------------------------------------------------------------------- save
#: model_index.json of the pipeline folder (module paths are part of the saved format, see DESIGN §1).
MODEL_INDEX = {
    "_class_name": "EmoTalkingHeadPipeline",
    "emotion_encoder": ["emogen.controls.encoder", "EmotionEncoder"],
    "motion_denoiser": ["emogen.models.motion_denoiser", "MotionDenoiser"],
    "scheduler": ["diffusers", "DDIMScheduler"],
    "tts": ["emogen.speech.engine", "HibariTTS"],
}


def save_all(model, encoder, scheduler, out: Path, metrics: dict, args) -> None:
    """Write the pipeline folder ``out`` and ``metrics.json`` in ``args.card_dir`` via temp folders (never
    half-written)."""
    import diffusers

    from emogen.speech.engine import HibariTTS

    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=".talking_head_tmp"))
    try:
        model.save_pretrained(tmp / "motion_denoiser")
        encoder.save_pretrained(tmp / "emotion_encoder")
        scheduler.save_pretrained(tmp / "scheduler")
        if not (out / "tts" / "config.json").exists():
            HibariTTS().save_pretrained(tmp / "tts")
        if not (out / "model_index.json").exists():
            index = {"_class_name": MODEL_INDEX["_class_name"], "_diffusers_version": diffusers.__version__}
            index.update({k: v for k, v in MODEL_INDEX.items() if k != "_class_name"})
            (tmp / "model_index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
        for sub in ("motion_denoiser", "emotion_encoder", "scheduler", "tts"):
            if not (tmp / sub).is_dir():
                continue
            (out / sub).mkdir(exist_ok=True)
            for f in (tmp / sub).iterdir():
                os.chmod(f, 0o644)
                os.replace(f, out / sub / f.name)
        for f in tmp.iterdir():
            if f.is_file():
                os.chmod(f, 0o644)
                os.replace(f, out / f.name)
        args.card_dir.mkdir(parents=True, exist_ok=True)
        metrics_tmp = args.card_dir / ".metrics.json.tmp"
        metrics_tmp.write_text(json.dumps(metrics, indent=2))
        os.replace(metrics_tmp, args.card_dir / "metrics.json")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_model_card(out: Path, metrics: dict, args, n_train: int, n_val: int, params: int, enc_params: int) -> None:
    last = metrics["history"][-1] if metrics["history"] else {}
    nan = float("nan")
    rows = [
        f"| metric | with audio (s_a={args.audio_guidance}, s_e={args.emotion_guidance}) | without audio |",
        "|---|---|---|",
    ]
    for title, key in (
        ("jawOpen Pearson r vs teacher", "jaw_corr_teacher"),
        ("jawOpen Pearson r vs audio envelope", "jaw_corr_envelope"),
        ("jawOpen mean abs error vs teacher", "jaw_mae"),
        ("jawOpen std / teacher's std (movement amplitude)", "jaw_std_ratio"),
        ("clip-mean expression r vs teacher (12 channels)", "expression_corr"),
    ):
        rows.append(f"| {title} | {last.get(key + '_audio', nan):.3f} | {last.get(key + '_no_audio', nan):.3f} |")
    table = "\n".join(rows)
    card = f"""# emogen motion denoiser (small, CPU-trained)

A `MotionDenoiser` (`emogen.models.motion_denoiser`): a {args.layers}-layer, width-{args.hidden_dim} diffusion
transformer over 25 fps frames ({params / 1e6:.2f} M parameters) that turns 16 kHz log-mel audio and an
`EmotionConditioning` into ARKit-52 blendshapes + head rotation/translation + gaze. It predicts the clean sample
(`prediction_type="sample"`); sample it with the DDIM scheduler in `../talking_head/scheduler/` (10–25 steps) through
`emogen.models.sample_motion`, with two guidance scales (audio → lip sync, emotion → intensity). The emotion encoder
it was trained with (`emogen.controls.EmotionEncoder`, {enc_params / 1e3:.0f} k parameters) is in
`../talking_head/emotion_encoder/`.

**Where the files are.** The weights ship as the diffusers pipeline folder `weights/talking_head/`
(`model_index.json`, `motion_denoiser/`, `emotion_encoder/`, `scheduler/`, `tts/`): load them with
`EmoTalkingHeadPipeline.from_pretrained()` (no path: the shipped folder, offline). The scripts that made them
are in `training/motion_denoiser/` (`make_corpus.py`, `train.py`, `eval_guidance.py`, `eval_voices.py`); this folder
keeps this card, `metrics.json` and `guidance.json`; the lip-sync figure is `docs/figures/motion_denoiser_lipsync.png`.

## Data: synthetic, generated by this repo

`make_corpus.py`: {n_train} training clips and {n_val} validation clips. Each clip is 1–2 English sentences (EmoBank
texts, Buechel & Hahn 2017, CC-BY-SA 4.0; validation clips use EmoBank's `dev` sentences, never seen in training)
spoken by the neural voice (hibari-tts, half the clips) or one of 39 espeak-ng voice variants, speed 0.85–1.2, one
emotion per sentence (a label at intensity 0.3–1 or a random VAD point), with pitch (±2 semitones), room
reverberation, band-limited channel, gain (±6 dB) and noise (SNR 15–40 dB) augmentation on the training audio.
Targets come from the rule-based teacher (`emogen.motion.teacher.teacher_motion`: visemes with coarticulation, each
syllable scaled by its loudness in the clean speech, the control layer's EMFACS expression prior with speech owning
the jaw, stochastic blinks, head drift and nods, gaze fixations). **No human motion capture and no human speech**:
the model can only be as good as the teacher and generalises to natural voices only as far as the two synthetic
voices + the augmentation cover them.

## Training

`accelerate launch training/motion_denoiser/train.py` (CPU here: 2 shared cores, {metrics.get("minutes", 0):.0f} min,
{metrics.get("steps", 0)} steps, batch {args.batch_size} crops of ≤ {args.clip_frames} frames). AdamW (lr {args.lr},
weight decay {args.weight_decay}), cosine decay, EMA {args.ema_decay if args.ema_decay > 0 else "off"}. Loss: MSE on
the normalised clean motion (jaw/mouth channels ×{args.lip_weight}) + {args.velocity_weight} × MSE on frame
differences.
Independent condition dropout for classifier-free guidance: audio {args.audio_dropout}, emotion {args.emotion_dropout};
known-prefix conditioning on {args.prefix_probability:.0%} of the crops (for windowed sampling of long audio).

## Validation (held-out sentences, {metrics.get("sync_clips", 0)} clips, DDIM 10 steps, seed = clip index)

{table}

Validation loss (normalised x0 MSE, timesteps 50/200/400/600/800): {last.get("val_loss", float("nan")):.4f}.
Reference: the teacher's own jawOpen vs envelope r = {last.get("jaw_corr_envelope_teacher", float("nan")):.3f}.

![lip sync](../../docs/figures/motion_denoiser_lipsync.png)

`metrics.json` holds the whole validation history.

## Limits

Small and trained for minutes on CPU: lips follow the audio, but the motion is smoother and less detailed than the
teacher; head motion and gaze are stochastic by design (the teacher's are random), so they correlate with nothing.
Retrain bigger on a GPU with the same two commands (`make_corpus.py --train 20000`, `train.py --hidden-dim 256
--layers 8`).
"""
    (out / "README.md").write_text(card)


# ----------------------------------------------------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Train the emogen MotionDenoiser on the synthetic corpus.")
    p.add_argument("--corpus", type=Path, default=Path.home() / ".cache" / "emogen" / "motion_corpus")
    root = Path(__file__).resolve().parents[2]
    p.add_argument(
        "--out",
        type=Path,
        default=root / "weights" / "talking_head",
        help="pipeline folder (default weights/talking_head)",
    )
    p.add_argument(
        "--card-dir",
        type=Path,
        default=root / "weights" / "motion_denoiser",
        help="metrics.json and README.md (default weights/motion_denoiser)",
    )
    p.add_argument(
        "--figure",
        type=Path,
        default=root / "docs" / "figures" / "motion_denoiser_lipsync.png",
        help="the lip-sync figure of the model card",
    )
    p.add_argument("--steps", type=int, default=100_000, help="upper bound on optimisation steps")
    p.add_argument("--minutes", type=float, default=25.0, help="stop after this much wall time")
    p.add_argument("--batch-size", type=int, default=24)
    p.add_argument("--clip-frames", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--hidden-dim", type=int, default=128)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--emotion-dim", type=int, default=64)
    p.add_argument("--attention-window", type=int, default=None)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--min-std", type=float, default=0.02)
    p.add_argument("--lip-weight", type=float, default=2.0)
    p.add_argument("--velocity-weight", type=float, default=1.0)
    p.add_argument("--audio-dropout", type=float, default=0.15)
    p.add_argument("--emotion-dropout", type=float, default=0.15)
    p.add_argument("--prefix-probability", type=float, default=0.5)
    p.add_argument("--ema-decay", type=float, default=0.999)
    p.add_argument("--val-every", type=int, default=500)
    p.add_argument("--sync-clips", type=int, default=24)
    p.add_argument("--audio-guidance", type=float, default=2.0)
    p.add_argument("--emotion-guidance", type=float, default=1.5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads on CPU (0 = torch default)")
    p.add_argument("--mixed-precision", default="no", choices=("no", "fp16", "bf16"))
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from accelerate import Accelerator, DistributedDataParallelKwargs
    from accelerate.utils import set_seed
    from diffusers.training_utils import EMAModel

    if args.threads:
        torch.set_num_threads(args.threads)
    # some parameters (null embeddings) get no gradient in batches without dropout
    accelerator = Accelerator(
        mixed_precision=args.mixed_precision,
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
    )
    set_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    args.card_dir.mkdir(parents=True, exist_ok=True)
    train_clips = load_corpus(args.corpus, "train")
    val_clips = load_corpus(args.corpus, "val")
    args.sync_clips = min(args.sync_clips, len(val_clips))
    model, encoder, scheduler, weights = build(args, train_clips)
    params = sum(p.numel() for p in model.parameters())
    enc_params = sum(p.numel() for p in encoder.parameters())
    logger.info(
        "train %d clips, val %d; denoiser %.2f M params, encoder %.0f k",
        len(train_clips),
        len(val_clips),
        params / 1e6,
        enc_params / 1e3,
    )

    loader = torch.utils.data.DataLoader(
        CropDataset(train_clips, args.clip_frames),
        batch_size=args.batch_size,
        shuffle=True,
        collate_fn=collate,
        drop_last=True,
    )
    optimizer = torch.optim.AdamW(
        list(model.parameters()) + list(encoder.parameters()), lr=args.lr, weight_decay=args.weight_decay
    )
    # Steps are bounded by wall time too: the cosine decay spans a step count re-estimated after 50 steps.
    plan = {"total": args.steps}

    def lr_lambda(s: int) -> float:
        if s < args.warmup:
            return (s + 1) / args.warmup
        progress = min(1.0, (s - args.warmup) / max(1, plan["total"] - args.warmup))
        return 0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * progress))

    lr_sched = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
    model, encoder, optimizer, loader, lr_sched = accelerator.prepare(model, encoder, optimizer, loader, lr_sched)
    ema = None
    if args.ema_decay > 0:
        ema = EMAModel(
            list(accelerator.unwrap_model(model).parameters()) + list(accelerator.unwrap_model(encoder).parameters()),
            decay=args.ema_decay,
            use_ema_warmup=True,
            power=0.75,
        )
        ema.to(accelerator.device)

    history, step, t0 = [], 0, time.time()
    budget = args.minutes * 60
    running = []
    core = (accelerator.unwrap_model(model), accelerator.unwrap_model(encoder))
    done = False
    while not done:
        for batch in loader:
            with accelerator.accumulate(model):
                loss, mse, vel = diffusion_loss(model, encoder, scheduler, batch, weights, args, core=core)
                accelerator.backward(loss)
                accelerator.clip_grad_norm_(list(model.parameters()) + list(encoder.parameters()), 1.0)
                optimizer.step()
                lr_sched.step()
                optimizer.zero_grad()
            if ema is not None:
                ema.step(
                    list(accelerator.unwrap_model(model).parameters())
                    + list(accelerator.unwrap_model(encoder).parameters())
                )
            step += 1
            running.append(mse.item())
            elapsed = time.time() - t0
            if step == 50:  # re-plan the cosine schedule to the time budget (validation costs ~10 %)
                plan["total"] = min(args.steps, int(0.9 * budget / (elapsed / step)))
                logger.info("≈ %.2f s/step → %d steps in %.0f min", elapsed / step, plan["total"], args.minutes)
            if step % 50 == 0:
                logger.info(
                    "step %d  train mse %.4f  lr %.2e  %.0fs",
                    step,
                    np.mean(running[-50:]),
                    optimizer.param_groups[0]["lr"],
                    elapsed,
                )
            last = step >= plan["total"] or elapsed > budget
            if accelerator.is_main_process and (step % args.val_every == 0 or last):
                m_, e_ = accelerator.unwrap_model(model), accelerator.unwrap_model(encoder)
                params_list = list(m_.parameters()) + list(e_.parameters())
                if ema is not None:
                    ema.store(params_list)
                    ema.copy_to(params_list)
                metrics = validate(
                    m_,
                    e_,
                    scheduler,
                    val_clips,
                    weights,
                    args,
                    accelerator.device,
                    figure=args.figure if last else None,
                )
                metrics.update(step=step, train_mse=float(np.mean(running[-args.val_every :])), seconds=elapsed)
                history.append(metrics)
                logger.info("validation %s", json.dumps({k: round(v, 4) for k, v in metrics.items()}))
                summary = {
                    "history": history,
                    "steps": step,
                    "minutes": elapsed / 60,
                    "sync_clips": args.sync_clips,
                    "args": {k: str(v) for k, v in vars(args).items()},
                }
                save_all(m_, e_, scheduler, args.out, summary, args)
                if last:
                    write_model_card(
                        args.card_dir, summary, args, len(train_clips), len(val_clips), params, enc_params
                    )
                if ema is not None:
                    ema.restore(params_list)
            if last:
                done = True
                break
    accelerator.wait_for_everyone()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
