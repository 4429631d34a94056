"""Errors the toolkit raises on purpose. Their message is one line meant for the user."""


def one_line(error: BaseException) -> str:
    """``str(error)`` with its whitespace (newlines included) collapsed, or the error's type
    name when it has no message: for folding another library's error into one of ours."""
    return " ".join(str(error).split()) or type(error).__name__


class L1BSRError(Exception):
    """Base class: a problem the user can fix; the command line prints ``str(error)`` and exits 2."""


class InputError(L1BSRError, ValueError):
    """An input image or file is not a usable BGRN crop (says what was found and what was expected)."""


class ArgumentError(L1BSRError, ValueError):
    """An argument of a call is out of range or does not fit the others (tile size, device,
    output name); the message says what was given and what is accepted, without naming
    command-line flags."""


class WeightsError(L1BSRError):
    """Weights are missing, unknown, or do not match their registered hash or layout."""


def error_line(error: Exception) -> str:
    """One line for a failed item: our errors as they are, anything else with its type (it is not
    the user's to fix). The batch's listing and its workers report failures with it alike."""
    return one_line(error) if isinstance(error, L1BSRError) else f"{type(error).__name__}: {one_line(error)}"
