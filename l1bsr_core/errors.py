"""Errors the toolkit raises on purpose. Their message is one line meant for the user."""


class L1BSRError(Exception):
    """Base class: a problem the user can fix; the command line prints ``str(error)`` and exits 2."""


class InputError(L1BSRError, ValueError):
    """An input image or file is not a usable BGRN crop (says what was found and what was expected)."""


class WeightsError(L1BSRError):
    """Weights are missing, unknown, or do not match their registered hash or layout."""
