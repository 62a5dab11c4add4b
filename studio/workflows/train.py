"""Training a generator on a dataset, with what to say when the run is cut short."""

from __future__ import annotations

from pathlib import Path

from training.distributed import torchrun_rank
from training.snapshots import latest_snapshot
from training.trainer import TrainOptions, train


class TrainingInterrupted(Exception):  # noqa: N818  (a stop the user asked for, not an error)
    """Ctrl-C during a run; the message says how to go on (or None in the processes that stay silent)."""

    def __init__(self, message: str | None) -> None:
        super().__init__(message or "interrupted")
        self.message = message


def resume_hint(outdir: str | Path) -> str:
    """What a user can do after a run stopped: resume from its newest snapshot, or start it again."""
    out = Path(outdir)
    snapshot = latest_snapshot(out) if out.is_dir() else None
    if snapshot is None:
        return "interrupted before the first snapshot: the same command starts the run again"
    return (
        f"interrupted: its newest snapshot, {snapshot.name}, is intact; the same command with "
        f"--resume {out} goes on from it"
    )


def run_training(opts: TrainOptions) -> Path:
    """Train as `opts` says (the trainer logs each tick and writes resumable snapshots); the run directory.
    Ctrl-C becomes TrainingInterrupted, whose message only one process of a torchrun job carries."""
    try:
        return train(opts)
    except KeyboardInterrupt:
        raise TrainingInterrupted(resume_hint(opts.outdir) if torchrun_rank() == 0 else None) from None
