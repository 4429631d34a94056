"""The web demo in a real browser: headless Chromium (Playwright) against the in-process app.

Loads the page, picks an example, runs super-resolution (and drags the slider to both ends),
runs registration, opens "How it works", then uploads a bad file over the chosen one (no clearing
first), runs it (a failed run) and runs a good example again. Screenshots go to ``screenshots/``
at the project root (git-ignored). Skipped only when Playwright or Chromium is missing; set
``CHROMIUM_PATH`` to use another binary. Data: the project's examples and crops written by
``support.running_app``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import pytest  # noqa: E402

from l1bsr_demo import examples  # noqa: E402

from support import PROJECT, running_app  # noqa: E402

SCREENSHOTS = PROJECT / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
RUN_TIMEOUT_MS = 300_000  # one network run on a busy CPU
TOAST = ".toast-body"
"""Gradio's pop-up messages."""


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
CHROMIUM = chromium_path()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium binary found (set CHROMIUM_PATH)")
expect = sync_api.expect


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("browser")) as url:
        yield url


@pytest.fixture(scope="module")
def page(app_url):
    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(app_url, wait_until="domcontentloaded")
        yield page
        browser.close()


def shot(page, name: str, full_page: bool = True) -> Path:
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=full_page)
    assert path.is_file() and path.stat().st_size > 10_000
    return path


def horizontal(page, selector: str) -> tuple[float, float]:
    box = page.locator(selector).first.bounding_box()
    return box["x"], box["x"] + box["width"]


def drag_slider_to(page, slider: str, x: float) -> None:
    handle = page.locator(f"{slider} [data-testid=slider] .icon-wrap")  # the grip
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(x, box["y"] + box["height"] / 2, steps=12)
    page.mouse.up()


def test_page_loads_with_examples(page):
    expect(page.get_by_role("heading", name="L1BSR studio")).to_be_visible()
    thumbnails = page.locator("#examples img")
    expect(thumbnails.first).to_be_visible()
    # The fetched examples (00, 01 from the local mirror) join the synthetic ones on load.
    expect(page.locator("#examples-note")).to_contain_text("not available: 02")
    expect(page.locator("#examples-note")).to_contain_text("L1B 00 … 01 are real Sentinel-2 L1B crops")
    assert thumbnails.count() == len(examples.synthetic_examples()) + 2
    expect(page.locator("#status")).to_contain_text("Registration (CSR)")
    shot(page, "01_page.png", full_page=False)


def test_pick_example_superresolve_and_drag_the_slider(page):
    page.locator("#examples img").first.click()  # a synthetic example: it has a truth
    expect(page.locator("#input-preview img")).to_be_visible()
    expect(page.locator("#input-about")).to_contain_text(" px, 4 bands")
    page.locator("#run-sr").click()
    expect(page.locator("#sr-slider img").first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#sr-summary")).to_contain_text("REC super-resolution", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#sr-summary")).to_contain_text("PSNR vs true 5 m")
    expect(page.locator("#sr-files")).to_contain_text("_x2")
    # The handle stays over the picture, however far it is dragged.
    left, right = horizontal(page, "#sr-slider img")
    viewport = page.viewport_size["width"]
    for target, edge in ((viewport - 2, right), (2, left)):
        drag_slider_to(page, "#sr-slider", target)
        handle_left, handle_right = horizontal(page, "#sr-slider [data-testid=slider] .inner")
        assert left - 1 <= handle_left and handle_right <= right + 1, (left, right, handle_left, handle_right)
        assert abs((handle_left + handle_right) / 2 - edge) <= 2  # and it reaches the picture's edge
    shot(page, "02_superresolution.png")


def test_registration(page):
    page.get_by_role("tab", name="Registration").click()
    page.locator("#run-reg").click()
    expect(page.locator("#reg-flows img")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#reg-quiver img")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#reg-summary")).to_contain_text("CSR registration", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#reg-summary")).to_contain_text("true flows")
    expect(page.locator("#reg-files")).to_contain_text("_flow")
    shot(page, "03_registration.png")


def test_how_it_works(page):
    page.get_by_role("tab", name="How it works").click()
    expect(page.get_by_text("CVPR Workshops (EarthVision) 2023", exact=False).first).to_be_visible()
    expect(page.get_by_role("heading", name="CSR: cross-spectral registration")).to_be_visible()
    shot(page, "04_how_it_works.png")


def test_a_failed_run_clears_the_results_then_a_good_run_shows_them(page, tmp_path):
    bad = tmp_path / "holiday.tif"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    page.get_by_role("tab", name="Super-resolution").click()
    expect(page.locator("#sr-slider img").first).to_be_visible()  # the earlier run's pictures
    # Another file over the chosen example, without clearing it first.
    with page.expect_file_chooser() as chooser:
        page.locator("#upload-another").click()
    chooser.value.set_files(str(bad))
    expect(page.locator("#input-about")).to_contain_text("holiday.tif is not a TIFF file")
    expect(page.locator("#input-about")).to_contain_text("PNG")
    for _ in range(2):  # twice: the message is replaced, not repeated
        page.locator("#run-sr").click()
        expect(page.locator("#sr-summary")).to_contain_text("holiday.tif is not a TIFF file", timeout=RUN_TIMEOUT_MS)
        expect(page.locator("#sr-slider img")).to_have_count(0)  # the previous pictures are gone
        expect(page.locator("#sr-summary")).not_to_contain_text("REC super-resolution")
        expect(page.locator("#sr-files")).not_to_contain_text("_x2")
    assert page.locator("#sr-summary").inner_text().count("not a TIFF file") == 1
    assert page.locator(TOAST).count() == 0  # no pop-ups piling up: the page says it once
    shot(page, "05_failed_run.png")
    page.get_by_role("tab", name="Registration").click()  # its tables too are cleared by a failed run
    expect(page.locator("#reg-stats")).to_contain_text("NIR")  # from the earlier registration
    page.locator("#run-reg").click()
    expect(page.locator("#reg-summary")).to_contain_text("holiday.tif is not a TIFF file", timeout=RUN_TIMEOUT_MS)
    for table in ("#reg-stats", "#reg-misregistration"):
        expect(page.locator(table)).not_to_contain_text("NIR")
    expect(page.locator("#reg-flows img")).to_have_count(0)
    assert page.locator(TOAST).count() == 0
    page.get_by_role("tab", name="Super-resolution").click()
    page.locator("#examples img").nth(1).click()
    expect(page.locator("#input-about")).to_contain_text(examples.synthetic_examples()[1].title)
    page.locator("#run-sr").click()
    expect(page.locator("#sr-summary")).to_contain_text("REC super-resolution", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#sr-slider img").first).to_be_visible()
    expect(page.locator("#sr-summary")).not_to_contain_text("not a TIFF file")
    assert page.locator(TOAST).count() == 0
    shot(page, "06_good_run_after_a_failed_one.png")
