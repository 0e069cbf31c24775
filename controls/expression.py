"""Expression prior: emotion → FACS action units → ARKit-52 blendshape weights.

Two tables, both data with their sources (no number here was fitted to a classifier):

* :data:`EMFACS_PROTOTYPES` — the action units of each label's prototypical expression with FACS intensities
  (A trace ≈ 0.2, B slight ≈ 0.4, C marked ≈ 0.6, D severe ≈ 0.8, E maximum = 1.0) of a posed, full-intensity
  expression (intensity 1; lower intensities scale it), after the EMFACS / *FACS
  Investigator's Guide* prototypes (Ekman, Friesen & Hager 2002, Table 10-1): happiness 6+12, sadness 1+4+15
  (+17), surprise 1+2+5B+26/27, fear 1+2+4+5+20+25/26, anger 4+5+7+23+24, disgust 9 / 10 (+17), contempt R12A+R14A.
  Every prototype meets the coding criteria of the Extended Cohn-Kanade dataset (Lucey et al. 2010, "The Extended
  Cohn-Kanade Dataset (CK+)", CVPR workshops, Table 2): anger needs AU23 *and* AU24, disgust AU9 or AU10, fear
  AU1+2+4, happiness AU12, sadness AU1+4+15, surprise AU1+2 with AU5 no stronger than B, contempt AU14.
  Secondary units follow the AUs that most posers show (Du, Tao & Martinez 2014, "Compound facial expressions of
  emotion", PNAS 111: sadness 17 in 67 % of people, fear 25, disgust 17, anger 17).
* :data:`AU_TO_ARKIT` — how each action unit is produced by ARKit blendshapes, following Apple's blendshape
  descriptions (ARFaceAnchor.BlendShapeLocation) and Meta's ARKit ↔ FACS correspondence (Unity-Movement
  ``ARKitFace.cs``): AU1 → browInnerUp, AU2 → browOuterUp, AU4 → browDown, AU5 → eyeWide, AU6 → cheekSquint, AU7 →
  eyeSquint, AU9 → noseSneer, AU10 → mouthUpperUp (+ a little mouthFrown, below), AU12 → mouthSmile (+ mouthUpperUp,
  below), AU14 → mouthDimple, AU15 → mouthFrown, AU16 → mouthLowerDown, AU17 → mouthShrugLower (+ mouthShrugUpper),
  AU20 → mouthStretch, AU24 → mouthPress, AU26 → jawOpen, AU27 → jawOpen (fully). ARKit has no shape for AU23 (lip
  tightener: the red of the lips thinned, little change in width); it is approximated by rolling both lips in a little
  and pressing them. AU26 (a *relaxed* jaw drop) stops at jawOpen 0.8, about the 17 mm of pure hinge opening (Woelfel,
  Igarashi & Dong 2014, J. Korean Assoc. Oral Maxillofac. Surg. 40); the rig's jawOpen = 1 opens ≈ 21 mm. Four entries
  are read from real faces through the landmarker the rig is built on (MediaPipe), never from a classifier: AU12's
  share of ``mouthUpperUp`` (the upper lip stretched up off the teeth in a full smile), happiness's AU25 at E, how far
  AU25 parts the lips (real broad smiles part them 12-20 mm, 0.19-0.32 inter-pupil distances, median 0.22, over seven
  people's photos: at E the lower lip is pulled down, ``mouthLowerDown`` 1, with a small jaw drop) and the surprise
  prototype's AU27 (real posed surprise opens the lips 22-40 mm).

The prior of a state with label distribution ``p`` and intensity ``s`` is
``clamp(s · Σ_k p_k · AU_k · M, 0, 1)`` where ``AU_k`` is row ``k`` of the prototype table and ``M`` the
AU → ARKit matrix; continuous VAD input blends prototypes through its soft label assignment.
"""

from __future__ import annotations

import torch
from torch import nn

from emogen.arkit import ARKIT_BLENDSHAPES, NUM_BLENDSHAPES, arkit_index
from emogen.emotion import LABELS, NUM_LABELS, EmotionTrack

__all__ = ["ACTION_UNITS", "EMFACS_PROTOTYPES", "AU_TO_ARKIT", "ExpressionPrior", "au_matrix", "prototype_matrix"]

#: FACS action units used by the prototypes: number → name (Ekman, Friesen & Hager 2002).
ACTION_UNITS: dict[str, str] = {
    "AU1": "inner brow raiser",
    "AU2": "outer brow raiser",
    "AU4": "brow lowerer",
    "AU5": "upper lid raiser",
    "AU6": "cheek raiser",
    "AU7": "lid tightener",
    "AU9": "nose wrinkler",
    "AU10": "upper lip raiser",
    "AU12": "lip corner puller",
    "AU14": "dimpler",
    "AU15": "lip corner depressor",
    "AU16": "lower lip depressor",
    "AU17": "chin raiser",
    "AU20": "lip stretcher",
    "AU23": "lip tightener",
    "AU24": "lip presser",
    "AU25": "lips part",
    "AU26": "jaw drop",
    "AU27": "mouth stretch",
    "R12": "lip corner puller, right side only",
    "R14": "dimpler, right side only",
}

