"""The one exception type a user can act on, the exit statuses, and the words of a message.

Anything raised as a ``LabError`` is a mistake in the input (a name, a value, a missing file)
rather than a bug: the command line prints its message on one line and exits with status 2.
Messages say what was wrong and what to do.
"""

import difflib

# What the command line returns: done; a run failed (the lab goes on, the report says which);
# a mistake in the input (one line says what to do); stopped by Ctrl-C or SIGTERM (rerun to continue).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def did_you_mean(word: object, valid: list[str] | tuple[str, ...], cutoff: float = 0.6) -> str:
    """" (did you mean 'x'?)" for the closest valid word, or "" when none is close."""
    close = difflib.get_close_matches(str(word), list(valid), n=1, cutoff=cutoff)
    return f" (did you mean '{close[0]}'?)" if close else ""


def one_line(error: BaseException, limit: int = 300) -> str:
    """An exception as 'Name: message' on one line (a notebook's: papermill's ename and evalue)."""
    name = getattr(error, "ename", None) or type(error).__name__
    message = " ".join(str(getattr(error, "evalue", None) or error).split()) or "no message"
    return f"{name}: {message[:limit]}"


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
