"""The lab's experiments by name: what each one is, without building anything (no torch here).

``EXPERIMENTS`` says what each experiment is, ``LAB_EXPERIMENTS`` which five the lab runs
(exercises 2 to 5 of the handout). The networks themselves are built by ``labutils.models``;
this catalog is what the command line, the profiles and the report need before (or without)
building one.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import LabError, did_you_mean


@dataclass(frozen=True)
class Experiment:
    """One experiment: its name, its label in tables, its family ("alexnet" or "googlenet": whether
    it returns side-classifier outputs in training mode), whether it starts from ImageNet's weights,
    and one line on what it is."""

    name: str
    label: str
    family: str
    pretrained: bool
    description: str


_EXPERIMENTS = (
    Experiment("alexnet", "AlexNet", "alexnet", False,
               "AlexNet as in the handout (64-192-384-256-256), without LRN, trained from scratch"),
    Experiment("alexnet_lrn", "AlexNet + LRN", "alexnet", False,
               "AlexNet with the paper's LRN (k=2, n=5, alpha=1e-4, beta=0.75) after the ReLU of conv1 and conv2, "
               "trained from scratch"),
    # With BatchNorm: see models.BATCH_NORM_REASON. Everything else (stem, LRN, true 5x5 branches,
    # side classifiers) is the paper's; the paper-exact network without BN is "googlenet_paper".
    Experiment("googlenet", "GoogLeNet", "googlenet", False,
               "GoogLeNet as in the paper's Table 1 (stem, true 5x5 branches, two side classifiers), with BatchNorm "
               "after every convolution, trained from scratch"),
    Experiment("alexnet_pretrained", "pretrained AlexNet", "alexnet", True,
               "torchvision AlexNet with ImageNet weights (IMAGENET1K_V1) and a new 10-class head, fine-tuned"),
    Experiment("googlenet_pretrained", "pretrained GoogLeNet", "googlenet", True,
               "torchvision GoogLeNet with ImageNet weights (IMAGENET1K_V1), new heads (fc, aux1.fc2, aux2.fc2) and "
               "transform_input=True, fine-tuned"),
    Experiment("googlenet_paper", "GoogLeNet (paper, no BN)", "googlenet", False,
               "GoogLeNet exactly as in the paper, without BatchNorm; not one of the five lab experiments"),
)

#: Every experiment this package can build, by name.
EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in _EXPERIMENTS}

#: The five experiments of the lab, in the order of the handout's conclusion table.
LAB_EXPERIMENTS = ("alexnet", "alexnet_lrn", "googlenet", "alexnet_pretrained", "googlenet_pretrained")

#: The two architectures, each named by its experiment from scratch (the others are their variants).
FAMILIES = ("alexnet", "googlenet")


def spec(name: str) -> Experiment:
    """The :class:`Experiment` called ``name``, or a :class:`LabError` listing the names."""
    try:
        return EXPERIMENTS[name]
    except (KeyError, TypeError):
        raise LabError(f"unknown experiment '{str(name)[:60]}'{did_you_mean(name, EXPERIMENTS, cutoff=0.75)}; "
                       f"choose one of: {', '.join(EXPERIMENTS)}") from None
