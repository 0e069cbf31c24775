"""The ARKit-52 blendshape space shared by every part of emogen.

The names and their order follow Apple's ``ARFaceAnchor.BlendShapeLocation`` documentation, which is also the
order MediaPipe's FaceLandmarker reports (after its leading ``_neutral`` score). Live Link Face writes the same
52 curves, in its own column order, followed by head and eye rotations; :data:`LIVE_LINK_FACE_COLUMNS` reproduces
that CSV header so exported curves import into Unreal Engine unchanged.
"""

from __future__ import annotations

__all__ = [
    "ARKIT_BLENDSHAPES",
    "ARKIT_INDEX",
    "NUM_BLENDSHAPES",
    "LIVE_LINK_FACE_COLUMNS",
    "arkit_index",
]

#: The 52 ARKit blendshape names in MediaPipe FaceLandmarker order (``_neutral`` dropped).
ARKIT_BLENDSHAPES: tuple[str, ...] = (
    "browDownLeft",
    "browDownRight",
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "cheekPuff",
    "cheekSquintLeft",
    "cheekSquintRight",
    "eyeBlinkLeft",
    "eyeBlinkRight",
    "eyeLookDownLeft",
    "eyeLookDownRight",
    "eyeLookInLeft",
    "eyeLookInRight",
    "eyeLookOutLeft",
    "eyeLookOutRight",
    "eyeLookUpLeft",
    "eyeLookUpRight",
    "eyeSquintLeft",
    "eyeSquintRight",
    "eyeWideLeft",
    "eyeWideRight",
    "jawForward",
    "jawLeft",
    "jawOpen",
    "jawRight",
    "mouthClose",
    "mouthDimpleLeft",
    "mouthDimpleRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "mouthFunnel",
    "mouthLeft",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthPucker",
    "mouthRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "noseSneerLeft",
    "noseSneerRight",
    "tongueOut",
)

NUM_BLENDSHAPES: int = len(ARKIT_BLENDSHAPES)

#: Name → column index in :data:`ARKIT_BLENDSHAPES`.
ARKIT_INDEX: dict[str, int] = {name: i for i, name in enumerate(ARKIT_BLENDSHAPES)}

#: CSV header written by Epic's Live Link Face app (52 blendshapes, then head and eye rotations).
LIVE_LINK_FACE_COLUMNS: tuple[str, ...] = (
    "Timecode",
    "BlendShapeCount",
    "EyeBlinkLeft",
    "EyeLookDownLeft",
    "EyeLookInLeft",
    "EyeLookOutLeft",
    "EyeLookUpLeft",
    "EyeSquintLeft",
    "EyeWideLeft",
    "EyeBlinkRight",
    "EyeLookDownRight",
    "EyeLookInRight",
    "EyeLookOutRight",
    "EyeLookUpRight",
    "EyeSquintRight",
    "EyeWideRight",
    "JawForward",
    "JawRight",
    "JawLeft",
    "JawOpen",
    "MouthClose",
    "MouthFunnel",
    "MouthPucker",
    "MouthRight",
    "MouthLeft",
    "MouthSmileLeft",
    "MouthSmileRight",
    "MouthFrownLeft",
    "MouthFrownRight",
    "MouthDimpleLeft",
    "MouthDimpleRight",
    "MouthStretchLeft",
    "MouthStretchRight",
    "MouthRollLower",
    "MouthRollUpper",
    "MouthShrugLower",
    "MouthShrugUpper",
    "MouthPressLeft",
    "MouthPressRight",
    "MouthLowerDownLeft",
    "MouthLowerDownRight",
    "MouthUpperUpLeft",
    "MouthUpperUpRight",
    "BrowDownLeft",
    "BrowDownRight",
    "BrowInnerUp",
    "BrowOuterUpLeft",
    "BrowOuterUpRight",
    "CheekPuff",
    "CheekSquintLeft",
    "CheekSquintRight",
    "NoseSneerLeft",
    "NoseSneerRight",
    "TongueOut",
    "HeadYaw",
    "HeadPitch",
    "HeadRoll",
    "LeftEyeYaw",
    "LeftEyePitch",
    "LeftEyeRoll",
    "RightEyeYaw",
    "RightEyePitch",
    "RightEyeRoll",
)


def arkit_index(name: str) -> int:
    """Column of blendshape ``name`` in :data:`ARKIT_BLENDSHAPES`.

    Raises:
        ValueError: if ``name`` is not one of the 52 ARKit names (the message suggests the closest).
    """
    try:
        return ARKIT_INDEX[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, ARKIT_BLENDSHAPES, n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(
            f"Unknown ARKit blendshape {name!r}.{hint} Accepted: the 52 names in ARKIT_BLENDSHAPES."
        ) from None
