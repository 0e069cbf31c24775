"""Readers (images, audio, video, curve files) and atomic file output; writers are in :mod:`emogen.export`."""
