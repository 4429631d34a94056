"""L1BSR studio web demo: page layout and event wiring only.

Everything the page computes lives in :mod:`l1bsr_demo` (examples, pipelines, pictures, the "How
it works" page); :mod:`l1bsr_demo.events` turns it into what the page shows. The import graph
reads top-down: ``app.py`` → :mod:`l1bsr_demo` → :mod:`l1bsr_core`.

Run ``python app.py`` (CPU by default, CUDA when available or with ``L1BSR_DEVICE``); Gradio
reads ``GRADIO_SERVER_NAME`` and ``GRADIO_SERVER_PORT``. API endpoints (gradio_client):
``/superresolve`` and ``/register`` take a BGRN TIFF (``handle_file``) and return files.
"""

from __future__ import annotations

import functools

import gradio as gr

from l1bsr_demo import events, explain, gallery, summaries
from l1bsr_demo.inputs import DEMO_MAX_SIDE
from l1bsr_demo.pipelines import DEFAULT_FRINGE_BAND, FRINGE_CHOICES, MODE_CHOICES, UPSAMPLING_CHOICES

TITLE = "L1BSR studio"

INTRO = """\
Super-resolution (10 m → 5 m) and band registration of **Sentinel-2 L1B** crops (B, G, R, NIR =
Sentinel-2 B2, B3, B4, B8, 16-bit TIFF) with the two networks of **L1BSR** (Nguyen et al., CVPR
EarthVision 2023), trained without any high-resolution ground truth. Pick an example or upload a
crop, then press a Run button below.
"""

FRINGE_HELP = """\
**Fringe view**: the fine detail of G in green and of the chosen band in magenta; where they
coincide the picture is grey, a shift shows as green and magenta seams side by side. The band's
detail first takes G's local sign and strength, so NIR, whose contrast is inverted over vegetation,
turns grey too once aligned; a coloured line *without* a partner beside it is content one band has
and the other lacks.
"""

SR_HELP = f"""\
Drag the slider: **left** the input enlarged ×2 (bicubic or nearest neighbour, as chosen),
**right** the REC output at 5 m. Both sides use the same contrast stretch, computed on the
input. Below: the detail in the yellow box, and its fringe view. {FRINGE_HELP}
"""

NIR_HELP = f"""\
<details><summary>Why NIR is the weakest band</summary>

{summaries.NIR_NOTE}
</details>
"""

REG_HELP = f"""\
CSR measures, for every pixel, how far B, R and NIR sit from G (windowed phase correlation,
fused robustly), then warps them onto G. **Flow colours**: hue = direction, strength of the colour
= length (white = no shift, full colour at the legend's circle); **arrows**: where each band's
content sits relative to G (lengthened, see the titles). The table measures the remaining
misalignment, before and after, with the project's {summaries.ESTIMATE_NAME}. {FRINGE_HELP}
"""

NDVI_HELP = """\
**Why registration matters: NDVI** = (NIR − R) / (NIR + R), the usual vegetation index (brown =
bare soil, roads, buildings; green = dense vegetation), computed pixel by pixel from two bands.
Where R and NIR are misaligned, every boundary between two surfaces gets a false thin band of
too high or too low NDVI (double roads, dark rims on buildings); once both are on G's grid, the
boundaries are clean.
"""

WINDOW_HELP = f"""\
Process a square window instead of the whole image: top-left corner (x0, y0) and side, in input
pixels; the yellow box on the preview shows it. Size 0 processes the whole image (at most
{DEMO_MAX_SIDE} × {DEMO_MAX_SIDE} px). A window reaching past an edge is moved inside the image.
"""

QUEUE_SIZE = 16
"""Requests waiting at most; further visitors are told the queue is full."""

SLIDER_HEIGHT = 720
"""Display height of the before/after sliders, screen pixels."""

PHONE_WIDTH = 640
"""Screens at most this wide (CSS px) get the phone layout of :data:`PAGE_CSS`."""

WIDE_FIGURE_MIN_WIDTH = 720
"""On a phone, figures with text (flows, arrows, "How it works") keep at least this width and
scroll sideways, so that their labels stay readable; a tap on one shows it full screen."""

PHONE_GALLERY_COLUMNS = 3
"""Examples per row on a phone (the gallery's six per row would run off the screen)."""

PHONE_TAP_PX = 44
"""On a phone, the least height of what a finger taps (tabs, panel headers, the upload button,
download links), CSS px: the common guideline for touch targets."""

