"""Tests of l1bsr_demo.explain: the "How it works" page."""

from __future__ import annotations

import numpy as np

from l1bsr_demo import explain


def test_explain_sections_have_text_and_figures():
    sections = explain.sections()
    assert len(sections) >= 4 and all(s.title and s.text for s in sections)
    for section in sections:
        if section.figure is not None:
            figure = section.figure()
            assert figure.dtype == np.uint8 and figure.ndim == 3 and figure.shape[2] == 3
            assert figure.shape[1] >= 600 and len(np.unique(figure.reshape(-1, 3), axis=0)) > 20
    assert "arXiv:2304.06871" in explain.CITATION and "Facciolo" in explain.BIBTEX
