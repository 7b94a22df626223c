"""GoogLeNet as in Szegedy et al. 2015, Table 1, with both side classifiers."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from labutils.models.conv_block import BasicConv2d
from labutils.models.inception import Inception
from labutils.models.inception_aux import InceptionAux
from labutils.models.input_size import check_image_size
from labutils.models.local_response_norm import paper_lrn
from labutils.models.weight_init import he_fan_in_init


class GoogLeNetOutputs(NamedTuple):
    """What a GoogLeNet returns in training mode with side classifiers: three logits.

    Unlike torchvision's namedtuple of the same name (``logits, aux_logits2, aux_logits1``),
    the side classifiers come in the order of the network; both weigh 0.3 in the loss.
    """

    logits: torch.Tensor
    aux1: torch.Tensor
    aux2: torch.Tensor


class GoogLeNet(nn.Module):
    """GoogLeNet, Szegedy et al. 2015 (Going deeper with convolutions), Table 1 and Figure 3.

    Stem (the paper's, not the handout's): 7x7/2 convolution, 3x3/2 max-pool, LRN, 1x1
    convolution (64), 3x3 convolution (192), LRN, 3x3/2 max-pool; then Inception 3a-3b,
    max-pool, 4a-4e, max-pool, 5a-5b, global average pooling (the paper's 7x7 average pool
    at 224x224 input), dropout 0.4 and a linear layer. Max-pools round up (``ceil_mode``),
    as in the reference Caffe model, so that 224 gives Table 1's 112, 56, 28, 14 and 7.

    Side classifiers (:class:`InceptionAux`) read the outputs of 4a (512 channels) and
    4d (528 channels). In training mode with ``aux_logits`` the forward pass returns
    ``(logits, aux1, aux2)`` (a :class:`GoogLeNetOutputs`), and the training loss is
    ``main + 0.3 * (aux1 + aux2)``; in eval mode it returns the logits only and does not
    run the side classifiers.

    Args:
        num_classes: outputs of the classifier and of both side classifiers.
        aux_logits: build the two side classifiers.
        batch_norm: put ``BatchNorm2d`` between every convolution and its ReLU (stem,
            Inception modules and side classifiers), as Inception-v2 did (Ioffe & Szegedy
            2015); everything else, LRN included, stays the same. Without BN the net is
            the paper's. BN adds its scale and shift and drops the convolution biases
            (parameter counts: docs/papers.md).
        dropout: drop probability before the last linear layer (the paper's 0.4).
        aux_dropout: drop probability inside the side classifiers (the paper's 0.7).
        init_weights: He (fan-in) initialisation for convolutions, N(0, 0.01) for linear
            layers (``weight_init.py``) rather than PyTorch's default.

    The LRN layers use the AlexNet paper's constants (n=5, k=2, alpha=1e-4, beta=0.75, see
    :func:`paper_lrn`): the GoogLeNet paper does not give its own.

    The smallest input is 63x63 (63 and 64 give the same maps: 32, 16, 8, 4 and 2 after
    conv1 and each max-pool). There Inception 4a's map is 4x4, the grid the side
    classifiers' first FC layer expects; below it they would have to repeat pixels to fill
    that grid (the main path itself runs down to 31x31).
    """

    min_image_size = 63
    weights_source = "none (trained from scratch)"

    def __init__(
        self,
        num_classes: int = 10,
        aux_logits: bool = True,
        batch_norm: bool = False,
        dropout: float = 0.4,
        aux_dropout: float = 0.7,
        init_weights: bool = True,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.aux_logits = aux_logits
        self.batch_norm = batch_norm
        bn = batch_norm

        # Stem: Table 1's first five rows.
        self.conv1 = BasicConv2d(3, 64, 7, bn, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.lrn1 = paper_lrn()
        self.conv2 = BasicConv2d(64, 64, 1, bn)  # Table 1's "#3x3 reduce" of the stem
        self.conv3 = BasicConv2d(64, 192, 3, bn, padding=1)
        self.lrn2 = paper_lrn()
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        # Inception(in, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj), Table 1.
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32, bn)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64, bn)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64, bn)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64, bn)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64, bn)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64, bn)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128, bn)
        self.maxpool4 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128, bn)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128, bn)

        self.aux1: InceptionAux | None = None
        self.aux2: InceptionAux | None = None
        if aux_logits:
            self.aux1 = InceptionAux(512, num_classes, bn, aux_dropout)
            self.aux2 = InceptionAux(528, num_classes, bn, aux_dropout)

        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)

        if init_weights:
            he_fan_in_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor | GoogLeNetOutputs:
        check_image_size(*x.shape[-2:], self.min_image_size, "GoogLeNet")
        run_aux = self.training and self.aux_logits  # side classifiers: training only
        # Shapes at 224x224 input, as in Table 1.
        x = self.conv1(x)  # 64 x 112 x 112
        x = self.maxpool1(x)  # 64 x 56 x 56
        x = self.lrn1(x)
        x = self.conv2(x)  # 64 x 56 x 56
        x = self.conv3(x)  # 192 x 56 x 56
        x = self.lrn2(x)
        x = self.maxpool2(x)  # 192 x 28 x 28

        x = self.inception3a(x)  # 256 x 28 x 28
        x = self.inception3b(x)  # 480 x 28 x 28
        x = self.maxpool3(x)  # 480 x 14 x 14

        x = self.inception4a(x)  # 512 x 14 x 14
        aux1 = self.aux1(x) if run_aux else None
        x = self.inception4b(x)  # 512 x 14 x 14
        x = self.inception4c(x)  # 512 x 14 x 14
        x = self.inception4d(x)  # 528 x 14 x 14
        aux2 = self.aux2(x) if run_aux else None
        x = self.inception4e(x)  # 832 x 14 x 14
        x = self.maxpool4(x)  # 832 x 7 x 7

        x = self.inception5a(x)  # 832 x 7 x 7
        x = self.inception5b(x)  # 1024 x 7 x 7
        x = self.avgpool(x)  # 1024 x 1 x 1
        x = torch.flatten(x, 1)
        x = self.dropout(x)
        x = self.fc(x)  # num_classes
        if run_aux:
            return GoogLeNetOutputs(x, aux1, aux2)
        return x
