"""What the report says about the networks themselves (report/networks.py): LRN's place and
constants, GoogLeNet against Table 1 and its side classifiers, and what each network costs.
Small hand-made networks and rows where a branch needs them; the lab's networks where the
numbers are the paper's."""

from __future__ import annotations

import torch
from fake_runs import lab_of, write_run
from torch import nn

from labutils.models import (
    GoogLeNet,
    build_model,
    count_parameters,
    layer_summary,
    paper_lrn,
)
from labutils.report import networks
from labutils.report.format import fmt_pct
from labutils.report.paper_tables import PAPER_TABLE1, table1_rows


class Features(nn.Module):
    """A network of one convolution (``channels`` kernels), ReLU, optionally LRN, and max-pooling."""

    def __init__(self, channels: int = 4, lrn: bool = True) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, channels, 3), nn.ReLU(), *([paper_lrn()] if lrn else []),
                                      nn.MaxPool2d(2))


def test_lrn_placement_names_where_and_the_constants_in_both_conventions() -> None:
    text = networks.lrn_placement(Features(), Features(lrn=False))
    assert "placed where the paper puts them: `features.2` (after `ReLU` of conv1, before `MaxPool2d`)." in text
    assert "`LocalResponseNorm(size=5, alpha=5e-4, beta=0.75, k=2)`" in text  # PyTorch divides alpha by n
    assert "the handout's `alpha=1e-4` is $\\alpha = 2 \\times 10^{-5}$ in the paper's terms" in text
    assert "a normalisation 5 times weaker" in text
    assert text.endswith(f"LRN has no parameters: both networks have {count_parameters(Features()):,}.")


def test_lrn_placement_says_when_the_parameter_counts_differ() -> None:
    lrn, plain = Features(channels=4), Features(channels=8, lrn=False)
    assert networks.lrn_placement(lrn, plain).endswith(
        f"The two networks differ in parameters: {count_parameters(lrn):,} with LRN, {count_parameters(plain):,} "
        "without.")


def row(layer: str, match: bool | None, ours: tuple[int, ...] = (56, 56, 64)) -> dict:
    return {"layer": layer, "type": "Conv2d", "ours": ours, "paper": "-", "paper_output": None, "filters": None,
            "match": match}


def test_table1_finding_counts_matches_and_names_the_stem() -> None:
    rows = [row("conv1", True, (112, 112, 64)), row("lrn1", None), row("conv3", True), row("inception3a", True)]
    assert networks.table1_finding(rows) == (
        "3 of the 3 layers that Table 1 lists match it in output size and, for the Inception modules, in all six "
        "filter counts. (The last layer has 10 outputs for CIFAR-10's classes instead of ImageNet's 1000.) The stem "
        "takes the 224x224 image to 56x56x64 in 3 layers: conv1, lrn1, conv3.")


def test_table1_finding_names_the_layers_that_do_not_match() -> None:
    rows = [row("conv1", False), row("inception3a", True), row("inception3b", False)]
    text = networks.table1_finding(rows)
    assert text.startswith("1 of the 3 layers that Table 1 lists match it in output size; not: conv1, inception3b.")
    assert "in 1 layers: conv1." in text
    table = networks.table1_table(rows).splitlines()
    assert table[2].endswith("| **no** |") and table[3].endswith("| yes |")


def test_our_googlenet_against_table1_and_section5() -> None:
    googlenet = build_model("googlenet")
    rows = networks.table1_comparison(googlenet)
    listed = sum(1 for paper_row in PAPER_TABLE1 if paper_row.output is not None)
    assert networks.table1_finding(rows).startswith(f"{listed} of the {listed} layers that Table 1 lists match it")
    side = networks.side_classifier_table(googlenet)
    assert "| `pool` | average pooling 5x5/3 | 4x4x512 (4a), 4x4x528 (4d) | 4x4x512 | 4x4x528 |" in side
    text = networks.side_classifier_finding(googlenet)
    aux = count_parameters(googlenet.aux1) + count_parameters(googlenet.aux2)
    assert f"They hold {aux:,} of its {count_parameters(googlenet):,} parameters" in text
    assert "main loss + 0.3 x (aux1 loss + aux2 loss)" in text
    assert "has 10,334,030 parameters (5,983,802 without side classifiers)" in text  # the paper's network, DESIGN.md


def test_training_costs_count_parameters_and_flops_on_meta() -> None:
    costs = networks.training_costs(("googlenet", "alexnet"), 64)
    with torch.device("meta"):
        alexnet = build_model("alexnet")
    assert costs["alexnet"].params == count_parameters(alexnet) == 57_044_810
    assert costs["alexnet"].fully_connected == count_parameters(alexnet.classifier)
    assert costs["googlenet"].params == 10_341_566
    assert costs["googlenet"].flops > costs["alexnet"].flops > 0
    larger = networks.training_costs(("alexnet",), 128)["alexnet"]
    assert larger.flops > costs["alexnet"].flops


def test_cost_finding_compares_parameters_and_arithmetic() -> None:
    googlenet = networks.NetworkCost(params=10, flops=3_000_000_000, fully_connected=1)
    alexnet = networks.NetworkCost(params=50, flops=1_000_000_000, fully_connected=40)
    text = networks.cost_finding(googlenet, alexnet, 64)
    assert text.startswith("**Parameters.** AlexNet has 5.0 times as many parameters as GoogLeNet (50 vs 10); 80% of "
                           "AlexNet's sit in its three fully connected layers")
    assert "GoogLeNet does 3.0 times AlexNet's multiply-adds (3.00 vs 1.00 GFLOPs at 64x64)" in text
    assert text.endswith(" ")  # the measured speed follows (findings.scratch_finding)


def test_cost_table_sets_costs_beside_the_runs(tmp_path) -> None:
    write_run(tmp_path, "full", "alexnet", 0, 0.8)
    _, results = lab_of(tmp_path)
    costs = {"googlenet": networks.NetworkCost(10, 3_000_000_000, 1), "alexnet": networks.NetworkCost(50, 10**9, 40)}
    lines = networks.cost_table(results, costs, 64).splitlines()
    assert "GFLOPs per training image (64x64)" in lines[0]
    assert lines[2].startswith("| GoogLeNet | 10 | 3.00 | - | - |")  # no run of GoogLeNet
    assert lines[3].startswith("| AlexNet | 50 | 1.00 | ") and f"| {fmt_pct(0.8)} |" in lines[3]


def test_googlenet_matches_table1() -> None:
    model = GoogLeNet(batch_norm=True)
    rows = table1_rows(model, layer_summary(model, 224), num_classes=10)
    checked = [r for r in rows if r["match"] is not None]
    assert len(checked) == sum(1 for row in PAPER_TABLE1 if row.output is not None)
    assert all(r["match"] for r in checked), [r["layer"] for r in checked if not r["match"]]
    assert [r["layer"] for r in rows].index("aux1") == [r["layer"] for r in rows].index("inception4a") + 1
