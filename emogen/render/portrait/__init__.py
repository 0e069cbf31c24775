"""The 2D portrait animator: a photo warped by a face rig, shaded per backend (DESIGN §5)."""

from .animator import FRAMINGS, PortraitAnimator, PreparedPortrait

__all__ = ["FRAMINGS", "PortraitAnimator", "PreparedPortrait"]
