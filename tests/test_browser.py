"""The web demo in a real browser: headless Chromium (Playwright) against the in-process app.

Loads the page (the Run button in view), picks an example, runs super-resolution (and drags the
slider to both ends), runs registration, opens "How it works"; then: a bad file disables Run, an
error after Run is shown beside the button and clears the old results, a double click runs once,
a large upload gets a window proposed (drawn on the preview) and its run time, the NIR fringe
view turns grey once an inverted, shifted NIR is registered, and a run overtaken by another file
shows nothing of it (cancelled, or cleared when its result was already on its way) and stops
computing. Screenshots (1400 × 1000) go to
``screenshots/`` at the project root (git-ignored). Skipped only when Playwright or Chromium is missing; set
``CHROMIUM_PATH`` to use another binary. Data: the project's examples and crops written by
``support.running_app``.
"""

from __future__ import annotations

import io
import os
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import urljoin

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tifffile  # noqa: E402
from PIL import Image  # noqa: E402

from l1bsr_demo import events, examples, inputs, pipelines  # noqa: E402

from support import PROJECT, example_crop_paths, mosaic, running_app  # noqa: E402

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
    expect(page.locator("#run-sr")).to_be_in_viewport()  # 1400 × 1000: Run is in view without scrolling
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


def upload(page, path: Path) -> None:
    with page.expect_file_chooser() as chooser:
        page.locator("#upload-another").click()
    chooser.value.set_files(str(path))