PREVIEW_MAX_HEIGHT = "45vh"
"""On a phone the input preview fills the width, at most this tall (the Run button stays near)."""

PAGE_CSS = f"""
.before-after .slider-wrap > .wrap {{ width: fit-content; max-width: 100%; margin-inline: auto; }}
.before-after .slider-wrap img {{ width: auto; max-width: 100%; height: {SLIDER_HEIGHT}px; object-fit: contain; }}
.pixelated img {{ image-rendering: pixelated; }}
#examples .caption-label {{ max-width: calc(100% - 8px); white-space: normal; font-size: 0.8em; }}
#examples .grid-wrap {{ height: auto !important; min-height: 0 !important; max-height: none !important;
                      overflow-y: visible !important; }}
#examples .grid-container {{ grid-template-rows: none !important; }}
.run-status {{ min-height: 2.2em; }}
.label-above label.float {{ position: static !important; max-width: 100%; white-space: normal; margin: 4px; }}
#sr-files .label-clear-button, #reg-files .label-clear-button {{ display: none; }}
@media (max-width: {PHONE_WIDTH}px) {{
  #examples .grid-container {{ grid-template-columns: repeat({PHONE_GALLERY_COLUMNS}, minmax(0, 1fr)) !important; }}
  .block label.float {{ position: static !important; max-width: 100% !important; white-space: normal !important;
                        margin: 4px; }}
  .top-panel {{ position: static !important; width: fit-content; margin: 0 4px 4px auto !important; }}
  .tabs .tab-container button, button.label-wrap, #upload-another, .prose details > summary {{
    min-height: {PHONE_TAP_PX}px; }}
  button.label-wrap, .prose details > summary {{ display: flex; align-items: center; }}
  #sr-files .filename .stem, #reg-files .filename .stem {{ white-space: normal; overflow-wrap: anywhere; }}
  #sr-files td.download a, #reg-files td.download a {{ display: inline-flex; align-items: center;
                                                        min-height: {PHONE_TAP_PX}px; }}
  .tabs .tab-container button {{ font-size: 13px; padding-inline: 6px; }}
  .before-after .slider-wrap > .wrap {{ width: 100%; }}
  .before-after .slider-wrap img {{ width: 100%; height: auto; max-height: {SLIDER_HEIGHT}px; }}
  .before-after, .before-after .image-container, .before-after .slider-wrap {{ height: auto !important; }}
  .preview, .preview .image-container, .preview .image-frame {{ height: auto !important; }}
  .preview img {{ width: 100%; height: auto; max-height: {PREVIEW_MAX_HEIGHT}; object-fit: contain;
                  image-rendering: pixelated; }}
  .options .form > .block, .options > .block {{ min-width: 100% !important; }}
  .options .run-button {{ order: -1; min-width: 100% !important; }}
  .wide-figure .image-container {{ overflow-x: auto; }}
  .wide-figure .image-container button, .wide-figure .image-frame {{ justify-content: flex-start; overflow: visible;
                                                                    width: max-content; }}
  .wide-figure img {{ width: {WIDE_FIGURE_MIN_WIDTH}px !important; max-width: none !important; height: auto; }}
  .prose table {{ display: block; overflow-x: auto; font-size: 0.85em; }}
  .prose th, .prose td {{ white-space: nowrap; padding: 4px 6px; }}
}}
"""
"""Before/after sliders as wide as their picture: Gradio's handle moves over the whole component
width, so a picture narrower than the page would let it leave the picture. Result pictures are
shown with their pixels as they are (no smoothing by the browser when enlarged); gallery captions
wrap instead of being cut. On a phone (at most :data:`PHONE_WIDTH` px): the three tabs fit on one
line (no hidden "⋯" menu), the preview and the sliders are as tall as their picture, every option takes the full width
(nothing cut) with the Run button first, and figures with text and wide tables scroll sideways at a
readable size; labels and picture tools sit above the pictures instead of over them, taps have
room (:data:`PHONE_TAP_PX`) and download names wrap. Everywhere: the preview's caption above it,
and no remove button in the download lists (Gradio shows one in a list of several files)."""

LAUNCH_OPTIONS = {"max_file_size": "200mb", "theme": gr.themes.Soft(), "css": PAGE_CSS, "show_error": True}
"""Keyword arguments of ``launch`` (tests may add ``prevent_thread_lock`` and a port). ``show_error``:
an error raised before the demo's own code runs (an image URL that cannot be fetched, for an API
or MCP client) reaches the client with its reason instead of Gradio's generic line; the demo's
own errors are one line already, and unexpected ones are reported without details
(:func:`l1bsr_demo.events.user_message`)."""


