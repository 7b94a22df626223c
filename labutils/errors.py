"""The one exception type a user can act on, the exit statuses, and the words of a message.

Anything raised as a ``LabError`` is a mistake in the input (a name, a value, a missing file)
rather than a bug: the command line prints its message on one line and exits with status 2.
Messages say what was wrong and what to do.
"""

import difflib
import reprlib
import sys

# What the command line returns: done; a run failed (the lab goes on, the report says which);
# a mistake in the input (one line says what to do); stopped by Ctrl-C or SIGTERM (rerun to continue).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


QUOTE_LIMIT = 60  # characters of a value that a message quotes


def _short_repr() -> reprlib.Repr:
    # reprlib stops at each level's first items and at a small depth, so that even a value of
    # billions of shared items (a YAML alias bomb) or nested thousands deep is written in microseconds.
    short = reprlib.Repr()
    short.maxlevel = 3
    short.maxlist = short.maxtuple = short.maxdict = short.maxset = short.maxfrozenset = 4
    short.maxstring = short.maxother = short.maxlong = 4 * QUOTE_LIMIT  # then cut to a prefix below
    return short


_SHORT_REPR = _short_repr()


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``value`` as Python writes it (``'text'``, ``[1, 2]``), cut to its first ``limit`` characters:
    what a message echoes of a value the user gave, whatever its size or depth."""
    text = flat(_SHORT_REPR.repr(value), limit + 1)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def did_you_mean(word: object, valid: list[str] | tuple[str, ...], cutoff: float = 0.6) -> str:
    """" (did you mean 'x'?)" for the closest valid word, or "" when none is close."""
    if not isinstance(word, (str, int, float)):
        return ""
    close = difflib.get_close_matches(str(word)[:QUOTE_LIMIT], list(valid), n=1, cutoff=cutoff)
    return f" (did you mean '{close[0]}'?)" if close else ""


def flat(text: str, limit: int = 300) -> str:
    """``text`` on one line (runs of white space as one space), cut to ``limit`` characters."""
    return " ".join(text[:4 * limit].split())[:limit]  # cut before it is split: a message may be megabytes


def one_line(error: BaseException, limit: int = 300) -> str:
    """An exception as 'Name: message' on one line (a notebook's: papermill's ename and evalue)."""
    name = getattr(error, "ename", None) or type(error).__name__
    return f"{name}: {flat(str(getattr(error, 'evalue', None) or error), limit) or 'no message'}"


def one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A library's warning as one line on stderr, not the two or three of Python's default format
    (a ``warnings.showwarning``)."""
    print(f"warning: {flat(str(message))} ({category.__name__})", file=file or sys.stderr)


class LabError(Exception):
    """A problem with the user's input or environment, explained in one line."""


class InputTooSmallError(LabError, ValueError):
    """An image is smaller than the network can take."""


class WeightsUnavailableError(LabError):
    """Pretrained weights are neither cached nor downloadable."""


class DataUnavailableError(LabError):
    """A dataset is missing or unreadable."""


class CheckpointError(LabError):
    """A checkpoint is corrupt or does not fit the model."""


class TrainingInterrupted(LabError):
    """Training stopped on request (Ctrl-C, SIGTERM) with its state saved."""


class NonFiniteLossError(LabError):
    """The loss became NaN or infinite."""
