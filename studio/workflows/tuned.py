"""Generators tuned for one photo each (pivotal tuning), held per visitor by an unguessable key.

The shared model is never modified; a visitor's face that comes with a tuned generator refers to it by key, so
edits, mixes and morphs of that face render on it. At most `limit` are kept in memory (the oldest goes first),
and a session's own are released when the session ends.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict

from stylegan_core import Generator


class TunedGenerators:
    def __init__(self, limit: int = 4) -> None:
        self.limit = limit
        self._models: OrderedDict[str, Generator] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, G: Generator) -> str:
        key = secrets.token_urlsafe(16)
        with self._lock:
            self._models[key] = G
            while len(self._models) > self.limit:
                self._models.popitem(last=False)
        return key

    def get(self, key: str | None) -> Generator | None:
        with self._lock:
            return self._models.get(key) if key else None

    def release(self, key: str | None) -> None:
        with self._lock:
            self._models.pop(key, None)

    def __len__(self) -> int:
        return len(self._models)
