"""The smallest image a network can take, checked before the first layer runs.

Convolutions and poolings shrink the feature maps; below some input size a pooling window
no longer fits and PyTorch fails deep inside the network with a message about "output size
too small". Checking the input up front turns that into a one-line :class:`InputTooSmallError`
that says what to do.
"""

from __future__ import annotations

from torch import nn

from labutils.errors import InputTooSmallError


def check_image_size(height: int, width: int, min_size: int, model_name: str) -> None:
    """Raise :class:`InputTooSmallError` if an image of ``height`` x ``width`` is under ``min_size``:
    called on every input (``x.shape[-2:]``) and, before any data is loaded, on the run's image size."""
    if height < min_size or width < min_size:
        raise InputTooSmallError(
            f"{model_name} needs images of at least {min_size}x{min_size} pixels, "
            f"got {height}x{width}; set the image size to {min_size} or more (--image-size, or image_size in a profile)"
        )


class MinimumImageSize:
    """A forward pre-hook doing :func:`check_image_size` for a model we did not write.

    The torchvision models used for fine-tuning get the same check as ours through
    ``model.register_forward_pre_hook(MinimumImageSize(...))``. A class rather than a
    closure, so that a whole model saved with ``torch.save`` still pickles.
    """

    def __init__(self, min_size: int, model_name: str) -> None:
        self.min_size = min_size
        self.model_name = model_name

    def __call__(self, module: nn.Module, args: tuple) -> None:
        check_image_size(*args[0].shape[-2:], self.min_size, self.model_name)
