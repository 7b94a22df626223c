"""AlexNet in the handout's (and torchvision's) layout, with the paper's LRN as an option."""

from __future__ import annotations

import torch
from torch import nn

from labutils.models.input_size import check_image_size
from labutils.models.local_response_norm import PAPER_ALPHA, paper_lrn
from labutils.models.weight_init import he_fan_in_init


class AlexNet(nn.Module):
    """AlexNet, Krizhevsky, Sutskever & Hinton 2012 (ImageNet classification with deep
    convolutional neural networks), in the single-tower layout of the lab handout and of
    torchvision (64-192-384-256-256 kernels, as in Krizhevsky 2014, "One weird trick"); LRN
    adds no parameters (parameter counts: docs/papers.md).

    Args:
        num_classes: outputs of the last layer.
        lrn: add local response normalisation after the ReLU of conv1 and conv2, before
            their max-pooling, where the paper puts it (Sec. 3.3 and 3.5).
        lrn_alpha: LRN's alpha *in the paper's convention*: 1e-4 is the paper's layer
            (see :mod:`labutils.models.local_response_norm`). To reproduce the handout's
            ``nn.LocalResponseNorm(size=5, alpha=1e-4, ...)`` pass ``lrn_alpha=2e-5``.
        dropout: drop probability of the two dropout layers (the paper's 0.5).

    The input must be at least 63x63 pixels: conv1 (11x11, stride 4, padding 2) turns 63
    into 15, the three 3x3/2 max-pools then give 7, 3 and 1; at 62 the last pool gets 2x2.
    """

    min_image_size = 63
    weights_source = "none (trained from scratch)"

    def __init__(
        self,
        num_classes: int = 10,
        lrn: bool = False,
        lrn_alpha: float = PAPER_ALPHA,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.lrn = lrn

        def norm() -> list[nn.Module]:
            return [paper_lrn(lrn_alpha)] if lrn else []

        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            *norm(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            *norm(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        # 6x6 at 224x224 input; smaller images are average-pooled (or repeated) to 6x6 so
        # that the classifier keeps the paper's 9216 inputs at any image size.
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )
        # The paper's N(0, 0.01) everywhere stalls without its bias-1 trick; He for the
        # convolutions keeps the signal alive (see he_fan_in_init).
        he_fan_in_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_image_size(*x.shape[-2:], self.min_image_size, "AlexNet")
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)
