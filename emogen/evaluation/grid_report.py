"""Reports of an emotion-recognisability grid (:mod:`emogen.evaluation.grid`): CSVs, tables, contact sheets."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .faceapi import SAME_PERSON_THRESHOLD, FaceAPI, NodeServer
from .grid import GridResult
from .judge import EMOGEN_TO_LABEL, LABELS, top_labels

__all__ = ["contact_sheet", "face_boxes", "tables", "write_csvs", "write_report"]

#: How to read the identity distances (measured on real photos of the development set).
IDENTITY_NOTE = (
    "(Real photos: one woman's 20 posed expressions vs her neutral photo: median 0.48, max 0.70; different "
    "people: 5th percentile 0.62, min 0.50. face-api's usual same-person threshold: {threshold}.)"
)


def write_csvs(res: GridResult, out: Path) -> None:
    with open(out / "probs.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["identity", "emotion", "intensity", "judge", *LABELS, "top", "commanded", "recognised"])
        for (ident, emo, inten, jn), p in sorted(res.probs.items(), key=lambda kv: (kv[0][0], kv[0][2], kv[0][1])):
            top = top_labels(p)[0]
            want = EMOGEN_TO_LABEL.get(emo, "")
            w.writerow([ident, emo, f"{inten:g}", jn, *[f"{v:.4f}" for v in p], top, want,
                        int(top == want) if want else ""])  # fmt: skip
    with open(out / "identity.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["identity", "emotion", "intensity", "descriptor_distance_to_source", "mouth_opening_68",
                    "source_mouth_opening_68"])  # fmt: skip
        for (ident, emo, inten), d in sorted(res.identity.items()):
            w.writerow([ident, emo, f"{inten:g}", f"{d:.4f}", f"{res.mouth.get((ident, emo, inten), np.nan):.4f}",
                        f"{res.mouth.get((ident, 'source', 0.0), np.nan):.4f}"])  # fmt: skip
    with open(out / "failures.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["identity", "reason"])
        w.writerows(sorted(res.failures.items()))


def _recognised(res: GridResult, jn: str, emo: str, inten: float) -> tuple[int, int, int]:
    """(recognised, judged with a face, no face) over the grid's identities."""
    want = EMOGEN_TO_LABEL[emo]
    ok = n = miss = 0
    for ident in res.identities:
        p = res.probs.get((ident, emo, inten, jn))
        if p is None:
            continue
        if np.isnan(p).any():
            miss += 1
            continue
        n += 1
        ok += LABELS[int(np.argmax(p))] == want
    return ok, n, miss


def _mean_probs(res: GridResult, ident: str, emo: str, inten: float) -> np.ndarray | None:
    ps = [res.probs.get((ident, emo, inten, jn)) for jn in res.judges]
    ps = [p for p in ps if p is not None and not np.isnan(p).any()]
    return np.mean(ps, axis=0) if ps else None