#: EMFACS prototypes: label → {action unit: intensity}. Sources in the module docstring.
EMFACS_PROTOTYPES: dict[str, dict[str, float]] = {
    "neutral": {},
    # 6+12: 12 at E, 6 at D, lips parted (25, the most frequent companion: Du et al. 2014) at E: real broad smiles
    # read mouthLowerDown 0.16 and mouthUpperUp 0.6 (medians, MediaPipe); with 25 at B ours read 0 and 0-0.3, the
    # lower lip still covering the upper incisors' edges; at E the crowns show, the lips as far apart as real smiles
    "happy": {"AU6": 0.8, "AU12": 1.0, "AU25": 1.0},
    # 1+4+15 with 17 (Du et al. 2014: 67 % of posers); 15 at E, 1 at D, 4 at C: the inner brows rise *and* knit
    "sad": {"AU1": 0.9, "AU4": 0.6, "AU15": 1.0, "AU17": 0.6},
    # 1+2+5B+27: brows fully raised, the lids widen only slightly (5 no stronger than B, CK+), the jaw pulled wide
    # open — the posed, full-intensity variant (27 rather than a relaxed 26): real posed surprise opens the lips
    # 22-40 mm (0.35-0.64 inter-pupil distances, two people), a relaxed jaw drop at most ≈ 17 mm. No 25 beyond
    # what the jaw drop parts: the lips stay relaxed, the lower lip over the lower teeth as in real posed surprise
    # (25 is mapped to the lower lip's depressor, which bares the lower teeth)
    "surprised": {"AU1": 1.0, "AU2": 1.0, "AU5": 0.4, "AU27": 0.9},
    # 1+2+4+5+20+25 (+26): brows raised and drawn together, upper lids raised, lips stretched and parted
    "fearful": {"AU1": 1.0, "AU2": 0.8, "AU4": 0.6, "AU5": 0.8, "AU20": 0.8, "AU25": 0.6, "AU26": 0.3},
    # 4+5+7+23+24: brows lowered and knit, upper lids raised, lower lids tensed, lips pressed and thinned
    "angry": {"AU4": 1.0, "AU5": 0.6, "AU7": 0.8, "AU23": 0.7, "AU24": 0.7},
    # 9+10+17: nose wrinkled, upper lip raised, chin raised (the AU9 variants of Table 10-1, with 17); AU9 lowers
    # the inner brows (4 at B)
    "disgusted": {"AU9": 1.0, "AU10": 0.8, "AU17": 0.6, "AU4": 0.4},
    # unilateral R12A+R14A, at B so that it shows on a still photo
    "contempt": {"R12": 0.4, "R14": 0.5},
}

#: Action unit → {ARKit blendshape: weight at full activation}. Sources in the module docstring.
AU_TO_ARKIT: dict[str, dict[str, float]] = {
    "AU1": {"browInnerUp": 1.0},
    "AU2": {"browOuterUpLeft": 1.0, "browOuterUpRight": 1.0},
    "AU4": {"browDownLeft": 1.0, "browDownRight": 1.0},
    "AU5": {"eyeWideLeft": 1.0, "eyeWideRight": 1.0},
    # AU6 also narrows the aperture from below (FACS: bagging under the lower lid)
    "AU6": {"cheekSquintLeft": 1.0, "cheekSquintRight": 1.0, "eyeSquintLeft": 0.3, "eyeSquintRight": 0.3},
    "AU7": {"eyeSquintLeft": 1.0, "eyeSquintRight": 1.0},
    "AU9": {"noseSneerLeft": 1.0, "noseSneerRight": 1.0},
    # AU10 raises the nostril wings a little with the upper lip (FACS), and the middle of the upper lip more than its
    # outer portions (FACS: "the outer portions ... are also drawn up but not as high as the centre"): this rig's
    # mouthUpperUp lifts the corners half as far as the middle (it also serves AU12's lifted upper lip, where the
    # corners rise anyway), so a little mouthFrown holds them where they are; a disgusted upper lip then bends up
    # in the middle instead of lifting the whole mouth like a smile
    "AU10": {
        "mouthUpperUpLeft": 1.0,
        "mouthUpperUpRight": 1.0,
        "noseSneerLeft": 0.15,
        "noseSneerRight": 0.15,
        "mouthFrownLeft": 0.2,
        "mouthFrownRight": 0.2,
    },
    # a full AU12 stretches the upper lip up off the teeth; this rig's basis (MediaPipe's blendshapes) carries that
    # part in mouthUpperUp: read back from 8 real broad smiles of 6 people, mouthUpperUp / mouthSmile has median 0.8
    "AU12": {"mouthSmileLeft": 1.0, "mouthSmileRight": 1.0, "mouthUpperUpLeft": 0.8, "mouthUpperUpRight": 0.8},
    "AU14": {"mouthDimpleLeft": 1.0, "mouthDimpleRight": 1.0},
    "AU15": {"mouthFrownLeft": 1.0, "mouthFrownRight": 1.0},
    "AU16": {"mouthLowerDownLeft": 1.0, "mouthLowerDownRight": 1.0},
    "AU17": {"mouthShrugLower": 1.0, "mouthShrugUpper": 0.3},
    "AU20": {"mouthStretchLeft": 1.0, "mouthStretchRight": 1.0},
    "AU23": {"mouthRollUpper": 0.3, "mouthRollLower": 0.3, "mouthPressLeft": 0.2, "mouthPressRight": 0.2},
    "AU24": {"mouthPressLeft": 1.0, "mouthPressRight": 1.0},
    # lips part, mostly by the lower lip (25A is a gap under 2 mm, FACS manual); at E as wide as in real broad smiles:
    # 0.19-0.32 IPD between the inner lips (seven people's photos, median 0.22; the rig's happy gives 0.20)
    "AU25": {"jawOpen": 0.1, "mouthLowerDownLeft": 1.0, "mouthLowerDownRight": 1.0},
    "AU26": {"jawOpen": 0.8},
    # AU27 pulls the jaw down as far as it goes: the rig's full jawOpen (≈ 21 mm at the incisors)
    "AU27": {"jawOpen": 1.0},
    # ARKit "Left"/"Right" are the subject's own sides; the contempt prototype's R12/R14 is the right side.
    "R12": {"mouthSmileRight": 1.0, "mouthUpperUpRight": 0.8},
    "R14": {"mouthDimpleRight": 1.0},
}


