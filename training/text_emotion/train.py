"""Trains the text → VAD model shipped in ``weights/text_emotion`` (see README.md there).

Data: EmoBank (Buechel & Hahn 2017, CC-BY-SA 4.0), the authors' train split for training and their
dev split for early stopping and reporting; the test split is kept out of the repository.

Procedure (all on CPU, ~10 min on 2 shared cores):
  1. Tokenize every sentence and run the frozen part of all-MiniLM-L6-v2 (embeddings + layers 1-4)
     once; keep the layer-4 hidden states and the mean-pooled layer 1-4 outputs.
  2. Baseline for comparison: ridge on the normalized all-MiniLM-L6-v2 sentence embedding (the
     original, frozen layers 5-6), alpha picked on dev (the baseline gets every advantage).
  3. Ridge on [mean-pooled layers 1-4, VADER] (standardized, fixed alpha).
  4. Fine-tune layers 5-6 + an MLP head over [mean pooling, VADER] on standardized V/A/D with
     MSE + (1 - CCC) (multi-task, one head), AdamW with warm-up and linear decay; keep the epoch
     with the best mean dev Pearson of the blend ``(1 - w) * head + w * ridge``.
  5. Save the fine-tuned part (``save_pretrained``: config.json + diffusion_pytorch_model.safetensors, layers in
     float16), reload through ``TextEmotionModel.from_pretrained``, report dev Pearson and timings in metrics.json.

Usage:
    python training/text_emotion/train.py [--data PATH] [--out DIR] [--epochs 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import random
import time
from pathlib import Path

import numpy as np
import torch

from emogen.models.text_emotion import WEIGHTS_NAME, TextEmotionModel, lexical_features, masked_mean

logger = logging.getLogger("train_text_emotion")
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]  # this file is training/text_emotion/train.py
AXES = ("V", "A", "D")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=REPO / ".." / "shared" / "data" / "emobank" / "emobank_train_dev.csv")
    p.add_argument(
        "--out",
        type=Path,
        default=REPO / "weights" / "text_emotion",
        help="output directory (default: the shipped one)",
    )
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-4, help="learning rate of the fine-tuned transformer layers")
    p.add_argument("--head-lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--ccc-weight", type=float, default=0.5, help="loss = MSE + w * mean(1 - CCC)")
    p.add_argument("--num-frozen-layers", type=int, default=4)
    p.add_argument("--ridge-alpha", type=float, default=1000.0)
    p.add_argument("--ridge-weight", type=float, default=0.25, help="blend weight of the ridge prediction")
    p.add_argument("--finetuned-dtype", choices=("float16", "bfloat16", "float32"), default="float16")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 is fastest when other jobs share the cores)"
    )
    p.add_argument("--skip-baseline", action="store_true")
    p.add_argument("--max-sentences", type=int, default=None, help="use only the first N per split (smoke tests)")
    return p.parse_args()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_emobank(path: Path) -> dict[str, dict[str, object]]:
    """Rows of the EmoBank CSV by split; VAD mapped from 1..5 to -1..1 with (x - 3) / 2."""
    if not path.is_file():
        raise FileNotFoundError(f"EmoBank CSV not found at {path} (columns id,split,V,A,D,text); pass --data")
    out: dict[str, dict[str, object]] = {}
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            text = row["text"]
            if not text.strip():
                continue
            split = out.setdefault(row["split"], {"text": [], "vad": []})
            split["text"].append(text)
            split["vad"].append([(float(row[k]) - 3.0) / 2.0 for k in AXES])
    for split in out.values():
        split["vad"] = np.asarray(split["vad"], dtype=np.float32)
    return out


def pearson(pred: np.ndarray, gold: np.ndarray) -> list[float]:
    return [float(np.corrcoef(pred[:, j], gold[:, j])[0, 1]) for j in range(gold.shape[1])]


def fmt(r: list[float]) -> str:
    return " ".join(f"{a} {v:.3f}" for a, v in zip(AXES, r, strict=True)) + f" | mean {np.mean(r):.3f}"


def ridge_fit(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form ridge with an unpenalized intercept: returns (weight [F, 3], bias [3])."""
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    xm, ym = x64.mean(0), y64.mean(0)
    xc = x64 - xm
    w = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ (y64 - ym))
    return w, ym - xm @ w