def tables(res: GridResult) -> str:
    md = ["# Emotion-recognisability grid", ""]
    md.append(
        f"{len(res.identities)} identities rendered ({len(res.failures)} failed: "
        f"{', '.join(res.failures) or 'none'}), emotions {', '.join(res.emotions)}, intensities "
        f"{', '.join(f'{s:g}' for s in res.intensities)}; judges {', '.join(res.judges)}"
        + (f" (unavailable: {res.unavailable})" if res.unavailable else "")
        + "."
    )
    if res.render_seconds:
        md.append(f"Render time: median {np.median(res.render_seconds):.2f} s per still (first still of an "
                  f"identity includes face tracking).")  # fmt: skip
    for inten in res.intensities:
        md += ["", f"## Recognition at intensity {inten:g} (top label == commanded; count / stills with a face)", ""]
        md += ["| judge | " + " | ".join(res.emotions) + " | all | no face |", "|" + "---|" * (len(res.emotions) + 3)]
        for jn in res.judges:
            cells, tot_ok, tot_n, tot_miss = [], 0, 0, 0
            for emo in res.emotions:
                ok, n, miss = _recognised(res, jn, emo, inten)
                cells.append(f"{ok}/{n}")
                tot_ok, tot_n, tot_miss = tot_ok + ok, tot_n + n, tot_miss + miss
            md.append(
                f"| {jn} | "
                + " | ".join(cells)
                + f" | **{tot_ok}/{tot_n} ({100 * tot_ok / max(tot_n, 1):.0f}%)** | {tot_miss} |"
            )
        # mean over judges: (a) the average of the per-judge rates, (b) the top label of the mean probabilities
        rates = []
        for emo in res.emotions:
            r = [(lambda o, n: o / n if n else np.nan)(*_recognised(res, jn, emo, inten)[:2]) for jn in res.judges]
            rates.append(np.nanmean(r) if r else np.nan)
        all_rate = np.nanmean(rates)
        md.append(
            "| mean of judges' rates | "
            + " | ".join(f"{100 * r:.0f}%" for r in rates)
            + f" | **{100 * all_rate:.0f}%** | |"
        )
        cells, tot_ok, tot_n = [], 0, 0
        for emo in res.emotions:
            ok = n = 0
            for ident in res.identities:
                m = _mean_probs(res, ident, emo, inten)
                if m is None:
                    continue
                n += 1
                ok += LABELS[int(np.argmax(m))] == EMOGEN_TO_LABEL[emo]
            cells.append(f"{ok}/{n}")
            tot_ok, tot_n = tot_ok + ok, tot_n + n
        md.append(
            "| top of mean probabilities | "
            + " | ".join(cells)
            + f" | **{tot_ok}/{tot_n} ({100 * tot_ok / max(tot_n, 1):.0f}%)** | |"
        )

        md += ["", f"### What each commanded emotion is read as (intensity {inten:g}, all judges pooled)", ""]
        md += ["| commanded | " + " | ".join(LABELS) + " | no face |", "|" + "---|" * (len(LABELS) + 2)]
        for emo in res.emotions:
            counts = dict.fromkeys([*LABELS, "no face"], 0)
            for ident in res.identities:
                for jn in res.judges:
                    p = res.probs.get((ident, emo, inten, jn))
                    if p is not None:
                        counts[top_labels(p)[0]] += 1
            md.append(
                f"| {emo} | " + " | ".join(str(counts[c]) if counts[c] else "·" for c in [*LABELS, "no face"]) + " |"
            )

        md += ["", f"### Mean probability of the commanded label (intensity {inten:g})", ""]
        md += ["| judge | " + " | ".join(res.emotions) + " |", "|" + "---|" * (len(res.emotions) + 1)]
        for jn in res.judges:
            cells = []
            for emo in res.emotions:
                k = LABELS.index(EMOGEN_TO_LABEL[emo])
                v = [res.probs[i, emo, inten, jn][k] for i in res.identities if (i, emo, inten, jn) in res.probs]
                cells.append(f"{np.nanmean(v):.2f}" if v else "–")
            md.append(f"| {jn} | " + " | ".join(cells) + " |")

    # ---- monotonicity: P(commanded) at the higher intensity vs the lower one, per identity × judge
    if len(res.intensities) > 1:
        hi, lo = max(res.intensities), min(res.intensities)
        md += [
            "",
            f"## Monotonicity: P(commanded) at {hi:g} ≥ at {lo:g} (identity × judge pairs with a face in both)",
            "",
        ]
        md += [
            "| judge | " + " | ".join(e for e in res.emotions if e != "neutral") + " |",
            "|" + "---|" * len(res.emotions),
        ]
        for jn in res.judges:
            cells = []
            for emo in res.emotions:
                if emo == "neutral":
                    continue
                k = LABELS.index(EMOGEN_TO_LABEL[emo])
                up = n = 0
                dh = []
                for i in res.identities:
                    a, b = res.probs.get((i, emo, hi, jn)), res.probs.get((i, emo, lo, jn))
                    if a is None or b is None or np.isnan(a).any() or np.isnan(b).any():
                        continue
                    n += 1
                    up += a[k] >= b[k]
                    dh.append(a[k] - b[k])
                cells.append(f"{up}/{n} (Δ {np.mean(dh):+.2f})" if n else "–")
            md.append(f"| {jn} | " + " | ".join(cells) + " |")
        md.append("")
        md.append("Δ: mean change of P(commanded) from the lower to the higher intensity.")

    # ---- identity
    md += ["", "## Identity: face-api descriptor distance, still vs its source photo", ""]
    md.append(IDENTITY_NOTE.format(threshold=SAME_PERSON_THRESHOLD))
    md += ["", "| intensity | " + " | ".join(res.emotions) + " | all |", "|" + "---|" * (len(res.emotions) + 2)]
    for inten in res.intensities:
        cells, allv = [], []
        for emo in res.emotions:
            v = np.array([res.identity.get((i, emo, inten), np.nan) for i in res.identities])
            v = v[np.isfinite(v)]
            allv.extend(v)
            cells.append(
                f"{np.median(v):.3f} / {np.max(v):.2f} / {int(np.sum(v > SAME_PERSON_THRESHOLD))}" if len(v) else "–"
            )
        allv = np.array(allv)
        md.append(f"| {inten:g} | " + " | ".join(cells) + f" | {np.median(allv):.3f} / {np.max(allv):.2f} / "
                  f"{int(np.sum(allv > SAME_PERSON_THRESHOLD))} |")  # fmt: skip
    md.append("")
    md.append("Cells: median / max / count above 0.6.")

    # ---- per identity (mean-of-judges vote at the highest intensity)
    hi = max(res.intensities)
    md += ["", f"## Per identity at intensity {hi:g}: top label of the mean of judges (✓ = commanded)", ""]
    md += [
        "| identity | source read as | " + " | ".join(res.emotions) + " | ✓ |",
        "|" + "---|" * (len(res.emotions) + 3),
    ]
    for ident in res.identities:
        m = _mean_probs(res, ident, "source", 0.0)
        cells, ok = [], 0
        for emo in res.emotions:
            p = _mean_probs(res, ident, emo, hi)
            if p is None:
                cells.append("no face")
                continue
            top = LABELS[int(np.argmax(p))]
            good = top == EMOGEN_TO_LABEL[emo]
            ok += good
            cells.append(("✓ " if good else "") + top)
        src = "no face" if m is None else LABELS[int(np.argmax(m))]
        md.append(f"| {ident} | {src} | " + " | ".join(cells) + f" | {ok}/{len(res.emotions)} |")
    return "\n".join(md) + "\n"


