"""The Dataset tab: a small ``emogen augment`` run (balanced, labelled faces showing emotions) → a preview grid, the
manifest as a table, and downloads (the whole dataset as a zip, manifest.jsonl, dataset_info.json). API endpoint
``/dataset``. Large datasets: ``emogen augment`` from a shell."""

from __future__ import annotations

import shutil
from pathlib import Path

from emogen.emotion import LABELS

from ..cli.augment import BUILTIN_IDENTITIES
from .common import user_errors

__all__ = ["MAX_ITEMS", "build"]

#: The most items one run of the tab makes (a larger dataset: ``emogen augment`` from a shell).
MAX_ITEMS = 200
_MANIFEST_COLUMNS = ["id", "file", "identity", "label", "intensity", "vad", "probs", "pose", "seed"]


def _identities(builtin, uploads) -> dict:
    """Identity name → RGB photo: the built-in portraits chosen and the uploaded ones (as ``--identities``)."""
    from emogen.io.image import to_rgb_uint8

    from ..cli.augment import load_identities

    images = load_identities(",".join(builtin)) if builtin else {}
    for path in uploads or []:
        path = Path(path)
        name = path.stem if path.stem not in images else path.name
        images[name] = to_rgb_uint8(path, name=f"The portrait {path.name!r}")
    if not images:
        raise ValueError(f"Choose a built-in portrait ({', '.join(BUILTIN_IDENTITIES)}) or upload portraits.")
    return images


