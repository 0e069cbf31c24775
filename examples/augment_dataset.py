"""Make a small balanced expression dataset with `emogen augment`, load it with 🤗 datasets, train a classifier on it.

Run: ``python examples/augment_dataset.py [--out out/augment_example] [--per-class 20] [--format imagefolder]``
(needs ``pip install 'emogen[data]'``). The training loop uses the soft labels (``probs``), so mixtures train as
mixtures. With only the astronaut every item shows the same face: pass ``--identities DIR`` with portraits of many
people for a classifier that generalises.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from datasets import load_dataset

from emogen.app.cli import main as emogen
from emogen.emotion import LABELS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/augment_example"))
    parser.add_argument("--identities", default="astronaut")
    parser.add_argument("--per-class", type=int, default=50)
    parser.add_argument("--format", choices=("imagefolder", "parquet"), default="imagefolder")
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()

    # 1. The dataset: 8 classes × N items, varied pose, gaze, blinks, lighting, mixtures (resumes if interrupted)
    code = emogen(["augment", "--identities", args.identities, "--emotions", "all", "--per-class", str(args.per_class),
                   "--size", "64", "--mixtures", "--lighting", "--workers", "2", "--format", args.format,
                   "-o", str(args.out)])  # fmt: skip
    if code != 0:
        return code

    # 2. Load it: the images plus every label column of the manifest (label, probs, vad, intensity, arkit, aus, ...)
    if args.format == "imagefolder":
        ds = load_dataset("imagefolder", data_dir=str(args.out), split="train")
    else:
        ds = load_dataset("parquet", data_files=str(args.out / "data" / "*.parquet"), split="train")

    def standardise(image) -> np.ndarray:  # grey, zero mean, unit variance: lighting varies on purpose
        x = np.asarray(image.convert("L"), np.float32)
        return ((x - x.mean()) / (x.std() + 1e-6))[None]

    ds = ds.map(lambda b: {"x": [standardise(im) for im in b["image"]]}, batched=True, remove_columns=["image"])
    split = ds.with_format("torch", columns=["x", "probs", "label"]).train_test_split(test_size=0.25, seed=0)

    # 3. Train: a small CNN on the soft labels
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 5, stride=2), torch.nn.ReLU(), torch.nn.Conv2d(16, 32, 5, stride=2), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten(), torch.nn.Linear(32 * 16, len(LABELS)),
    )  # fmt: skip
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    train = split["train"][:]  # one conversion to tensors; the loop then only slices
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(train["x"], train["probs"]), batch_size=16,
                                         shuffle=True)  # fmt: skip
    for epoch in range(args.epochs):
        for x, probs in loader:
            loss = torch.nn.functional.cross_entropy(model(x), probs)  # soft labels as probability targets
            opt.zero_grad()
            loss.backward()
            opt.step()
        if (epoch + 1) % 10 == 0:
            print(f"epoch {epoch + 1}: loss {loss.item():.3f}")

    # 4. Held-out accuracy of the hard label
    with torch.no_grad():
        test = split["test"][:]  # every held-out row as one batch
        predicted = model(test["x"]).argmax(-1)
        truth = torch.tensor([LABELS.index(label) for label in test["label"]])
    print(f"held-out accuracy: {(predicted == truth).float().mean().item():.2f} over {len(truth)} items "
          f"(chance {1 / len(LABELS):.2f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
