"""Emotion-recognisability grid: identities × emotions × intensities → stills → judges → tables and contact sheets.

The renderer is any ``render(image, label, intensity) -> frame`` callable (RGB uint8 in and out; ``label`` an emogen
emotion name such as ``"fearful"``), so the grid measures any renderer the same way; ``emogen check --grid`` runs it
on emogen's portrait animator. Every still and every source photo is read by the installed judges
(:mod:`emogen.evaluation.fer`), and face-api.js's identity descriptor and 68 landmarks give the identity distance to
the source photo and the mouth opening. A renderer that cannot animate an identity raises; the identity is recorded
in ``failures`` and skipped. :mod:`emogen.evaluation.grid_report` writes the tables and contact sheets.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from .faceapi import FaceAPIJudge, identity_distance, mouth_opening_68
from .fer import JUDGE_NAMES, open_judges
from .judge import LABELS, Judge

__all__ = ["EMOTIONS", "GridResult", "Renderer", "load_identities", "run_grid", "sample_identities"]

#: emogen emotion names in grid column order.
EMOTIONS: tuple[str, ...] = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")
Renderer = Callable[[np.ndarray, str, float], np.ndarray]


def load_identities(folder: str | Path) -> dict[str, np.ndarray]:
    """Every image in ``folder`` (png, jpg, jpeg, webp; not recursive), by file stem, as RGB uint8."""
    from ..io.image import to_rgb_uint8

    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"identities folder {str(folder)!r} does not exist.")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"))
    if not paths:
        raise ValueError(f"identities folder {str(folder)!r} holds no png/jpg/webp images.")
    return {p.stem: to_rgb_uint8(p, name=str(p)) for p in paths}


def sample_identities() -> dict[str, np.ndarray]:
    """The two public-domain portraits that ship in registry packages: the astronaut (scikit-image) and Grace
    Hopper (matplotlib's sample data)."""
    import matplotlib.cbook
    import skimage.data

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        hopper = np.asarray(Image.open(f).convert("RGB"))
    return {"astronaut": np.ascontiguousarray(skimage.data.astronaut()), "grace_hopper": hopper}


@dataclass
class GridResult:
    """Everything the grid measured (see :func:`run_grid`)."""

    judges: list[str]
    emotions: tuple[str, ...]
    intensities: tuple[float, ...]
    probs: dict[tuple[str, str, float, str], np.ndarray] = field(default_factory=dict)  # (id, emo, inten, judge)
    identity: dict[tuple[str, str, float], float] = field(default_factory=dict)  # descriptor distance to source
    mouth: dict[tuple[str, str, float], float] = field(default_factory=dict)  # 68-pt mouth opening
    failures: dict[str, str] = field(default_factory=dict)
    stills: dict[tuple[str, str, float], np.ndarray] = field(default_factory=dict)
    sources: dict[str, np.ndarray] = field(default_factory=dict)
    render_seconds: list[float] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)

    @property
    def identities(self) -> list[str]:
        return [i for i in self.sources if i not in self.failures]


def _key(image: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()[:10]


def run_grid(
    render: Renderer,
    identities: dict[str, np.ndarray],
    emotions: Sequence[str] = EMOTIONS,
    intensities: Sequence[float] = (1.0, 0.5),
    judge_names: Sequence[str] = JUDGE_NAMES,
    still_dir: Path | None = None,
    rerender: bool = False,
    progress: bool = True,
) -> GridResult:
    """Render every identity × emotion × intensity, then judge every still and every source photo.

    ``neutral`` is rendered once (at the first intensity) and reused for the others. Stills are cached as PNGs
    in ``still_dir`` (keyed by identity, emotion, intensity and the source's content hash).
    """
    res = GridResult([], tuple(emotions), tuple(intensities))
    # ---- render (the renderer and the judges are never busy at the same time: the machine has 2 cores)
    jobs = [
        (i, e, s)
        for i in identities
        for s in intensities
        for e in emotions
        if not (e == "neutral" and s != intensities[0])
    ]
    for ident, emo, inten in tqdm(jobs, desc="render", unit="still", disable=not progress):
        if ident in res.failures:
            continue
        src = identities[ident]
        res.sources[ident] = src
        path = None if still_dir is None else still_dir / f"{ident}__{emo}__{inten:g}__{_key(src)}.png"
        if path is not None and path.is_file() and not rerender:
            res.stills[ident, emo, inten] = np.asarray(Image.open(path).convert("RGB"))
            continue
        try:
            t = time.perf_counter()
            frame = np.asarray(render(src, emo, inten), dtype=np.uint8)
            res.render_seconds.append(time.perf_counter() - t)
        except Exception as err:  # noqa: BLE001 (any renderer failure skips the identity)
            res.failures[ident] = f"{type(err).__name__}: {err}"
            continue
        res.stills[ident, emo, inten] = frame
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(frame).save(path)
    for ident in identities:
        res.sources.setdefault(ident, identities[ident])
    for ident in list(res.failures):
        for k in [k for k in res.stills if k[0] == ident]:
            del res.stills[k]
    for ident, emo, inten in list(res.stills):
        if emo == "neutral":
            for s in intensities:
                res.stills.setdefault((ident, emo, s), res.stills[ident, emo, inten])

    # ---- judge
    with open_judges(judge_names) as judges:
        res.judges = judges.names
        res.unavailable = dict(judges.unavailable)
        faceapi_judge = "faceapi" in judges.names
        items: list[tuple[str, str, float, np.ndarray]] = [
            (i, "source", 0.0, res.sources[i]) for i in res.identities
        ] + [(i, e, s, im) for (i, e, s), im in res.stills.items() if not (e == "neutral" and s != intensities[0])]
        src_desc: dict[str, np.ndarray] = {}
        src_mouth: dict[str, float] = {}
        for ident, emo, inten, img in tqdm(items, desc="judge", unit="image", disable=not progress):
            for j in judges:
                if j.name == "faceapi":
                    continue  # judged below from the same face-api call as the descriptor
                res.probs[ident, emo, inten, j.name] = j([img])[0]
            r = judges.faceapi.analyse(img, ("expressions", "landmarks", "descriptor"))
            if faceapi_judge:
                if r["face"]:
                    p = {FaceAPIJudge.NATIVE[k]: float(v) for k, v in r["expressions"].items()}
                    res.probs[ident, emo, inten, "faceapi"] = np.array([p[k] for k in LABELS])
                else:
                    res.probs[ident, emo, inten, "faceapi"] = Judge.no_face()
            desc = np.array(r["descriptor"]) if r["face"] else np.full(128, np.nan)
            mouth = float(mouth_opening_68(np.array(r["landmarks"]))) if r["face"] else float("nan")
            if emo == "source":
                src_desc[ident], src_mouth[ident] = desc, mouth
                res.mouth[ident, "source", 0.0] = mouth
            else:
                res.identity[ident, emo, inten] = float(identity_distance(desc, src_desc[ident]))
                res.mouth[ident, emo, inten] = mouth
    # neutral is shared across intensities
    for (ident, emo, inten, jn), p in list(res.probs.items()):
        if emo == "neutral":
            for s in intensities:
                res.probs.setdefault((ident, emo, s, jn), p)
                res.identity.setdefault((ident, emo, s), res.identity.get((ident, emo, inten), float("nan")))
                res.mouth.setdefault((ident, emo, s), res.mouth.get((ident, emo, inten), float("nan")))
    return res