def build(gr, out_dir) -> None:
    """Add the tab's widgets to the current Blocks (renders with the shipped face rig, no pipeline needed)."""
    import pandas as pd

    from emogen.batch.augment import FRAMINGS, AugmentConfig, class_counts
    from emogen.batch.augment_run import INFO_FILE, run_augment
    from emogen.export.dataset import DATASET_FORMATS

    from ..cli.augment import expression_labels

    defaults = AugmentConfig()

    def make_dataset(
        identities=("astronaut",), portraits=None, emotions=("happy", "sad", "angry", "surprised"), per_class=2,
        size=128, framing=defaults.framing, pose_jitter=defaults.pose_jitter, intensity_low=defaults.intensity[0],
        intensity_high=defaults.intensity[1], mixtures=False, lighting=False, video=False, frames=defaults.frames,
        fmt="imagefolder", seed=defaults.seed,
        progress=gr.Progress(track_tqdm=True),  # noqa: B008 (gradio's idiom)
    ):  # fmt: skip
        """A balanced, labelled dataset of faces showing ``emotions``, ``per_class`` items each (as ``emogen
        augment``). Returns a preview grid, the manifest's main columns, a summary and the files (zip of the
        dataset, manifest.jsonl, dataset_info.json)."""
        if not emotions:
            raise gr.Error(f"Choose at least one emotion ({', '.join(LABELS)}).")
        total = int(per_class) * len(emotions)
        if total > MAX_ITEMS:
            raise gr.Error(f"{int(per_class)} per class × {len(emotions)} classes is {total} items; the app makes "
                           f"at most {MAX_ITEMS} (more: emogen augment from a shell).")  # fmt: skip
        with user_errors(gr):
            config = AugmentConfig(
                emotions=tuple(emotions), intensity=(float(intensity_low), float(intensity_high)),
                mixtures=bool(mixtures), pose_jitter=float(pose_jitter), lighting=bool(lighting), video=bool(video),
                frames=int(frames), size=int(size), framing=framing, seed=int(seed),
            )  # fmt: skip
            counts = class_counts(config.emotions, int(per_class), None)
            images = _identities(identities, portraits)
            out = out_dir() / "dataset"
            preview = out.parent / "preview"
            preview.mkdir(parents=True, exist_ok=True)

            def keep_preview(row):  # the item as rendered, before a packed format packs it
                src = out / row["file"]
                if src.is_file():
                    shutil.copyfile(src, preview / src.name)

            summary = run_augment(config, images, counts, out, expression=expression_labels,
                                  fmt=fmt, workers=0, on_item=keep_preview)  # fmt: skip
        if summary.failed:
            first = next(iter(summary.errors.values()), "")
            raise gr.Error(f"{summary.failed} item(s) failed, e.g. {first}")
        if not summary.done and summary.skipped_identities:
            raise gr.Error("No face found: " + "; ".join(f"{k}: {v}" for k, v in summary.skipped_identities.items()))
        from emogen.batch.manifest import MANIFEST, read_jsonl

        rows = read_jsonl(out / MANIFEST)
        ext = "mp4" if video else "png"
        grid = [(str(preview / f"{r['id']}.{ext}"), f"{r['label']} {r['intensity']:.2f}") for r in rows
                if (preview / f"{r['id']}.{ext}").is_file()]  # fmt: skip
        table = pd.DataFrame(rows).reindex(columns=_MANIFEST_COLUMNS).map(_cell)
        archive = shutil.make_archive(str(out.parent / "emogen_dataset"), "zip", root_dir=out)
        files = [archive, str(out / MANIFEST), str(out / INFO_FILE)]
        counts_text = ", ".join(f"{k} {v}" for k, v in summary.counts.items())
        text = (f"**{len(rows)} items** ({counts_text}) in {summary.seconds:.1f} s, format {fmt}. Load it with "
                f"`datasets.load_dataset(\"imagefolder\", data_dir=...)` after unzipping.")  # fmt: skip
        return grid[:64], table, text, files

    formats = [f for f in DATASET_FORMATS if f != "parquet" or _has_pyarrow()]
    with gr.Tab("Dataset", id="dataset"):
        gr.Markdown("A balanced, labelled dataset of faces showing emotions: every item records its label, soft "
                    "label, V/A/D, intensity, 52 ARKit weights, action units, pose and seed. The same settings give "
                    f"the same bytes. Up to {MAX_ITEMS} items here; `emogen augment` makes millions.")  # fmt: skip
        with gr.Row():
            with gr.Column():
                identities = gr.CheckboxGroup(list(BUILTIN_IDENTITIES), value=["astronaut"],
                                              label="Built-in identities (public domain)")  # fmt: skip
                portraits = gr.File(label="…and your portraits (each face is an identity)", file_count="multiple",
                                    file_types=["image"])  # fmt: skip
                emotions = gr.CheckboxGroup(list(LABELS), value=["happy", "sad", "angry", "surprised"],
                                            label="Classes")  # fmt: skip
                per_class = gr.Slider(1, 25, value=2, step=1, label="Items per class")
                with gr.Accordion("Variation and format", open=False):
                    with gr.Row():
                        size = gr.Slider(32, 512, value=128, step=16, label="Size (px)")
                        framing = gr.Radio(list(FRAMINGS), value=defaults.framing, label="Framing")
                    pose_jitter = gr.Slider(0, 30, value=defaults.pose_jitter, step=1, label="Head pose jitter (±°)")
                    with gr.Row():
                        intensity_low = gr.Slider(0, 1, value=defaults.intensity[0], step=0.05,
                                                  label="Intensity from")  # fmt: skip
                        intensity_high = gr.Slider(0, 1, value=defaults.intensity[1], step=0.05, label="to")
                    with gr.Row():
                        mixtures = gr.Checkbox(label="Mixtures (soft labels)")
                        lighting = gr.Checkbox(label="Random lighting and colour")
                    with gr.Row():
                        video = gr.Checkbox(label="Clips instead of stills")
                        frames = gr.Slider(2, 64, value=defaults.frames, step=1, label="Frames per clip")
                    fmt = gr.Radio(formats, value="imagefolder", label="Format")
                    seed = gr.Number(value=defaults.seed, precision=0, label="Seed")
                go = gr.Button("Make the dataset", variant="primary")
            with gr.Column(scale=2):
                summary = gr.Markdown()
                grid = gr.Gallery(label="Preview (label and intensity)", columns=6, height=360, object_fit="contain")
                table = gr.Dataframe(label="Manifest (main columns; all of them in manifest.jsonl)", max_height=300)
                files = gr.File(label="Downloads (zip, manifest.jsonl, dataset_info.json)", file_count="multiple")
        gr.Examples(
            [[["astronaut"], ["happy", "sad", "angry", "surprised"], 2, False, False],
             [["astronaut", "grace_hopper"], list(LABELS), 1, True, True]],
            [identities, emotions, per_class, mixtures, lighting],
            example_labels=["Four classes, two each", "Two identities, all classes, mixtures and lighting"],
        )  # fmt: skip
        inputs = [identities, portraits, emotions, per_class, size, framing, pose_jitter, intensity_low,
                  intensity_high, mixtures, lighting, video, frames, fmt, seed]  # fmt: skip
        go.click(make_dataset, inputs, [grid, table, summary, files], api_name="dataset", concurrency_id="render")


def _cell(value):
    """A manifest value as a table cell: lists and mappings as short text."""
    if isinstance(value, list):
        return ", ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in value.items())
    return value


def _has_pyarrow() -> bool:
    import importlib.util

    return importlib.util.find_spec("pyarrow") is not None
