"""Faces: tracking (MediaPipe FaceLandmarker), the canonical face mesh and its ARKit-52 blendshapes, the face rig.

Heavy modules (mediapipe) are imported only when used. The animator that renders a rig is
:class:`emogen.render.PortraitAnimator`; idle motion is in :mod:`emogen.motion`.
"""

from __future__ import annotations

__all__ = [
    "FaceTracker",
    "FaceTrackingResult",
    "NoFaceFoundError",
    "track_face",
    "FaceRig",
    "FaceRigOutput",
]

_LAZY = {
    "FaceTracker": "tracking",
    "FaceTrackingResult": "tracking",
    "NoFaceFoundError": "tracking",
    "track_face": "tracking",
    "FaceRig": "rig",
    "FaceRigOutput": "rig",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
