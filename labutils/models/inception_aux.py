"""GoogLeNet's side classifier (Szegedy et al. 2015, Sec. 5)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from labutils.models.conv_block import BasicConv2d


class InceptionAux(nn.Module):
    """Auxiliary ("side") classifier of GoogLeNet, Szegedy et al. 2015 (Going deeper with
    convolutions), Sec. 5, put on the outputs of Inception 4a and 4d:

    - average pooling, 5x5 filter, stride 3: 14x14 -> 4x4 at 224x224 input;
    - 1x1 convolution with 128 filters + ReLU;
    - fully connected layer with 1024 units (2048 -> 1024) + ReLU;
    - dropout with ratio 0.7;
    - linear layer to ``num_classes`` (softmax in the loss).

    In training its loss is added with weight 0.3; at inference it is discarded.

    The paper's 5x5/3 pooling turns only a 14x14 to 16x16 map into the 4x4 that the FC layer
    expects. Any other map (smaller images: 4x4 at 64x64 input) is pooled adaptively to 4x4
    instead, so the network keeps the same parameters at every image size.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        batch_norm: bool = False,
        dropout: float = 0.7,
    ) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(kernel_size=5, stride=3)
        self.conv = BasicConv2d(in_channels, 128, 1, batch_norm)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(p=dropout)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if 14 <= x.shape[-2] <= 16 and 14 <= x.shape[-1] <= 16:
            x = self.pool(x)  # the paper's 5x5/3 pooling: 14x14 -> 4x4
        else:
            x = F.adaptive_avg_pool2d(x, (4, 4))
        x = self.conv(x)
        x = torch.flatten(x, 1)
        x = self.relu(self.fc1(x))
        x = self.dropout(x)
        return self.fc2(x)
