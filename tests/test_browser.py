"""The app in a real headless Chromium: the first page of faces shows unasked, Generate shows faces, the Project tab
has its photo input and examples; the screenshot is kept as an artefact."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("playwright", reason="playwright is not installed (requirements-dev.txt)")
from browser import browser_page, chromium_path, drag_in_the_page, launched_app, set_tuning  # noqa: E402

from studio import workflows as wf  # noqa: E402

ARTIFACTS = Path(os.environ.get("STUDIO_TEST_ARTIFACTS", Path(__file__).resolve().parent.parent / "artifacts"))


@pytest.mark.skipif(chromium_path() is None, reason="no Chromium on this machine (apt-get install chromium)")
def test_page_loads_and_generate_shows_faces():
    with launched_app("demo") as url, browser_page() as page:
        page.goto(url)
        page.get_by_text("Active model: demo").wait_for(timeout=60_000)
        assert "StyleGAN Studio" in page.title()
        page.locator("#gallery img").nth(7).wait_for(state="visible", timeout=60_000)  # before any click
        page.get_by_role("button", name="Generate", exact=True).click()
        faces = page.locator("#gallery img")
        faces.nth(7).wait_for(state="visible", timeout=60_000)
        assert faces.count() >= 8
        # visible is not decoded: under load an <img> is laid out before its PNG has arrived (naturalWidth 0)
        page.wait_for_function(
            "() => [...document.querySelectorAll('#gallery img')].every(i => i.complete)", timeout=30_000
        )
        sizes = faces.evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
        assert all(w == 64 for w in sizes), sizes  # real decoded PNGs from the demo model
        faces.first.click()  # into the editor
        page.get_by_text("In the editor: seed 0").wait_for(timeout=30_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser-generate.png"), full_page=True)
        page.get_by_role("tab", name="Project").click()
        page.locator("input[type=file]").first.wait_for(state="attached", timeout=30_000)  # the photo input is drawn
        page.get_by_text("Or try an example photo").wait_for(timeout=30_000)
    assert (ARTIFACTS / "browser-generate.png").stat().st_size > 10_000


@pytest.mark.skipif(chromium_path() is None, reason="no Chromium on this machine (apt-get install chromium)")
def test_edit_tab_draws_a_slider_per_picked_direction_and_edits_the_face():
    """The Edit tab opens with a few sliders of the model's directions; typing a strength edits the face."""
    with launched_app("demo") as url, browser_page() as page:
        page.goto(url)
        page.locator("#gallery img").nth(7).wait_for(state="visible", timeout=60_000)
        page.locator("#gallery img").first.click()  # into the editor
        page.get_by_text("In the editor: seed 0").wait_for(timeout=30_000)
        page.get_by_role("tab", name="Edit").click()
        page.get_by_text("smile (expression)").wait_for(timeout=30_000)  # drawn for the opened directions
        page.get_by_text("yaw (pose)").wait_for(timeout=30_000)
        page.locator("#edited img").wait_for(state="visible", timeout=30_000)  # the face, unedited
        before = page.locator("#edited img").get_attribute("src")
        box = page.get_by_label("number input for smile (expression)")
        box.fill("2")
        box.press("Enter")
        page.wait_for_function(
            "b => { const i = document.querySelector('#edited img'); return i && i.src !== b; }",
            arg=before,
            timeout=30_000,
        )
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser-edit.png"), full_page=True)


@pytest.mark.skipif(chromium_path() is None, reason="no Chromium on this machine (apt-get install chromium)")
def test_the_edit_tab_shows_the_edit_in_the_photo_and_offers_it_for_download(photos):
    """Project an example photo, edit it: the Edit tab shows the whole photo with the face edited and a download."""
    with launched_app("demo") as url, browser_page() as page:
        page.goto(url)
        page.get_by_role("tab", name="Project").click()
        page.locator("input[type=file]").first.set_input_files(str(photos / "obama.jpg"))
        page.get_by_text("Faces found").wait_for(timeout=30_000)
        set_tuning(page, 0)  # the projection alone: this test is about the photo panel, not tuning's minute
        page.wait_for_timeout(2000)  # face detection
        page.get_by_role("button", name="Project", exact=True).click()
        page.get_by_text("identity_distance").wait_for(timeout=300_000)
        page.get_by_role("button", name="Edit this face").click()
        page.get_by_role("tab", name="Edit").click()
        box = page.get_by_label("number input for smile (expression)")
        box.wait_for(timeout=30_000)
        box.fill("2")
        box.press("Enter")
        page.locator("#edited-photo img").wait_for(state="visible", timeout=60_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser-edit-photo.png"), full_page=True)
        page.locator("#photo-download a").first.wait_for(timeout=60_000)  # the download
        assert page.locator("[role=tablist]").count() == 1  # every tab in the page's one row of tabs


@pytest.mark.skipif(chromium_path() is None, reason="no Chromium on this machine (apt-get install chromium)")
def test_the_drag_tab_drags_a_projected_photo_and_the_result_goes_back_into_it(photos):
    """Project a photo with a short tuning (its own generator draws it), click two handles and their targets in
    the Drag tab and Start: the points show, the dragged face becomes the editor's, and the Edit tab shows it in
    the photo."""
    with launched_app("demo") as url, browser_page(1280, 1000) as page:
        page.goto(url)
        page.get_by_role("tab", name="Project").click()
        page.locator("input[type=file]").first.set_input_files(str(photos / "obama.jpg"))
        page.get_by_text("Faces found").wait_for(timeout=30_000)
        set_tuning(page, 20)
        page.get_by_label("Only where needed").uncheck()
        page.wait_for_timeout(2000)  # face detection
        page.get_by_role("button", name="Project", exact=True).click()
        page.get_by_text("identity_distance").wait_for(timeout=300_000)
        page.get_by_role("button", name="Edit this face").click()
        page.get_by_text("In the editor: projected photo").wait_for(state="attached", timeout=30_000)
        drag_in_the_page(page, [(24, 45, 22, 45), (40, 45, 42, 45)], 64)
        assert page.locator("#drag-points textarea").input_value().count(">") == 2  # where the handles ended
        page.get_by_text("projected photo (dragged)").wait_for(state="attached", timeout=30_000)  # in the editor
        page.get_by_role("tab", name="Edit").click()
        page.locator("#edited-photo img").wait_for(state="visible", timeout=60_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser-drag.png"), full_page=True)
        assert page.locator("[role=tablist]").count() == 1


@pytest.mark.skipif(chromium_path() is None, reason="no Chromium on this machine (apt-get install chromium)")
def test_the_video_tab_edits_a_clip():
    """Upload the example clip, preview one frame, edit the clip (no tuning): the page plays the edited clip."""
    with launched_app("demo") as url, browser_page() as page:
        page.goto(url)
        page.get_by_role("tab", name="Video").click()
        page.locator("#video-in input[type=file]").set_input_files(str(wf.sample_clips()[0]))
        page.get_by_role("button", name="Preview one frame").click()
        page.get_by_label("number input for Tune the generator on the clip (PTI steps, 0: off)").fill("0")
        page.get_by_role("button", name="Edit the clip").click()
        page.get_by_text("frames edited").wait_for(timeout=180_000)
        assert page.locator("#video-out video").count() == 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser-video.png"), full_page=True)
