"""The convolution unit GoogLeNet is built from: convolution, optional BatchNorm, ReLU."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class BasicConv2d(nn.Module):
    """``Conv2d`` [+ ``BatchNorm2d``] + ``ReLU``, as in torchvision's ``googlenet.py``.

    Szegedy et al. 2015 (Going deeper with convolutions, Sec. 5): "All the convolutions,
    including those inside the Inception modules, use rectified linear activation."
    With ``batch_norm=True`` a BatchNorm layer sits between convolution and ReLU, as in
    Inception-v2 (Ioffe & Szegedy 2015); the convolution then has no bias, because BN's
    shift takes its place.

    Args:
        in_channels: input feature maps.
        out_channels: output feature maps.
        kernel_size: convolution window.
        batch_norm: add ``BatchNorm2d(eps=0.001)`` (torchvision's and TensorFlow's epsilon).
        **kwargs: passed to ``nn.Conv2d`` (``stride``, ``padding``).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        batch_norm: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, bias=not batch_norm, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001) if batch_norm else nn.Identity()
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))
