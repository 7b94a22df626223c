"""The lab's models, and how each experiment's network is built.

``build_model("googlenet")`` builds the network of one experiment (``BUILDERS``); what each
experiment is (``EXPERIMENTS``, ``LAB_EXPERIMENTS``, ``spec``) comes from ``labutils.catalog``.
Every model built here has ``min_image_size`` (pixels) and ``weights_source`` attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from torch import nn

from labutils.catalog import EXPERIMENTS, LAB_EXPERIMENTS, Experiment, spec
from labutils.models.alexnet import AlexNet
from labutils.models.conv_block import BasicConv2d
from labutils.models.googlenet import GoogLeNet, GoogLeNetOutputs
from labutils.models.inception import Inception
from labutils.models.inception_aux import InceptionAux
from labutils.models.local_response_norm import (
    HANDOUT_ALPHA,
    HANDOUT_LRN,
    PAPER_ALPHA,
    PAPER_LRN,
    paper_lrn,
)
from labutils.models.pretrained import pretrained_alexnet, pretrained_googlenet
from labutils.models.summary import layer_summary

__all__ = [
    "BATCH_NORM_REASON",
    "BUILDERS",
    "EXPERIMENTS",
    "HANDOUT_ALPHA",
    "HANDOUT_LRN",
    "LAB_EXPERIMENTS",
    "PAPER_ALPHA",
    "PAPER_LRN",
    "AlexNet",
    "BasicConv2d",
    "Experiment",
    "GoogLeNet",
    "GoogLeNetOutputs",
    "Inception",
    "InceptionAux",
    "build_model",
    "count_parameters",
    "layer_summary",
    "paper_lrn",
    "pretrained_alexnet",
    "pretrained_googlenet",
    "spec",
]


# Why the lab's GoogLeNet has BatchNorm after every convolution: said once, here (the report quotes it).
BATCH_NORM_REASON = (
    "Ten epochs at batch 128 are about 3,500 SGD steps, few for a 22-layer network without "
    "normalisation; the handout's own GoogLeNet, which had BatchNorm as well, needed 112,000 steps "
    "of batch 4 to reach 85 %. BatchNorm is the GoogLeNet authors' own next step (Inception-v2, "
    "Ioffe & Szegedy 2015: the same accuracy in 14 times fewer steps, with larger learning rates)."
)


#: How each experiment's network is built: ``BUILDERS[name](num_classes=...)``; the pretrained
#: ones also take ``random_weights``. What each experiment is: ``labutils.catalog``.
BUILDERS: dict[str, Callable[..., nn.Module]] = {
    "alexnet": partial(AlexNet, lrn=False),
    "alexnet_lrn": partial(AlexNet, lrn=True),
    "googlenet": partial(GoogLeNet, aux_logits=True, batch_norm=True),  # BatchNorm: BATCH_NORM_REASON
    "alexnet_pretrained": pretrained_alexnet,
    "googlenet_pretrained": pretrained_googlenet,
    "googlenet_paper": partial(GoogLeNet, aux_logits=True, batch_norm=False),
}


def build_model(name: str, num_classes: int = 10, random_weights: bool = False) -> nn.Module:
    """Build experiment ``name``'s network with ``num_classes`` outputs.

    ``random_weights`` matters only for pretrained experiments: it skips the download and
    leaves the weights random (an offline smoke run). Raises :class:`LabError` for an unknown
    name and :class:`~labutils.errors.WeightsUnavailableError` when weights cannot be had.
    """
    experiment = spec(name)
    build = BUILDERS[experiment.name]
    if experiment.pretrained:
        return build(num_classes=num_classes, random_weights=random_weights)
    return build(num_classes=num_classes)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of parameters of ``model`` (those with ``requires_grad`` only, by default)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
