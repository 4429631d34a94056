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


def test_band_timing_section_draws_the_real_datastrip_facts():
    from l1bsr_core.products.timing import REAL_BAND_LAGS

    titles = [s.title for s in explain.sections()]
    assert "Odd and even detectors see the bands in opposite order" in titles
    assert sorted(REAL_BAND_LAGS) == list(range(1, 13))
    for detector, lags in REAL_BAND_LAGS.items():  # the flip the page describes
        sign = 1 if detector % 2 else -1
        assert sign * lags[0] < -300 and sign * lags[1] > 300 and sign * lags[2] < -150


def test_the_teaching_example_is_explained_as_airborne():
    (section,) = [s for s in explain.sections() if "invents" in s.title]
    assert "not Sentinel-2" in section.text and "outside the L1B domain" in section.text
    assert "Airborne 5 m" in section.text  # the gallery caption a visitor clicks
