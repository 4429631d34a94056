"""L1BSR studio web demo: page layout and event wiring only.

Everything the page computes lives in :mod:`l1bsr_demo` (examples, pipelines, pictures, the "How
it works" page); :mod:`l1bsr_demo.events` turns it into what the page shows. The import graph
reads top-down: ``app.py`` → :mod:`l1bsr_demo` → :mod:`l1bsr_core`.

Run ``python app.py`` (CPU by default, CUDA when available or with ``L1BSR_DEVICE``); Gradio
reads ``GRADIO_SERVER_NAME`` and ``GRADIO_SERVER_PORT``. API endpoints (gradio_client):
``/superresolve`` and ``/register`` take a BGRN TIFF (``handle_file``) and return files.
"""

from __future__ import annotations

import gradio as gr

from l1bsr_core.outputs import TIFF_SUFFIXES
from l1bsr_demo import events, explain, gallery, summaries
from l1bsr_demo.inputs import DEMO_MAX_SIDE
from l1bsr_demo.pipelines import DEFAULT_FRINGE_BAND, FRINGE_CHOICES, MODE_CHOICES, UPSAMPLING_CHOICES

TITLE = "L1BSR studio"

INTRO = """\
Super-resolution (10 m → 5 m) and band registration of **Sentinel-2 L1B** crops with the two
networks of **L1BSR** (Nguyen et al., CVPR EarthVision 2023), trained without any
high-resolution ground truth. Inputs are 4-band crops (B, G, R, NIR = Sentinel-2 B2, B3, B4, B8),
16-bit TIFF. Pick an example or upload a crop, then run one of the two tasks below.
"""

SR_HELP = """\
Drag the slider: **left** the input enlarged ×2 (choose bicubic or nearest neighbour),
**right** the REC output at 5 m. Both sides use the same contrast stretch, computed on the
input. Below: the detail in the yellow box, and its **fringe view** (G in green, the chosen band
in magenta): coloured seams mean the bands are misaligned; grey means they agree.
"""

REG_HELP = """\
CSR estimates, for every pixel, how far B, R and NIR sit from G, then warps them onto G.
**Flow colours**: hue = direction, paleness = length (white = no shift); **arrows**: where
each band's content sits relative to G (lengthened, see the titles). The table measures the
remaining misalignment with an independent method, before and after.
"""

WINDOW_HELP = f"""\
For images larger than {DEMO_MAX_SIDE} × {DEMO_MAX_SIDE} px, or to go faster,
process a square window: top-left corner (x0, y0) and side, in input pixels. Size 0 processes
the whole image.
"""

QUEUE_SIZE = 16
"""Requests waiting at most; further visitors are told the queue is full."""

SLIDER_HEIGHT = 720
"""Display height of the before/after sliders, screen pixels."""

SLIDER_CSS = f"""
.before-after .slider-wrap > .wrap {{ width: fit-content; max-width: 100%; margin-inline: auto; }}
.before-after .slider-wrap img {{ width: auto; max-width: 100%; height: {SLIDER_HEIGHT}px; object-fit: contain; }}
"""
"""Before/after sliders as wide as their picture: Gradio's handle moves over the whole component
width, so a picture narrower than the page would let it leave the picture."""

LAUNCH_OPTIONS = {"max_file_size": "200mb", "theme": gr.themes.Soft(), "css": SLIDER_CSS}
"""Keyword arguments of ``launch`` (tests may add ``prevent_thread_lock`` and a port)."""


def superresolve(image, display, upsampling, fringe_band, window_x0, window_y0, window_size,
                 progress=gr.Progress()):
    """``/superresolve``: :func:`l1bsr_demo.events.superresolve`, with the page's progress bar."""
    yield from events.superresolve(image, display, upsampling, fringe_band, window_x0, window_y0, window_size,
                                   progress)


