"""Errors a user can act on. The CLI prints them as one line, without a traceback."""


class StationError(Exception):
    """A failure the user caused or can fix: bad input, missing file, unknown id."""


class ModelError(StationError):
    """A model directory that cannot be loaded: missing, corrupt, truncated or mismatched."""


class SourceError(StationError):
    """A source that cannot be opened."""


class ImageError(StationError):
    """One image that cannot be decoded. Per-item: reported, never fatal to a run."""
