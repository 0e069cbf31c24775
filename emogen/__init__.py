"""emogen: emotion-controllable generation.

Core package: typed values (:mod:`emogen.emotion`, :mod:`emogen.arkit`), face rig, motion models, rendering,
speech, audio and export. The control layer is :mod:`emogen.controls`; pipelines are in :mod:`emogen.pipelines`.
"""

__version__ = "0.1.0"
