"""The loaded models a process shares: read-only, keyed by name, with their edit directions."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from editing.directions import Direction
from editing.encoders import Encoder, default_encoder
from stylegan_core import Generator
from stylegan_core.formats import detect_format, load_generator, newest_run_snapshot
from stylegan_core.hub import REGISTRY

from .edit import edit_directions
from .invert import model_encoder
from .latents import Latent
from .progress import SILENT, Progress
from .tuned import TunedGenerators


def current_snapshot(name: str) -> str:
    """A training run's directory stands for its newest snapshot, so a run still training shows its progress
    (each snapshot is its own cache entry); any other name is itself."""
    path = Path(name).expanduser()
    if path.is_dir() and detect_format(path) == "run":
        return str(newest_run_snapshot(path))
    return name


def model_choices() -> list[str]:
    """The registry's names a visitor can pick without a file of their own."""
    return [name for name, e in REGISTRY.items() if e.repo_id or e.bundled]


class ModelCache:
    """Loaded generators by name (at most `size`, least recently used dropped); safe across threads.
    `allow_local=False` (a public app) serves registry names and Hub repos only, never a path on this machine
    that a visitor typed; the operator's own choices (`trust`) still load from disk."""

    def __init__(self, size: int = 2, device: str = "cpu", allow_local: bool = True) -> None:
        self.size = size
        self.device = device
        self.allow_local = allow_local
        self._models: OrderedDict[str, Generator] = OrderedDict()
        self._lock = threading.Lock()
        self._directions: dict[str, dict[str, Direction]] = {}
        self._trusted: set[str] = set()
        self._encoders: dict[str, Encoder] = {}
        self.tuned = TunedGenerators()

    def trust(self, name: str) -> None:
        """Let `name` (the operator's default model, say) be a local path even when visitors' paths are refused."""
        self._trusted.add(name)

    def _local_ok(self, name: str) -> bool:
        return self.allow_local or name in self._trusted

    def _key(self, name: str) -> str:
        return current_snapshot(name) if self._local_ok(name) else name

    def get(self, name: str) -> Generator:
        local_ok, key = self._local_ok(name), self._key(name)
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
        G = load_generator(key, device=self.device, allow_local=local_ok)  # outside the lock: can be slow
        with self._lock:
            self._models[key] = G
            while len(self._models) > self.size:
                self._models.popitem(last=False)
        return G

    def for_latent(self, name: str, latent: Latent) -> Generator:
        """The generator that draws `latent`: its own tuned one where it has one still in memory, else the model."""
        return self.tuned.get(latent.tuned_key) or self.get(name)

    def release(self, latent: Latent | None) -> None:
        """Free a face's tuned generator (its visitor's session ended)."""
        if latent is not None:
            self.tuned.release(latent.tuned_key)

    def encoder(self, name: str) -> Encoder | None:
        """The model's own encoder (loaded once), or None where it has none."""
        key = self._key(name)
        if key not in self._encoders:
            self._encoders[key] = model_encoder(name, self.get(name)) if default_encoder(name) else None
        return self._encoders[key]

    def directions(self, name: str, progress: Progress = SILENT) -> dict[str, Direction]:
        """The model's directions for a W / W+ latent: its built-in ones (Z boundaries as their W equivalents,
        computed on first use), else SeFa components discovered once and kept."""
        key = self._key(name)
        if key not in self._directions:
            self._directions[key] = edit_directions(self.get(name), name, progress)
        return self._directions[key]
