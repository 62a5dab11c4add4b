"""The error types of model loading; a leaf module that imports nothing, so every layer can raise and catch
them without importing the loaders."""


class CheckpointError(ValueError):
    """A file could not be read as a generator checkpoint (the message names the file and the reason)."""


class HubUnavailableError(CheckpointError):
    """The Hub cannot be reached (offline, blocked) and the file is not in the local cache."""


class UnknownModelError(CheckpointError):
    """A name that is neither a file, a registry name nor a Hub repo id."""
