"""The handout's transforms, applied to a whole batch at once on any device.

The handout resizes every 32x32 image to 256 with PIL, takes a random 224 crop and flips it
at random (evaluation: resize, centre crop). Resizing then cropping is one affine map of the
image, so a batch is done with one ``affine_grid`` + ``grid_sample``: a crop of 224/256 of the
side at a random offset, mirrored for half of the batch, sampled bilinearly at the output size,
then normalised. On a GPU this costs a fraction of a millisecond per batch instead of a CPU
core per few hundred images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .handout import HANDOUT_CROP, HANDOUT_RESIZE

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CROP_FRACTION = HANDOUT_CROP / HANDOUT_RESIZE


class BatchTransform:
    """uint8 (B, 3, h, w) images -> normalised float (B, 3, size, size) network inputs."""

    def __init__(self, image_size: int, mean: tuple[float, ...], std: tuple[float, ...],
                 train: bool, channels_last: bool = False) -> None:
        self.image_size = image_size
        self.train = train
        self.channels_last = channels_last
        # Normalising uint8 values directly: (x / 255 - mean) / std == (x - 255 mean) / (255 std).
        self.shift = torch.tensor(mean).view(1, 3, 1, 1) * 255
        self.scale = 1 / (torch.tensor(std).view(1, 3, 1, 1) * 255)

    def __call__(self, images: torch.Tensor, generator: torch.Generator | None = None,
                 rows: slice | None = None, total: int | None = None) -> torch.Tensor:
        """Transform ``images``; with ``rows`` and ``total`` they are those rows of a batch of ``total``.

        The random crops and flips are drawn for the whole batch, so one process's share of a
        batch (under DDP) is augmented exactly as in a single-process run.
        """
        batch = images.shape[0]
        device = images.device
        if batch == 0:  # a process's empty share of a last batch smaller than the processes (DDP)
            return torch.empty(0, 3, self.image_size, self.image_size, device=device)
        theta = torch.zeros(batch, 2, 3, device=device)
        theta[:, 0, 0] = theta[:, 1, 1] = CROP_FRACTION
        if self.train:
            drawn = total or batch
            rows = rows or slice(None)
            # Crop offset uniform over the margin; mirror by negating the x scale.
            margin = 1 - CROP_FRACTION
            offsets = (torch.rand(drawn, 2, device=device, generator=generator) * 2 - 1) * margin
            flip = torch.rand(drawn, device=device, generator=generator) < 0.5
            theta[:, :, 2] = offsets[rows]
            theta[:, 0, 0] = torch.where(flip[rows], -CROP_FRACTION, CROP_FRACTION)
        size = (batch, 3, self.image_size, self.image_size)
        grid = F.affine_grid(theta, list(size), align_corners=False)
        x = F.grid_sample(images.float(), grid, mode="bilinear", padding_mode="border", align_corners=False)
        if self.shift.device != device:  # moved once, not every batch
            self.shift, self.scale = self.shift.to(device), self.scale.to(device)
        x = (x - self.shift) * self.scale
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x


def normalization(pretrained: bool) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """ImageNet statistics for ImageNet-pretrained networks, CIFAR-10's for networks trained here."""
    return (IMAGENET_MEAN, IMAGENET_STD) if pretrained else (CIFAR10_MEAN, CIFAR10_STD)
