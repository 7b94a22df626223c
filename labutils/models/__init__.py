"""The lab's models, and the registry of its experiments.

``build_model("googlenet")`` builds the network of one experiment; ``EXPERIMENTS`` says what
each one is, ``LAB_EXPERIMENTS`` which five the lab runs (exercises 2 to 5 of the handout).
Every model built here has ``min_image_size`` (pixels) and ``weights_source`` attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from torch import nn

from labutils.errors import LabError, did_you_mean
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
    "EXPERIMENTS",
    "HANDOUT_ALPHA",
    "HANDOUT_LRN",
    "LAB_EXPERIMENTS",
    "PAPER_ALPHA",
    "PAPER_LRN",
    "AlexNet",
    "BasicConv2d",
    "ExperimentSpec",
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


@dataclass(frozen=True)
class ExperimentSpec:
    """One experiment's network.

    ``build(num_classes=...)`` makes it; pretrained builders also take ``random_weights``.
    ``family`` ("alexnet" or "googlenet") tells training code whether the model returns
    side-classifier outputs in training mode (GoogLeNets do). ``label`` names it in tables.
    """

    name: str
    label: str
    family: str
    pretrained: bool
    description: str
    build: Callable[..., nn.Module]


_SPECS = [
    ExperimentSpec(
        "alexnet", "AlexNet", "alexnet", False,
        "AlexNet as in the handout (64-192-384-256-256), without LRN, trained from scratch",
        partial(AlexNet, lrn=False),
    ),
    ExperimentSpec(
        "alexnet_lrn", "AlexNet + LRN", "alexnet", False,
        "AlexNet with the paper's LRN (k=2, n=5, alpha=1e-4, beta=0.75) after the ReLU of "
        "conv1 and conv2, trained from scratch",
        partial(AlexNet, lrn=True),
    ),
    # With BatchNorm (BATCH_NORM_REASON says why); without it, the paper's network: "googlenet_paper".
    ExperimentSpec(
        "googlenet", "GoogLeNet", "googlenet", False,
        "GoogLeNet as in the paper's Table 1 (stem, true 5x5 branches, two side classifiers), "
        "with BatchNorm after every convolution, trained from scratch",
        partial(GoogLeNet, aux_logits=True, batch_norm=True),
    ),
    ExperimentSpec(
        "alexnet_pretrained", "pretrained AlexNet", "alexnet", True,
        "torchvision AlexNet with ImageNet weights (IMAGENET1K_V1) and a new 10-class head, "
        "fine-tuned",
        pretrained_alexnet,
    ),
    ExperimentSpec(
        "googlenet_pretrained", "pretrained GoogLeNet", "googlenet", True,
        "torchvision GoogLeNet with ImageNet weights (IMAGENET1K_V1), new heads (fc, aux1.fc2, "
        "aux2.fc2) and transform_input=True, fine-tuned",
        pretrained_googlenet,
    ),
    ExperimentSpec(
        "googlenet_paper", "GoogLeNet (paper, no BN)", "googlenet", False,
        "GoogLeNet exactly as in the paper, without BatchNorm; not one of the five lab experiments",
        partial(GoogLeNet, aux_logits=True, batch_norm=False),
    ),
]

#: Every experiment this package can build, by name.
EXPERIMENTS: dict[str, ExperimentSpec] = {s.name: s for s in _SPECS}

#: The five experiments of the lab, in the order of the handout's conclusion table.
LAB_EXPERIMENTS = (
    "alexnet",
    "alexnet_lrn",
    "googlenet",
    "alexnet_pretrained",
    "googlenet_pretrained",
)


def spec(name: str) -> ExperimentSpec:
    """The :class:`ExperimentSpec` called ``name``, or a :class:`LabError` listing the names."""
    try:
        return EXPERIMENTS[name]
    except KeyError:
        raise LabError(f"unknown experiment '{name}'{did_you_mean(name, EXPERIMENTS, cutoff=0.75)}; "
                       f"choose one of: {', '.join(EXPERIMENTS)}") from None


def build_model(name: str, num_classes: int = 10, random_weights: bool = False) -> nn.Module:
    """Build experiment ``name``'s network with ``num_classes`` outputs.

    ``random_weights`` matters only for pretrained experiments: it skips the download and
    leaves the weights random (an offline smoke run). Raises :class:`LabError` for an unknown
    name and :class:`~labutils.errors.WeightsUnavailableError` when weights cannot be had.
    """
    experiment = spec(name)
    if experiment.pretrained:
        return experiment.build(num_classes=num_classes, random_weights=random_weights)
    return experiment.build(num_classes=num_classes)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of parameters of ``model`` (those with ``requires_grad`` only, by default)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
