"""Measure the two guidance scales of the shipped checkpoint on held-out clips.

For a grid of ``audio_guidance_scale`` × ``emotion_guidance_scale`` it reports lip sync (Pearson r of the predicted
``jawOpen`` with the teacher's) and emotion strength (clip-mean of the expression channels relative to the
teacher's), and appends the table to the model card (``README.md``, section "Guidance scales")::

    python training/motion_denoiser/eval_guidance.py --corpus ~/.cache/emogen/motion_corpus --clips 16
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from train import EXPRESSION_CHANNELS, FPS, load_corpus, pearson  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", type=Path, default=Path.home() / ".cache" / "emogen" / "motion_corpus")
    p.add_argument(
        "--weights",
        type=Path,
        default=HERE.parents[1] / "weights" / "talking_head",
        help="pipeline folder (default weights/talking_head)",
    )
    p.add_argument(
        "--card-dir",
        type=Path,
        default=HERE.parents[1] / "weights" / "motion_denoiser",
        help="where guidance.json and the model card README live (default weights/motion_denoiser)",
    )
    p.add_argument("--clips", type=int, default=16)
    p.add_argument("--audio-scales", type=float, nargs="+", default=[0.0, 1.0, 2.0, 3.0])
    p.add_argument("--emotion-scales", type=float, nargs="+", default=[0.0, 1.0, 1.5, 3.0])
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    from diffusers import DDIMScheduler

    from emogen.arkit import ARKIT_INDEX
    from emogen.controls.encoder import EmotionEncoder
    from emogen.models import MotionDenoiser, sample_motion

    model = MotionDenoiser.from_pretrained(os.path.join(args.weights, "motion_denoiser")).eval()
    encoder = EmotionEncoder.from_pretrained(os.path.join(args.weights, "emotion_encoder")).eval()
    scheduler = DDIMScheduler.from_pretrained(os.path.join(args.weights, "scheduler"))
    clips = load_corpus(args.corpus, "val")[: args.clips]
    jaw = ARKIT_INDEX["jawOpen"]
    expr = [ARKIT_INDEX[n] for n in EXPRESSION_CHANNELS]
    rows = []
    with torch.no_grad():
        for s_a in args.audio_scales:
            for s_e in args.emotion_scales:
                corr, strength = [], []
                for j, clip in enumerate(clips):
                    n = clip.frames
                    x = sample_motion(
                        model,
                        scheduler,
                        n,
                        audio_features=clip.audio(0, n)[None] if s_a > 0 else None,
                        emotion=encoder([clip.emotion(0, n)], num_frames=n, fps=FPS),
                        null_emotion=encoder.null_conditioning(1, n, FPS),
                        num_inference_steps=10,
                        audio_guidance_scale=s_a,
                        emotion_guidance_scale=s_e,
                        generator=torch.Generator().manual_seed(j),
                        progress=False,
                    )
                    pred = model.denormalize_motion(x)[0].numpy()
                    teacher = clip.motion.numpy()
                    corr.append(pearson(pred[:, jaw], teacher[:, jaw]))
                    # expression strength: |clip-mean deviation from the corpus mean|, predicted / teacher
                    mean = model.motion_mean.numpy()[expr]
                    strength.append(
                        np.abs(pred[:, expr].mean(0) - mean).sum()
                        / max(np.abs(teacher[:, expr].mean(0) - mean).sum(), 1e-6)
                    )
                rows.append(
                    {
                        "audio_guidance_scale": s_a,
                        "emotion_guidance_scale": s_e,
                        "jaw_corr_teacher": float(np.mean(corr)),
                        "expression_strength": float(np.median(strength)),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)

    table = [
        "| s_a \\ s_e | " + " | ".join(f"{s:g}" for s in args.emotion_scales) + " |",
        "|---" * (len(args.emotion_scales) + 1) + "|",
    ]
    for s_a in args.audio_scales:
        cells = [r for r in rows if r["audio_guidance_scale"] == s_a]
        table.append(
            f"| {s_a:g} | "
            + " | ".join(f"r={r['jaw_corr_teacher']:.2f}, expr×{r['expression_strength']:.2f}" for r in cells)
            + " |"
        )
    section = (
        "\n## Guidance scales\n\n"
        f"`eval_guidance.py`, {len(clips)} held-out clips, DDIM 10 steps. Each cell: jawOpen Pearson r vs the "
        "teacher (lip sync) and the expression strength (clip-mean deviation of the 12 expression channels from "
        "the corpus mean, predicted / teacher; median over clips). Rows: audio guidance s_a (0 = no audio in any "
        "pass); columns: emotion guidance s_e.\n\n" + "\n".join(table) + "\n"
    )
    (args.card_dir / "guidance.json").write_text(json.dumps(rows, indent=2))
    card = args.card_dir / "README.md"
    if card.exists():
        text = card.read_text()
        if "\n## Guidance scales" in text:
            head, _, tail = text.partition("\n## Guidance scales")
            rest = tail.split("\n## ", 1)
            text = head + section + ("\n## " + rest[1] if len(rest) > 1 else "")
        else:
            head, sep, tail = text.partition("\n## Limits")
            text = head + section + sep + tail
        card.write_text(text)
    print(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
