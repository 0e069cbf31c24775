"""Prompt expansion: an emotion → a physiologically grounded description of the face, scene cues and a negative prompt.

Think-Before-Draw (Shi, Qu, Liu, Gao, Zheng & Li 2025, "Think-Before-Draw: Decomposing Emotion Semantics &
Fine-Grained Controllable Expressive Talking Head Generation", arXiv:2507.12761) turns abstract emotion labels into
descriptions of facial muscle movements before generating, because text-conditioned models follow concrete movements
better than labels. Here the reasoning step is the expression prior rather than a language model, so the expansion
is deterministic and offline:

1. the emotion resolves to a label distribution and intensity (:func:`~controls.resolve.resolve_emotion`);
2. the EMFACS prototypes give action-unit intensities (:meth:`ExpressionPrior.action_units`);
3. each action unit above ``min_action_unit`` becomes a phrase — the visible movement from the FACS manual's
   description, an adverb for its FACS intensity grade (A trace … E maximum; Ekman, Friesen & Hager 2002) and
   optionally its muscle — strongest first, so a 77-token CLIP encoder that truncates keeps the essentials;
4. scene attributes follow VAD: brightness and warmth with valence, colour saturation with arousal (Valdez &
   Mehrabian 1994, "Effects of color on emotions", J. Exp. Psychol. Gen. 123), head held high / seen from below with
   dominance (Mignault & Chaudhuri 2003, "The many faces of a neutral face: head tilt and perception of dominance and
   emotion", J. Nonverbal Behav. 27);
5. the negative prompt names an expressionless face and the movements of the most opposite labels (farthest
   centroids in VAD space).

The strings work with any text-conditioned backbone; :func:`emotion_prompt_schedule` gives per-frame text prompts for
video models that take them (e.g. AnimateDiff's FreeNoise prompt travel, ``prompt={frame: text}``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from emogen.emotion import LABEL_VAD, LABELS, EmotionTrack

from .expression import ACTION_UNITS, EMFACS_PROTOTYPES, ExpressionPrior
from .resolve import resolve_emotion

__all__ = ["AU_MOVEMENTS", "EmotionPrompt", "emotion_prompt_schedule", "expand_emotion_prompt"]

#: Action unit → (region, movement, what follows, muscle), after the FACS manual's descriptions of appearance
#: changes and muscular basis (Ekman, Friesen & Hager 2002). A phrase reads "<region> <adverb> <movement><extra>".
AU_MOVEMENTS: dict[str, tuple[str, str, str, str]] = {
    "AU1": ("inner brows", "raised", "", "frontalis, pars medialis"),
    "AU2": ("outer brows", "raised", "", "frontalis, pars lateralis"),
    "AU4": ("brows", "lowered and drawn together", " with vertical furrows between them", "corrugator supercilii"),
    "AU5": ("upper eyelids", "raised", ", eyes widened", "levator palpebrae superioris"),
    "AU6": ("cheeks", "raised", " with crow's-feet at the eye corners", "orbicularis oculi, pars orbitalis"),
    "AU7": ("lower eyelids", "tightened", "", "orbicularis oculi, pars palpebralis"),
    "AU9": ("nose", "wrinkled", "", "levator labii superioris alaeque nasi"),
    "AU10": ("upper lip", "raised", "", "levator labii superioris"),
    "AU12": ("lip corners", "pulled up and back", "", "zygomaticus major"),
    "AU14": ("lip corners", "tightened into dimples", "", "buccinator"),
    "AU15": ("lip corners", "pulled down", "", "depressor anguli oris"),
    "AU16": ("lower lip", "pulled down", "", "depressor labii inferioris"),
    "AU17": ("chin", "pushed up", ", lower lip pouting", "mentalis"),
    "AU20": ("lips", "stretched sideways", "", "risorius"),
    "AU23": ("lips", "tightened and narrowed", "", "orbicularis oris"),
    "AU24": ("lips", "pressed together", "", "orbicularis oris"),
    "AU25": ("lips", "parted", "", "depressor labii inferioris"),
    "AU26": ("jaw", "dropped", ", mouth open", "masseter relaxed"),
    "AU27": ("mouth", "stretched open", ", jaw pulled far down", "lateral pterygoid, digastric"),
    "R12": ("right lip corner", "pulled up", "", "zygomaticus major, right side"),
    "R14": ("right lip corner", "tightened into a dimple", "", "buccinator, right side"),
}

#: FACS intensity grades: upper bound of the prior's value → (grade, adverb).
_GRADES: tuple[tuple[float, str, str], ...] = (
    (0.3, "A", "faintly"),
    (0.5, "B", "slightly"),
    (0.7, "C", "clearly"),
    (0.9, "D", "strongly"),
    (float("inf"), "E", "fully"),
)
_ADJECTIVES = {
    "neutral": "neutral",
    "happy": "happy",
    "sad": "sad",
    "angry": "angry",
    "fearful": "fearful",
    "disgusted": "disgusted",
    "surprised": "surprised",
    "contempt": "contemptuous",
}
#: Below this intensity a state reads as neutral.
NEUTRAL_BELOW = 0.15
#: A second label joins the description ("happy and surprised") from this share of the non-neutral mass.
MIXTURE_SHARE = 0.3


@dataclass(frozen=True)
class EmotionPrompt:
    """An expanded prompt.

    Args:
        prompt: the full prompt (base prompt, expression, scene).
        negative_prompt: expressions and movements to avoid.
        expression: the face description alone.
        scene: the scene attributes alone ("" when turned off or neutral).
        action_units: action unit → intensity in [0, 1] of the described movements, strongest first.
        label: the dominant label ("neutral" below :data:`NEUTRAL_BELOW` intensity).
        intensity: the state's intensity.
    """

    prompt: str
    negative_prompt: str
    expression: str
    scene: str
    action_units: dict[str, float] = field(default_factory=dict)
    label: str = "neutral"
    intensity: float = 0.0


def _grade(value: float) -> tuple[str, str]:
    for bound, grade, adverb in _GRADES:
        if value < bound:
            return grade, adverb
    raise AssertionError("unreachable")


def _phrase(au: str, value: float | None, muscles: bool) -> str:
    region, movement, extra, muscle = AU_MOVEMENTS[au]
    adverb = f"{_grade(value)[1]} " if value is not None else ""
    return f"{region} {adverb}{movement}{extra}" + (f" ({muscle})" if muscles else "")


def _label_phrase(probs: torch.Tensor, intensity: float) -> tuple[str, str]:
    """(dominant label, adjective phrase such as "intensely happy and surprised").

    The phrase follows the *shown* intensity: the state's intensity times its non-neutral share.
    """
    p = probs.clone()
    p[LABELS.index("neutral")] = 0.0
    intensity = intensity * float(p.sum())
    if intensity < NEUTRAL_BELOW:
        return "neutral", "neutral, relaxed"
    order = torch.argsort(p, descending=True, stable=True).tolist()
    first = LABELS[order[0]]
    words = _ADJECTIVES[first]
    total = float(p.sum())
    if total > 0 and float(p[order[1]]) / total >= MIXTURE_SHARE:
        words += f" and {_ADJECTIVES[LABELS[order[1]]]}"
    adverb = "subtly " if intensity < 0.35 else ("intensely " if intensity >= 0.75 else "")
    return first, adverb + words


def _scene(vad: torch.Tensor) -> str:
    v, a, d = (float(x) for x in vad)
    parts = []
    if v > 0.3:
        parts.append("warm, bright light")
    elif v < -0.3:
        parts.append("cool, dim light")
    if a > 0.3:
        parts.append("vivid, saturated colours")
    elif a < -0.3 or (v < -0.3 and a < 0.0):
        parts.append("muted, desaturated colours")
    if d > 0.3:
        parts.append("head held high, seen from slightly below")
    elif d < -0.3:
        parts.append("head lowered, seen from slightly above")
    return ", ".join(parts)


def _negative(vad: torch.Tensor, probs: torch.Tensor, label: str, muscles: bool) -> str:
    if label == "neutral":
        return "smiling, frowning, grimacing, raised eyebrows, open mouth, exaggerated expression"
    parts = ["neutral expression", "expressionless face", "blank stare"]
    seen: set[str] = set()
    far = []
    for k, name in enumerate(LABELS):
        if name == "neutral" or float(probs[k]) >= 0.05:
            continue
        dist = sum((float(x) - c) ** 2 for x, c in zip(vad, LABEL_VAD[name], strict=True))
        far.append((-dist, k, name))
    for _, _, name in sorted(far)[:2]:
        units = sorted(EMFACS_PROTOTYPES[name].items(), key=lambda kv: (-kv[1], list(ACTION_UNITS).index(kv[0])))
        moves = [m for m in (_phrase(au, None, False) for au, _ in units[:2]) if m not in seen]
        seen.update(moves)
        parts.append(", ".join([f"{_ADJECTIVES[name]} expression", *moves]))
    return ", ".join(parts)


def _state(emotion: Any) -> tuple[torch.Tensor, torch.Tensor, float]:
    track = emotion if isinstance(emotion, EmotionTrack) else resolve_emotion(emotion)
    state = track.mean_state(0.0, track.duration)
    return state.vad, state.probs, float(state.intensity)


def expand_emotion_prompt(
    emotion: Any,
    prompt: str = "a portrait photo of a person",
    *,
    muscles: bool = True,
    scene: bool = True,
    min_action_unit: float = 0.15,
    prior: ExpressionPrior | None = None,
) -> EmotionPrompt:
    """Expand ``prompt`` with the facial muscle movements and scene cues of ``emotion`` (see the module docstring).

    Args:
        emotion: anything :func:`~controls.resolve.resolve_emotion` accepts; a timeline or track is averaged over
            its length (use :func:`emotion_prompt_schedule` for per-frame prompts).
        prompt: the content prompt the description is appended to.
        muscles: name each movement's muscle ("lip corners clearly pulled up and back (zygomaticus major)").
        scene: append lighting, colour and viewpoint cues from VAD.
        min_action_unit: action units weaker than this are left out.
        prior: the expression prior (default :class:`ExpressionPrior`).

    Returns:
        :class:`EmotionPrompt`. The same inputs always give the same strings.

    Example::

        >>> expand_emotion_prompt("happy:0.8").expression
        'happy facial expression: lip corners clearly pulled up and back (zygomaticus major); cheeks clearly raised …'
    """
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a string, got {type(prompt).__name__}.")
    if not 0.0 <= min_action_unit <= 1.0:
        raise ValueError(f"min_action_unit must be in [0, 1], got {min_action_unit!r}.")
    prior = ExpressionPrior() if prior is None else prior
    vad, probs, intensity = _state(emotion)
    label, adjectives = _label_phrase(probs, intensity)
    units: dict[str, float] = {}
    if label != "neutral":
        values = prior.action_units(probs.to(prior.label_to_au.device), torch.tensor(intensity)).cpu()
        names = list(ACTION_UNITS)
        ranked = sorted(
            ((round(float(v), 4), i) for i, v in enumerate(values) if float(v) >= max(min_action_unit, 1e-6)),
            key=lambda t: (-t[0], t[1]),
        )
        units = {names[i]: v for v, i in ranked}
    moves = "; ".join(_phrase(au, v, muscles) for au, v in units.items())
    expression = f"{adjectives} facial expression" + (f": {moves}" if moves else "")
    scene_text = _scene(vad) if scene and label != "neutral" else ""
    text = ", ".join(p for p in (prompt.strip().rstrip(","), expression, scene_text) if p)
    return EmotionPrompt(
        prompt=text,
        negative_prompt=_negative(vad, probs, label, muscles),
        expression=expression,
        scene=scene_text,
        action_units=units,
        label=label,
        intensity=round(intensity, 4),
    )


def emotion_prompt_schedule(
    emotion: Any, num_frames: int, prompt: str = "a portrait photo of a person", *, fps: float = 8.0, **kwargs: Any
) -> dict[int, str]:
    """Per-frame expanded prompts ``{frame index: prompt}``, listing only the frames where the wording changes.

    For video models that interpolate text prompts between keyframes (AnimateDiff with FreeNoise takes exactly this
    dict as ``prompt``). ``kwargs`` go to :func:`expand_emotion_prompt`.
    """
    if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1:
        raise ValueError(f"num_frames must be a positive integer, got {num_frames!r}.")
    track = resolve_emotion(emotion, fps=fps, num_frames=num_frames)
    out: dict[int, str] = {}
    last = None
    for i in range(num_frames):
        text = expand_emotion_prompt(track.slice(i, i + 1), prompt, **kwargs).prompt
        if text != last:
            out[i] = last = text
    return out
