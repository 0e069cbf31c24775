"""The 3D head avatar: one portrait → a textured full-head mesh rigged with the 52 ARKit blendshapes.

* :class:`HeadAvatar` — ``HeadAvatar.from_portrait(image)`` builds it, ``avatar(motion)`` poses it
  (:class:`AvatarOutput`); render it with :class:`emogen.render.avatar.AvatarRenderer`, export it with
  :func:`emogen.export.gltf.write_glb`;
* :mod:`.shell` — the procedural skull, neck, hair cap and ears fitted to the face; :mod:`.eyes` — eyeballs and
  gaze; :mod:`.morphs` — the fields on the whole head and the neck's skinning; :mod:`.texture` — the texture chart
  and its baking from the photo.
"""

from .model import MATERIAL_EYE, MATERIAL_MOUTH, MATERIAL_SKIN, AvatarOutput, HeadAvatar
from .shell import HeadShape

__all__ = ["AvatarOutput", "HeadAvatar", "HeadShape", "MATERIAL_EYE", "MATERIAL_MOUTH", "MATERIAL_SKIN"]
