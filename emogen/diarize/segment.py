"""Frame-level emotion → segments: HMM smoothing (Viterbi) with a minimum segment duration.

The hidden state is the emotion label; each label stays with probability ``1 - switch_rate / fps`` per frame and
otherwise jumps to any other label uniformly (a "sticky" HMM; cf. the HMM resegmentation used in speaker
diarization, e.g. Sell & Garcia-Romero 2015, "Diarization resegmentation in the factor analysis subspace",
ICASSP). Emissions are the backend's frame posteriors, which were calibrated with balanced classes, so they
serve as scaled likelihoods under a uniform prior (the hybrid HMM/ANN view, Bourlard & Morgan 1994). Frames
outside speech get flat emissions, so the state carries across pauses. Segments shorter than ``min_duration``
are merged into the neighbour that explains them best. Finally each boundary is moved to where a step function
best fits the continuous VAD curve nearby (least squares, the single change-point estimate of Hinkley 1970,
"Inference about the change-point in a sequence of random variables", Biometrika 57): labels flip as soon as one
becomes likelier, the VAD curve's transition is centred on the true change.
"""

from __future__ import annotations

import numpy as np
import torch

from ..emotion import LABELS
from .types import EmotionSegment, FrameEmotion, frame_intensity

__all__ = ["viterbi", "smooth_path", "merge_short_runs", "refine_boundaries", "segments_from_path"]


