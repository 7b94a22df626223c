"""What the report says about the networks themselves, read from their code rather than from runs:
where AlexNet's LRN sits and with which constants (exercise 2), our GoogLeNet beside Table 1 of
the paper and its side classifiers (exercise 3), and what each network costs in parameters and
arithmetic (exercise 4). Models are built on the ``meta`` device where only shapes matter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..data import CIFAR10_CLASSES
from ..flops import training_flops
from ..models import (
    BATCH_NORM_REASON,
    EXPERIMENTS,
    GoogLeNet,
    build_model,
    count_parameters,
    layer_summary,
)
from ..models import local_response_norm as lrn_constants
from ..train_module import AUX_WEIGHT
from .format import fmt_latex_sci, fmt_sci, fmt_size, markdown_table
from .paper_tables import (
    PAPER_IMAGE_SIZE,
    PAPER_SIDE_CLASSIFIER,
    side_classifier_shapes,
    table1_rows,
)
from .runs import ExperimentResults, fmt_mean_std

GIGA = 1e9
TABLE1_HEADERS = ("our layer", "type", "our output", "Table 1", "Table 1 output",
                  "filters (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj)", "same")
TABLE1_MARKS = {True: "yes", False: "**no**", None: ""}  # Table 1 lists no output for the layer: nothing to check
SIDE_CLASSIFIER_HEADERS = ("side classifier layer", "the paper (Section 5)", "paper's output", "aux1 (on 4a)",
                           "aux2 (on 4d)")


# --- exercise 2: LRN ----------------------------------------------------------------------------

def lrn_placement(lrn_model: nn.Module, plain_model: nn.Module) -> str:
    """Where the LRN layers of ``lrn_model.features`` sit, their constants in the paper's terms
    and PyTorch's, and whether they change the parameter count against ``plain_model``."""
    features = lrn_model.features
    placed = [i for i, layer in enumerate(features) if isinstance(layer, nn.LocalResponseNorm)]
    where = ", ".join(f"`features.{i}` (after `{type(features[i - 1]).__name__}` of conv{n + 1}, before "
                      f"`{type(features[i + 1]).__name__}`)" for n, i in enumerate(placed))
    layer, paper = features[placed[0]], lrn_constants
    with_lrn, without = count_parameters(lrn_model), count_parameters(plain_model)
    return (f"The lab uses the paper's constants $k = {paper.PAPER_K:g}$, $n = {paper.PAPER_SIZE}$, "
            f"$\\alpha = {fmt_latex_sci(paper.PAPER_ALPHA)}$, $\\beta = {paper.PAPER_BETA:g}$, placed where the paper "
            f"puts them: {where}. PyTorch's `LocalResponseNorm` divides $\\alpha$ by $n$, so the paper's layer is "
            f"`LocalResponseNorm(size={layer.size}, alpha={fmt_sci(layer.alpha)}, beta={layer.beta:g}, k={layer.k:g})`;"
            f" the handout's `alpha={fmt_sci(paper.HANDOUT_LRN['alpha'])}` is "
            f"$\\alpha = {fmt_latex_sci(paper.HANDOUT_ALPHA)}$ in the paper's terms, a normalisation "
            f"{paper.PAPER_ALPHA / paper.HANDOUT_ALPHA:.0f} times weaker than the paper's. "
            + (f"LRN has no parameters: both networks have {with_lrn:,}." if with_lrn == without else
               f"The two networks differ in parameters: {with_lrn:,} with LRN, {without:,} without."))


# --- exercise 3: GoogLeNet against the paper ------------------------------------------------------

def table1_comparison(googlenet: nn.Module) -> list[dict[str, Any]]:
    """Our GoogLeNet's layers at the paper's input size beside Table 1 (``paper_tables.table1_rows``)."""
    return table1_rows(googlenet, layer_summary(googlenet, PAPER_IMAGE_SIZE), num_classes=len(CIFAR10_CLASSES))


def table1_table(rows: Sequence[Mapping[str, Any]]) -> str:
    return markdown_table(TABLE1_HEADERS, [
        [f"`{r['layer']}`", r["type"], fmt_size(r["ours"]), r["paper"], fmt_size(r["paper_output"]),
         ", ".join(map(str, r["filters"])) if r["filters"] else "", TABLE1_MARKS[r["match"]]] for r in rows],
        "llllllc")


def table1_finding(rows: Sequence[Mapping[str, Any]]) -> str:
    """How many of the layers Table 1 lists match it (and which do not), and what the stem (the
    layers before the first Inception module) makes of the image."""
    checked = [r for r in rows if r["match"] is not None]
    wrong = [r["layer"] for r in checked if not r["match"]]
    stem = rows[: next(i for i, r in enumerate(rows) if r["layer"].startswith("inception"))]
    agreement = ("; not: " + ", ".join(wrong)) if wrong else " and, for the Inception modules, in all six filter counts"
    return (f"{len(checked) - len(wrong)} of the {len(checked)} layers that Table 1 lists match it in output size"
            f"{agreement}. (The last layer has {len(CIFAR10_CLASSES)} outputs for CIFAR-10's classes instead of "
            f"ImageNet's 1000.) The stem takes the {PAPER_IMAGE_SIZE}x{PAPER_IMAGE_SIZE} image to "
            f"{fmt_size(stem[-1]['ours'])} in {len(stem)} layers: {', '.join(r['layer'] for r in stem)}.")


