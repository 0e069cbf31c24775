"""Faces: tracking (MediaPipe FaceLandmarker), the ARKit-52 face rig, the portrait animator and idle motion.

Heavy modules (mediapipe, moderngl) are imported only when used.
"""

from __future__ import annotations

__all__ = [
    "FaceTracker",
    "FaceTrackingResult",
    "NoFaceFoundError",
    "track_face",
    "FaceRig",
    "FaceRigOutput",
    "PortraitAnimator",
    "PreparedPortrait",
    "IdleSettings",
    "idle_motion",
    "add_idle",
]

_LAZY = {
    "FaceTracker": "tracking",
    "FaceTrackingResult": "tracking",
    "NoFaceFoundError": "tracking",
    "track_face": "tracking",
    "FaceRig": "rig",
    "FaceRigOutput": "rig",
    "PortraitAnimator": "animator",
    "PreparedPortrait": "animator",
    "IdleSettings": "idle",
    "idle_motion": "idle",
    "add_idle": "idle",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