def viterbi(log_emissions: np.ndarray, log_transition: np.ndarray, log_initial: np.ndarray) -> np.ndarray:
    """Most likely state path of an HMM.

    Args:
        log_emissions (`np.ndarray` of shape `(frames, K)`): log p(observation_t | state).
        log_transition (`np.ndarray` of shape `(K, K)`): log p(state_t = j | state_{t-1} = i) at ``[i, j]``.
        log_initial (`np.ndarray` of shape `(K,)`).

    Returns:
        `np.ndarray` of shape `(frames,)`, int64 state indices.
    """
    t, k = log_emissions.shape
    delta = log_initial + log_emissions[0]
    back = np.zeros((t, k), dtype=np.int64)
    for i in range(1, t):
        scores = delta[:, None] + log_transition  # (from, to)
        back[i] = scores.argmax(0)
        delta = scores[back[i], np.arange(k)] + log_emissions[i]
    path = np.empty(t, dtype=np.int64)
    path[-1] = int(delta.argmax())
    for i in range(t - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path


def smooth_path(frames: FrameEmotion, switch_rate: float = 0.3, emission_weight: float = 1.0) -> np.ndarray:
    """Viterbi label path through the frame posteriors.

    Args:
        frames: the backend output.
        switch_rate: expected label changes per second (sets the transition probability).
        emission_weight: exponent on the scaled likelihoods (frames are correlated by the analysis window;
            values < 1 make the path stickier).

    Returns:
        `np.ndarray` of shape `(frames,)`: label index per frame.
    """
    probs = frames.probs.double().cpu().numpy()
    speech = frames.speech.cpu().numpy()
    k = probs.shape[1]
    emissions = emission_weight * np.log(np.clip(probs, 1e-8, 1.0))
    emissions[~speech] = 0.0
    p_switch = float(np.clip(switch_rate / frames.fps, 1e-6, 0.5))
    trans = np.full((k, k), np.log(p_switch / (k - 1)))
    np.fill_diagonal(trans, np.log1p(-p_switch))
    return viterbi(emissions, trans, np.full(k, -np.log(k)))


def _runs(path: np.ndarray) -> list[tuple[int, int, int]]:
    """(start, stop, state) of each run of equal values."""
    edges = np.flatnonzero(np.diff(path)) + 1
    starts = np.concatenate([[0], edges])
    stops = np.concatenate([edges, [len(path)]])
    return [(int(a), int(b), int(path[a])) for a, b in zip(starts, stops, strict=False)]


def merge_short_runs(path: np.ndarray, probs: np.ndarray, min_frames: int) -> np.ndarray:
    """Merge runs shorter than ``min_frames`` into a neighbour, shortest first.

    A short run joins the neighbour whose label has the higher summed probability over the run's frames.

    Args:
        path (`np.ndarray` of shape `(frames,)`): label per frame.
        probs (`np.ndarray` of shape `(frames, K)`): frame posteriors.
        min_frames: shortest allowed run (a recording shorter than that becomes one run).

    Returns:
        `np.ndarray` of shape `(frames,)`.
    """
    path = path.copy()
    while True:
        runs = _runs(path)
        if len(runs) == 1:
            return path
        lengths = [b - a for a, b, _ in runs]
        i = int(np.argmin(lengths))
        if lengths[i] >= min_frames:
            return path
        a, b, _ = runs[i]
        candidates = [runs[j][2] for j in (i - 1, i + 1) if 0 <= j < len(runs)]
        best = max(candidates, key=lambda s: probs[a:b, s].sum())
        path[a:b] = best


def refine_boundaries(path: np.ndarray, vad: np.ndarray, search_frames: int) -> np.ndarray:
    """Move each label change to the least-squares step point of the VAD curve within ``±search_frames``.

    Args:
        path (`np.ndarray` of shape `(frames,)`): label per frame.
        vad (`np.ndarray` of shape `(frames, 3)`): the smoothed VAD curve.
        search_frames: how far a boundary may move (it never crosses a neighbouring boundary).

    Returns:
        `np.ndarray` of shape `(frames,)`.
    """
    path = path.copy()
    runs = _runs(path)
    for i in range(len(runs) - 1):
        a, b, left = runs[i]
        _, c, right = runs[i + 1]
        lo, hi = max(a, b - search_frames), min(c, b + search_frames)
        if hi - lo < 3:
            continue
        seg = vad[lo:hi].astype(np.float64)
        n = np.arange(1, hi - lo)  # split after n frames: left = seg[:n], right = seg[n:]
        csum = np.cumsum(seg, axis=0)
        total = csum[-1]
        left_sum = csum[:-1]
        right_sum = total - left_sum
        # SSE = Σx² - |Σ_left|²/n_left - |Σ_right|²/n_right; minimise the negative explained part
        gain = (left_sum**2).sum(-1) / n + (right_sum**2).sum(-1) / (len(seg) - n)
        split = lo + int(n[int(np.argmax(gain))])
        path[lo:split] = left
        path[split:hi] = right
        runs[i + 1] = (split, c, right)
    return path


def segments_from_path(
    path: np.ndarray, frames: FrameEmotion, vad: torch.Tensor, duration: float
) -> tuple[EmotionSegment, ...]:
    """One :class:`EmotionSegment` per run of ``path``; boundaries halfway between frame centres.

    Args:
        path (`np.ndarray` of shape `(frames,)`): label index per frame.
        frames: the (smoothed) frame posteriors, for confidence.
        vad (`torch.Tensor` of shape `(frames, 3)`): smoothed VAD, averaged over each segment's speech frames.
        duration: audio length in seconds (end of the last segment).
    """
    probs = frames.probs.double().cpu()
    speech = frames.speech.cpu()
    vad = vad.double().cpu()
    segments = []
    runs = _runs(path)
    for n, (a, b, k) in enumerate(runs):
        start = 0.0 if n == 0 else (a - 0.5) / frames.fps
        end = duration if n == len(runs) - 1 else (b - 0.5) / frames.fps
        start, end = max(0.0, min(start, duration)), max(0.0, min(end, duration))
        if end <= start:
            continue
        sel = speech[a:b] if speech[a:b].any() else torch.ones(b - a, dtype=torch.bool)
        seg_vad = vad[a:b][sel].mean(0).clamp(-1, 1)
        seg_probs = probs[a:b][sel].mean(0)
        one_hot = torch.zeros(len(LABELS), dtype=torch.float64)
        one_hot[k] = 1.0
        if LABELS[k] == "neutral":
            intensity = 0.0
        else:  # intensity of this label: |vad| relative to the label's centroid
            intensity = float(frame_intensity(seg_vad.unsqueeze(0), one_hot.unsqueeze(0))[0])
        segments.append(
            EmotionSegment(
                start=start,
                end=end,
                label=LABELS[k],
                intensity=intensity,
                vad=tuple(seg_vad.tolist()),
                confidence=float(seg_probs[k].clamp(0, 1)),
            )
        )
    return tuple(segments)
