"""Motion diffusion speed: frames per second of sampled motion, and attention implementations compared.

Every number is printed next to a baseline measured in the same run:

* CPU: end-to-end windowed sampling (the shipped model size, 10 DDIM steps, both guidance passes) in frames of
  motion per second and as a real-time factor (25 fps); the forward pass at T = 1000 with SDPA vs the naive
  attention (ratio = naive time / SDPA time).
* GPU (when CUDA is available): forward throughput of a batch in bf16 vs fp32, and SDPA vs naive attention at
  T = 1000 (time and peak memory).

Usage::

    python benchmarks/bench_motion.py                   # shipped checkpoint's size, random weights
    python benchmarks/bench_motion.py --weights weights/talking_head/motion_denoiser --threads 2
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch


def build(args) -> torch.nn.Module:
    from emogen.models import MotionDenoiser

    if args.weights and (Path(args.weights) / "config.json").exists():
        return MotionDenoiser.from_pretrained(args.weights).eval()
    torch.manual_seed(0)
    return MotionDenoiser(hidden_dim=args.hidden_dim, num_layers=args.layers, num_heads=4, emotion_embed_dim=64).eval()


def timeit(fn, repeats: int, sync=lambda: None) -> float:
    fn()
    sync()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


def conditioning(model, batch: int, frames: int, device, dtype):
    from emogen.emotion import EmotionConditioning

    d = model.config.emotion_embed_dim
    g = torch.Generator().manual_seed(0)
    return EmotionConditioning(
        embeds=torch.randn(batch, frames, d, generator=g).to(device, dtype),
        pooled=torch.randn(batch, d, generator=g).to(device, dtype),
        mask=torch.ones(batch, frames, dtype=torch.bool, device=device),
        fps=25.0,
    )


def bench_sampling(model, frames: int, steps: int, device) -> float:
    from emogen.models import motion_scheduler, sample_motion

    sched = motion_scheduler()
    audio = torch.randn(1, frames, model.config.audio_dim, device=device)
    emo = conditioning(model, 1, frames, device, model.dtype)
    null = conditioning(model, 1, frames, device, model.dtype)

    def run():
        sample_motion(
            model,
            sched,
            frames,
            audio_features=audio,
            emotion=emo,
            null_emotion=null,
            num_inference_steps=steps,
            audio_guidance_scale=2.0,
            emotion_guidance_scale=1.5,
            generator=torch.Generator().manual_seed(0),
            progress=False,
        )

    return timeit(run, 1)


def bench_forward(model, batch: int, frames: int, device, dtype, impl: str, sync) -> float:
    model.set_attn_implementation(impl)
    x = torch.randn(batch, frames, model.config.motion_channels, device=device, dtype=dtype)
    audio = torch.randn(batch, frames, model.config.audio_dim, device=device, dtype=dtype)

    @torch.no_grad()
    def run():
        model(x, 500, audio_features=audio)

    try:
        return timeit(run, 3, sync)
    finally:
        model.set_attn_implementation("sdpa")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", default=None, help="a saved MotionDenoiser folder (default: random weights)")
    p.add_argument("--hidden-dim", type=int, default=128)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--frames", type=int, default=1000, help="frames to sample on CPU (40 s at 25 fps)")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    model = build(args)
    n_params = sum(q.numel() for q in model.parameters())
    print(
        f"MotionDenoiser: {n_params / 1e6:.2f} M parameters, width {model.config.hidden_dim}, "
        f"{model.config.num_layers} layers; torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
    )

    # ---- CPU
    cpu = torch.device("cpu")
    t = bench_sampling(model, args.frames, args.steps, cpu)
    fps = args.frames / t
    print(
        f"[cpu] windowed sampling, {args.frames} frames, {args.steps} DDIM steps, 3 guidance passes: "
        f"{t:.2f} s → {fps:.0f} frames/s = {fps / 25:.1f}× real time"
    )
    t_sdpa = bench_forward(model, 1, 1000, cpu, torch.float32, "sdpa", lambda: None)
    t_naive = bench_forward(model, 1, 1000, cpu, torch.float32, "naive", lambda: None)
    print(
        f"[cpu] forward T=1000 fp32: sdpa {t_sdpa * 1e3:.1f} ms, naive {t_naive * 1e3:.1f} ms "
        f"→ sdpa is {t_naive / t_sdpa:.2f}× the naive baseline"
    )

    # ---- GPU
    if not torch.cuda.is_available():
        print("[gpu] no CUDA device: GPU rows skipped")
        return 0
    dev = torch.device("cuda")
    gpu_model = build(args).to(dev)
    sync = torch.cuda.synchronize
    print(f"[gpu] {torch.cuda.get_device_name(0)}")
    batch, frames = 64, 200
    t32 = bench_forward(gpu_model, batch, frames, dev, torch.float32, "sdpa", sync)
    gpu_bf16 = build(args).to(dev, torch.bfloat16)
    t16 = bench_forward(gpu_bf16, batch, frames, dev, torch.bfloat16, "sdpa", sync)
    print(
        f"[gpu] forward batch {batch}×{frames} frames: fp32 {batch * frames / t32:,.0f} frames/s, "
        f"bf16 {batch * frames / t16:,.0f} frames/s → bf16 is {t32 / t16:.2f}× fp32"
    )
    t_sampling = bench_sampling(gpu_model, 15000, args.steps, dev)
    print(
        f"[gpu] windowed sampling of 10 min (15000 frames), {args.steps} steps: {t_sampling:.1f} s "
        f"= {15000 / t_sampling / 25:.0f}× real time"
    )
    for b in (8,):
        res = {}
        for impl in ("sdpa", "naive"):
            torch.cuda.reset_peak_memory_stats()
            tt = bench_forward(gpu_bf16, b, 1000, dev, torch.bfloat16, impl, sync)
            res[impl] = (tt, torch.cuda.max_memory_allocated() / 2**20)
        print(
            f"[gpu] forward bf16 batch {b}×1000 frames: sdpa {res['sdpa'][0] * 1e3:.1f} ms / "
            f"{res['sdpa'][1]:.0f} MiB, naive {res['naive'][0] * 1e3:.1f} ms / {res['naive'][1]:.0f} MiB "
            f"→ sdpa {res['naive'][0] / res['sdpa'][0]:.2f}× faster, "
            f"{res['naive'][1] / res['sdpa'][1]:.2f}× less memory"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
