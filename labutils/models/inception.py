"""The Inception module of GoogLeNet (Szegedy et al. 2015, Figure 2b)."""

from __future__ import annotations

import torch
from torch import nn

from labutils.models.conv_block import BasicConv2d


class Inception(nn.Module):
    """Inception module with dimension reductions, Szegedy et al. 2015 (Going deeper with
    convolutions), Figure 2(b) and the columns of Table 1.

    Four parallel branches over the same input, concatenated along the channels:

    - 1x1 convolution (``ch1x1``, Table 1's "#1x1");
    - 1x1 reduction (``ch3x3red``, "#3x3 reduce") then 3x3 convolution (``ch3x3``, "#3x3");
    - 1x1 reduction (``ch5x5red``, "#5x5 reduce") then a true 5x5 convolution (``ch5x5``,
      "#5x5"); torchvision and the handout use a 3x3 here, the paper does not;
    - 3x3 max-pooling, stride 1, then 1x1 projection (``pool_proj``, "pool proj").

    Every convolution is followed by a ReLU, and by BatchNorm first if ``batch_norm``.
    Padding keeps the spatial size, so the output has
    ``ch1x1 + ch3x3 + ch5x5 + pool_proj`` channels at the input's height and width.
    """

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj
        self.branch_1x1 = BasicConv2d(in_channels, ch1x1, 1, batch_norm)
        # The 1x1 reductions keep the expensive 3x3 and 5x5 convolutions cheap (Sec. 4).
        self.branch_3x3 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, 1, batch_norm),
            BasicConv2d(ch3x3red, ch3x3, 3, batch_norm, padding=1),
        )
        self.branch_5x5 = nn.Sequential(
            BasicConv2d(in_channels, ch5x5red, 1, batch_norm),
            BasicConv2d(ch5x5red, ch5x5, 5, batch_norm, padding=2),
        )
        self.branch_pool = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1),
            BasicConv2d(in_channels, pool_proj, 1, batch_norm),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch_1x1(x), self.branch_3x3(x), self.branch_5x5(x), self.branch_pool(x)]
        return torch.cat(branches, dim=1)