def register(image, display, fringe_band, window_x0, window_y0, window_size, progress=gr.Progress()):
    """``/register``: :func:`l1bsr_demo.events.register`, with the page's progress bar."""
    yield from events.register(image, display, fringe_band, window_x0, window_y0, window_size, progress)


def build_demo() -> gr.Blocks:
    """The whole page, with its queue configured; call ``.launch(**LAUNCH_OPTIONS)`` on it."""
    items, keys, note = gallery.initial_gallery()
    with gr.Blocks(title=TITLE, delete_cache=(3600, 7200), analytics_enabled=False) as app:
        gr.Markdown(f"# {TITLE}\n{INTRO}")
        banner = gr.Markdown(elem_id="status")

        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                gr.Markdown("#### 1. Choose an example (click it) or upload a crop\n"
                            "Synthetic scenes come with their true 5 m image and flows, so results are scored.")
                gallery_view = gr.Gallery(
                    value=items, label="Examples", show_label=False, columns=6, height=300,
                    allow_preview=False, object_fit="cover", format="png", interactive=False,
                    elem_id="examples",
                )
                examples_note = gr.Markdown(note, elem_id="examples-note")
                keys_state = gr.State(keys)
            with gr.Column(scale=2):
                image = gr.File(
                    label="Input crop (BGRN TIFF)",
                    file_types=list(TIFF_SUFFIXES), type="filepath", height=120, elem_id="input-file",
                )
                upload = gr.UploadButton("Upload another crop", file_types=list(TIFF_SUFFIXES), type="filepath",
                                         size="sm", variant="secondary", elem_id="upload-another")
                about = gr.Markdown(elem_id="input-about")
                preview = gr.Image(label="Input (true colour)", interactive=False, format="png", height=220,
                                   elem_id="input-preview")
                with gr.Accordion("Window (large images)", open=False):
                    gr.Markdown(WINDOW_HELP)
                    with gr.Row():
                        window_x0 = gr.Number(0, label="x0 (px)", precision=0, minimum=0)
                        window_y0 = gr.Number(0, label="y0 (px)", precision=0, minimum=0)
                        window_size = gr.Number(0, label="size (px, 0 = whole)", precision=0, minimum=0,
                                                maximum=DEMO_MAX_SIDE)

        with gr.Tabs():
            with gr.Tab("Super-resolution", id="sr"):
                gr.Markdown("#### 2. Options, then run")
                with gr.Row():
                    sr_display = gr.Dropdown(MODE_CHOICES, value="true", label="Display")
                    sr_upsampling = gr.Radio(UPSAMPLING_CHOICES, value="bicubic", label="Input enlarged by")
                    sr_fringe = gr.Dropdown(FRINGE_CHOICES, value=DEFAULT_FRINGE_BAND,
                                            label="Fringe view: band compared with G")
                sr_run = gr.Button("Run super-resolution (REC)", variant="primary", elem_id="run-sr")
                gr.Markdown(SR_HELP)
                sr_slider = gr.ImageSlider(label="Input ×2 (left) | REC output at 5 m (right)", format="png",
                                           type="numpy", interactive=False, max_height=SLIDER_HEIGHT,
                                           elem_id="sr-slider", elem_classes="before-after")
                with gr.Row():
                    sr_zoom_before = gr.Image(label="Detail: input ×2", format="png", interactive=False)
                    sr_zoom_after = gr.Image(label="Detail: REC output", format="png", interactive=False)
                with gr.Row():
                    sr_fringe_before = gr.Image(label="Fringe view: input (bicubic)", format="png", interactive=False)
                    sr_fringe_after = gr.Image(label="Fringe view: REC output", format="png", interactive=False)
                sr_summary = gr.Markdown(elem_id="sr-summary")
                sr_files = gr.File(label="Downloads: 16-bit TIFF and PNG views", file_count="multiple",
                                   interactive=False, elem_id="sr-files")

            with gr.Tab("Registration", id="registration"):
                gr.Markdown("#### 2. Options, then run")
                with gr.Row():
                    reg_display = gr.Dropdown(MODE_CHOICES, value="true", label="Display")
                    reg_fringe = gr.Dropdown(FRINGE_CHOICES, value=DEFAULT_FRINGE_BAND,
                                             label="Fringe view: band compared with G")
                reg_run = gr.Button("Run registration (CSR)", variant="primary", elem_id="run-reg")
                gr.Markdown(REG_HELP)
                with gr.Row():
                    reg_fringe_before = gr.Image(label="Fringe view of the detail: input", format="png",
                                                 interactive=False)
                    reg_fringe_after = gr.Image(label="Fringe view of the detail: registered", format="png",
                                                interactive=False)
                gr.Markdown("#### Flows of B, R and NIR onto G")
                reg_flows = gr.Image(label="Flows of B, R, NIR onto G", show_label=False, format="png",
                                     interactive=False, elem_id="reg-flows")
                with gr.Row():
                    reg_stats = gr.Dataframe(headers=list(summaries.FLOW_STATS_HEADERS), label="Flow statistics (px)",
                                             interactive=False, elem_id="reg-stats")
                    reg_misreg = gr.Dataframe(headers=list(summaries.MISREGISTRATION_HEADERS),
                                              label="Residual misregistration vs G, before and after (px, "
                                                    "independent phase-correlation estimate)",
                                              interactive=False, elem_id="reg-misregistration")
                reg_quiver = gr.Image(label="Flows as arrows", show_label=False, format="png", interactive=False,
                                      elem_id="reg-quiver")
                reg_slider = gr.ImageSlider(label="Input (left) | registered (right)", format="png", type="numpy",
                                            interactive=False, max_height=SLIDER_HEIGHT, elem_id="reg-slider",
                                            elem_classes="before-after")
                reg_summary = gr.Markdown(elem_id="reg-summary")
                reg_files = gr.File(label="Downloads: registered TIFF, flows (.npy), PNG views",
                                    file_count="multiple", interactive=False, elem_id="reg-files")

            with gr.Tab("How it works", id="explain"):
                for section in explain.sections():
                    gr.Markdown(f"### {section.title}\n{section.text}")
                    if section.figure is not None:
                        gr.Image(section.figure(), label=section.caption, show_label=False, format="png",
                                 interactive=False, buttons=[], container=False)
                gr.Markdown(f"### Citation\n{explain.CITATION}\n\n```bibtex\n{explain.BIBTEX}\n```")

        # --- wiring ---------------------------------------------------------------------------
        app.load(events.show_gallery, outputs=[gallery_view, keys_state, examples_note], api_name="examples",
                 concurrency_limit=4)
        app.load(events.status, outputs=banner, api_name="status", concurrency_limit=4)
        gallery_view.select(events.select_example, inputs=keys_state, outputs=image, api_name="select_example",
                            concurrency_limit=4)
        upload.upload(lambda path: path, inputs=upload, outputs=image, queue=False, api_visibility="private")
        image.change(events.describe_input, inputs=image, outputs=[preview, about], api_name="describe_input",
                     concurrency_limit=4)
        window = [window_x0, window_y0, window_size]
        sr_run.click(
            superresolve,
            inputs=[image, sr_display, sr_upsampling, sr_fringe, *window],
            outputs=[sr_slider, sr_zoom_before, sr_zoom_after, sr_fringe_before, sr_fringe_after, sr_summary,
                     sr_files],
            api_name="superresolve", concurrency_limit=1, concurrency_id="networks", show_progress_on=sr_slider,
        )
        reg_run.click(
            register,
            inputs=[image, reg_display, reg_fringe, *window],
            outputs=[reg_slider, reg_flows, reg_quiver, reg_stats, reg_misreg, reg_fringe_before, reg_fringe_after,
                     reg_summary, reg_files],
            api_name="register", concurrency_limit=1, concurrency_id="networks", show_progress_on=reg_flows,
        )
    app.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)
    return app


if __name__ == "__main__":
    build_demo().launch(**LAUNCH_OPTIONS)
