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

from .identity import shape_distance
from .lip_sync import audio_envelope, best_lag_correlation, mouth_opening

logger = logging.getLogger(__name__)

__all__ = ["VideoCheck", "check_video"]


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
        mouth_opening_68 (`np.ndarray` of shape `(frames,)`): the inner-lip gap read by a second, independent
            landmarker (face-api.js's 68 points, normalised by the outer eye-corner distance), or None when it is
            not installed.
        lip_sync_r_68, lip_sync_lag_68: lip sync measured on ``mouth_opening_68``.
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
    mouth_opening_68: np.ndarray | None = None
    lip_sync_r_68: float | None = None
    lip_sync_lag_68: int | None = None

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
        if self.mouth_opening_68 is not None:
            out["lip_sync_r_68_point_landmarker"] = (
                None if self.lip_sync_r_68 is None else round(self.lip_sync_r_68, 3)
            )
            out["lip_sync_lag_68_point_landmarker"] = self.lip_sync_lag_68
        if self.identity_distance is not None:
            d = self.identity_distance[np.isfinite(self.identity_distance)]
            out["identity_distance_median_ipd"] = round(float(np.median(d)), 4) if d.size else None
        return out


def check_video(
    path: str | os.PathLike,
    reference_image: np.ndarray | None = None,
    max_lag: int = 3,
    show_progress: bool = True,
    second_landmarker: bool | None = None,
) -> VideoCheck:
    """Read a video back with the FaceLandmarker and measure face presence, lip sync and identity.

    Args:
        path: an mp4 (its audio track, if any, is used for the lip-sync figure).
        reference_image: the source portrait, for the identity distance (optional).
        max_lag: lags searched for the lip-sync correlation, in frames (±).
        second_landmarker: also read the mouth with face-api.js's 68-point landmarker (an independent model);
            ``None``: when it is installed (:mod:`emogen.evaluation.faceapi`).

    Returns:
        :class:`VideoCheck`.
    """
    from tqdm.auto import tqdm

    from ..face.tracking import FaceTracker, NoFaceFoundError
    from ..io.audio import load_audio
    from ..io.video import read_video_frames

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
    opening_68 = _mouth_opening_68(frames, show_progress) if second_landmarker is not False else None
    if second_landmarker and opening_68 is None:
        raise ValueError("second_landmarker=True needs face-api.js (see emogen.evaluation.fer for the install).")
    envelope = r = lag = r68 = lag68 = None
    try:
        audio, sr = load_audio(path)
    except ValueError:
        logger.info("%s has no usable audio track; lip sync not measured.", path)
    else:
        envelope = audio_envelope(audio, sr, fps, t)
        r, lag = best_lag_correlation(opening, envelope, max_lag)
        if opening_68 is not None:
            r68, lag68 = best_lag_correlation(opening_68, envelope, max_lag)
    return VideoCheck(t, fps, found, opening, envelope, r, lag, scores, identity, opening_68, r68, lag68)


def _mouth_opening_68(frames: np.ndarray, show_progress: bool) -> np.ndarray | None:
    """face-api.js's 68-point mouth opening per frame, or ``None`` when face-api.js is not installed."""
    from .faceapi import FaceAPI, NodeServer, mouth_opening_68

    try:
        server = NodeServer(enable=("faceapi",))
    except (FileNotFoundError, ModuleNotFoundError, RuntimeError) as err:
        logger.info("second landmarker unavailable (%s)", err)
        return None
    with server:
        landmarks = FaceAPI(server).landmarks(list(frames), progress=show_progress)
    return mouth_opening_68(landmarks)
