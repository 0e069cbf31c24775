"""Re-derive a motion corpus's expression targets for a changed expression prior, without re-synthesising speech.

The teacher composes every blendshape channel as a "screen" blend ``1 − Π(1 − term)`` of visemes, the expression
prior, brow bumps and blinks (:func:`emogen.motion.teacher.teacher_motion`), and each shard stores the per-frame
label distribution and intensity the prior was evaluated on. So the old prior's term can be divided out and the
current prior's multiplied in, channel by channel::

    1 − m_new = (1 − m_old) · (1 − e_new) / (1 − e_old)

This is exact for every channel except the speech-owned ones (``SPEECH_OWNED``: jaw, lower-lip depression and the
lip closers), whose expression term the teacher scales by ``TeacherConfig.expression_jaw_speaking`` = s while
speaking (the speaking mask is not stored; the midpoint factor (1 + s) / 2 is used: an error of at most
(1 − s) / 2 · |Δ prior|, with s = 0.25 at most 0.375 · Δ), and the lip-parting ones (``LIP_PARTING``), whose
expression term gives way on /p b m/ (the closure is not stored either: on those frames the retargeted value can be
off by as much as the expression term). Regenerating the corpus (``make_corpus.py``) is exact.
Where the old prior saturated a channel (``e_old`` ≥ 0.999) nothing can be divided out: those frames take the new
prior's value alone, losing the brow bump or viseme there; the script reports how many such values there were. Usage::

    python training/motion_denoiser/retarget_corpus.py --corpus OLD_DIR --out NEW_DIR \
        --old-prototypes weights/motion_denoiser/prototypes_v1.json

``--old-prototypes`` maps each label to the action-unit intensities (``EMFACS_PROTOTYPES``) the corpus was made with.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from emogen.arkit import ARKIT_INDEX, NUM_BLENDSHAPES
from emogen.controls.expression import ExpressionPrior, prototype_matrix
from emogen.io.atomic import atomic_output
from emogen.motion.teacher import SPEECH_OWNED, TeacherConfig
from emogen.speech.visemes import viseme_targets

#: The factor on the speech-owned channels halfway between silence (1) and speech (``expression_jaw_speaking``).
JAW_MIDPOINT = (1.0 + TeacherConfig().expression_jaw_speaking) / 2


def prior_from(prototypes: dict[str, dict[str, float]]) -> ExpressionPrior:
    """An :class:`ExpressionPrior` with another prototype table (same action units and AU → ARKit matrix)."""
    prior = ExpressionPrior()
    prior.label_to_au.copy_(prototype_matrix(prototypes))
    return prior


def retarget(
    motion: torch.Tensor, probs: torch.Tensor, intensity: torch.Tensor, old: ExpressionPrior, new: ExpressionPrior
) -> tuple[torch.Tensor, torch.Tensor]:
    """Teacher motion `(frames, channels)` (first 52 channels ARKit weights) made with ``old`` → as made with ``new``.

    Args:
        motion: packed motion (:func:`emogen.models.pack_motion` layout).
        probs (`torch.Tensor` of shape `(frames, K)`), intensity (`torch.Tensor` of shape `(frames,)`): the emotion
            state the prior was evaluated on.
    """
    e_old = old.from_state(probs, intensity)
    e_new = new.from_state(probs, intensity)
    owned = [ARKIT_INDEX[name] for name in SPEECH_OWNED]
    e_old[:, owned] *= JAW_MIDPOINT
    e_new[:, owned] *= JAW_MIDPOINT
    saturated = e_old >= 0.999
    lost = saturated & (e_new != e_old)
    b = motion[:, :NUM_BLENDSHAPES]
    out = 1.0 - (1.0 - b) * (1.0 - e_new) / (1.0 - e_old).clamp(min=1e-3)
    out = torch.where(lost, e_new, out)
    motion = motion.clone()
    motion[:, :NUM_BLENDSHAPES] = torch.where(e_new == e_old, b, out.clamp(0.0, 1.0))
    return motion, lost


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="folder of make_corpus.py shards")
    parser.add_argument("--out", type=Path, required=True, help="folder for the retargeted shards")
    parser.add_argument("--old-prototypes", type=Path, required=True, help="JSON: label → {AU: intensity}")
    args = parser.parse_args(argv)
    if args.out.resolve() == args.corpus.resolve():
        parser.error("--out must differ from --corpus")
    old = prior_from(json.loads(args.old_prototypes.read_text()))
    new = ExpressionPrior()
    shards = sorted(args.corpus.glob("*.safetensors"))
    if not shards:
        parser.error(f"no .safetensors shards in {args.corpus}")
    for shard in shards:
        with safe_open(str(shard), "pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
            metadata = f.metadata()
        before = tensors["motion"][:, :NUM_BLENDSHAPES].clone()
        motion, lost = retarget(tensors["motion"], tensors["probs"], tensors["intensity"], old, new)
        tensors["motion"] = motion.contiguous()
        change = (motion[:, :NUM_BLENDSHAPES] - before).abs()
        lost_visemes = int((lost & (viseme_targets().abs().sum(0) > 0)).sum())
        with atomic_output(args.out / shard.name) as tmp:
            save_file(tensors, str(tmp), metadata=metadata)
        print(
            f"{shard.name}: mean |Δ| {change.mean():.4f}, max {change.max():.3f}; new prior alone: "
            f"{int(lost.sum())} values ({lost_visemes} on viseme channels) of {lost.numel()}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
