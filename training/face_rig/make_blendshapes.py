"""Author emogen's 52 ARKit blendshape fields on MediaPipe's canonical face mesh and save them.

Usage::

    python training/face_rig/make_blendshapes.py [--out weights/face_rig]

Writes ``blendshapes.safetensors`` (``template`` (478, 3) and ``blendshapes`` (52, 478, 3), float32, inter-pupil
distance units) and ``config.json``. The recipe lives in :func:`emogen.face.authoring.author_blendshapes`; this
script only runs it, checks it and saves the result. Deterministic: running it twice gives identical files.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from emogen.arkit import ARKIT_BLENDSHAPES
from emogen.face.authoring import author_blendshapes
from emogen.face.blendshapes import canonical_template


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[2] / "weights" / "face_rig")
    args = parser.parse_args(argv)
    template = canonical_template().astype(np.float32)
    shapes = author_blendshapes()
    if not np.isfinite(shapes).all():
        raise RuntimeError("non-finite blendshape values")
    peak = np.linalg.norm(shapes, axis=-1).max(-1)
    for name, p in zip(ARKIT_BLENDSHAPES, peak, strict=False):
        print(f"{name:20s} max |d| = {p:.3f} IPD")
    args.out.mkdir(parents=True, exist_ok=True)
    config = {
        "format": "emogen.face_rig.blendshapes",
        "version": 1,
        "units": "inter-pupil distance",
        "frame": "x subject's left, y up, z towards the camera; origin between the eye centres",
        "topology": "MediaPipe canonical face mesh (468 vertices) + 10 iris landmarks (FaceLandmarker order)",
        "num_vertices": int(template.shape[0]),
        "names": list(ARKIT_BLENDSHAPES),
        "generator": "training/face_rig/make_blendshapes.py (emogen.face.authoring.author_blendshapes)",
        "peak_displacement": {n: round(float(p), 4) for n, p in zip(ARKIT_BLENDSHAPES, peak, strict=False)},
    }
    tensors = {"template": torch.from_numpy(template), "blendshapes": torch.from_numpy(shapes)}
    for name, write in (
        ("blendshapes.safetensors", lambda p: save_file(tensors, p, metadata={"format": "pt"})),
        ("config.json", lambda p: Path(p).write_text(json.dumps(config, indent=2) + "\n")),
    ):
        fd, tmp = tempfile.mkstemp(dir=args.out, suffix=".tmp")
        os.close(fd)
        write(tmp)
        os.replace(tmp, args.out / name)
    print(f"wrote {args.out / 'blendshapes.safetensors'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
