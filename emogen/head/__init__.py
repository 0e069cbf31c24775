"""Head parts shared by the 2D portrait animator and the 3D head avatar: the mouth interior (:mod:`.mouth`)."""
