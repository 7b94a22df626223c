"""The one exception type a user can act on.

Anything raised as a ``LabError`` is a mistake in the input (a name, a value, a missing file)
rather than a bug: the command line prints its message on one line and exits with status 2.
Messages say what was wrong and what to do.
"""


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
