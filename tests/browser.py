"""Headless Chromium for the browser tests and the README screenshots (Playwright driving the system Chromium)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

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


@contextlib.contextmanager
def launched_app(model: str = "demo") -> Iterator[str]:
    """Start the Gradio app in this process (production settings, a free port); yields its URL."""
    import app

    demo = app.serve(model, server_name="127.0.0.1", block=False, quiet=True)
    try:
        yield demo.local_url
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


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    page.wait_for_timeout(500)


def _click(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()


def _pick_from_gallery(page, seed: int) -> None:
    """Click a face of the first gallery page (where the index is the seed) and wait until it is in the editor."""
    page.locator("#gallery img").nth(seed).click()
    page.get_by_text(f"In the editor: seed {seed}").wait_for(timeout=30_000)


def set_tuning(page, steps: int) -> None:
    """Set the Project tab's tuning steps once the page's own defaults for the model have landed (the page load
    sets them; on a busy machine that answer can come after a value typed too early, and overwrite it)."""
    from playwright.sync_api import expect

    from studio import workflows as wf

    tuning = page.get_by_label("number input for Tune the generator to this photo (PTI steps, 0: off)")
    expect(tuning).to_have_value(str(wf.PTI_STEPS), timeout=120_000)  # the demo model's default: tune where needed
    tuning.fill(str(steps))
    tuning.press("Enter")
    expect(tuning).to_have_value(str(steps))


def click_face(page, x: float, y: float, resolution: int) -> None:
    """Click the Drag tab's face at (x, y) in pixels of the model's image (Gradio shows it unscaled or shrunk to
    fit, centred in its box)."""
    image = page.locator("#drag-canvas img")
    natural = image.evaluate("i => i.naturalWidth")
    box = image.bounding_box()
    shown = min(box["width"], box["height"], natural)
    left, top = box["x"] + (box["width"] - shown) / 2, box["y"] + (box["height"] - shown) / 2
    page.mouse.click(left + (x + 0.5) * shown / resolution, top + (y + 0.5) * shown / resolution)
    page.wait_for_timeout(1000)


def drag_in_the_page(page, points: list[tuple[float, float, float, float]], resolution: int) -> None:
    """Open the Drag tab, click each handle and its target on the editor's face, Start, wait for the result."""
    _tab(page, "Drag")
    page.locator("#drag-canvas img").wait_for(timeout=30_000)
    for hx, hy, tx, ty in points:
        click_face(page, hx, hy, resolution)
        click_face(page, tx, ty, resolution)
    _click(page, "Start")
    page.get_by_text("steps (").wait_for(timeout=180_000)


def take_screenshots(outdir: Path, photo: Path, model: str = "demo") -> list[Path]:
    """Drive every tab as a visitor would and save one screenshot per tab (the README's pictures)."""
    outdir.mkdir(parents=True, exist_ok=True)
    shots = []

    def shoot(name: str) -> None:
        page.wait_for_timeout(800)
        shots.append(outdir / f"{name}.png")
        page.screenshot(path=str(shots[-1]), full_page=True)

    with launched_app(model) as url, browser_page(1280, 900) as page:
        page.goto(url)
        page.get_by_text(f"Active model: {model}").wait_for(timeout=60_000)
        _click(page, "Generate")
        page.locator("#gallery img").nth(7).wait_for(timeout=60_000)
        _pick_from_gallery(page, 2)
        shoot("generate")

        _tab(page, "Project")
        page.locator("input[type=file]").first.set_input_files(str(photo))
        page.get_by_label("Steps").first.fill("60")
        page.get_by_label("Steps").first.press("Enter")
        page.wait_for_timeout(3000)  # face detection
        _click(page, "Project")
        page.get_by_text("identity_distance").wait_for(timeout=300_000)  # with tuning where needed
        shoot("project")
        _click(page, "Edit this face")

        _tab(page, "Edit")
        numbers = page.locator("input[type=number]:visible")
        numbers.nth(0).fill("2.5")
        numbers.nth(0).press("Enter")
        page.wait_for_timeout(2500)
        shoot("edit")
        page.locator("#edited-photo img").wait_for(state="visible", timeout=60_000)
        page.locator("#edited-photo").scroll_into_view_if_needed()
        page.wait_for_timeout(1500)
        shots.append(outdir / "edit_photo.png")
        page.screenshot(path=str(shots[-1]))  # the photo panel in view

        drag_in_the_page(page, [(24, 45, 22, 45), (40, 45, 42, 45)], 64)  # the demo's mouth corners, outwards
        shoot("drag")
        _tab(page, "Edit")
        page.locator("#edited-photo").scroll_into_view_if_needed()
        page.wait_for_timeout(4000)
        shots.append(outdir / "drag_photo.png")
        page.screenshot(path=str(shots[-1]))  # the dragged face back in the photo

        _tab(page, "Mix")
        _click(page, "Editor face -> A")
        _tab(page, "Generate")
        _pick_from_gallery(page, 5)
        _tab(page, "Mix")
        _click(page, "Editor face -> B")
        page.get_by_role("checkbox", name="middle").check()
        _click(page, "Mix")
        page.wait_for_timeout(3000)
        shoot("mix")

        _tab(page, "Morph")
        _click(page, "Add the editor face")
        _tab(page, "Generate")
        _pick_from_gallery(page, 6)
        _tab(page, "Morph")
        _click(page, "Add the editor face")
        page.get_by_text("2 face(s)").wait_for(timeout=30_000)
        _click(page, "Make the video")
        page.locator("video").first.wait_for(timeout=120_000)
        shoot("morph")

        from studio.workflows import sample_clips

        _tab(page, "Video")
        page.locator("#video-in input[type=file]").set_input_files(str(sample_clips()[0]))
        _click(page, "Preview one frame")
        page.wait_for_timeout(5000)
        _click(page, "Edit the clip")
        page.get_by_text("frames edited").wait_for(timeout=300_000)  # with the default tuning
        shoot("video")
    return shots


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Screenshots of every tab of the app, for the README.")
    parser.add_argument("--photo", required=True, help="a photo with a face, for the Project tab")
    parser.add_argument("--outdir", default="docs/screenshots")
    parser.add_argument("--model", default="demo")
    args = parser.parse_args()
    for path in take_screenshots(Path(args.outdir), Path(args.photo), args.model):
        print(path)
