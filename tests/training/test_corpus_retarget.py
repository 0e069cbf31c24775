"""training/motion_denoiser/retarget_corpus.py: re-deriving teacher targets for a changed expression prior."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from emogen.arkit import ARKIT_INDEX
from emogen.controls import ExpressionPrior, resolve_emotion
from emogen.models.motion_denoiser import pack_motion
from emogen.motion.teacher import teacher_motion
from emogen.speech.types import PhoneSegment

HERE = Path(__file__).resolve().parents[2] / "training" / "motion_denoiser"


def _script():
    spec = importlib.util.spec_from_file_location("retarget_corpus", HERE / "retarget_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _phones(seconds: float) -> list[PhoneSegment]:
    out, t = [], 0.0
    while t + 0.6 <= seconds:
        out += [PhoneSegment("m", t, t + 0.1), PhoneSegment("'a:", t + 0.1, t + 0.35)]
        out.append(PhoneSegment("_", t + 0.35, t + 0.6))
        t += 0.6
    return out


def test_retargeted_targets_equal_the_teacher_with_the_new_prior():
    rc = _script()
    old = rc.prior_from(json.loads((HERE / "prototypes_v1.json").read_text()))
    new = ExpressionPrior()
    track = resolve_emotion("0s sad:0.7, 2s fearful:0.8, 4s disgusted:0.6, 5.5s angry:0.9", fps=25, duration=7.0)
    n, phones = track.num_frames, _phones(7.0)

    def motion(prior):
        return pack_motion(
            teacher_motion(
                n, phones=phones, emotion=track, expression=prior(track), generator=torch.Generator().manual_seed(3)
            )
        )

    m_old, m_new = motion(old), motion(new)
    assert (m_old - m_new).abs().max() > 0.3  # the priors really differ
    out, lost = rc.retarget(m_old, track.probs, track.intensity, old, new)
    assert not lost.any()  # nothing saturated below full intensity
    from emogen.motion.teacher import LIP_PARTING, SPEECH_OWNED

    owned = [ARKIT_INDEX[name] for name in SPEECH_OWNED]
    parting = [ARKIT_INDEX[name] for name in LIP_PARTING if name not in SPEECH_OWNED]
    others = [i for i in range(m_new.shape[1]) if i not in owned + parting]
    torch.testing.assert_close(out[:, others], m_new[:, others], atol=1e-5, rtol=0)
    # lip-parting channels: exact away from /m/ (there the teacher's expression term gave way, which the corpus
    # does not record)
    from emogen.speech.visemes import phones_to_arkit

    _, closure = phones_to_arkit(phones, 25, num_frames=n, return_closure=True)
    free = closure < 0.01
    assert 0.3 < free.float().mean() < 0.95
    torch.testing.assert_close(out[free][:, parting], m_new[free][:, parting], atol=0.01, rtol=0)
    # speech-owned channels (away from /m/): the speaking mask is unknown, so the expression term is off by
    # ≤ (1 - s) / 2 · Δ (s: the share of the expression's opening kept while speaking), divided by (1 - e_old)
    from emogen.motion.teacher import TeacherConfig

    e_old, e_new = old(track)[:, owned], new(track)[:, owned]
    half_range = (1.0 - TeacherConfig().expression_jaw_speaking) / 2
    bound = half_range * (e_old - e_new).abs() / (1 - e_old) + 0.01
    assert ((out[:, owned] - m_new[:, owned]).abs() <= bound)[free].all()


def test_saturated_channels_take_the_new_prior_and_are_reported():
    rc = _script()
    old = rc.prior_from({"fearful": {"AU20": 1.0}})
    new = rc.prior_from({"fearful": {"AU20": 0.5}})
    track = resolve_emotion("fearful:1.0", fps=25, duration=1.0)
    m_old = pack_motion(teacher_motion(track.num_frames, emotion=track, expression=old(track)))
    out, lost = rc.retarget(m_old, track.probs, track.intensity, old, new)
    stretch = ARKIT_INDEX["mouthStretchLeft"]
    assert lost[:, stretch].all() and torch.allclose(out[:, stretch], torch.tensor(0.5))


def test_bad_prototype_tables_are_named():
    rc = _script()
    with pytest.raises(ValueError, match="'grumpy'"):
        rc.prior_from({"grumpy": {"AU4": 1.0}})
    with pytest.raises(ValueError, match="'AU99'"):
        rc.prior_from({"angry": {"AU99": 1.0}})
