"""The report's sentences (report/findings.py), branch by branch, on run folders written by hand
(fake_runs.py): missing runs, differences against the seed-to-seed noise, pretraining."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_runs import lab_of, write_run

from labutils.report import findings
from labutils.report.format import fmt_pct


def test_missing_and_failed_runs_are_named(full_runs: Path, tmp_path: Path) -> None:
    lab, results = lab_of(full_runs)
    text = findings.unavailable(results, "alexnet_pretrained", "googlenet_pretrained")
    assert "pretrained GoogLeNet (seed 0: missing)" in text and "pretrained AlexNet" not in text  # one seed complete
    assert findings.unavailable(results, "alexnet", "googlenet") is None
    listed = findings.missing_runs(lab)
    assert "pretrained AlexNet, seed 1: failed: the training loss became nan" in listed
    assert "pretrained GoogLeNet, seed 0: missing" in listed
    empty, _ = lab_of(tmp_path / "nothing")  # no run started at all: the setup section says so instead
    assert findings.missing_runs(empty) is None


@pytest.mark.parametrize("spread, verdict", [(0.001, "is larger than the seed-to-seed noise"),
                                              (0.03, "is within the seed-to-seed noise")])
def test_a_difference_beyond_or_within_the_seed_noise(tmp_path: Path, spread: float, verdict: str) -> None:
    for seed in range(3):
        write_run(tmp_path, "full", "alexnet", seed, 0.85 + spread * (seed - 1))
        write_run(tmp_path, "full", "alexnet_lrn", seed, 0.86 + spread * (1 - seed))
    _, results = lab_of(tmp_path)
    text = findings.lrn_finding(results["alexnet_lrn"], results["alexnet"])
    assert verdict in text and "Over 3 and 3 seeds" in text
    assert f"{fmt_pct(0.86)} against {fmt_pct(0.85)}" in text


@pytest.mark.parametrize("gap, within", [(0.002, True), (0.10, False)])
def test_one_seed_compares_with_the_test_sets_sampling_error(tmp_path: Path, gap: float, within: bool) -> None:
    write_run(tmp_path, "full", "alexnet", 0, 0.80)
    write_run(tmp_path, "full", "alexnet_lrn", 0, 0.80 + gap)
    _, results = lab_of(tmp_path)
    text = findings.lrn_finding(results["alexnet_lrn"], results["alexnet"])
    assert "cannot tell an effect from noise" in text and "0.4 pp per accuracy (10,000 images)" in text
    assert ("as this one is" in text) is within


PRETRAINING_CASES = {
    "both gain": ({"alexnet_pretrained": 0.90, "googlenet_pretrained": 0.95}, "**Yes: like AlexNet, GoogLeNet does"),
    "only AlexNet": ({"alexnet_pretrained": 0.90, "googlenet_pretrained": 0.85}, "only AlexNet gains"),
    "neither": ({"alexnet_pretrained": 0.80, "googlenet_pretrained": 0.85}, "neither gains"),
}


@pytest.mark.parametrize("case", PRETRAINING_CASES)
def test_pretraining_helps_or_not(tmp_path: Path, case: str) -> None:
    accuracies, expected = PRETRAINING_CASES[case]
    for experiment, acc in {"alexnet": 0.85, "googlenet": 0.90, **accuracies}.items():
        write_run(tmp_path, "full", experiment, 0, acc)
    _, results = lab_of(tmp_path)
    text = "\n".join(findings.pretraining_finding(results))
    assert expected in text
    assert f"Pretrained GoogLeNet reaches {fmt_pct(accuracies['googlenet_pretrained'])} test accuracy" in text
    assert "random weights" not in text


def test_random_pretrained_weights_say_nothing_about_pretraining(tmp_path: Path) -> None:
    for experiment, acc in {"alexnet": 0.85, "googlenet": 0.90, "alexnet_pretrained": 0.9,
                            "googlenet_pretrained": 0.95}.items():
        write_run(tmp_path, "full", experiment, 0, acc, weights="random (offline smoke run)")
    _, results = lab_of(tmp_path)
    text = "\n".join(findings.pretraining_finding(results))
    assert "started from random weights" in text and "Yes:" not in text and "does not help" not in text
    assert findings.random_pretrained(results)


def test_pretraining_without_pretrained_runs_draws_no_conclusion(full_runs: Path) -> None:
    _, results = lab_of(full_runs)  # pretrained GoogLeNet is missing
    text = "\n".join(findings.pretraining_finding(results))
    assert "Pretrained AlexNet reaches" in text and "Yes:" not in text and "does not help" not in text
    assert findings.pretrained_pair_finding(results) is None


@pytest.mark.parametrize("googlenet, expected", [(0.912, "GoogLeNet is ahead by 1.2 pp"), (0.9, "are level")])
def test_pretrained_pair(tmp_path: Path, googlenet: float, expected: str) -> None:
    write_run(tmp_path, "full", "alexnet_pretrained", 0, 0.9)
    write_run(tmp_path, "full", "googlenet_pretrained", 0, googlenet)
    _, results = lab_of(tmp_path)
    assert expected in findings.pretrained_pair_finding(results)
