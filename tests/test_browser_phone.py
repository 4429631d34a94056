"""The web demo on a phone (390 × 844 CSS px, touch, 3 device pixels per px) in headless Chromium.

What a visitor on a phone must get without hunting: the three tabs on one line (no "⋯" menu),
the line about a chosen or refused file in view, the Run button and the run's status (or its
error) in view after a click, no "Error" badge over a result, a slider as tall as its picture,
options not cut, and figures with text at a readable size. Screenshots go to ``screenshots/``
(``phone_*.png``). Skipped like :mod:`test_browser` when Playwright or Chromium is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import pytest  # noqa: E402

import app  # noqa: E402
from l1bsr_demo import examples  # noqa: E402

from support import PROJECT, running_app  # noqa: E402

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
from test_browser import CHROMIUM, CHROMIUM_ARGS, RUN_TIMEOUT_MS, TOAST, upload  # noqa: E402

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium binary found (set CHROMIUM_PATH)")
expect = sync_api.expect

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}
SCREENSHOTS = PROJECT / "screenshots"
ERROR_BADGE = "[data-testid=status-tracker] .error"
"""Gradio's red "Error" badge over an output whose event raised."""


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    SCREENSHOTS.mkdir(exist_ok=True)
    with running_app(tmp_path_factory.mktemp("phone")) as url, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(**PHONE)
        page.set_default_timeout(60_000)
        page.goto(url, wait_until="domcontentloaded")
        expect(page.locator("#examples img").first).to_be_visible()
        yield page
        browser.close()


def shot(page, name: str) -> Path:
    path = SCREENSHOTS / f"phone_{name}.png"
    page.screenshot(path=str(path))
    return path


TOLERANCE_PX = 2
"""Sub-pixel rounding of a scrolled position."""


def in_view(page, selector: str) -> bool:
    """True when the element is wholly inside the phone's screen."""
    box = page.locator(selector).first.bounding_box()
    size = page.viewport_size
    return (box is not None and box["y"] >= -TOLERANCE_PX and box["y"] + box["height"] <= size["height"] + TOLERANCE_PX
            and box["x"] >= 0 and box["x"] + box["width"] <= size["width"] + TOLERANCE_PX)


def assert_in_view(page, *selectors: str, within_ms: int = 5000) -> None:
    """Every element wholly on screen, once the page's own scrolling is done (polled)."""
    hidden = list(selectors)
    for _ in range(within_ms // 250):
        hidden = [selector for selector in selectors if not in_view(page, selector)]
        if not hidden:
            return
        page.wait_for_timeout(250)
    boxes = {selector: page.locator(selector).first.bounding_box() for selector in hidden}
    raise AssertionError(f"outside the 390 × 844 screen: {boxes}")


def test_the_three_tabs_fit_without_a_menu(page):
    tabs = page.get_by_role("tab")
    expect(tabs).to_have_count(3)
    for name in ("Super-resolution", "Registration", "How it works"):
        expect(page.get_by_role("tab", name=name)).to_be_visible()
    expect(page.get_by_label("More tabs")).to_be_hidden()
    shot(page, "01_page")


def test_run_without_an_input_says_so_without_an_error_badge(page):
    page.locator("#run-sr").click()
    expect(page.locator("#sr-status")).to_contain_text("no input: choose an example", timeout=10_000)
    assert_in_view(page, "#run-sr", "#sr-status")
    assert page.locator(ERROR_BADGE).count() == 0 and page.locator(TOAST).count() == 0


def test_an_example_then_run_keeps_run_and_status_in_view(page):
    page.locator("#examples img").first.click()
    expect(page.locator("#input-about")).to_contain_text(examples.synthetic_examples()[0].title)
    assert_in_view(page, "#input-about")
    page.locator("#run-sr").click()
    expect(page.locator("#sr-status")).to_contain_text("Super-resolution done", timeout=RUN_TIMEOUT_MS)
    assert_in_view(page, "#run-sr", "#sr-status")
    # the options are whole: the Display choice is not cut
    display = page.locator("#sr-options input[role=combobox]").first
    assert display.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), display.input_value()
    # the slider is as tall as its (square) picture: no blank band above and below
    picture = page.locator("#sr-slider img").first.bounding_box()
    frame = page.locator("#sr-slider").bounding_box()
    assert picture["width"] > 0.8 * page.viewport_size["width"], picture
    assert frame["height"] < picture["height"] + 120, (frame, picture)
    shot(page, "02_superresolution")


