"""Dataset planning: exact balance, histogram fill-up, ids and seeds from content, independent variation streams."""

import numpy as np
import pytest

from emogen.batch.augment import AugmentConfig, class_counts, parse_emotions, plan_augment, sample_lighting
from emogen.batch.augment_render import apply_lighting, babble
from emogen.emotion import LABELS

IDENTITIES = {"ana": "a" * 64, "ben": "b" * 64, "cy": "c" * 64}


def test_parse_emotions():
    assert parse_emotions("all") == LABELS
    assert parse_emotions("anger, joy,sad,angry") == ("angry", "happy", "sad")
    with pytest.raises(ValueError, match="Unknown emotion label 'grumpy'"):
        parse_emotions("happy,grumpy")
    with pytest.raises(ValueError, match="got nothing"):
        parse_emotions(" , ")


def test_class_counts_per_class_and_histogram_fill_up():
    assert class_counts(("happy", "sad"), 5) == {"happy": 5, "sad": 5}
    hist = {"happiness": 900, "sadness": 100, "anger": 40, "surprise": 1000}
    emotions = ("happy", "sad", "angry", "contempt", "surprised")
    assert class_counts(emotions, None, hist) == {"happy": 100, "sad": 900, "angry": 960, "contempt": 1000,
                                                  "surprised": 0}  # fmt: skip
    assert class_counts(("happy", "sad"), 500, hist) == {"happy": 0, "sad": 400}
    for bad in ({"happy": -1}, {"happy": 1.5}, {"grumpy": 3}):
        with pytest.raises(ValueError):
            class_counts(("happy",), None, bad)
    with pytest.raises(ValueError, match="--per-class"):
        class_counts(("happy",))


def test_plan_is_balanced_deterministic_and_identity_balanced():
    config = AugmentConfig(mixtures=True, lighting=True)
    counts = class_counts(LABELS, 9)
    items = plan_augment(config, IDENTITIES, counts)
    assert len(items) == 72 and len({i.id for i in items}) == 72
    for label in LABELS:
        mine = [i for i in items if i.label == label]
        assert len(mine) == 9
        assert sorted(i.identity for i in mine) == sorted(["ana", "ben", "cy"] * 3)
    assert items == plan_augment(config, IDENTITIES, counts)
    for item in items:
        p = np.array(item.probs)
        assert abs(p.sum() - 1) < 1e-3 and LABELS[int(p.argmax())] == item.label
        assert 0.3 <= item.intensity <= 1.0 or (item.label == "neutral" and item.intensity == 0.0)
        assert abs(item.pose["yaw"]) <= 8 and abs(item.pose["pitch"]) <= 4 and abs(item.pose["gaze_yaw"]) <= 8
    assert any(sum(1 for v in i.probs if v > 0) == 2 for i in items), "some mixtures"
    assert any(i.blink > 0 for i in items), "some blinks"


def test_more_items_per_class_keep_the_first_ones():
    config = AugmentConfig()
    small = plan_augment(config, IDENTITIES, class_counts(("sad", "happy"), 3))
    large = plan_augment(config, IDENTITIES, class_counts(("happy", "sad"), 6))
    by_id = {i.id: i for i in large}
    for item in small:
        assert item.id in by_id
        assert by_id[item.id].pose == item.pose and by_id[item.id].probs == item.probs


def test_factors_are_drawn_from_independent_streams():
    plain = plan_augment(AugmentConfig(), IDENTITIES, class_counts(LABELS, 3))
    lit = plan_augment(AugmentConfig(lighting=True), IDENTITIES, class_counts(LABELS, 3))
    assert all(i.lighting is None for i in plain) and all(i.lighting for i in lit)
    # lighting changes the items (ids) but not how their pose, gaze or intensity were drawn from their seeds
    for a, b in zip(plain, lit, strict=True):
        assert a.id != b.id
    rng_a = np.random.default_rng([plain[0].seed, 2])
    assert plain[0].pose["yaw"] == round(float(rng_a.uniform(-1, 1, 3)[0] * 8.0), 3)


def test_a_different_seed_or_setting_gives_other_items():
    counts = class_counts(("happy",), 4)
    base = {i.id for i in plan_augment(AugmentConfig(), IDENTITIES, counts)}
    assert base.isdisjoint(i.id for i in plan_augment(AugmentConfig(seed=1), IDENTITIES, counts))
    assert base.isdisjoint(i.id for i in plan_augment(AugmentConfig(size=128), IDENTITIES, counts))
    # the class list is not part of an item: choosing fewer classes keeps the items
    assert base <= {i.id for i in plan_augment(AugmentConfig(emotions=("sad", "happy")), IDENTITIES, class_counts(
        ("sad", "happy"), 4))}  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"intensity": (0.8, 0.2)}, "intensity"),
        ({"pose_jitter": 90.0}, "pose_jitter"),
        ({"size": 8}, "size"),
        ({"framing": "wide"}, "framing"),
        ({"frames": 0}, "frames"),
        ({"emotions": ("happy", "grumpy")}, "grumpy"),
        ({"seed": -2}, "seed"),
    ],
)
def test_config_checks(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AugmentConfig(**kwargs)


def test_lighting_is_reproducible_and_none_is_identity():
    frame = np.random.default_rng(0).integers(0, 256, (32, 40, 3), dtype=np.uint8)
    params = sample_lighting(np.random.default_rng(5))
    assert set(params) == {"exposure", "contrast", "gamma", "temperature", "tint", "saturation", "light_angle",
                           "light_strength", "noise"}  # fmt: skip
    a = apply_lighting(frame, params, np.random.default_rng(1))
    b = apply_lighting(frame, params, np.random.default_rng(1))
    assert a.dtype == np.uint8 and a.shape == frame.shape and np.array_equal(a, b) and not np.array_equal(a, frame)
    assert apply_lighting(frame, None, np.random.default_rng(1)) is frame


def test_babble_is_speech_like():
    from emogen.speech.visemes import detect_alphabet, phones_to_arkit

    phones = babble(2.0, np.random.default_rng(3))
    assert phones[-1].end >= 2.0 and any(p.phone == "SIL" for p in phones)
    assert detect_alphabet([p.phone for p in phones]) == "arpabet"
    jaw = phones_to_arkit(phones, fps=25, duration=2.0)[:, 24]  # jawOpen
    assert jaw.max() > 0.1 and jaw.min() < 0.05
