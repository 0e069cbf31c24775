"""Train an EmotionPromptAdapter for your own Stable Diffusion 1.x/2.x or SDXL backbone on images with VAD labels.

The backbone (a diffusers folder you have: ``unet/``, ``vae/``, ``text_encoder/``, ``tokenizer/``, ``scheduler/``, and
``text_encoder_2/`` + ``tokenizer_2/`` for SDXL) stays frozen; only the adapter learns, through the backbone's own
denoising loss, as in EmotiCrafter (Dang et al. 2025, arXiv:2501.05710)::

    accelerate launch training/emotion_adapter/train.py --pretrained_model path/to/sd15 \\
        --train_data_dir path/to/images --labels path/to/labels.csv --output_dir out/emotion_adapter
    python training/emotion_adapter/train.py ... --max_train_steps 2     # one process, CPU works

Data: an image folder and a CSV (header ``file,v,a[,d][,label][,prompt]``) or JSONL (one object per line with the
same keys): ``file`` relative to ``--train_data_dir``; ``v``, ``a``, ``d`` on the scale ``--vad_range`` (default -1,1;
e.g. ``1,9`` for SAM ratings), mapped linearly to [-1, 1] (a missing ``d`` is the scale's midpoint, i.e. 0 — most
image sets rate valence and arousal only); ``label`` (optional) one of emogen's labels or a synonym —
given, the label distribution is one-hot on it, otherwise the soft assignment of the VAD; ``prompt`` (optional,
default ``--default_prompt``) the caption the adapter starts from.

Loss: per sample, the MSE of the denoiser's prediction (ε, v or x₀, as the scheduler's ``prediction_type``) given the
adapter's prompt embeddings; weighted by ``w_i ∝ 1 / p(V_i, A_i)`` where ``p`` is a Gaussian kernel density of the
training set's (valence, arousal) with Scott's bandwidth — EmotiCrafter's remedy for datasets crowded near neutral —
normalised to mean 1 and clipped at ``--max_density_weight``.

Runs: ``accelerate`` (``--mixed_precision auto`` = bf16 on a GPU that supports it, fp32 otherwise; the frozen backbone
is cast to that precision, the adapter trains in fp32 under autocast). Batches, noise and timesteps come from
generators seeded by the step, so ``--resume_from_checkpoint latest`` continues exactly where a run stopped.
Checkpoints (``accelerator.save_state``) go to ``output_dir/checkpoint-<step>``; the adapter is written to
``output_dir/emotion_adapter`` (``EmotionPromptAdapter.from_pretrained`` loads it).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

logger = logging.getLogger("train_emotion_adapter")


# ------------------------------------------------------------------------------------------------------------ data
@dataclass(frozen=True)
class Sample:
    path: Path
    vad: tuple[float, float, float]
    label: str | None
    prompt: str


def read_labels(labels: Path, image_root: Path, vad_range: tuple[float, float], default_prompt: str) -> list[Sample]:
    """Rows of a CSV / JSONL label file as :class:`Sample` values (VAD mapped to [-1, 1]).

    Raises:
        ValueError: a missing column, an image that does not exist, a VAD value outside ``vad_range`` or an unknown
            label, naming the line.
    """
    from emogen.emotion import canonical_label

    labels, image_root = Path(labels), Path(image_root)
    if labels.suffix.lower() in (".jsonl", ".json"):
        rows = [json.loads(line) for line in labels.read_text(encoding="utf-8").splitlines() if line.strip()]
    elif labels.suffix.lower() == ".csv":
        with labels.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    else:
        raise ValueError(f"--labels must be a .csv or .jsonl file, got {labels}.")
    lo, hi = vad_range
    out = []
    for i, row in enumerate(rows, start=1):
        where = f"{labels.name} row {i}"
        missing = [k for k in ("file", "v", "a") if k not in row or row[k] in (None, "")]
        if missing:
            raise ValueError(f"{where}: missing {missing}; expected keys file, v, a[, d][, label][, prompt].")
        path = image_root / str(row["file"])
        if not path.is_file():
            raise ValueError(f"{where}: image {path} does not exist.")
        d = row.get("d")
        try:
            raw = [float(row["v"]), float(row["a"]), (lo + hi) / 2 if d in (None, "") else float(d)]
        except (TypeError, ValueError):
            raise ValueError(f"{where}: v, a, d must be numbers, got {[row.get(k) for k in 'vad']}.") from None
        if not all(lo - 1e-6 <= x <= hi + 1e-6 for x in raw):
            raise ValueError(f"{where}: VAD {raw} outside --vad_range {lo},{hi}.")
        vad = tuple(float(np.clip(2.0 * (x - lo) / (hi - lo) - 1.0, -1.0, 1.0)) for x in raw)
        label = row.get("label") or None
        if label is not None:
            try:
                label = canonical_label(str(label))
            except ValueError as e:
                raise ValueError(f"{where}: {e}") from None
        out.append(Sample(path, vad, label, str(row.get("prompt") or default_prompt)))
    if not out:
        raise ValueError(f"{labels} holds no samples.")
    return out


def density_weights(va: np.ndarray, bandwidth: float | None = None, max_weight: float = 10.0) -> np.ndarray:
    """Inverse kernel-density weights of points ``va`` `(N, 2)`: ``w_i ∝ 1 / p̂(va_i)``, mean 1, at most ``max_weight``.

    ``p̂`` is a Gaussian product-kernel density with Scott's rule per axis (``h_j = σ_j · N^(-1/6)``) unless a
    ``bandwidth`` (in VAD units) is given. Computed in chunks (memory linear in N).
    """
    if not max_weight >= 1.0:
        raise ValueError(f"max_weight must be >= 1 (the weights have mean 1), got {max_weight!r}.")
    x = torch.as_tensor(np.asarray(va, dtype=np.float64))
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"va must have shape (N, 2), got {tuple(x.shape)}.")
    n = x.shape[0]
    if bandwidth is None:
        std = x.std(0, unbiased=n > 1) if n > 1 else torch.zeros(x.shape[1], dtype=x.dtype)
        h = torch.where(std > 1e-6, std, torch.full_like(std, 0.1)) * n ** (-1.0 / 6.0)
    else:
        if not bandwidth > 0:
            raise ValueError(f"bandwidth must be positive, got {bandwidth!r}.")
        h = torch.full((x.shape[1],), float(bandwidth), dtype=x.dtype)
    density = torch.empty(n, dtype=x.dtype)
    for s in range(0, n, 4096):
        z = (x[s : s + 4096, None, :] - x[None, :, :]) / h
        density[s : s + 4096] = torch.exp(-0.5 * (z**2).sum(-1)).mean(1)
    w = 1.0 / density
    w = w / w.mean()
    if w.max() > max_weight:  # w' = min(c · w, cap) with mean 1: bisect on c ∈ [1, cap / min w]
        lo, hi = 1.0, max_weight / float(w.min())
        for _ in range(100):
            c = (lo + hi) / 2
            lo, hi = (c, hi) if (c * w).clamp(max=max_weight).mean() < 1.0 else (lo, c)
        w = (hi * w).clamp(max=max_weight)
    return w.numpy()


def load_image(path: Path, resolution: int, flip: bool) -> torch.Tensor:
    """An image resized (shorter side) and centre-cropped to ``resolution``², `(3, R, R)` in [-1, 1]."""
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        s = resolution / min(im.size)
        im = im.resize((max(resolution, round(im.width * s)), max(resolution, round(im.height * s))), Image.BICUBIC)
        left, top = (im.width - resolution) // 2, (im.height - resolution) // 2
        im = im.crop((left, top, left + resolution, top + resolution))
        arr = np.asarray(im, dtype=np.float32) / 127.5 - 1.0
    x = torch.from_numpy(arr).permute(2, 0, 1)
    return x.flip(-1) if flip else x


def batch_indices(n: int, micro_step: int, batch: int, world: int, rank: int, seed: int) -> list[int]:
    """This process's sample indices for a micro-step: consecutive slices of per-epoch permutations (seeded by the
    epoch), so every sample is seen once per epoch and a resumed run draws the same batches."""
    per_step = batch * world
    start = micro_step * per_step + rank * batch
    out = []
    for pos in range(start, start + batch):
        epoch, k = divmod(pos, n)
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 7919 + epoch))
        out.append(int(perm[k]))
    return out


# --------------------------------------------------------------------------------------------------------- backbone
class Backbone:
    """The frozen SD / SDXL parts: prompt encoding, latents, and the denoiser call."""

    def __init__(self, path: Path, device: torch.device, dtype: torch.dtype) -> None:
        from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
        from transformers import AutoTokenizer, CLIPTextModel, CLIPTextModelWithProjection

        path = Path(path)
        self.unet = UNet2DConditionModel.from_pretrained(path, subfolder="unet", torch_dtype=dtype)
        self.vae = AutoencoderKL.from_pretrained(path, subfolder="vae", torch_dtype=dtype)
        self.scheduler = DDPMScheduler.from_pretrained(path, subfolder="scheduler")
        self.tokenizers = [AutoTokenizer.from_pretrained(path, subfolder="tokenizer")]
        self.encoders = [CLIPTextModel.from_pretrained(path, subfolder="text_encoder", dtype=dtype)]
        self.xl = (path / "text_encoder_2").is_dir()
        if self.xl:
            self.tokenizers.append(AutoTokenizer.from_pretrained(path, subfolder="tokenizer_2"))
            self.encoders.append(
                CLIPTextModelWithProjection.from_pretrained(path, subfolder="text_encoder_2", dtype=dtype)
            )
        for m in (self.unet, self.vae, *self.encoders):
            m.requires_grad_(False).eval().to(device)
        self.device, self.dtype = device, dtype
        self.embed_dim = sum(e.config.hidden_size for e in self.encoders)

    @torch.no_grad()
    def encode_prompts(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(prompt_embeds (B, L, D), pooled (B, P) for SDXL else None)``, as the diffusers pipelines build them."""
        states, pooled = [], None
        for tok, enc in zip(self.tokenizers, self.encoders, strict=True):
            ids = tok(prompts, padding="max_length", max_length=tok.model_max_length, truncation=True,
                      return_tensors="pt").input_ids.to(self.device)  # fmt: skip
            out = enc(ids, output_hidden_states=True)
            if self.xl:  # SDXL: penultimate hidden states of both encoders; pooled from the second
                states.append(out.hidden_states[-2])
                pooled = out[0]
            else:
                states.append(out[0])
        return torch.cat(states, dim=-1), pooled

    @torch.no_grad()
    def latents(self, pixels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        dist = self.vae.encode(pixels.to(self.device, self.dtype)).latent_dist
        noise = torch.randn(dist.mean.shape, generator=generator).to(self.device, dist.mean.dtype)
        z = dist.mean + dist.std * noise
        shift = getattr(self.vae.config, "shift_factor", None) or 0.0
        return (z - shift) * self.vae.config.scaling_factor

    def added_conditions(self, pooled: torch.Tensor | None, resolution: int) -> dict | None:
        if not self.xl:
            return None
        ids = torch.tensor([[resolution, resolution, 0, 0, resolution, resolution]], device=self.device)
        return {"text_embeds": pooled, "time_ids": ids.to(pooled.dtype).expand(pooled.shape[0], -1)}


def training_loss(adapter, backbone: Backbone, batch: dict, generator: torch.Generator, resolution: int):
    """Density-weighted denoising loss of one batch; returns ``(loss, unweighted mse)``."""
    latents = backbone.latents(batch["pixels"], generator)
    b = latents.shape[0]
    noise = torch.randn(latents.shape, generator=generator).to(latents.device, latents.dtype)
    sched = backbone.scheduler
    t = torch.randint(0, sched.config.num_train_timesteps, (b,), generator=generator).to(latents.device)
    noisy = sched.add_noise(latents, noise, t)
    prompt_embeds, pooled = backbone.encode_prompts(batch["prompts"])
    emotional = adapter(
        prompt_embeds, vad=batch["vad"], probs=batch["probs"], intensity=batch["intensity"]
    ).prompt_embeds
    pred = backbone.unet(
        noisy, t, encoder_hidden_states=emotional.to(backbone.dtype),
        added_cond_kwargs=backbone.added_conditions(pooled, resolution),
    ).sample  # fmt: skip
    kind = sched.config.prediction_type
    target = {"epsilon": noise, "v_prediction": None, "sample": latents}.get(kind, noise)
    if kind == "v_prediction":
        target = sched.get_velocity(latents, noise, t)
    mse = F.mse_loss(pred.float(), target.float(), reduction="none").mean(dim=(1, 2, 3))
    weights = batch["weight"].to(mse.device)
    return (weights * mse).mean(), mse.mean().detach()


def make_batch(samples: list[Sample], weights: np.ndarray, idx: list[int], resolution: int, flips: list[bool]):
    from emogen.emotion import LABELS, vad_intensity, vad_to_probs

    vad = torch.tensor([samples[i].vad for i in idx], dtype=torch.float32)
    probs = vad_to_probs(vad)
    intensity = vad_intensity(vad, probs)
    for row, i in enumerate(idx):
        if samples[i].label is not None:  # a labelled image shows that label, at the intensity of its VAD
            probs[row] = 0.0
            probs[row, LABELS.index(samples[i].label)] = 1.0
    return {
        "pixels": torch.stack([load_image(samples[i].path, resolution, f) for i, f in zip(idx, flips, strict=True)]),
        "vad": vad,
        "probs": probs,
        "intensity": intensity,
        "weight": torch.tensor([float(weights[i]) for i in idx], dtype=torch.float32),
        "prompts": [samples[i].prompt for i in idx],
    }


# ------------------------------------------------------------------------------------------------------------- run
def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Train an EmotionPromptAdapter on images with VAD labels.")
    p.add_argument("--pretrained_model", type=Path, required=True, help="diffusers SD / SDXL folder (frozen)")
    p.add_argument("--train_data_dir", type=Path, required=True, help="image folder")
    p.add_argument("--labels", type=Path, required=True, help="CSV or JSONL: file,v,a[,d][,label][,prompt]")
    p.add_argument("--output_dir", type=Path, required=True)
    p.add_argument("--vad_range", default="-1,1", help="scale of v, a, d in the labels (mapped to [-1, 1])")
    p.add_argument("--default_prompt", default="a photo")
    p.add_argument("--resolution", type=int, default=512)
    p.add_argument("--random_flip", action="store_true")
    p.add_argument("--train_batch_size", type=int, default=4)
    p.add_argument("--gradient_accumulation_steps", type=int, default=1)
    p.add_argument("--max_train_steps", type=int, default=5000)
    p.add_argument("--learning_rate", type=float, default=1e-4)
    p.add_argument("--adam_weight_decay", type=float, default=1e-2)
    p.add_argument("--lr_warmup_steps", type=int, default=200)
    p.add_argument("--max_grad_norm", type=float, default=1.0)
    p.add_argument("--mixed_precision", default="auto", choices=("auto", "no", "fp16", "bf16"))
    p.add_argument("--checkpointing_steps", type=int, default=500)
    p.add_argument("--checkpoints_total_limit", type=int, default=3)
    p.add_argument("--resume_from_checkpoint", default=None, help="a checkpoint folder, or 'latest'")
    p.add_argument("--max_density_weight", type=float, default=10.0)
    p.add_argument("--density_bandwidth", type=float, default=None, help="KDE bandwidth (default: Scott's rule)")
    p.add_argument("--hidden_dim", type=int, default=512)
    p.add_argument("--num_layers", type=int, default=4)
    p.add_argument("--num_heads", type=int, default=8)
    p.add_argument("--init_adapter", type=Path, default=None, help="start from a saved EmotionPromptAdapter")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log_every", type=int, default=50)
    args = p.parse_args(argv)
    lo, hi = (float(x) for x in args.vad_range.split(","))
    if not hi > lo:
        p.error(f"--vad_range must be 'low,high' with high > low, got {args.vad_range!r}")
    args.vad_range = (lo, hi)
    return args


def _precision(choice: str) -> str:
    if choice != "auto":
        return choice
    return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"


def _checkpoints(out: Path) -> list[Path]:
    found = [p for p in out.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()]
    return sorted(found, key=lambda p: int(p.name.split("-")[-1]))


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from accelerate import Accelerator

    from emogen.models.emotion_adapter import EmotionPromptAdapter

    accelerator = Accelerator(
        mixed_precision=_precision(args.mixed_precision), gradient_accumulation_steps=args.gradient_accumulation_steps
    )
    torch.manual_seed(args.seed)
    weight_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(accelerator.mixed_precision, torch.float32)
    samples = read_labels(args.labels, args.train_data_dir, args.vad_range, args.default_prompt)
    weights = density_weights(
        np.array([s.vad[:2] for s in samples]), bandwidth=args.density_bandwidth, max_weight=args.max_density_weight
    )
    backbone = Backbone(args.pretrained_model, accelerator.device, weight_dtype)
    if args.init_adapter is not None:
        adapter = EmotionPromptAdapter.from_pretrained(args.init_adapter)
    else:
        adapter = EmotionPromptAdapter(
            embed_dim=backbone.embed_dim, hidden_dim=args.hidden_dim, num_layers=args.num_layers,
            num_heads=args.num_heads,
        )  # fmt: skip
    if adapter.config.embed_dim != backbone.embed_dim:
        raise ValueError(f"The adapter's embed_dim {adapter.config.embed_dim} != the backbone's {backbone.embed_dim}.")
    adapter.train()
    optimizer = torch.optim.AdamW(adapter.parameters(), lr=args.learning_rate, weight_decay=args.adam_weight_decay)
    warmup = max(1, args.lr_warmup_steps)
    lr_sched = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup))
    adapter, optimizer, lr_sched = accelerator.prepare(adapter, optimizer, lr_sched)
    args.output_dir.mkdir(parents=True, exist_ok=True)

    step = 0
    if args.resume_from_checkpoint:
        found = _checkpoints(args.output_dir)
        path = found[-1] if args.resume_from_checkpoint == "latest" and found else Path(args.resume_from_checkpoint)
        if args.resume_from_checkpoint == "latest" and not found:
            logger.info("No checkpoint in %s; starting from scratch.", args.output_dir)
        else:
            if not path.is_dir():
                raise ValueError(f"--resume_from_checkpoint {path} is not a checkpoint folder.")
            accelerator.load_state(str(path))
            step = json.loads((path / "emogen_state.json").read_text())["step"]
            logger.info("Resumed from %s at step %d.", path, step)
    logger.info(
        "%d images, density weights %.2f–%.2f; adapter %.2f M parameters; %s",
        len(samples), weights.min(), weights.max(), sum(p.numel() for p in adapter.parameters()) / 1e6,
        accelerator.mixed_precision,
    )  # fmt: skip

    accum = args.gradient_accumulation_steps
    running: list[float] = []
    while step < args.max_train_steps:
        for micro in range(accum):
            micro_step = step * accum + micro
            rank = accelerator.process_index
            idx = batch_indices(len(samples), micro_step, args.train_batch_size, accelerator.num_processes, rank,
                                args.seed)  # fmt: skip
            gen = torch.Generator().manual_seed(args.seed * 1_000_003 + micro_step * 1009 + rank)
            flips = (torch.rand(len(idx), generator=gen) < 0.5).tolist() if args.random_flip else [False] * len(idx)
            batch = make_batch(samples, weights, idx, args.resolution, flips)
            with accelerator.accumulate(adapter), accelerator.autocast():
                loss, mse = training_loss(adapter, backbone, batch, gen, args.resolution)
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(adapter.parameters(), args.max_grad_norm)
                optimizer.step()
                lr_sched.step()
                optimizer.zero_grad()
            running.append(float(mse))
        step += 1
        if step % args.log_every == 0 or step == args.max_train_steps:
            logger.info("step %d  mse %.4f  lr %.2e", step, np.mean(running[-50:]), lr_sched.get_last_lr()[0])
        if step % args.checkpointing_steps == 0 or step == args.max_train_steps:
            save_checkpoint(accelerator, args, step)

    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        final = args.output_dir / "emotion_adapter"
        accelerator.unwrap_model(adapter).save_pretrained(final)
        config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        (args.output_dir / "training_args.json").write_text(json.dumps(config, indent=2))
        logger.info("Saved the adapter to %s", final)
    accelerator.end_training()
    return 0


def save_checkpoint(accelerator, args: argparse.Namespace, step: int) -> None:
    path = args.output_dir / f"checkpoint-{step}"
    accelerator.save_state(str(path))
    if accelerator.is_main_process:
        (path / "emogen_state.json").write_text(json.dumps({"step": step}))
        old = _checkpoints(args.output_dir)
        for stale in old[: max(0, len(old) - max(1, args.checkpoints_total_limit))]:
            shutil.rmtree(stale, ignore_errors=True)
    logger.info("Checkpoint %s", path)


if __name__ == "__main__":
    raise SystemExit(main())