def prototype_matrix(prototypes: dict[str, dict[str, float]] | None = None) -> torch.Tensor:
    """`torch.Tensor` of shape `(K, num_AUs)`: label → action-unit intensities, rows in :data:`LABELS` order.

    Args:
        prototypes: label → {action unit: intensity}; default :data:`EMFACS_PROTOTYPES`. Labels left out get no
            action units.

    Raises:
        ValueError: an unknown label or action unit.
    """
    aus = list(ACTION_UNITS)
    out = torch.zeros(NUM_LABELS, len(aus))
    for label, units in (EMFACS_PROTOTYPES if prototypes is None else prototypes).items():
        if label not in LABELS:
            raise ValueError(f"Unknown label {label!r} in the prototypes; expected one of {LABELS}.")
        for au, value in units.items():
            if au not in aus:
                raise ValueError(f"Unknown action unit {au!r} for {label!r}; expected one of {aus}.")
            out[LABELS.index(label), aus.index(au)] = value
    return out


def au_matrix() -> torch.Tensor:
    """`torch.Tensor` of shape `(num_AUs, 52)`: action unit → ARKit weights."""
    aus = list(ACTION_UNITS)
    out = torch.zeros(len(aus), NUM_BLENDSHAPES)
    for au, shapes in AU_TO_ARKIT.items():
        for name, value in shapes.items():
            out[aus.index(au), arkit_index(name)] = value
    return out


class ExpressionPrior(nn.Module):
    """Emotion → ARKit-52 blendshape weights through EMFACS action units.

    The tables are buffers (they move with ``.to()``); ``scale`` multiplies every prototype (e.g. 0.8 for a
    subtler character).

    Example::

        >>> prior = ExpressionPrior()
        >>> weights = prior(resolve_emotion("happy:0.8", duration=2.0))  # (50, 52)
    """

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        if not scale >= 0:
            raise ValueError(f"scale must be >= 0, got {scale!r}.")
        self.scale = float(scale)
        self.register_buffer("label_to_au", prototype_matrix(), persistent=False)
        self.register_buffer("au_to_arkit", au_matrix(), persistent=False)

    @property
    def blendshape_names(self) -> tuple[str, ...]:
        return ARKIT_BLENDSHAPES

    def action_units(self, probs: torch.Tensor, intensity: torch.Tensor) -> torch.Tensor:
        """Action-unit intensities.

        Args:
            probs (`torch.Tensor` of shape `(..., K)`)
            intensity (`torch.Tensor` of shape `(...)`)

        Returns:
            `torch.Tensor` of shape `(..., num_AUs)` in [0, 1].
        """
        au = probs.to(self.label_to_au.dtype) @ self.label_to_au
        return (self.scale * intensity.to(au.dtype).unsqueeze(-1) * au).clamp(0.0, 1.0)

    def from_state(self, probs: torch.Tensor, intensity: torch.Tensor) -> torch.Tensor:
        """ARKit weights `(..., 52)` in [0, 1] from a label distribution `(..., K)` and intensity `(...)`."""
        return (self.action_units(probs, intensity) @ self.au_to_arkit).clamp(0.0, 1.0)

    def forward(self, track: EmotionTrack) -> torch.Tensor:
        """ARKit weights per frame.

        Args:
            track: an :class:`EmotionTrack` of ``frames`` frames.

        Returns:
            `torch.Tensor` of shape `(frames, 52)` in [0, 1], columns in :data:`emogen.arkit.ARKIT_BLENDSHAPES`.
        """
        if not isinstance(track, EmotionTrack):
            raise TypeError(f"ExpressionPrior expects an EmotionTrack, got {type(track).__name__}.")
        return self.from_state(track.probs.to(self.label_to_au.device), track.intensity.to(self.label_to_au.device))