def test_a_refused_file_says_why_in_view(page, tmp_path):
    photo = tmp_path / "holiday.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    page.evaluate("window.scrollTo(0, 0)")
    upload(page, photo)
    expect(page.locator("#input-about")).to_contain_text("holiday.png is not a .tif/.tiff file")
    assert_in_view(page, "#input-about")
    expect(page.locator("#run-sr")).to_be_disabled()
    assert page.locator(ERROR_BADGE).count() == 0 and page.locator(TOAST).count() == 0
    shot(page, "03_refused_file")


def test_a_negative_window_value_is_refused_beside_run(page):
    page.locator("#examples img").nth(1).click()
    expect(page.locator("#input-about")).to_contain_text(examples.synthetic_examples()[1].title)
    page.locator("#window .label-wrap, #window button").first.click()  # open "Window"
    x0 = page.locator("#window-x0 input")
    x0.fill("-5")
    x0.press("Enter")
    expect(page.locator("#input-about")).to_contain_text("x0 must be a whole number of pixels >= 0")
    page.locator("#run-sr").click()
    expect(page.locator("#sr-status")).to_contain_text("x0 must be a whole number of pixels >= 0", timeout=10_000)
    assert_in_view(page, "#run-sr", "#sr-status")
    expect(page.locator("#run-sr")).to_be_enabled()
    assert page.locator(ERROR_BADGE).count() == 0 and page.locator(TOAST).count() == 0
    shot(page, "04_negative_window")
    x0.fill("0")
    x0.press("Enter")
    expect(page.locator("#input-about")).not_to_contain_text("x0 must")


def test_registration_on_a_phone(page):
    page.get_by_role("tab", name="Registration").click()
    page.locator("#run-reg").click()
    expect(page.locator("#reg-status")).to_contain_text("Registration done", timeout=RUN_TIMEOUT_MS)
    assert_in_view(page, "#run-reg", "#reg-status")
    flows = page.locator("#reg-flows img")
    expect(flows).to_be_visible()
    assert flows.bounding_box()["width"] >= app.WIDE_FIGURE_MIN_WIDTH - 1  # labels at a readable size
    flows.scroll_into_view_if_needed()
    shot(page, "05_registration_flows")


def test_how_it_works_figures_are_readable(page):
    page.get_by_role("tab", name="How it works").click()
    expect(page.get_by_role("heading", name="CSR: cross-spectral registration")).to_be_visible()
    figures = page.locator(".wide-figure img:visible")  # this tab's (the registration's are hidden)
    expect(figures.first).to_be_visible()
    shown = [figures.nth(i) for i in range(figures.count())]
    widths = [figure.bounding_box()["width"] for figure in shown]
    assert widths and min(widths) >= app.WIDE_FIGURE_MIN_WIDTH - 1, widths
    shown[0].scroll_into_view_if_needed()
    shot(page, "06_how_it_works")


def test_a_copernicus_browser_export_says_it_is_outside_the_l1b_domain(page, tmp_path):
    import numpy as np
    from coregistered_support import reflectance_scene, write_export

    export = write_export(tmp_path / "copernicus_export.tif", reflectance_scene(96, 96).astype(np.float32),
                          descriptions=("B02", "B03", "B04", "B08"))
    page.evaluate("window.scrollTo(0, 0)")
    upload(page, export)
    about = page.locator("#input-about")
    expect(about).to_contain_text("outside the networks' L1B training domain")
    expect(about).to_contain_text("without CSR alignment")
    assert_in_view(page, "#input-about")
    page.get_by_role("tab", name="Super-resolution").click()
    page.locator("#run-sr").click()
    expect(page.locator("#sr-status")).to_contain_text("Super-resolution done", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#sr-status")).to_contain_text("REC without CSR alignment")
    assert_in_view(page, "#sr-status")
    shot(page, "08_copernicus_export")


def _box(page, selector: str) -> dict:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    return box


def test_every_example_fits_the_screen_and_captions_leave_pictures_free(page):
    """The gallery wraps its examples into rows on the screen (none cut off to the right), and a
    picture's caption and tool buttons sit above it instead of over its top."""
    page.evaluate("window.scrollTo(0, 0)")
    width = page.viewport_size["width"]
    examples_shown = page.locator("#examples img")
    assert examples_shown.count() >= len(examples.synthetic_examples())
    for i in range(examples_shown.count()):
        box = examples_shown.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + TOLERANCE_PX, (i, box)
    for block in ("#input-preview", "#sr-fringe-before"):  # the last test left a file and a super-resolution
        picture = _box(page, f"{block} img")
        for part in (f"{block} label", f"{block} .top-panel"):
            assert _box(page, part)["y"] + _box(page, part)["height"] <= picture["y"] + TOLERANCE_PX, part
    shot(page, "09_captions_above_pictures")
