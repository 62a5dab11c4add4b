"""The one error type of checkpoint loading: says which file and what was wrong."""


class CheckpointError(ValueError):
    """A file could not be read as a generator checkpoint (the message names the file and the reason)."""
