"""Headless Chromium for the browser tests and the README screenshots (Playwright driving the system Chromium)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from collections.abc import Iterator

# Flags for a closed network: without the background-networking ones Chromium keeps dialling out at start-up.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """The system Chromium (Debian's `chromium`), or $STUDIO_CHROMIUM; None when there is none."""
    candidates = [os.environ.get("STUDIO_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"]
    for name in filter(None, candidates):
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def launched_app(model: str = "demo") -> Iterator[str]:
    """Start the Gradio app in this process on a free port; yields its URL."""
    import app

    demo = app.build(model)
    demo.queue(default_concurrency_limit=4)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, show_error=False)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@contextlib.contextmanager
def browser_page(width: int = 1280, height: int = 900):
    """A fresh Playwright page in headless Chromium."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if path is None:
        raise FileNotFoundError("no Chromium found (apt-get install chromium, or set STUDIO_CHROMIUM)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()