@torch.no_grad()
def precompute(model: TextEmotionModel, texts: list[str], with_baseline: bool, batch_size: int = 64):
    """Frozen features of every text: layer-k hidden states (trimmed), ridge pooling, baseline embedding."""
    model.eval()
    hidden: list[torch.Tensor | None] = [None] * len(texts)
    pooled = torch.zeros(len(texts), model.ridge.in_features - 4)
    base = torch.zeros(len(texts), model.config.hidden_size)
    order = np.argsort([len(t) for t in texts], kind="stable")
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        ids, mask = model.tokenize([texts[j] for j in idx])
        h, p = model.lower(ids, mask)
        pooled[idx] = p
        if with_baseline:  # the original (not yet fine-tuned) top layers = all-MiniLM-L6-v2 embedding
            top = model.run_top(h, mask)
            base[idx] = torch.nn.functional.normalize(masked_mean(top, mask), dim=-1)
        lengths = mask.sum(1).tolist()
        for r, j in enumerate(idx):
            hidden[j] = h[r, : lengths[r]].clone()
    return hidden, pooled.numpy(), base.numpy()


def pad(hidden: list[torch.Tensor], idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = [hidden[j].shape[0] for j in idx]
    h = torch.zeros(len(idx), max(lengths), hidden[idx[0]].shape[1])
    mask = torch.zeros(len(idx), max(lengths), dtype=torch.long)
    for r, j in enumerate(idx):
        h[r, : lengths[r]] = hidden[j]
        mask[r, : lengths[r]] = 1
    return h, mask


def length_batches(lengths: np.ndarray, batch_size: int, rng: np.random.RandomState | None) -> list[np.ndarray]:
    """Batches of similar length (less padding); shuffled within noisy length order and across batches."""
    if rng is None:
        order = np.argsort(lengths, kind="stable")
    else:
        order = np.argsort(lengths + rng.uniform(0, 6, size=len(lengths)), kind="stable")
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if rng is not None:
        rng.shuffle(batches)
    return batches


def ccc(pred: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
    """Lin's concordance correlation coefficient per column."""
    pm, gm = pred.mean(0), gold.mean(0)
    cov = ((pred - pm) * (gold - gm)).mean(0)
    return 2 * cov / (pred.var(0, unbiased=False) + gold.var(0, unbiased=False) + (pm - gm) ** 2 + 1e-8)


@torch.no_grad()
def predict_head(model: TextEmotionModel, hidden, lexical: torch.Tensor, batch_size: int = 128) -> np.ndarray:
    model.eval()
    lengths = np.array([h.shape[0] for h in hidden])
    out = np.zeros((len(hidden), 3), dtype=np.float32)
    for idx in length_batches(lengths, batch_size, None):
        h, mask = pad(hidden, idx)
        out[idx] = (model.upper(h, mask, lexical[idx]) * model.target_std + model.target_mean).numpy()
    model.train()
    return out


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    t_start = time.perf_counter()

    # 1. Data and frozen features
    data = load_emobank(args.data)
    if args.max_sentences:
        data = {
            n: {"text": d["text"][: args.max_sentences], "vad": d["vad"][: args.max_sentences]}
            for n, d in data.items()
        }
    train, dev = data["train"], data["dev"]
    logger.info("EmoBank: %d train, %d dev sentences", len(train["text"]), len(dev["text"]))
    model = TextEmotionModel(
        num_frozen_layers=args.num_frozen_layers,
        ridge_weight=args.ridge_weight,
        finetuned_dtype=args.finetuned_dtype,
        ridge_layers=tuple(range(1, args.num_frozen_layers + 1)),
    )
    t0 = time.perf_counter()
    feats = {}
    for name, split in (("train", train), ("dev", dev)):
        hidden, pooled, base = precompute(model, split["text"], not args.skip_baseline)
        lex = lexical_features(split["text"])
        feats[name] = {"hidden": hidden, "pooled": pooled, "base": base, "lex": lex}
    logger.info("frozen features in %.0f s", time.perf_counter() - t0)
    y_tr, y_dv = train["vad"], dev["vad"]

    # 2. Baseline: MiniLM sentence embedding + ridge (alpha picked on dev)
    results: dict[str, list[float]] = {}
    if not args.skip_baseline:
        best = None
        for alpha in (0.3, 1.0, 3.0, 10.0, 30.0):
            w, b = ridge_fit(feats["train"]["base"], y_tr, alpha)
            r = pearson(feats["dev"]["base"] @ w + b, y_dv)
            if best is None or np.mean(r) > np.mean(best[1]):
                best = (alpha, r)
        results["baseline_minilm_ridge"] = best[1]
        logger.info("baseline MiniLM+ridge (alpha %g) dev Pearson: %s", best[0], fmt(best[1]))

    # 3. Ridge on [pooled layers 1..k, VADER], standardization folded into the linear layer
    x_tr = np.concatenate([feats["train"]["pooled"], feats["train"]["lex"]], 1)
    x_dv = np.concatenate([feats["dev"]["pooled"], feats["dev"]["lex"]], 1)
    mu, sd = x_tr.mean(0), x_tr.std(0) + 1e-6
    w, b = ridge_fit((x_tr - mu) / sd, y_tr, args.ridge_alpha)
    w_raw, b_raw = w / sd[:, None], b - (mu / sd) @ w
    model.ridge.requires_grad_(False)
    with torch.no_grad():
        model.ridge.weight.copy_(torch.from_numpy(w_raw.T.astype(np.float32)))
        model.ridge.bias.copy_(torch.from_numpy(b_raw.astype(np.float32)))
    ridge_dv = (x_dv @ w_raw + b_raw).astype(np.float32)
    results["ridge_layers1-4_vader"] = pearson(ridge_dv, y_dv)
    logger.info("ridge on pooled layers + VADER dev Pearson: %s", fmt(results["ridge_layers1-4_vader"]))

    # 4. Fine-tune the top layers + head
    model.target_mean.copy_(torch.from_numpy(y_tr.mean(0)))
    model.target_std.copy_(torch.from_numpy(y_tr.std(0)))
    top_params = list(model.top.requires_grad_(True).parameters())
    opt = torch.optim.AdamW(
        [{"params": top_params, "lr": args.lr}, {"params": model.head.parameters(), "lr": args.head_lr}],
        weight_decay=args.weight_decay,
    )
    rng = np.random.RandomState(args.seed)
    lengths = np.array([h.shape[0] for h in feats["train"]["hidden"]])
    steps_per_epoch = len(length_batches(lengths, args.batch_size, None))
    total, warmup = args.epochs * steps_per_epoch, max(1, int(0.06 * args.epochs * steps_per_epoch))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )
    lex_tr, lex_dv = torch.from_numpy(feats["train"]["lex"]), torch.from_numpy(feats["dev"]["lex"])
    y_norm = (torch.from_numpy(y_tr) - model.target_mean) / model.target_std
    wr = args.ridge_weight
    best_state, best_score, best_epoch = None, -np.inf, -1
    model.train()
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        losses = []
        for idx in length_batches(lengths, args.batch_size, rng):
            h, mask = pad(feats["train"]["hidden"], idx)
            pred = model.upper(h, mask, lex_tr[idx])
            gold = y_norm[idx]
            loss = torch.nn.functional.mse_loss(pred, gold) + args.ccc_weight * (1 - ccc(pred, gold)).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(top_params + list(model.head.parameters()), 1.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
        head_dv = predict_head(model, feats["dev"]["hidden"], lex_dv)
        r_head, r_blend = pearson(head_dv, y_dv), pearson((1 - wr) * head_dv + wr * ridge_dv, y_dv)
        logger.info(
            "epoch %d loss %.3f (%.0f s) | dev head: %s | blend: %s",
            epoch + 1, np.mean(losses), time.perf_counter() - t0, fmt(r_head), fmt(r_blend),
        )  # fmt: skip
        if np.mean(r_blend) > best_score:
            best_score, best_epoch = float(np.mean(r_blend)), epoch + 1
            best_state = {n: v.detach().clone() for n, v in model.state_dict().items()}  # fine-tuned part only
            results["finetuned_head_only"] = r_head
    model.load_state_dict(best_state)
    model.requires_grad_(False).eval()
    train_time = time.perf_counter() - t_start

    # 5. Save, reload through the runtime path, report
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out)
    del feats
    shipped = TextEmotionModel.from_pretrained(args.out)
    t0 = time.perf_counter()
    pred_dv = shipped.predict_vad(dev["text"])
    batch_time = time.perf_counter() - t0
    results["shipped_model"] = pearson(pred_dv, y_dv)
    sentence = ["I can't believe they cancelled the concert, I'm so disappointed."]
    shipped.predict_vad(sentence)
    lat = []
    for _ in range(20):
        t1 = time.perf_counter()
        shipped.predict_vad(sentence)
        lat.append(time.perf_counter() - t1)
    info = {
        "data": "EmoBank (Buechel & Hahn 2017), train split; dev split for early stopping",
        "best_epoch": best_epoch,
        "epochs": args.epochs,
        "seed": args.seed,
        "dev_pearson": {
            name: dict(zip(AXES, map(lambda v: round(v, 4), r), strict=True)) for name, r in results.items()
        },
        "train_time_s": round(train_time, 1),
        "dev_1000_batch_time_s": round(batch_time, 2),
        "single_sentence_latency_ms_median": round(1000 * float(np.median(lat)), 1),
        "torch_threads": args.threads,
    }
    (args.out / "metrics.json").write_text(json.dumps({"training": info}, indent=2) + "\n", encoding="utf-8")
    size_kb = (args.out / WEIGHTS_NAME).stat().st_size / 1024
    for name, r in results.items():
        logger.info("dev Pearson %-24s %s", name, fmt(r))
    logger.info(
        "best epoch %d; training %.0f s; weights %.0f KiB; 1,000 dev sentences in %.1f s; one sentence %.1f ms",
        best_epoch, train_time, size_kb, batch_time, info["single_sentence_latency_ms_median"],
    )  # fmt: skip


if __name__ == "__main__":
    main()
