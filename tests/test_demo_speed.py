"""Tests of l1bsr_demo.speed: run-time estimates that follow the server's own runs."""

from __future__ import annotations

import pytest

from l1bsr_demo import speed


@pytest.fixture(autouse=True)
def fresh():
    speed.reset()
    yield
    speed.reset()


def test_defaults_then_the_latest_large_run():
    pixels = 2000 * 2000
    assert speed.estimate("superresolution", pixels) == pytest.approx(
        speed.DEFAULT_SECONDS_PER_MPX["superresolution"] * 4)
    speed.record("superresolution", 1000 * 1000, 10.0)
    assert speed.estimate("superresolution", pixels) == pytest.approx(40.0)
    speed.record("superresolution", 64 * 64, 100.0)  # too small to say anything: ignored
    assert speed.estimate("superresolution", pixels) == pytest.approx(40.0)
    assert speed.estimate("registration", pixels) == pytest.approx(speed.DEFAULT_SECONDS_PER_MPX["registration"] * 4)
    with pytest.raises(ValueError, match="unknown task"):
        speed.record("denoising", pixels, 1.0)


@pytest.mark.parametrize("seconds, words", [(0.2, "1 s"), (4.4, "4 s"), (47, "45 s"), (95, "95 s"), (200, "3 min")])
def test_durations_in_round_words(seconds, words):
    assert speed.format_seconds(seconds) == words