def face_crop(img: np.ndarray, box: tuple[float, float, float, float] | None, size: int) -> np.ndarray:
    """A square thumbnail around ``box`` (x, y, w, h; 1.45× its size), or the whole image."""
    h, w = img.shape[:2]
    if box is None:
        s, cx, cy = min(h, w), w / 2, h / 2
    else:
        x, y, bw, bh = box
        s, cx, cy = 1.45 * max(bw, bh), x + bw / 2, y + bh / 2 + 0.05 * bh
    x0, y0 = int(round(cx - s / 2)), int(round(cy - s / 2))
    pil = Image.fromarray(img).crop((x0, y0, x0 + int(s), y0 + int(s)))
    return np.asarray(pil.resize((size, size), Image.LANCZOS))


def contact_sheet(res: GridResult, inten: float, boxes: dict[str, tuple[float, float, float, float] | None],
                  thumb: int = 128) -> Image.Image:  # fmt: skip
    """Rows = identities, columns = source photo + emotions; each tile is labelled with the mean-of-judges vote."""
    cols = ["source", *res.emotions]
    label_w = 150
    sheet = Image.new("RGB", (label_w + thumb * len(cols), 16 + thumb * len(res.identities)), "white")
    draw = ImageDraw.Draw(sheet)
    for c, name in enumerate(cols):
        draw.text((label_w + c * thumb + 4, 2), name, fill="black")
    for r, ident in enumerate(res.identities):
        y = 16 + r * thumb
        draw.text((4, y + thumb // 2 - 6), ident[:24], fill="black")
        for c, emo in enumerate(cols):
            img = res.sources[ident] if emo == "source" else res.stills.get((ident, emo, inten))
            if img is None:
                continue
            box = boxes.get(ident) if emo == "source" else boxes.get(f"{ident}@still")
            tile = Image.fromarray(face_crop(img, box, thumb))
            m = _mean_probs(res, ident, emo, 0.0 if emo == "source" else inten)
            td = ImageDraw.Draw(tile)
            if m is not None:
                top = LABELS[int(np.argmax(m))]
                good = emo != "source" and top == EMOGEN_TO_LABEL[emo]
                td.rectangle((0, thumb - 12, thumb, thumb), fill=(0, 120, 0) if good else (0, 0, 0))
                td.text((2, thumb - 12), f"{top} {np.max(m):.2f}", fill="white")
            sheet.paste(tile, (label_w + c * thumb, y))
    return sheet


def face_boxes(res: GridResult) -> dict[str, tuple[float, float, float, float] | None]:
    """face-api boxes of each source photo and of each identity's neutral still (for the thumbnails)."""
    boxes: dict[str, tuple[float, float, float, float] | None] = {}
    with NodeServer(enable=("faceapi",)) as server:
        api = FaceAPI(server)
        for ident in res.identities:
            for key, img in (
                (ident, res.sources[ident]),
                (f"{ident}@still", res.stills.get((ident, "neutral", res.intensities[0]))),
            ):
                if img is None:
                    continue
                r = api.analyse(img, ())
                boxes[key] = tuple(r["box"]) if r["face"] else None
    return boxes


def write_report(res: GridResult, out: str | Path, thumb: int = 128) -> list[Path]:
    """Write ``probs.csv``, ``identity.csv``, ``failures.csv``, ``tables.md`` and one contact sheet per intensity
    into the folder ``out``; returns the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_csvs(res, out)
    (out / "tables.md").write_text(tables(res))
    boxes = face_boxes(res)
    written = [out / n for n in ("probs.csv", "identity.csv", "failures.csv", "tables.md")]
    for inten in res.intensities:
        path = out / f"sheet_{inten:g}.png"
        contact_sheet(res, inten, boxes, thumb).save(path)
        written.append(path)
    return written
