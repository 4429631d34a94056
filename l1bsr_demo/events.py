"""The page's event handlers: the one module of the demo that speaks gradio.

Each handler calls the gradio-free logic (:mod:`~l1bsr_demo.pipelines`,
:mod:`~l1bsr_demo.inputs`, :mod:`~l1bsr_demo.gallery`) and turns its outcome into what the page
shows:

* a run that fails on the page shows its outputs cleared, with the one-line reason in place of
  the summary and in the status line beside the Run button (so nothing of the previous run stays
  on screen, the reason is in view, and each failure replaces the last message instead of adding
  a pop-up or an "Error" badge over the result); the API and MCP endpoints of the same tasks
  (:func:`superresolve`, :func:`register`) raise :class:`gradio.Error` with that line instead;
* while a run is in progress both Run buttons are disabled (:func:`run_started`,
  :func:`run_finished`): one click, one run; a file that cannot be used keeps them disabled;
* a new file cancels the page's run (Gradio's ``cancels=``, which only drops its result) and stops
  its computation at its next progress report (:func:`new_file`);
* problems the user can fix (:class:`~l1bsr_core.errors.L1BSRError`: a bad file, missing weights)
  are shown as their message; anything else is logged and reported as an internal error, never as
  a stack trace.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator

import gradio as gr

from l1bsr_core.errors import L1BSRError

from . import gallery, inputs, pipelines

log = logging.getLogger(__name__)

FAILURE_MARK = "⚠️"
"""Starts the summary line of a failed run."""


def user_message(error: Exception, where: str) -> str:
    """The one line a visitor sees for ``error`` (raised in ``where``); unexpected ones are logged."""
    if isinstance(error, L1BSRError):
        return str(error)
    log.error("demo: unexpected error in %s", where, exc_info=error)
    return f"internal error ({type(error).__name__}); the server log has the details"


def _page_error(message: str) -> gr.Error:
    """A :class:`gradio.Error` for API clients; the page shows the message itself, so no pop-up."""
    return gr.Error(message, visible=False, print_exception=False)


def _shown(result_type: type[pipelines.PageResult], outputs: tuple) -> tuple:
    """The page's outputs: an optional one (:attr:`~l1bsr_demo.pipelines.PageResult.optional_outputs`)
    is hidden when it is None, shown otherwise."""
    return tuple(gr.update(value=value, visible=value is not None) if name in result_type.optional_outputs else value
                 for name, value in zip(result_type.output_names(), outputs))


class RunStopped(Exception):
    """A page run stopped at a progress report: its browser session's input changed."""


_PAGE_FILES: dict[str, tuple[int, object]] = {}
"""``(changes, input)`` of each browser session's page (by session hash): how many times
:func:`new_file` was called, and the input it was last given. One small entry per session that
ever changed its input."""


def _stopping(progress: pipelines.Progress | None, session: str, image) -> pipelines.Progress:
    """``progress`` that raises :class:`RunStopped` once ``session``'s page, after the run started,
    shows another input than ``image``: the pipelines report between stages and tiles, so a stopped
    run ends there. Only a change after the start counts: a run can start before the page's change
    to its own file is handled (the two events are not ordered), and a run taken off the queue
    after its file changed is cancelled by Gradio anyway."""
    started = _PAGE_FILES.get(session, (0, None))[0]

    def report(fraction: float, text: str) -> None:
        changes, shown = _PAGE_FILES.get(session, (0, None))
        if changes != started and shown != image:
            raise RunStopped
        if progress is not None:
            progress(fraction, text)

    return report


def new_file(image, request: gr.Request) -> tuple:
    """A new input on the page: :func:`cleared_results`, and the session's run on another file
    stops at its next progress report (Gradio's cancel drops its result and frees the queue, but
    the thread would compute to the end, beside the next run). One handler, so the results are
    never cleared before the run is told to stop."""
    changes, _ = _PAGE_FILES.get(request.session_hash, (0, None))
    _PAGE_FILES[request.session_hash] = (changes + 1, image)
    return cleared_results()


def _run(task: Callable, result_type: type[pipelines.PageResult], *args, progress, on_page: bool,
         session: str | None = None) -> Iterator[tuple]:
    """Run ``task``; yield its outputs, or cleared outputs and the reason. For the page, optional
    outputs are hidden when empty and an error is only shown; for API clients, the values as they
    are, and an error is raised. A run of browser ``session`` stopped by a new input
    (:func:`new_file`) yields nothing (its result was cancelled)."""
    def outputs(values: tuple) -> tuple:
        return _shown(result_type, values) if on_page else values

    if session is not None:  # a page run, stopped when its session's input changes (:func:`new_file`)
        progress = _stopping(progress, session, args[0])
    try:
        result = task(*args, progress=progress)
    except RunStopped:
        return
    except Exception as error:
        message = user_message(error, task.__name__)
        yield outputs(result_type.failed(f"{FAILURE_MARK} **{message}**"))
        if not on_page:
            raise _page_error(message) from None
        return
    yield outputs(result.outputs())


