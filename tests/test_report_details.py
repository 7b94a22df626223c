"""The report's closer looks (report/details.py) and the sentences they support: accuracies side by
side, pretrained against from scratch, confusions, the hardware and the lab's time, inference
speed, the hardest classes, the most confident mistakes, and which runs the learning curves draw."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from fake_runs import CLASSES, lab_of, write_run

from labutils.report import details, evidence, findings
from labutils.report.format import fmt_duration, fmt_pct, fmt_pp
from labutils.report.notebook_output import learning_histories

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


def test_confusion_finding_names_each_models_largest_confusion_and_its_ties() -> None:
    classes = ["cat", "dog", "frog"]
    matrices = {"AlexNet": [[60, 40, 0], [10, 90, 0], [0, 0, 100]],  # 40% of the cats taken for dogs
                "GoogLeNet": [[100, 0, 0], [0, 100, 0], [20, 20, 60]],  # a tie: both named
                "empty row": [[0, 0, 0], [0, 50, 50], [0, 0, 100]]}  # no cat at all: no division by zero
    assert details.confusion_finding(matrices, classes) == (
        "The most frequent confusion of each model (share of the true class's test images): AlexNet: cat as dog "
        "(40%); GoogLeNet: frog as cat (20%), tied within the noise with frog as dog (20%); empty row: dog as frog "
        "(50%).")


def test_closer_looks_on_generated_data_are_one_line(smoke_like: Path) -> None:
    lab, results = lab_of(smoke_like, "smoke")
    ground = evidence.grounds(lab)
    matrices = details.confusion_matrices(results.values())
    assert "need real data" in details.confusion_finding(matrices, CLASSES, ground)
    per_class = {r.label: details.per_class_accuracy(r) for r in results.values() if r.n}
    assert "need real data" in details.hardest_classes_finding(per_class, CLASSES, [2] * 10, ground)
    assert details.class_test_images(results.values()) == [2, 2, 2, 2, 2, 2, 1, 1, 1, 1]


def test_learning_curves_draw_the_complete_runs_only(full_runs: Path) -> None:
    _, results = lab_of(full_runs)
    histories = learning_histories(results, ("alexnet", "googlenet_pretrained", "alexnet_pretrained"))
    assert list(histories) == ["AlexNet", "pretrained AlexNet"]  # pretrained GoogLeNet has no complete run
    assert len(histories["AlexNet"]) == 3 and len(histories["pretrained AlexNet"]) == 1  # its seed 1 failed
    assert [row["epoch"] for row in histories["AlexNet"][0]] == list(range(1, 11))


def test_setup_names_hardware_software_and_lab_time(full_runs: Path, tmp_path: Path) -> None:
    lab, _ = lab_of(full_runs)
    rows = dict(details.environment_rows(lab))
    assert rows["hardware"] == "NVIDIA H100 80GB HBM3" and rows["CPU"] == "AMD EPYC 9654 (16 cores)"
    assert rows["software"] == "Python 3.11.7, PyTorch 2.14.1, torchvision 0.29.1, CUDA 13.0, cuDNN 91000"
    # Without executed notebooks, each complete run's wall_time_s (700 s for 10 epochs) counts.
    assert details.lab_time(lab) == f"{fmt_duration(700.0 * 8)} for 8 runs"
    notebook = {"cells": [], "metadata": {"papermill": {"duration": 1234.5, "start_time": "2026-05-01T10:00:00.5",
                                                        "end_time": "2026-05-01T10:20:34.5"}}}
    (lab.complete[0].path / "02_train.ipynb").write_text(json.dumps(notebook))
    assert details.lab_time(lab) == (f"{fmt_duration(1234.5 + 700.0 * 7)} for 8 runs "
                                     "(from 2026-05-01 10:00 to 2026-05-01 10:20 UTC)")
    write_run(tmp_path, "full", "alexnet", 0, 0.8, environment=None)  # from before the environment was recorded
    old, _ = lab_of(tmp_path)
    assert {value for _, value in details.environment_rows(old)} == {"not recorded"}


def test_inference_speed_rows(full_runs: Path) -> None:
    lab, _ = lab_of(full_runs)
    rows = {row[0]: row for row in details.inference_rows(lab.all_results())}
    assert rows["GoogLeNet"][2:5] == ["1,000", "128", "6.0 ms"]


def test_hardest_classes_are_named_with_every_tie() -> None:
    accuracies = {"AlexNet": [0.9, 0.95, 0.7, 0.5, 0.8, 0.6, 0.9, 0.85, 0.92, 0.9],
                  "GoogLeNet": [0.95, 0.97, 0.8, 0.6, 0.9, 0.7, 0.9, 0.9, 0.96, 0.93]}
    text = details.hardest_classes_finding(accuracies, CLASSES, [1000] * 10)
    assert text.startswith(f"The hardest class, averaged over the 2 models: cat ({fmt_pct(0.55, 1)}); the easiest: "
                           f"automobile ({fmt_pct(0.96, 1)}) (1,000 test images per class).")  # 2.0 pp > 2 SE
    assert "Cat is among the hardest classes (or tied with them) for 2 of the 2 models." in text
    few = details.hardest_classes_finding(accuracies, CLASSES, [100] * 10)  # fewer images: dog ties with cat
    assert f"cat ({fmt_pct(0.55, 1)}), tied within the noise with dog ({fmt_pct(0.65, 1)})" in few
    assert f"automobile ({fmt_pct(0.96, 1)}), tied within the noise with ship ({fmt_pct(0.94, 1)}), " in few
    level = details.hardest_classes_finding({"AlexNet": [0.0] * 10}, CLASSES, [2] * 10)
    assert "all 10 classes are within the noise of the lowest" in level and "all are tied" in level
    assert details.hardest_classes_finding({}, CLASSES).startswith("No complete runs")


def test_mistakes_sentence_names_the_surest_wrong_answer() -> None:
    image = np.zeros((32, 32, 3), np.uint8)
    galleries = {"AlexNet": [{"image": image, "true": 3, "predicted": 5, "confidence": 0.97}],
                 "GoogLeNet": [{"image": image, "true": 2, "predicted": 0, "confidence": 0.6}]}
    text = details.mistakes_finding(galleries, CLASSES, ["pretrained AlexNet"])
    assert "AlexNet took a cat for a dog with 97\u00a0% confidence" in text
    assert "No predictions file for: pretrained AlexNet" in text
    assert "None of the models made a mistake" in details.mistakes_finding({"AlexNet": []}, CLASSES, [])
