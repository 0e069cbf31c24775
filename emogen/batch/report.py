"""What independent expression classifiers read on a generated dataset, and how often they agree with the labels.

:func:`judge_rows` runs the installed judges of :mod:`emogen.evaluation.fer` (off-the-shelf classifiers with their
own face detectors; optional installs) on each item — a still, or a clip's middle frame — and stores their reading
in the row's ``judge`` field. :func:`agreement_report` turns the rows into per-class agreement tables and confusion
matrices (``emogen augment --report``).

The judges know seven classes (FER2013's); ``contempt`` has no reading to agree with and is reported as ``n/a``.
Agreement counts an item when the judge's top class is the item's hard label, among the items where it found a
face.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..emotion import LABELS

logger = logging.getLogger(__name__)

__all__ = ["INTENSITY_BANDS", "NO_FACE", "agreement_report", "agreement_table", "decode_item", "judge_rows"]

NO_FACE = "no face"
#: Intensity bands of the per-band agreement line.
INTENSITY_BANDS: tuple[tuple[float, float], ...] = ((0.0, 0.5), (0.5, 0.75), (0.75, 1.0001))
MEAN_JUDGE = "mean of judges"


def decode_item(data: bytes, ext: str) -> np.ndarray:
    """An RGB uint8 image from an item's bytes: the PNG itself, or the middle frame of an mp4."""
    if ext == "png":
        from PIL import Image

        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    import tempfile

    import imageio.v2 as imageio

    with tempfile.NamedTemporaryFile(suffix=".mp4") as f:
        f.write(data)
        f.flush()
        with imageio.get_reader(f.name, format="FFMPEG") as reader:
            frames = [np.asarray(frame) for frame in reader]
    return np.ascontiguousarray(frames[len(frames) // 2][..., :3])


def _emogen_name(judge_label: str) -> str:
    from ..evaluation.judge import EMOGEN_TO_LABEL

    inverse = {v: k for k, v in EMOGEN_TO_LABEL.items()}
    return inverse[judge_label]


def judge_rows(
    rows: Sequence[dict[str, Any]],
    read_image: Callable[[Mapping[str, Any]], np.ndarray],
    names: Sequence[str] | None = None,
    progress: bool = True,
) -> list[str]:
    """Add each installed judge's reading to ``rows`` (in place), skipping rows that already hold it.

    A row gets ``row["judge"][name] = {"label": emogen label or None (no face), "probs": {label: p}}``.

    Args:
        rows: manifest rows.
        read_image: ``row → RGB uint8 image`` to judge.
        names: judges to use (default: every one of :data:`~emogen.evaluation.fer.JUDGE_NAMES` that is installed).
        progress: show a tqdm bar.

    Returns:
        The judges that ran (empty when none is installed; a warning is logged).
    """
    from tqdm.auto import tqdm

    from ..evaluation.fer import JUDGE_NAMES, open_judges
    from ..evaluation.judge import LABELS as JUDGE_LABELS

    names = list(names or JUDGE_NAMES)
    with open_judges(names) as judges:
        if not len(judges):
            logger.warning("no expression judge is installed (%s): nothing judged", "; ".join(
                f"{k}: {v}" for k, v in judges.unavailable.items()))  # fmt: skip
            return []
        todo = [r for r in rows if any(j.name not in (r.get("judge") or {}) for j in judges)]
        for row in tqdm(todo, desc="judging", unit="item", disable=not progress):
            image = read_image(row)
            verdicts = dict(row.get("judge") or {})
            for judge in judges:
                if judge.name in verdicts:
                    continue
                p = judge(image)[0]
                if np.isnan(p).any():
                    verdicts[judge.name] = {"label": None, "probs": None}
                else:
                    probs = {_emogen_name(k): round(float(v), 4) for k, v in zip(JUDGE_LABELS, p, strict=True)}
                    verdicts[judge.name] = {"label": max(probs, key=probs.get), "probs": probs}
            row["judge"] = verdicts
        return judges.names


# --------------------------------------------------------------------------------------------------------- report
def _readings(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Judge name → its reading per row (label or :data:`NO_FACE`), plus the mean of the judges' probabilities."""
    names: list[str] = []
    for r in rows:
        for n in r.get("judge") or {}:
            if n not in names:
                names.append(n)
    out = {n: [((r.get("judge") or {}).get(n) or {}).get("label") or NO_FACE for r in rows] for n in names}
    if len(names) > 1:
        mean = []
        for r in rows:
            probs = [v["probs"] for v in (r.get("judge") or {}).values() if v and v.get("probs")]
            if not probs:
                mean.append(NO_FACE)
                continue
            total = {k: sum(p[k] for p in probs) / len(probs) for k in probs[0]}
            mean.append(max(total, key=total.get))
        out[MEAN_JUDGE] = mean
    return out


def agreement_table(rows: Sequence[Mapping[str, Any]], readings: Sequence[str]) -> list[dict[str, Any]]:
    """Per class: items, faces found, agreements and the agreement rate (``None`` for contempt or no face)."""
    table = []
    for label in [lab for lab in LABELS if any(r["label"] == lab for r in rows)]:
        idx = [i for i, r in enumerate(rows) if r["label"] == label]
        faces = [i for i in idx if readings[i] != NO_FACE]
        agree = sum(readings[i] == label for i in faces)
        judged = label != "contempt" and bool(faces)
        table.append({"label": label, "items": len(idx), "faces": len(faces), "agree": agree,
                      "rate": agree / len(faces) if judged else None})  # fmt: skip
    return table


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f} %"


def agreement_report(rows: Sequence[Mapping[str, Any]]) -> str:
    """Markdown: per judge, per-class agreement, agreement by intensity band, and the confusion matrix."""
    rows = [r for r in rows if r.get("status", "done") == "done"]
    if not rows:
        return "No items in the manifest.\n"
    readings = _readings(rows)
    if not readings:
        return (
            f"{len(rows)} items; none has a judge's reading. Run `emogen augment ... --judge` with a judge "
            "installed (see emogen.evaluation.fer).\n"
        )
    out = [f"{len(rows)} items. Agreement = judge's top class equals the label, among items where it found a face "
           "(contempt: no judge has the class).\n"]  # fmt: skip
    for name, reads in readings.items():
        table = agreement_table(rows, reads)
        out.append(f"## {name}\n")
        out.append("| label | items | faces | agree | agreement |")
        out.append("|---|---|---|---|---|")
        scored = [t for t in table if t["rate"] is not None]
        for t in table:
            out.append(f"| {t['label']} | {t['items']} | {t['faces']} | {t['agree']} | {_pct(t['rate'])} |")
        total_faces = sum(t["faces"] for t in scored)
        total = sum(t["agree"] for t in scored) / total_faces if total_faces else None
        out.append(f"| **all (judged classes)** | {sum(t['items'] for t in scored)} | {total_faces} | "
                   f"{sum(t['agree'] for t in scored)} | **{_pct(total)}** |\n")  # fmt: skip
        bands = []
        for lo, hi in INTENSITY_BANDS:
            idx = [i for i, r in enumerate(rows) if lo <= float(r.get("intensity", 0)) < hi
                   and r["label"] not in ("neutral", "contempt") and reads[i] != NO_FACE]  # fmt: skip
            if idx:
                rate = sum(reads[i] == rows[i]["label"] for i in idx) / len(idx)
                bands.append(f"{lo:g}-{min(hi, 1):g}: {_pct(rate)} of {len(idx)}")
        if bands:
            out.append("By intensity (non-neutral judged classes): " + "; ".join(bands) + "\n")
        columns = [lab for lab in LABELS if lab != "contempt"] + [NO_FACE]
        out.append("Confusion (rows: label, columns: what the judge read)\n")
        out.append("| label | " + " | ".join(columns) + " |")
        out.append("|---|" + "---|" * len(columns))
        for t in table:
            counts = [
                sum(1 for i, r in enumerate(rows) if r["label"] == t["label"] and reads[i] == c) for c in columns
            ]
            out.append(f"| {t['label']} | " + " | ".join(str(c) for c in counts) + " |")
        out.append("")
    return "\n".join(out) + "\n"
