"""The report's tables and the sentences they support, beyond test_report.py: accuracies side by
side, pretrained against from scratch, confusions, and which runs the learning curves draw."""

from __future__ import annotations

from pathlib import Path

from labutils import report_details as details
from labutils import report_findings as findings
from labutils.notebook_output import learning_histories
from labutils.report_format import fmt_pct, fmt_pp
from test_report import full_runs, lab_of, write_run  # noqa: F401  (full_runs is a fixture)

FOUR = ("alexnet", "alexnet_pretrained", "googlenet", "googlenet_pretrained")


def test_accuracy_rows_show_mean_spread_and_seeds(full_runs: Path) -> None:
    _, results = lab_of(full_runs)
    alexnet, googlenet = details.accuracy_rows(results, ("alexnet", "googlenet"))
    assert alexnet[0] == "AlexNet" and alexnet[3] == f"{fmt_pct(0.864)} ± 0.40" and alexnet[-1] == "3"
    assert googlenet[3] == fmt_pct(0.92) and googlenet[-1] == "1"  # one seed: no spread
    assert len(alexnet) == len(details.ACCURACY_HEADERS) == len(details.ACCURACY_ALIGN)


def test_generalisation_rows_show_the_gaps_or_dashes(full_runs: Path) -> None:
    _, results = lab_of(full_runs)  # pretrained GoogLeNet is missing
    rows = {row[0]: row for row in details.generalisation_rows(results, FOUR)}
    pretrained = results["alexnet_pretrained"]
    train, val = pretrained.mean("train_acc"), pretrained.mean("val_acc")
    assert rows["pretrained AlexNet"][1] == "ImageNet (IMAGENET1K_V1)"
    assert rows["pretrained AlexNet"][5] == fmt_pp(train - val)
    assert rows["pretrained GoogLeNet"][1:] == ["-", "n/a", "n/a", "n/a", "n/a", "n/a", "-"]
    assert len(details.GENERALISATION_HEADERS) == len(details.GENERALISATION_ALIGN) == len(rows["AlexNet"])


def test_pretrained_findings_or_nothing_to_compare(full_runs: Path, tmp_path: Path) -> None:
    _, results = lab_of(full_runs)
    paragraphs = findings.pretrained_findings(results, FOUR).split("\n\n")
    assert paragraphs[0].startswith("Pretrained AlexNet reaches")
    assert any(p.startswith("**Capacity and generalisation.**") for p in paragraphs)
    assert paragraphs[-1].startswith("Validation and test accuracy agree within")
    _, nothing = lab_of(tmp_path)
    assert findings.pretrained_findings(nothing, FOUR) == "No results to compare yet."


def test_confusion_matrices_add_up_the_seeds(full_runs: Path) -> None:
    _, results = lab_of(full_runs)
    matrices = details.confusion_matrices(results.values())
    assert set(matrices) == {"AlexNet", "AlexNet + LRN", "GoogLeNet", "pretrained AlexNet"}  # complete runs only
    seeds = [run.metrics["confusion_matrix"] for run in results["alexnet"].complete]
    assert matrices["AlexNet"][3][5] == sum(matrix[3][5] for matrix in seeds) > 0
    assert sum(map(sum, matrices["AlexNet"])) == 3 * sum(map(sum, seeds[0]))


def test_confusion_finding_names_each_models_largest_confusion() -> None:
    classes = ["cat", "dog", "frog"]
    matrices = {"AlexNet": [[6, 4, 0], [1, 9, 0], [0, 0, 10]],  # 40% of the cats taken for dogs
                "GoogLeNet": [[10, 0, 0], [0, 10, 0], [2, 2, 6]],  # a tie: the later pair of names wins
                "empty row": [[0, 0, 0], [0, 5, 5], [0, 0, 10]]}  # no cat at all: no division by zero
    assert details.confusion_finding(matrices, classes) == (
        "The most frequent confusion of each model: AlexNet: 40% of the cat images predicted as dog; GoogLeNet: 20% "
        "of the frog images predicted as dog; empty row: 50% of the dog images predicted as frog.")


def test_learning_curves_draw_the_complete_runs_only(full_runs: Path) -> None:
    _, results = lab_of(full_runs)
    histories = learning_histories(results, ("alexnet", "googlenet_pretrained", "alexnet_pretrained"))
    assert list(histories) == ["AlexNet", "pretrained AlexNet"]  # pretrained GoogLeNet has no complete run
    assert len(histories["AlexNet"]) == 3 and len(histories["pretrained AlexNet"]) == 1  # its seed 1 failed
    assert [row["epoch"] for row in histories["AlexNet"][0]] == list(range(1, 11))
