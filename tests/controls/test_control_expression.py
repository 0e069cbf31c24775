import pytest
import torch

from emogen.arkit import ARKIT_BLENDSHAPES, NUM_BLENDSHAPES, arkit_index
from emogen.controls import ExpressionPrior, resolve_emotion
from emogen.controls.expression import ACTION_UNITS, AU_TO_ARKIT, EMFACS_PROTOTYPES
from emogen.emotion import LABELS


def w(weights: torch.Tensor, *names: str) -> float:
    return float(sum(weights[..., arkit_index(n)].mean() for n in names) / len(names))


@pytest.fixture(scope="module")
def prior():
    return ExpressionPrior()


def test_tables_are_consistent():
    assert set(EMFACS_PROTOTYPES) == set(LABELS)
    assert set(AU_TO_ARKIT) == set(ACTION_UNITS)
    for units in EMFACS_PROTOTYPES.values():
        assert set(units) <= set(ACTION_UNITS) and all(0 < v <= 1 for v in units.values())
    for shapes in AU_TO_ARKIT.values():
        assert all(name in ARKIT_BLENDSHAPES for name in shapes)


def test_happy_smiles(prior):
    out = prior(resolve_emotion("happy"))
    assert out.shape == (1, NUM_BLENDSHAPES)
    assert w(out, "mouthSmileLeft", "mouthSmileRight") > 0.8
    assert w(out, "cheekSquintLeft", "cheekSquintRight") > 0.5
    assert w(out, "mouthFrownLeft", "mouthFrownRight") == 0


def test_sad_raises_inner_brows_and_frowns(prior):
    out = prior(resolve_emotion("sad"))
    assert w(out, "browInnerUp") > 0.7 and w(out, "mouthFrownLeft", "mouthFrownRight") > 0.6
    assert w(out, "browDownLeft", "browDownRight") > 0.4  # the inner brows rise *and* knit (AU1+4)
    assert w(out, "mouthSmileLeft", "mouthSmileRight") == 0


def test_each_label_has_its_signature(prior):
    """The ARKit shapes that make each prototype's action units (EMFACS, at the FACS intensities of the table)."""

    def of(label):
        return prior(resolve_emotion(label))

    angry = of("angry")  # 4+5+7+23+24: brows down and knit, lids tensed, lips pressed
    assert w(angry, "browDownLeft", "browDownRight") > 0.8 and w(angry, "eyeSquintLeft", "eyeSquintRight") > 0.5
    assert w(angry, "mouthPressLeft", "mouthPressRight") > 0.5
    surprised = of("surprised")  # 1+2+5B+27: the jaw pulled wide open, lids only slightly wide
    assert w(surprised, "jawOpen") > 0.85 and w(surprised, "browOuterUpLeft") > 0.8
    assert 0.3 <= w(surprised, "eyeWideLeft") <= 0.45
    fear = of("fearful")  # 1+2+4+5+20+25: brows raised *and* knit, lids wide, lips stretched and parted
    assert w(fear, "browInnerUp") > 0.8 and w(fear, "browDownLeft", "browDownRight") > 0.4
    assert w(fear, "browOuterUpLeft") > 0.5 and w(fear, "eyeWideLeft", "eyeWideRight") > 0.5
    assert w(fear, "mouthStretchLeft", "mouthStretchRight") > 0.5 and w(fear, "jawOpen") < w(surprised, "jawOpen")
    disgust = of("disgusted")  # 9+10+17: nose wrinkled, upper lip raised, chin raised
    assert w(disgust, "noseSneerLeft", "noseSneerRight") > 0.7 and w(disgust, "mouthUpperUpLeft") > 0.5
    assert w(disgust, "mouthShrugLower") > 0.4 and w(disgust, "mouthSmileLeft") == 0
    contempt = of("contempt")
    assert w(contempt, "mouthSmileRight") > 0.3 and w(contempt, "mouthSmileLeft") == 0  # unilateral
    assert of("neutral").abs().sum() == 0


def test_prototypes_meet_the_ck_plus_criteria(prior):
    """Lucey et al. 2010, Table 2: the action units each emotion label requires."""
    from emogen.controls.expression import ACTION_UNITS, EMFACS_PROTOTYPES

    def has(label, *aus):
        return all(EMFACS_PROTOTYPES[label].get(au, 0.0) > 0 for au in aus)

    assert has("angry", "AU23", "AU24") and has("happy", "AU12") and has("fearful", "AU1", "AU2", "AU4")
    assert has("sad", "AU1", "AU4", "AU15") and has("surprised", "AU1", "AU2") and has("contempt", "R14")
    assert has("disgusted", "AU9") or has("disgusted", "AU10")
    assert EMFACS_PROTOTYPES["surprised"]["AU5"] <= 0.4  # surprise: AU5 no stronger than B
    assert set(ACTION_UNITS) >= {au for units in EMFACS_PROTOTYPES.values() for au in units}


def test_intensity_scales_monotonically(prior):
    smiles = [w(prior(resolve_emotion(f"happy:{i}")), "mouthSmileLeft") for i in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert smiles == sorted(smiles) and smiles[0] == 0 and smiles[-1] > smiles[1] > 0


def test_mixtures_and_vad_blend(prior):
    mix = prior(resolve_emotion("happy:0.5+surprised:0.5"))
    assert w(mix, "mouthSmileLeft") > 0.3 and w(mix, "browOuterUpLeft") > 0.3
    vad_happy = prior(resolve_emotion("vad:0.8,0.5,0.45"))
    vad_sad = prior(resolve_emotion("vad:-0.6,-0.3,-0.3"))
    assert w(vad_happy, "mouthSmileLeft") > 0.5 and w(vad_sad, "mouthFrownLeft") > 0.5


def test_timeline_moves_expression(prior):
    track = resolve_emotion("0s neutral, 1s happy, 2s sad", fps=10, duration=3.0)
    out = prior(track)
    assert out.shape == (30, NUM_BLENDSHAPES) and out.min() >= 0 and out.max() <= 1
    assert w(out[10], "mouthSmileLeft") > 0.8 and w(out[25], "mouthFrownLeft") > 0.6


def test_moves_with_device_and_rejects_bad_input(prior):
    assert prior.to(torch.float64).au_to_arkit.dtype == torch.float64
    with pytest.raises(TypeError, match="EmotionTrack"):
        prior(torch.zeros(3, 8))


def test_the_upper_lip_raiser_bends_the_lip_up_in_the_middle_not_at_the_corners():
    """AU10 through the AU → ARKit table and the rig's fields: the middle of the upper lip rises, the corners a tenth
    as far at most (FACS: the outer portions less than the centre). mouthUpperUp alone lifts the corners half as far
    as the middle, which with AU9 and AU17 left a disgusted mouth's corners 0.06 IPD up: a smile."""
    from emogen.controls.expression import au_matrix
    from emogen.face.blendshapes import load_blendshapes

    _, fields, _ = load_blendshapes()
    weights = au_matrix()[list(ACTION_UNITS).index("AU10")]
    lift = torch.einsum("k,kvc->vc", weights, fields)[:, 1]
    assert lift[[0, 13]].min() > 0.05  # the middle of the upper lip (outer and inner line)
    assert lift[[61, 291]].abs().max() < 0.1 * lift[13]
