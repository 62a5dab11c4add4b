"""File permissions for the weights we write.

safetensors creates its files with mode 0600 whatever the umask, so a model or training snapshot
written on a shared machine (or a mounted Space volume) was unreadable by the group and by the web
server's user. We give such files the mode any new file gets here: 0666 minus the umask.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process umask (Python can only read it by setting it, so set it back at once)."""
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def give_default_mode(path: str | Path) -> None:
    """chmod `path` to 0666 & ~umask, as if `open(path, "w")` had created it."""
    os.chmod(path, 0o666 & ~current_umask())
