"""Check a rendered talking-head video from the outside, with models that did not make it.

The FaceLandmarker (MediaPipe, independent of the renderer) reads every frame back: is there a face, how open is
the mouth, which ARKit scores does it see. Mouth opening is compared with the loudness envelope of the video's
own audio track (lip sync), and the face's shape with the source portrait's (identity: landmark geometry after
removing position, scale and rotation, in inter-pupil distances).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["VideoCheck", "read_video_frames", "audio_envelope", "mouth_opening", "shape_distance", "check_video"]

# Inner-lip midpoints and the two outer eye corners of MediaPipe's canonical mesh.
_UPPER_INNER_LIP, _LOWER_INNER_LIP = 13, 14
_IRIS_RIGHT, _IRIS_LEFT = 468, 473


@dataclass(frozen=True)
class VideoCheck:
    """What :func:`check_video` measured.

    Args:
        num_frames: frames in the video.
        fps: frame rate.
        face_found (`np.ndarray` of shape `(frames,)`, bool): a face was detected in the frame.
        mouth_opening (`np.ndarray` of shape `(frames,)`): inner-lip gap in inter-pupil distances (NaN without face).
        envelope (`np.ndarray` of shape `(frames,)`): audio RMS amplitude per frame (None without audio).
        lip_sync_r: Pearson r between mouth opening and the envelope at the best lag within ±``max_lag`` frames.
        lip_sync_lag: that lag in frames (positive: the mouth follows the audio).
        blendshapes (`np.ndarray` of shape `(frames, 52)`): the FaceLandmarker's ARKit scores (NaN without face).
        identity_distance (`np.ndarray` of shape `(frames,)`): shape distance to the reference portrait, or None.
    """

    num_frames: int
    fps: float
    face_found: np.ndarray
    mouth_opening: np.ndarray
    envelope: np.ndarray | None
    lip_sync_r: float | None
    lip_sync_lag: int | None
    blendshapes: np.ndarray
    identity_distance: np.ndarray | None

    @property
    def face_rate(self) -> float:
        """Share of frames with a face."""
        return float(self.face_found.mean())

    def summary(self) -> dict:
        out = {
            "frames": self.num_frames,
            "fps": self.fps,
            "frames_with_face": f"{int(self.face_found.sum())}/{self.num_frames}",
            "lip_sync_r": None if self.lip_sync_r is None else round(self.lip_sync_r, 3),
            "lip_sync_lag_frames": self.lip_sync_lag,
        }
        if self.identity_distance is not None:
            d = self.identity_distance[np.isfinite(self.identity_distance)]
            out["identity_distance_median_ipd"] = round(float(np.median(d)), 4) if d.size else None
        return out


def read_video_frames(path: str | os.PathLike) -> tuple[np.ndarray, float]:
    """All frames of a video as uint8 ``(T, H, W, 3)`` and its frame rate (imageio-ffmpeg)."""
    import imageio_ffmpeg

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Video {path!r} does not exist.")
    reader = imageio_ffmpeg.read_frames(path, pix_fmt="rgb24")
    meta = next(reader)
    w, h = meta["size"]
    frames = [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in reader]
    if not frames:
        raise ValueError(f"Video {path!r} has no frames.")
    return np.stack(frames), float(meta["fps"])


def audio_envelope(audio: np.ndarray, sample_rate: int, fps: float, num_frames: int) -> np.ndarray:
    """The speech amplitude envelope per video frame.

    RMS amplitude over a Hann-weighted window of three frames centred on each frame (120 ms at 25 fps), which
    keeps the envelope's syllabic modulations (2–7 Hz), the band in which mouth opening and the acoustic envelope
    are coupled (Chandrasekaran et al. 2009, "The natural statistics of audiovisual speech", PLoS Comput. Biol.).
    0 past the end of the audio.
    """
    hop = sample_rate / fps
    power = np.zeros(num_frames)
    for i in range(num_frames):
        a = int(round((i - 0.5) * hop))
        b = int(round((i + 0.5) * hop))
        seg = audio[max(0, a) : max(0, b)]
        if seg.size:
            power[i] = np.mean(seg.astype(np.float64) ** 2)
    smoothed = np.convolve(np.pad(power, 1, mode="edge"), [0.25, 0.5, 0.25], mode="valid")
    return np.sqrt(smoothed)


def mouth_opening(landmarks: np.ndarray) -> float:
    """Inner-lip gap in inter-pupil distances from 478 landmarks (pixels)."""
    gap = np.linalg.norm(landmarks[_UPPER_INNER_LIP, :2] - landmarks[_LOWER_INNER_LIP, :2])
    ipd = np.linalg.norm(landmarks[_IRIS_RIGHT, :2] - landmarks[_IRIS_LEFT, :2])
    return float(gap / max(ipd, 1e-6))


def shape_distance(reference: np.ndarray, other: np.ndarray) -> float:
    """Procrustes distance between two faces' landmarks (position, scale and in-plane rotation removed).

    Args:
        reference, other (`np.ndarray` of shape `(478, 2+)`): landmarks in pixels.

    Returns:
        RMS distance of the 468 mesh points after alignment, in the reference's inter-pupil distances.
    """
    ipd = np.linalg.norm(reference[_IRIS_RIGHT, :2] - reference[_IRIS_LEFT, :2])
    a = reference[:468, :2].astype(np.float64)
    b = other[:468, :2].astype(np.float64)
    a = a - a.mean(0)
    b = b - b.mean(0)
    scale_a, scale_b = np.sqrt((a**2).sum()), np.sqrt((b**2).sum())
    a, b = a / scale_a, b / scale_b
    u, _, vt = np.linalg.svd(b.T @ a)
    diff = a - b @ (u @ vt)
    return float(np.sqrt((diff**2).sum(1).mean()) * scale_a / max(ipd, 1e-6))


def _best_lag_corr(x: np.ndarray, y: np.ndarray, max_lag: int) -> tuple[float, int]:
    best = (-np.inf, 0)
    for lag in range(-max_lag, max_lag + 1):
        if lag >= 0:
            xs, ys = x[lag:], y[: len(y) - lag]
        else:
            xs, ys = x[:lag], y[-lag:]
        ok = np.isfinite(xs) & np.isfinite(ys)
        if ok.sum() < 10 or np.std(xs[ok]) == 0 or np.std(ys[ok]) == 0:
            continue
        r = float(np.corrcoef(xs[ok], ys[ok])[0, 1])
        if r > best[0]:
            best = (r, lag)
    return best if np.isfinite(best[0]) else (float("nan"), 0)


def check_video(
    path: str | os.PathLike,
    reference_image: np.ndarray | None = None,
    max_lag: int = 3,
    show_progress: bool = True,
) -> VideoCheck:
    """Read a video back with the FaceLandmarker and measure face presence, lip sync and identity.

    Args:
        path: an mp4 (its audio track, if any, is used for the lip-sync figure).
        reference_image: the source portrait, for the identity distance (optional).
        max_lag: lags searched for the lip-sync correlation, in frames (±).

    Returns:
        :class:`VideoCheck`.
    """
    from tqdm.auto import tqdm

    from .audio import load_audio
    from .face.tracking import FaceTracker, NoFaceFoundError

    frames, fps = read_video_frames(path)
    t = len(frames)
    found = np.zeros(t, bool)
    opening = np.full(t, np.nan)
    scores = np.full((t, 52), np.nan)
    identity = np.full(t, np.nan) if reference_image is not None else None
    with FaceTracker(max_faces=1) as tracker:
        ref = tracker.track(reference_image).landmarks.numpy() if reference_image is not None else None
        for i in tqdm(range(t), desc="reading frames", disable=not show_progress):
            try:
                face = tracker.track(frames[i])
            except NoFaceFoundError:
                continue
            lm = face.landmarks.numpy()
            found[i] = True
            opening[i] = mouth_opening(lm)
            scores[i] = face.blendshapes.numpy()
            if ref is not None:
                identity[i] = shape_distance(ref, lm)
    envelope = r = lag = None
    try:
        audio, sr = load_audio(path)
    except ValueError:
        logger.info("%s has no usable audio track; lip sync not measured.", path)
    else:
        envelope = audio_envelope(audio, sr, fps, t)
        r, lag = _best_lag_corr(opening, envelope, max_lag)
    return VideoCheck(t, fps, found, opening, envelope, r, lag, scores, identity)
