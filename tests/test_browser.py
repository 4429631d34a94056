"""The web demo in a real browser: headless Chromium (Playwright) against the in-process app.

Loads the page, picks an example, runs super-resolution and registration, opens "How it works",
uploads a bad file, and saves screenshots to ``screenshots/`` at the project root (git-ignored).
Skipped only when Playwright or Chromium is missing. Set ``CHROMIUM_PATH`` to use another binary.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import pytest

from l1bsr_core import demo  # noqa: F401  (imported before the app, as the app does)

from support import PROJECT, SHARED_EXAMPLES, running_app, serve_folder  # noqa: E402
SCREENSHOTS = PROJECT / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
RUN_TIMEOUT_MS = 300_000  # one network run on a busy CPU


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
CHROMIUM = chromium_path()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium binary found (set CHROMIUM_PATH)")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    if not SHARED_EXAMPLES.is_dir():
        pytest.skip(f"shared example crops not found at {SHARED_EXAMPLES}")
    root = tmp_path_factory.mktemp("browser")
    with serve_folder(SHARED_EXAMPLES) as mirror, running_app(root, mirror) as url:
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


def test_page_loads_with_examples(page):
    sync_api.expect(page.get_by_role("heading", name="L1BSR studio")).to_be_visible()
    thumbnails = page.locator("#examples img")
    sync_api.expect(thumbnails.first).to_be_visible()
    # The real examples (00–06 from the local mirror) replace the first gallery on load.
    sync_api.expect(page.locator("#examples-note")).to_contain_text("not available: 07, 08, 09")
    assert thumbnails.count() >= 7
    sync_api.expect(page.locator("#status")).to_contain_text("Registration (CSR)")
    shot(page, "01_page.png", full_page=False)


def test_pick_example_and_superresolve(page):
    example = demo.synthetic_examples()[0] if demo.synthetic_examples() else None
    thumbnails = page.locator("#examples img")
    thumbnails.first.click()  # a synthetic example when shipped (it has a truth), else a real crop
    sync_api.expect(page.locator("#input-preview img")).to_be_visible()
    sync_api.expect(page.locator("#input-about")).to_contain_text(" px, 4 bands")
    page.locator("#run-sr").click()
    sync_api.expect(page.locator("#sr-slider img").first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    sync_api.expect(page.locator("#sr-summary")).to_contain_text("REC super-resolution", timeout=RUN_TIMEOUT_MS)
    if example is not None:
        sync_api.expect(page.locator("#sr-summary")).to_contain_text("PSNR vs true 5 m")
    sync_api.expect(page.locator("#sr-files")).to_contain_text("_x2")
    shot(page, "02_superresolution.png")


def test_registration(page):
    page.get_by_role("tab", name="Registration").click()
    page.locator("#run-reg").click()
    sync_api.expect(page.locator("#reg-flows img")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    sync_api.expect(page.locator("#reg-quiver img")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    sync_api.expect(page.locator("#reg-summary")).to_contain_text("CSR registration", timeout=RUN_TIMEOUT_MS)
    if demo.synthetic_examples():
        sync_api.expect(page.locator("#reg-summary")).to_contain_text("true flows")
    sync_api.expect(page.locator("#reg-files")).to_contain_text("_flow")
    shot(page, "03_registration.png")


def test_how_it_works(page):
    page.get_by_role("tab", name="How it works").click()
    sync_api.expect(page.get_by_text("CVPR Workshops (EarthVision) 2023", exact=False).first).to_be_visible()
    sync_api.expect(page.get_by_role("heading", name="CSR: cross-spectral registration")).to_be_visible()
    shot(page, "04_how_it_works.png")


def test_bad_upload_shows_one_line_message(page, tmp_path):
    bad = tmp_path / "holiday.tif"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    page.get_by_role("tab", name="Super-resolution").click()
    page.locator("#input-file").get_by_role("button", name="Clear").click()
    page.locator("#input-file input[type=file]").set_input_files(str(bad))
    sync_api.expect(page.locator("#input-about")).to_contain_text("holiday.tif is not a TIFF file")
    sync_api.expect(page.locator("#input-about")).to_contain_text("PNG")
    page.wait_for_timeout(800)  # let the warning toast finish sliding in
    shot(page, "05_bad_upload.png", full_page=False)