def superresolve(image, display, upsampling, fringe_band, window_x0, window_y0, window_size,
                 progress=gr.Progress()):
    """Super-resolve a Sentinel-2 L1B crop 2x (10 m to 5 m) with the REC network, all bands aligned to G.

    Returns the input enlarged and the output (a before/after pair), detail and fringe views, a
    Markdown summary (timings, model, residual misregistration, scores when the truth is known),
    the files (the 2x uint16 TIFF, PNG views, the run's JSON record) and a one-line status. A
    problem with the input is raised as a one-line error.

    Args:
        image: BGRN TIFF, uint16, bands B, G, R, NIR (Sentinel-2 B2, B3, B4, B8), at most 2048 px a side.
        display: the pictures' colours: "true" (R, G, B), "false" (NIR, R, G) or one band "B", "G", "R", "NIR".
        upsampling: the input's enlargement beside the result: "bicubic" or "nearest".
        fringe_band: the band compared with G in the fringe view: "B", "R" or "NIR".
        window_x0: left column of the window processed, px.
        window_y0: top row of the window processed, px.
        window_size: side of the square window, px; 0 for the whole image.
    """
    yield from events.superresolve(image, display, upsampling, fringe_band, window_x0, window_y0, window_size,
                                   progress)


def register(image, display, fringe_band, window_x0, window_y0, window_size, progress=gr.Progress()):
    """Register B, R and NIR of a Sentinel-2 L1B crop onto G with the CSR network (dense flows, in px).

    Returns the input and the registered image (a before/after pair), flow pictures, tables of
    flow statistics and of residual misregistration, fringe and NDVI views, a Markdown summary,
    the files (the registered uint16 TIFF, the (3, 2, H, W) flows as .npy, PNG views, the run's
    JSON record) and a one-line status. A problem with the input is raised as a one-line error.

    Args:
        image: BGRN TIFF, uint16, bands B, G, R, NIR (Sentinel-2 B2, B3, B4, B8), at most 2048 px a side.
        display: the pictures' colours: "true" (R, G, B), "false" (NIR, R, G) or one band "B", "G", "R", "NIR".
        fringe_band: the band compared with G in the fringe view: "B", "R" or "NIR".
        window_x0: left column of the window processed, px.
        window_y0: top row of the window processed, px.
        window_size: side of the square window, px; 0 for the whole image.
    """
    yield from events.register(image, display, fringe_band, window_x0, window_y0, window_size, progress)


def superresolve_on_page(image, display, upsampling, fringe_band, window_x0, window_y0, window_size,
                         request: gr.Request, progress=gr.Progress()):
    """The page's super-resolution Run button: :func:`superresolve`, a failure shown beside the button
    (no "Error" badge over the result, no pop-up), stopped when the visitor's input changes."""
    yield from events.superresolve(image, display, upsampling, fringe_band, window_x0, window_y0, window_size,
                                   progress, on_page=True, session=request.session_hash)


def register_on_page(image, display, fringe_band, window_x0, window_y0, window_size, request: gr.Request,
                     progress=gr.Progress()):
    """The page's registration Run button: :func:`register`, a failure shown beside the button,
    stopped when the visitor's input changes."""
    yield from events.register(image, display, fringe_band, window_x0, window_y0, window_size, progress,
                               on_page=True, session=request.session_hash)


SCROLL_MARGIN_PX = 8
"""Space left above an element the page scrolls to."""


def scroll_to(elem_id: str, only_if_hidden: bool = False) -> str:
    """Browser code that scrolls the page so that element ``elem_id`` is at the top of the window
    (the options and Run button, then the status line and the results under them); with
    ``only_if_hidden``, only when part of it is outside the window (a phone's short screen)."""
    condition = ("const r = e.getBoundingClientRect(); if (r.top >= 0 && r.bottom <= window.innerHeight) return;"
                 if only_if_hidden else "")
    return (f"() => {{ const e = document.getElementById({elem_id!r}); if (!e) return; {condition} "
            f"window.scrollBy(0, e.getBoundingClientRect().top - {SCROLL_MARGIN_PX}); }}")


