"""One small protocol for long work: progress events out, a stop request in.

The CLI maps it to a tqdm bar and Ctrl-C, the app to `gr.Progress` and its Stop button; workflows never
print, and never know which front end runs them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")


@dataclass(frozen=True)
class ProgressEvent:
    """`step` of `total` of a named stage; `preview` an intermediate picture where the work has one."""

    stage: str
    step: int
    total: int
    preview: np.ndarray | None = None  # [H, W, 3] uint8


@dataclass(frozen=True)
class Progress:
    """What a workflow is handed: where its events go, and whether it should stop early (at its next step)."""

    on_event: Callable[[ProgressEvent], None] | None = None
    should_stop: Callable[[], bool] | None = None

    def report(self, stage: str, step: int, total: int, preview: np.ndarray | None = None) -> None:
        if self.on_event is not None:
            self.on_event(ProgressEvent(stage, step, total, preview))

    def stopped(self) -> bool:
        return self.should_stop is not None and self.should_stop()

    def counter(self, stage: str) -> Callable[[int, int], None]:
        """A `(done, total)` callback, the form the core's loops report in."""
        return lambda done, total: self.report(stage, done, total)


SILENT = Progress()


@dataclass(frozen=True)
class Finished(Generic[T]):
    """The last item of `stream`: the work's result."""

    result: T


def stream(work: Callable[[Progress], T], should_stop: Callable[[], bool] | None = None) -> Iterator:
    """Run `work` in a thread and yield its ProgressEvents as they come, then `Finished(result)`; an error in
    the work is raised here. Closing the iterator (a visitor's Stop, a closed tab) asks the work to stop at its
    next step, so the CPU is freed rather than spent on a result nobody will see."""
    events: queue.Queue = queue.Queue()
    stop = threading.Event()
    outcome: dict = {}

    def worker() -> None:
        try:
            progress = Progress(events.put, lambda: stop.is_set() or (should_stop is not None and should_stop()))
            outcome["result"] = work(progress)
        except Exception as exc:  # handed to the caller's thread below
            outcome["error"] = exc
        events.put(None)

    threading.Thread(target=worker, daemon=True, name="studio-workflow").start()
    try:
        while (event := events.get()) is not None:
            yield event
    finally:
        stop.set()
    if "error" in outcome:
        raise outcome["error"]
    yield Finished(outcome["result"])