def in_view(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and 0 <= box["y"] and box["y"] + box["height"] <= page.viewport_size["height"]


def picture(page, app_url: str, selector: str) -> np.ndarray:
    """The picture an <img> of the page shows, as served (RGB uint8)."""
    src = page.locator(f"{selector} img").first.get_attribute("src")
    return np.asarray(Image.open(io.BytesIO(page.request.get(urljoin(app_url, src)).body())).convert("RGB"))


def chroma(rgb: np.ndarray) -> float:
    rgb = rgb.astype(int)
    return float(np.abs(rgb[..., 1] - rgb[..., 0]).mean())


def test_a_bad_file_disables_run(page, tmp_path):
    bad = tmp_path / "holiday.tif"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    page.get_by_role("tab", name="Super-resolution").click()
    expect(page.locator("#sr-slider img").first).to_be_visible()  # the earlier run's pictures
    upload(page, bad)  # over the chosen example, without clearing it first
    expect(page.locator("#input-about")).to_contain_text("holiday.tif is not a TIFF file")
    expect(page.locator("#input-about")).to_contain_text("PNG")
    expect(page.locator("#run-sr")).to_be_disabled()
    expect(page.locator("#run-reg")).to_be_disabled()
    assert page.locator(TOAST).count() == 0
    shot(page, "05_bad_file.png", full_page=False)


def test_an_error_after_run_is_in_view_and_clears_old_results(page):
    page.locator("#examples img").nth(1).click()
    expect(page.locator("#input-about")).to_contain_text(examples.synthetic_examples()[1].title)
    expect(page.locator("#run-sr")).to_be_enabled()
    page.locator("#run-sr").click()
    expect(page.locator("#sr-status")).to_contain_text("Super-resolution done", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#sr-slider img").first).to_be_visible()
    page.locator("#window button, #window .label-wrap").first.click()  # open "Window"
    size = page.locator("#window-size input")
    size.fill("5000")
    size.press("Enter")
    expect(page.locator("#input-about")).to_contain_text("larger than the demo's limit")
    for _ in range(2):  # twice: the message is replaced, not repeated
        page.locator("#run-sr").click()
        page.wait_for_timeout(500)  # the click's "running" line has replaced the last message by now
        expect(page.locator("#sr-status")).to_contain_text("larger than the demo's limit", timeout=RUN_TIMEOUT_MS)
        expect(page.locator("#sr-slider img")).to_have_count(0)  # the previous pictures are gone
        expect(page.locator("#sr-files")).not_to_contain_text("_x2")
        expect(page.locator("#run-sr")).to_be_enabled()
    assert in_view(page, "#sr-status") and in_view(page, "#run-sr")  # the reason beside the button
    assert page.locator("#sr-status").inner_text().count("larger than") == 1
    assert page.locator(TOAST).count() == 0
    shot(page, "06_error_in_view.png", full_page=False)
    size.fill("0")
    size.press("Enter")
    expect(page.locator("#input-about")).not_to_contain_text("larger than")


def test_a_double_click_runs_once(page, tmp_path, monkeypatch):
    crop = tmp_path / "my_crop.tif"
    tifffile.imwrite(crop, mosaic([tifffile.imread(p) for p in example_crop_paths()]))  # 384 × 384, uploaded
    calls = []
    run = pipelines.run_superresolution

    def counted(*args, **kwargs):
        calls.append(time.monotonic())
        return run(*args, **kwargs)

    monkeypatch.setattr(pipelines, "run_superresolution", counted)
    page.get_by_role("tab", name="Super-resolution").click()
    upload(page, crop)
    expect(page.locator("#input-about")).to_contain_text("my_crop.tif: 384 × 384 px")
    expect(page.locator("#run-sr")).to_be_enabled()
    page.locator("#run-sr").dblclick()
    expect(page.locator("#run-sr")).to_be_disabled()  # off while the run goes on
    page.locator("#run-sr").click(force=True)  # and a third click while it runs
    expect(page.locator("#sr-status")).to_contain_text("running")
    shot(page, "07_running.png", full_page=False)
    expect(page.locator("#sr-status")).to_contain_text("Super-resolution done", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#run-sr")).to_be_enabled()
    page.wait_for_timeout(3000)  # a second run would have started by now
    assert len(calls) == 1, calls
    expect(page.locator("#sr-slider img").first).to_be_visible()
    expect(page.locator("#sr-summary")).to_contain_text("384 × 384 px → 768 × 768 px")
    shot(page, "08_one_run.png", full_page=False)


def test_a_large_upload_gets_a_window_and_a_time(page, tmp_path):
    large = tmp_path / "large_scene.tif"
    side = 6 * 192
    tifffile.imwrite(large, np.tile(tifffile.imread(example_crop_paths()[2]), (6, 6, 1)))
    upload(page, large)
    about = page.locator("#input-about")
    expect(about).to_contain_text(f"{side} × {side} px")
    expect(about).to_contain_text("Large image")
    expect(about).to_contain_text("the whole image would take about")
    x0 = (side - inputs.PROPOSED_WINDOW) // 2
    expect(about).to_contain_text(f"Window: {inputs.PROPOSED_WINDOW} × {inputs.PROPOSED_WINDOW} px at ({x0}, {x0})")
    expect(page.locator("#window-size input")).to_have_value(str(inputs.PROPOSED_WINDOW))  # the panel is open
    shot(page, "09_large_upload.png", full_page=False)
    page.locator("#window-x0 input").fill("1000")
    page.locator("#window-x0 input").press("Enter")
    expect(about).to_contain_text(f"Moved from (1000, {x0})")
    page.locator("#run-sr").click()
    expect(page.locator("#sr-summary")).to_contain_text(
        f"window {inputs.PROPOSED_WINDOW} × {inputs.PROPOSED_WINDOW} px at ({side - inputs.PROPOSED_WINDOW}, {x0}) "
        f"of {side} × {side} px (moved from (1000, {x0})", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#sr-status")).to_contain_text("Super-resolution done")
    expect(page.locator("#sr-files")).to_contain_text("large_scene_x2_record .json")
    shot(page, "10_large_upload_window_run.png", full_page=False)


def test_the_nir_fringe_view_turns_grey_once_registered(page, app_url, tmp_path):
    """An uploaded crop whose NIR is G inverted (as over vegetation) and shifted by 2 px."""
    crop = tifffile.imread(example_crop_paths()[0])
    green = crop[..., 1].astype(np.float64)
    crop[..., 3] = np.roll(2.5 * green.max() - 2.0 * green, 2, axis=1).astype(np.uint16)
    path = tmp_path / "inverted_nir.tif"
    tifffile.imwrite(path, crop)
    page.get_by_role("tab", name="Registration").click()
    upload(page, path)
    expect(page.locator("#input-about")).to_contain_text("inverted_nir.tif")
    page.locator("#reg-options").get_by_label("Fringe view: band compared with G").click()
    page.get_by_role("option", name="NIR vs G").click()
    page.locator("#run-reg").click()
    expect(page.locator("#reg-summary")).to_contain_text("inverted_nir", timeout=RUN_TIMEOUT_MS)  # this run's
    expect(page.locator("#reg-status")).to_contain_text("Registration done")
    before, after = picture(page, app_url, "#reg-fringe-before"), picture(page, app_url, "#reg-fringe-after")
    assert chroma(before) > 15 and chroma(after) < 0.2 * chroma(before), (chroma(before), chroma(after))
    page.locator("#reg-fringe-before").scroll_into_view_if_needed()
    shot(page, "11_nir_fringe.png", full_page=False)
    expect(page.locator("#reg-ndvi-after img")).to_be_visible()  # NDVI before / after, for teaching
    page.locator("#reg-ndvi-before").scroll_into_view_if_needed()
    shot(page, "12_ndvi.png", full_page=False)


def test_the_airborne_example_beside_its_truth(page):
    """The teaching example: labelled airborne, its true 5 m detail beside input and output, scored."""
    airborne = next(e for e in examples.synthetic_examples() if e.source == examples.AIRBORNE)
    page.get_by_role("tab", name="Super-resolution").click()
    page.locator("#examples img").nth(examples.synthetic_examples().index(airborne)).click()
    expect(page.locator("#input-about")).to_contain_text("AIRBORNE IMAGERY, NOT SENTINEL-2")
    expect(page.locator("#input-about")).to_contain_text("outside the L1B domain")
    page.locator("#run-sr").click()
    expect(page.locator("#sr-summary")).to_contain_text("of this airborne example", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#sr-summary")).to_contain_text("what it invents")
    expect(page.locator("#sr-zoom-truth img")).to_be_visible()  # beside the input and the output
    page.locator("#sr-zoom-truth").scroll_into_view_if_needed()
    shot(page, "13_airborne_truth.png", full_page=False)
    page.locator("#examples img").first.click()  # a synthetic one: its truth detail too
    page.locator("#run-sr").click()
    expect(page.locator("#sr-summary")).to_contain_text("of this synthetic example", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#sr-zoom-truth img")).to_be_visible()


def test_a_negative_window_value_is_said_beside_run_without_an_error_badge(page):
    page.get_by_role("tab", name="Super-resolution").click()
    page.locator("#examples img").nth(2).click()
    expect(page.locator("#input-about")).to_contain_text(examples.synthetic_examples()[2].title)
    x0 = page.locator("#window-x0 input")
    if not x0.is_visible():
        page.locator("#window button, #window .label-wrap").first.click()  # open "Window"
    x0.fill("-5")
    x0.press("Enter")
    page.locator("#run-sr").click()
    expect(page.locator("#sr-status")).to_contain_text("x0 must be a whole number of pixels >= 0", timeout=10_000)
    expect(page.locator("#run-sr")).to_be_enabled()
    assert page.locator("[data-testid=status-tracker] .error").count() == 0 and page.locator(TOAST).count() == 0
    x0.fill("0")
    x0.press("Enter")
    expect(page.locator("#input-about")).not_to_contain_text("x0 must")


def test_a_new_input_clears_both_tasks_results_and_downloads_cannot_be_removed(page):
    """Results and status lines speak of the file they were computed from: another file clears
    them. The download lists offer no remove button (Gradio shows one in a list of several files)."""
    page.locator("#examples img").first.click()
    expect(page.locator("#input-about")).to_contain_text(" px, 4 bands")
    page.get_by_role("tab", name="Super-resolution").click()
    page.locator("#run-sr").click()
    expect(page.locator("#sr-status")).to_contain_text("Super-resolution done", timeout=RUN_TIMEOUT_MS)
    page.get_by_role("tab", name="Registration").click()
    page.locator("#run-reg").click()
    expect(page.locator("#reg-status")).to_contain_text("Registration done", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#reg-files")).to_contain_text("_flow")
    # Found by Gradio's label, not by the page's CSS selector: the test fails if that rule stops matching.
    remove = page.locator("#reg-files").get_by_role("button", name="Remove this file", include_hidden=True)
    assert remove.count() >= 2  # one a file
    assert remove.evaluate_all("buttons => buttons.map(b => getComputedStyle(b).display)") == ["none"] * remove.count()
    page.locator("#examples img").nth(1).click()
    expect(page.locator("#reg-files")).not_to_contain_text("_flow")
    expect(page.locator("#reg-flows img")).to_have_count(0)
    expect(page.locator("#reg-status")).to_have_text("")
    page.get_by_role("tab", name="Super-resolution").click()
    expect(page.locator("#sr-slider img")).to_have_count(0)
    expect(page.locator("#sr-files")).not_to_contain_text("_x2")
    expect(page.locator("#sr-status")).to_have_text("")


class HeldRun:
    """``pipelines.run_superresolution`` held, its result computed, until the test releases it:
    the test decides when a run ends. ``computed``, ``released`` and ``returned`` are the steps;
    with ``report_when_released``, the run reports progress once more when released, as its next
    stage would, and ``stopped`` says whether the page stopped it there."""

    def __init__(self, monkeypatch):
        self.computed, self.released, self.returned = threading.Event(), threading.Event(), threading.Event()
        self.report_when_released, self.stopped = False, False
        run = pipelines.run_superresolution

        def held(*args, progress=None, **kwargs):
            result = run(*args, progress=progress, **kwargs)
            self.computed.set()
            self.released.wait(RUN_TIMEOUT_MS / 1000)
            try:
                if self.report_when_released:
                    progress(1.0, "the next stage")
            except events.RunStopped:
                self.stopped = True
                raise
            finally:
                self.returned.set()
            return result

        monkeypatch.setattr(pipelines, "run_superresolution", held)


@pytest.fixture
def held_run(monkeypatch):
    held = HeldRun(monkeypatch)
    yield held
    held.released.set()  # a failed test leaves no thread waiting


WATCH_SR_RESULTS = """() => {
  const shown = () => document.querySelector('#sr-slider img') !== null
                      || /done/.test(document.querySelector('#sr-status')?.textContent ?? '');
  window.srResultShown = false;
  window.srWatch = new MutationObserver(() => { if (shown()) window.srResultShown = true; });
  window.srWatch.observe(document.body, {childList: true, subtree: true, characterData: true});
}"""
"""Browser code: from now on, ``window.srResultShown`` says whether a super-resolution result (a
picture in the slider, a "done" status line) has been on the page, if only for a moment."""


def start_a_run_then_pick_another_example(page, held_run: HeldRun) -> None:
    """Super-resolution on the first example, held once computed; then the second example picked,
    its line shown, the page watched (:data:`WATCH_SR_RESULTS`)."""
    first, second = examples.synthetic_examples()[:2]
    page.get_by_role("tab", name="Super-resolution").click()
    page.locator("#examples img").first.click()
    expect(page.locator("#input-about")).to_contain_text(first.title)
    page.locator("#run-sr").click()
    assert held_run.computed.wait(RUN_TIMEOUT_MS / 1000)
    page.locator("#examples img").nth(1).click()
    expect(page.locator("#input-about")).to_contain_text(second.title)
    expect(page.locator("#sr-status")).to_have_text("")  # the new file cleared the results
    page.evaluate(WATCH_SR_RESULTS)


def assert_no_super_resolution_shown(page) -> None:
    expect(page.locator("#run-sr")).to_be_enabled(timeout=RUN_TIMEOUT_MS)
    page.wait_for_timeout(3000)  # a late answer has had time to land
    expect(page.locator("#sr-slider img")).to_have_count(0)
    expect(page.locator("#sr-status")).to_have_text("")
    expect(page.locator("#sr-files")).not_to_contain_text("_x2")


def test_a_run_going_on_when_the_input_changes_is_cancelled_and_never_shows(page, held_run):
    """Another example picked while a run goes on, past its last progress report: the run is
    cancelled (``cancels=`` of the new file), so nothing of it reaches the page, not even for a moment."""
    start_a_run_then_pick_another_example(page, held_run)
    held_run.released.set()
    assert held_run.returned.wait(RUN_TIMEOUT_MS / 1000)
    assert_no_super_resolution_shown(page)
    assert page.evaluate("window.srWatch.disconnect(), window.srResultShown") is False


def test_a_run_going_on_when_the_input_changes_stops_at_its_next_progress_report(page, held_run):
    """The cancel only drops the result: the page also stops the computation (it would otherwise go on
    beside the next visitor's run)."""
    held_run.report_when_released = True
    start_a_run_then_pick_another_example(page, held_run)
    held_run.released.set()
    assert held_run.returned.wait(RUN_TIMEOUT_MS / 1000) and held_run.stopped
    expect(page.locator("#run-sr")).to_be_enabled()
    page.evaluate("window.srWatch.disconnect()")


def test_a_result_already_on_its_way_when_the_input_changes_is_cleared(page, held_run):
    """The run ends as another example is picked: its result is on its way while the browser's
    cancel request is (held here, as on a slow network), so it lands, under the new file; the
    check of the run's file against the input then clears it."""
    held_cancels = []

    def hold(route):
        held_cancels.append(route)

    page.route("**/cancel", hold)
    try:
        start_a_run_then_pick_another_example(page, held_run)
        held_run.released.set()
        page.wait_for_function("window.srResultShown", timeout=RUN_TIMEOUT_MS)  # the stale result landed
        for cancel in held_cancels:
            cancel.continue_()
        assert_no_super_resolution_shown(page)
    finally:
        page.unroute("**/cancel")
        page.evaluate("window.srWatch?.disconnect()")