def side_classifier_table(googlenet: nn.Module) -> str:
    """Each layer of the two side classifiers, its output at the paper's input size beside Section 5's."""
    side = side_classifier_shapes(googlenet, PAPER_IMAGE_SIZE)
    return markdown_table(SIDE_CLASSIFIER_HEADERS, [
        [f"`{name}`", text, size, fmt_size(side["aux1"].get(name)), fmt_size(side["aux2"].get(name))]
        for name, text, size in PAPER_SIDE_CLASSIFIER], "lllll")


def side_classifier_parameters(googlenet: GoogLeNet) -> tuple[int, int]:
    """(parameters of the two side classifiers, of the whole network)."""
    return count_parameters(googlenet.aux1) + count_parameters(googlenet.aux2), count_parameters(googlenet)


def side_classifier_finding(googlenet: GoogLeNet) -> str:
    """How the side classifiers enter the loss, their share of the parameters, and the paper's
    network without BatchNorm beside the lab's."""
    aux, total = side_classifier_parameters(googlenet)
    with torch.device("meta"):
        paper = count_parameters(GoogLeNet(batch_norm=False))
        paper_no_aux = count_parameters(GoogLeNet(batch_norm=False, aux_logits=False))
    return (f"In training the network returns three outputs and minimises main loss + {AUX_WEIGHT:g} x (aux1 loss + "
            f"aux2 loss), the paper's weighting; in evaluation mode it returns the main logits only and does not run "
            f"the side classifiers. They hold {aux:,} of its {total:,} parameters ({aux / total:.0%}), so at "
            f"inference the network is {total - aux:,} parameters. The lab trains GoogLeNet with BatchNorm after "
            f"every convolution (experiment `googlenet`: {EXPERIMENTS['googlenet'].description}); the paper's network "
            f"without it (experiment `googlenet_paper`) has {paper:,} parameters ({paper_no_aux:,} without side "
            f"classifiers). {BATCH_NORM_REASON}")


# --- exercise 4: what each network costs -------------------------------------------------------------

@dataclass(frozen=True)
class NetworkCost:
    params: int
    flops: int  # per training image: forward in training mode and backward (flops.training_flops)
    fully_connected: int  # parameters of the nn.Linear layers


def training_costs(experiments: Sequence[str], image_size: int) -> dict[str, NetworkCost]:
    """Parameters and FLOPs per training image at ``image_size`` of each experiment's network."""
    costs = {}
    for experiment in experiments:
        with torch.device("meta"):
            model = build_model(experiment)
        linear = sum(count_parameters(m) for m in model.modules() if isinstance(m, nn.Linear))
        costs[experiment] = NetworkCost(count_parameters(model), training_flops(experiment, image_size), linear)
    return costs


def cost_table(results: Mapping[str, ExperimentResults], costs: Mapping[str, NetworkCost], image_size: int) -> str:
    """Each network's parameters and FLOPs beside its measured speed and accuracy (means over seeds)."""
    rows = [[results[e].label, f"{cost.params:,}", f"{cost.flops / GIGA:.2f}",
             fmt_mean_std(results[e], "time_per_epoch_s", "time"), fmt_mean_std(results[e], "images_per_s", "rate"),
             fmt_mean_std(results[e], "val_acc", "pct"), fmt_mean_std(results[e], "test_acc", "pct"),
             fmt_mean_std(results[e], "test_loss", "loss")] for e, cost in costs.items()]
    return markdown_table(["model", "parameters", f"GFLOPs per training image ({image_size}x{image_size})",
                           "time per epoch", "training images/s", "val acc", "test acc", "test loss"], rows, "lrrrrrrr")


def cost_finding(googlenet: NetworkCost, alexnet: NetworkCost, image_size: int) -> str:
    """GoogLeNet against AlexNet in parameters (and where AlexNet's sit) and in arithmetic."""
    dense = alexnet.fully_connected / alexnet.params
    return (f"**Parameters.** AlexNet has {alexnet.params / googlenet.params:.1f} times as many parameters as "
            f"GoogLeNet ({alexnet.params:,} vs {googlenet.params:,}); {dense:.0%} of AlexNet's sit in its three fully "
            f"connected layers, while GoogLeNet replaces them with global average pooling and one 1024-to-10 layer. "
            f"**Arithmetic.** Per training image GoogLeNet does "
            f"{googlenet.flops / alexnet.flops:.1f} times AlexNet's multiply-adds "
            f"({googlenet.flops / GIGA:.2f} vs {alexnet.flops / GIGA:.2f} GFLOPs at {image_size}x{image_size}): "
            f"parameters are not what costs time, convolutions over large feature maps are. ")
