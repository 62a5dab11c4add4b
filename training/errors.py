"""The training package's error for what the user can fix."""


class TrainingError(RuntimeError):
    """Training cannot start or continue (bad dataset, incompatible checkpoint, disk full)."""
