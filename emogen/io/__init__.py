"""Input/output helpers: images, video files and animation-curve export."""
