"""The L1BSR studio web demo's logic: everything ``app.py`` shows, computed without gradio.

Installed with the ``demo`` extra (matplotlib, pillow, gradio); :mod:`l1bsr_core` never imports
it. Read top-down: ``app.py`` (page layout and wiring) → :mod:`l1bsr_demo.events` (the only
module that speaks gradio) → the modules below → :mod:`l1bsr_core`.

* :mod:`~l1bsr_demo.paths`: where the demo reads examples and writes its files;
* :mod:`~l1bsr_demo.examples`: the example catalogue (synthetic crops shipped in ``assets/``,
  the authors' real crops by hash) and :mod:`~l1bsr_demo.fetch`, which downloads the real ones;
* :mod:`~l1bsr_demo.gallery`: thumbnails and the gallery's note;
* :mod:`~l1bsr_demo.inputs`: reading an uploaded or chosen crop, and its window (proposed for a
  large image, drawn on the preview); :mod:`~l1bsr_demo.speed`: how long a run would take;
* :mod:`~l1bsr_demo.pipelines`: the two tasks, from a file to every picture, table and file;
* :mod:`~l1bsr_demo.summaries`: the Markdown and the tables of a result;
* :mod:`~l1bsr_demo.viz` (numpy pictures) and :mod:`~l1bsr_demo.figures` (matplotlib figures);
* :mod:`~l1bsr_demo.explain`: the "How it works" page.
"""