def superresolve(image, display, upsampling, fringe_band, window_x0, window_y0, window_size, progress=None,
                 on_page: bool = False, session: str | None = None):
    """Super-resolution: :func:`l1bsr_demo.pipelines.run_superresolution`; an error is raised for
    API clients, and only shown (status line, summary) ``on_page``. A run of browser ``session``
    stops when the session's input changes (:func:`new_file`)."""
    yield from _run(pipelines.run_superresolution, pipelines.SuperResolutionResult,
                    image, display, upsampling, fringe_band, window_x0, window_y0, window_size, progress=progress,
                    on_page=on_page, session=session)


def register(image, display, fringe_band, window_x0, window_y0, window_size, progress=None, on_page: bool = False,
             session: str | None = None):
    """Registration: :func:`l1bsr_demo.pipelines.run_registration`; errors and ``session`` as
    :func:`superresolve`."""
    yield from _run(pipelines.run_registration, pipelines.RegistrationResult,
                    image, display, fringe_band, window_x0, window_y0, window_size, progress=progress,
                    on_page=on_page, session=session)


def _popup(error: Exception, where: str) -> gr.Error:
    """A one-line :class:`gradio.Error` pop-up for ``error`` (the small events' way to say it)."""
    if isinstance(error, gr.Error):
        return error
    return gr.Error(user_message(error, where), print_exception=False)


def _shown_as_error(fn: Callable) -> Callable:
    """Show any error of ``fn`` as a one-line pop-up (:func:`_popup`)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as error:
            raise _popup(error, fn.__name__) from None

    return wrapper


def _run_buttons(enabled: bool) -> tuple:
    return gr.update(interactive=enabled), gr.update(interactive=enabled)


RUNNING_STATUS = {
    "superresolution": "**Super-resolution running…** progress and results below.",
    "registration": "**Registration running…** progress and results below.",
}


def run_started(task: str) -> tuple:
    """A Run button was clicked: say it is running, disable both Run buttons (no second run)."""
    return (RUNNING_STATUS[task], *_run_buttons(False))


def run_finished(input_ok: bool) -> tuple:
    """A run ended: enable the Run buttons again, unless the file cannot be used."""
    return _run_buttons(bool(input_ok))


@_shown_as_error
def describe_input(image):
    """A new file in the input: its preview with the proposed window, a line about it (a bad file:
    the reason, inline), the window numbers, whether the window panel opens, the Run buttons
    (disabled for a file that cannot be used) and whether the file is usable."""
    x0, y0, size = inputs.proposed_window(image)
    preview, about = inputs.describe(image, x0, y0, size)
    usable = not about.startswith(FAILURE_MARK)
    return (preview, about, x0, y0, size, gr.update(open=size > 0), *_run_buttons(usable), usable)


TASK_RESULTS = {"superresolution": pipelines.SuperResolutionResult, "registration": pipelines.RegistrationResult}
"""The page's outputs of each task (:data:`RUNNING_STATUS`'s keys)."""


def _cleared(result_type: type[pipelines.PageResult]) -> tuple:
    """A task's page outputs emptied: no picture, table or file, an empty status line."""
    return _shown(result_type, result_type.failed(""))


def cleared_results() -> tuple:
    """A new input: the outputs of both tasks (super-resolution's, then registration's) cleared and
    their status lines emptied, since they spoke of the previous file."""
    return tuple(output for result_type in TASK_RESULTS.values() for output in _cleared(result_type))


def stale_results_cleared(task: str, ran_on, image) -> tuple:
    """After a run of ``task`` on the file ``ran_on``: its outputs cleared when the input has
    changed meanwhile (they speak of another file), else left as they are.

    A new file cancels a run still waiting or going, so its result never shows; this is for the
    result the server had already sent when the file changed: the page applies it while its cancel
    request is on the way, after the new file cleared the outputs."""
    result_type = TASK_RESULTS[task]
    if ran_on == image:
        return tuple(gr.skip() for _ in result_type.output_names())
    return _cleared(result_type)


@_shown_as_error
def show_window(image, window_x0, window_y0, window_size):
    """The visitor changed a window number: the preview with the window drawn, and the line about it."""
    return inputs.describe(image, window_x0, window_y0, window_size)


@_shown_as_error
def select_example(keys: list[str], evt: gr.SelectData) -> str:
    """Gallery click → path of a copy of that example, for the file input."""
    try:
        key = keys[evt.index]
    except (IndexError, TypeError):
        raise gr.Error("that example is no longer in the gallery; reload the page", print_exception=False) from None
    return str(gallery.copy_for_input(key))


@_shown_as_error
def show_gallery():
    """Page load: the gallery with the real examples fetched so far, their keys and the note."""
    return gallery.gallery()


def status():
    """Page load: the networks in use (or why they are unavailable) and the device."""
    return pipelines.status_banner()