def build_demo() -> gr.Blocks:
    """The whole page, with its queue configured; call ``.launch(**LAUNCH_OPTIONS)`` on it."""
    items, keys, note = gallery.initial_gallery()
    with gr.Blocks(title=TITLE, delete_cache=(3600, 7200), analytics_enabled=False) as app:
        gr.Markdown(f"# {TITLE}\n{INTRO}")
        banner = gr.Markdown(elem_id="status")

        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                gr.Markdown("#### 1. Choose an example (click it) or upload a crop\n"
                            "Synthetic scenes come with their true 5 m image and flows, so results are scored. "
                            "**Airborne 5 m** is the one with a *real* 5 m truth (airborne imagery, not "
                            "Sentinel-2): see what super-resolution recovers and what it invents.")
                gallery_view = gr.Gallery(
                    value=items, label="Examples", show_label=False, columns=6, height="auto",
                    allow_preview=False, object_fit="cover", format="png", interactive=False, buttons=[],
                    elem_id="examples",
                )
                examples_note = gr.Markdown(note, elem_id="examples-note")
                keys_state = gr.State(keys)
                # Any file is accepted here and checked by the page (a refused type would leave a
                # dead box with an "Error" badge and no reason): the reason shows just below.
                with gr.Row(equal_height=True):
                    image = gr.File(label="Input crop (BGRN TIFF)", scale=3, type="filepath", height=120,
                                    elem_id="input-file")
                    upload = gr.UploadButton("Upload a crop", type="filepath", size="sm",
                                             variant="secondary", elem_id="upload-another", scale=1)
                about = gr.Markdown(elem_id="input-about", elem_classes="notice")
            with gr.Column(scale=2):
                preview = gr.Image(label="Input (true colour; a yellow box marks the window, if any)",
                                   interactive=False, format="png", height=260, elem_id="input-preview",
                                   elem_classes=["preview", "label-above"])
                with gr.Accordion("Window (large images)", open=False, elem_id="window") as window_panel:
                    gr.Markdown(WINDOW_HELP)
                    with gr.Row():
                        window_x0 = gr.Number(0, label="x0 (px)", precision=0, elem_id="window-x0")
                        window_y0 = gr.Number(0, label="y0 (px)", precision=0, elem_id="window-y0")
                        window_size = gr.Number(0, label="size (px, 0 = whole)", precision=0,
                                                elem_id="window-size")
        input_ok = gr.State(True)

        with gr.Tabs():
            with gr.Tab("Super-resolution", id="sr"):
                with gr.Row(equal_height=False, elem_id="sr-options", elem_classes="options"):
                    sr_display = gr.Dropdown(MODE_CHOICES, value="true", label="Display", scale=2)
                    sr_upsampling = gr.Radio(UPSAMPLING_CHOICES, value="bicubic", label="Input enlarged by", scale=2)
                    sr_fringe = gr.Dropdown(FRINGE_CHOICES, value=DEFAULT_FRINGE_BAND,
                                            label="Fringe view: band compared with G", scale=2)
                    sr_run = gr.Button("2. Run super-resolution (REC)", variant="primary", elem_id="run-sr", scale=2,
                                       elem_classes="run-button")
                sr_status = gr.Markdown(elem_id="sr-status", elem_classes="run-status")
                sr_slider = gr.ImageSlider(label="Input ×2 (left) | REC output at 5 m (right)", format="png",
                                           type="numpy", interactive=False, max_height=SLIDER_HEIGHT,
                                           elem_id="sr-slider", elem_classes=["before-after", "pixelated"])
                gr.Markdown(SR_HELP)
                with gr.Row():
                    sr_zoom_before = gr.Image(label="Detail: input ×2", format="png", interactive=False,
                                              elem_classes="pixelated")
                    sr_zoom_after = gr.Image(label="Detail: REC output", format="png", interactive=False,
                                             elem_classes="pixelated")
                    sr_zoom_truth = gr.Image(label="Detail: the true 5 m image", format="png", interactive=False,
                                             visible=False, elem_id="sr-zoom-truth", elem_classes="pixelated")
                with gr.Row():
                    sr_fringe_before = gr.Image(label="Fringe view: input ×2 (as enlarged above)", format="png",
                                                interactive=False, elem_id="sr-fringe-before", elem_classes="pixelated")
                    sr_fringe_after = gr.Image(label="Fringe view: REC output", format="png", interactive=False,
                                               elem_id="sr-fringe-after", elem_classes="pixelated")
                gr.Markdown(NIR_HELP)
                sr_summary = gr.Markdown(elem_id="sr-summary")
                sr_files = gr.File(label="Downloads: 16-bit TIFF, PNG views, the run's record (JSON)",
                                   file_count="multiple", interactive=False, elem_id="sr-files")

            with gr.Tab("Registration", id="registration"):
                with gr.Row(equal_height=False, elem_id="reg-options", elem_classes="options"):
                    reg_display = gr.Dropdown(MODE_CHOICES, value="true", label="Display", scale=2)
                    reg_fringe = gr.Dropdown(FRINGE_CHOICES, value=DEFAULT_FRINGE_BAND,
                                             label="Fringe view: band compared with G", scale=2)
                    reg_run = gr.Button("2. Run registration (CSR)", variant="primary", elem_id="run-reg", scale=2,
                                        elem_classes="run-button")
                reg_status = gr.Markdown(elem_id="reg-status", elem_classes="run-status")
                reg_slider = gr.ImageSlider(label="Input (left) | registered (right)", format="png", type="numpy",
                                            interactive=False, max_height=SLIDER_HEIGHT, elem_id="reg-slider",
                                            elem_classes=["before-after", "pixelated"])
                with gr.Row():
                    reg_fringe_before = gr.Image(label="Fringe view of the detail: input", format="png",
                                                 interactive=False, elem_id="reg-fringe-before",
                                                 elem_classes="pixelated")
                    reg_fringe_after = gr.Image(label="Fringe view of the detail: registered", format="png",
                                                interactive=False, elem_id="reg-fringe-after",
                                                elem_classes="pixelated")
                gr.Markdown(REG_HELP)
                with gr.Row():
                    reg_ndvi_before = gr.Image(label="NDVI of the detail: input", format="png", interactive=False,
                                               elem_id="reg-ndvi-before", elem_classes="pixelated")
                    reg_ndvi_after = gr.Image(label="NDVI of the detail: registered", format="png",
                                              interactive=False, elem_id="reg-ndvi-after", elem_classes="pixelated")
                gr.Markdown(NDVI_HELP)
                gr.Markdown("#### Flows of B, R and NIR onto G\nOn a narrow screen the figures below scroll sideways "
                            "(or open them full screen with their ⛶ button).")
                reg_flows = gr.Image(label="Flows of B, R, NIR onto G", show_label=False, format="png",
                                     interactive=False, elem_id="reg-flows", elem_classes="wide-figure")
                with gr.Row():
                    reg_stats = gr.Dataframe(headers=list(summaries.FLOW_STATS_HEADERS), label="Flow statistics (px)",
                                             interactive=False, elem_id="reg-stats")
                    reg_misreg = gr.Dataframe(headers=list(summaries.MISREGISTRATION_HEADERS),
                                              label="Residual misregistration vs G, before and after (px, "
                                                    "phase-correlation estimate: a consistency check, "
                                                    "not an independent one)",
                                              interactive=False, elem_id="reg-misregistration")
                reg_quiver = gr.Image(label="Flows as arrows", show_label=False, format="png", interactive=False,
                                      elem_id="reg-quiver", elem_classes="wide-figure")
                gr.Markdown(NIR_HELP)
                reg_summary = gr.Markdown(elem_id="reg-summary")
                reg_files = gr.File(label="Downloads: registered TIFF, flows (.npy), PNG views, run record (JSON)",
                                    file_count="multiple", interactive=False, elem_id="reg-files")

            with gr.Tab("How it works", id="explain"):
                for section in explain.sections():
                    gr.Markdown(f"### {section.title}\n{section.text}")
                    if section.figure is not None:
                        gr.Image(section.figure(), label=section.caption, show_label=False, format="png",
                                 interactive=False, buttons=["fullscreen"], container=False,
                                 elem_classes="wide-figure")
                gr.Markdown(f"### Citation\n{explain.CITATION}\n\n```bibtex\n{explain.BIBTEX}\n```")

        # --- wiring ---------------------------------------------------------------------------
        app.load(events.show_gallery, outputs=[gallery_view, keys_state, examples_note], api_name="examples",
                 concurrency_limit=4, api_visibility="undocumented")
        app.load(events.status, outputs=banner, api_name="status", concurrency_limit=4, api_visibility="undocumented")
        gallery_view.select(events.select_example, inputs=keys_state, outputs=image, api_name="select_example",
                            concurrency_limit=4, api_visibility="undocumented")
        upload.upload(lambda path: path, inputs=upload, outputs=image, queue=False, api_visibility="private")
        window = [window_x0, window_y0, window_size]
        run_buttons = [sr_run, reg_run]
        sr_inputs = [image, sr_display, sr_upsampling, sr_fringe, *window]
        sr_outputs = [sr_slider, sr_zoom_before, sr_zoom_after, sr_zoom_truth, sr_fringe_before, sr_fringe_after,
                      sr_summary, sr_files, sr_status]
        reg_inputs = [image, reg_display, reg_fringe, *window]
        reg_outputs = [reg_slider, reg_flows, reg_quiver, reg_stats, reg_misreg, reg_fringe_before,
                       reg_fringe_after, reg_summary, reg_files, reg_status, reg_ndvi_before, reg_ndvi_after]
        # The line about the file (or why it cannot be used) is brought into view: on a phone it
        # would otherwise sit below the screen while the file box looks accepted.
        image.change(events.describe_input, inputs=image,
                     outputs=[preview, about, *window, window_panel, *run_buttons, input_ok],
                     api_name="describe_input", concurrency_limit=4, api_visibility="undocumented",
                     ).then(None, js=scroll_to("input-about", only_if_hidden=True), api_visibility="private")
        # Only the visitor's edits redraw the window: the numbers a new file sets come with its own
        # preview and line (a .change here raced with them and could describe the old window).
        for number in window:
            number.input(events.show_window, inputs=[image, *window], outputs=[preview, about],
                         api_visibility="private", concurrency_limit=4, trigger_mode="always_last")
        # One click, one run: the click first disables both Run buttons (no queue: at once; a
        # second click meanwhile is dropped by trigger_mode="once"), the run follows, and the
        # buttons come back at its end, success or failure, unless the file cannot be used. A
        # failure is shown beside the button (the page's handlers do not raise).
        runs = []
        for run, task, options, fn, inputs_, outputs, status_line in (
            (sr_run, "superresolution", "sr-options", superresolve_on_page, sr_inputs, sr_outputs, sr_status),
            (reg_run, "registration", "reg-options", register_on_page, reg_inputs, reg_outputs, reg_status),
        ):
            ran_on = gr.State()  # the file this task's last run was started on (see stale_results_cleared below)
            run.click(lambda path: path, inputs=image, outputs=ran_on, queue=False, api_visibility="private")
            running = run.click(
                functools.partial(events.run_started, task), outputs=[status_line, *run_buttons], queue=False,
                trigger_mode="once", api_visibility="private", js=scroll_to(options),
            ).then(fn, inputs=inputs_, outputs=outputs, concurrency_limit=1, concurrency_id="networks",
                   show_progress_on=outputs[0], api_visibility="private")
            for after in (running.then, running.failure):  # .then alone is skipped after an error
                after(events.run_finished, inputs=input_ok, outputs=run_buttons, queue=False,
                      api_visibility="private")
            # The second guard of a new file (the first, cancels=, is below): a result already on its
            # way when the file changed lands while the cancel is on its way; this clears it.
            running.then(functools.partial(events.stale_results_cleared, task), inputs=[ran_on, image],
                         outputs=outputs, queue=False, api_visibility="private")
            runs.append(running)
        # A new file: the results and status lines spoke of the previous one. A run still waiting or
        # going is for the previous one: cancelled (a waiting run never starts, a going run's result
        # never reaches the page) and stopped at its next progress report (new_file: the cancel
        # alone leaves its thread computing); describe_input sets the Run buttons for the new file.
        # A result already sent when the file changed is past the cancel: the ran_on check above clears it.
        image.change(events.new_file, inputs=image, outputs=[*sr_outputs, *reg_outputs], cancels=runs,
                     queue=False, api_visibility="private")

        # The API and MCP endpoints of the two tasks: the same runs, raising their errors for the
        # client. Their trigger is never shown; the outputs go to the caller only.
        api_trigger = gr.Button(visible=False, elem_id="api-trigger")
        api_trigger.click(superresolve, inputs=sr_inputs, outputs=sr_outputs, api_name="superresolve",
                          concurrency_limit=1, concurrency_id="networks")
        api_trigger.click(register, inputs=reg_inputs, outputs=reg_outputs, api_name="register",
                          concurrency_limit=1, concurrency_id="networks")
    app.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)
    return app


if __name__ == "__main__":
    build_demo().launch(**LAUNCH_OPTIONS)
