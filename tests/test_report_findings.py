"""The report's sentences (report/findings.py), branch by branch, on run folders written by hand
(fake_runs.py): missing runs, differences against their noise (one seed and several), pretraining,
capacity, and the one line that stands in for them on generated data."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_runs import lab_of, write_profile, write_run

from labutils.report import findings
from labutils.report.evidence import BEYOND, COMPARATIVE_PHRASES, WITHIN
from labutils.report.format import fmt_pct


def test_missing_and_failed_runs_are_named(full_runs: Path, tmp_path: Path) -> None:
    lab, results = lab_of(full_runs)
    text = findings.unavailable(results, "alexnet_pretrained", "googlenet_pretrained")
    assert "pretrained GoogLeNet (seed 0: missing; seed 1: missing; seed 2: missing)" in text
    assert "pretrained AlexNet" not in text  # one seed complete
    listed = findings.missing_runs(lab)
    assert "pretrained AlexNet, seed 1: failed: the training loss became nan" in listed
    assert "pretrained GoogLeNet, seed 0: missing" in listed and "GoogLeNet, seed 2: missing" in listed
    empty, _ = lab_of(tmp_path / "nothing")  # no run started at all: the setup section says so instead
    assert findings.missing_runs(empty) is None


def test_folders_the_report_does_not_use_are_named(tmp_path: Path) -> None:
    write_run(tmp_path, "full", "alexnet", 0, 0.8)
    write_run(tmp_path, "full", "alexnet", 7, 0.2)  # left from another profile
    (tmp_path / "full" / "googlenet_paper" / "seed0").mkdir(parents=True)  # an experiment the profile does not list
    lab, results = lab_of(tmp_path)
    assert results["alexnet"].n == 1 and results["alexnet"].mean("test_acc") == pytest.approx(0.8)
    text = findings.ignored_runs(lab)
    assert f"`{tmp_path / 'full' / 'alexnet' / 'seed7'}`: seed 7 is not among the profile's seeds (0)" in text
    assert f"`{tmp_path / 'full' / 'googlenet_paper'}`: experiment 'googlenet_paper' is not in the profile" in text
    assert findings.ignored_runs(lab_of(tmp_path / "nothing")[0]) is None


@pytest.mark.parametrize("spread, verdict", [(0.001, BEYOND), (0.03, WITHIN)])
def test_lrn_with_three_seeds_beyond_or_within_the_noise(tmp_path: Path, spread: float, verdict: str) -> None:
    write_profile(tmp_path, "full", [0, 1, 2])
    for seed in range(3):
        write_run(tmp_path, "full", "alexnet", seed, 0.85 + spread * (seed - 1))
        write_run(tmp_path, "full", "alexnet_lrn", seed, 0.87 + spread * (1 - seed))
    _, results = lab_of(tmp_path)
    text = findings.lrn_finding(results["alexnet_lrn"], results["alexnet"])
    assert verdict in text.split(" Time per epoch")[0]
    assert fmt_pct(0.87) in text and fmt_pct(0.85) in text
    assert "With one seed" not in text
    answer = findings.lrn_answer(results["alexnet_lrn"], results["alexnet"])
    assert answer.startswith("LRN improves the test accuracy" if verdict == BEYOND else "No difference beyond the noise")


@pytest.mark.parametrize("gap, verdict", [(0.002, WITHIN), (0.03, BEYOND)])
def test_lrn_with_one_seed_uses_the_test_sets_sampling_error(tmp_path: Path, gap: float, verdict: str) -> None:
    write_run(tmp_path, "full", "alexnet", 0, 0.80)
    write_run(tmp_path, "full", "alexnet_lrn", 0, 0.80 + gap)
    _, results = lab_of(tmp_path)
    text = findings.lrn_finding(results["alexnet_lrn"], results["alexnet"])
    assert f"{verdict}: 2 SE = 1.1\u00a0pp" in text and "With one seed on a side" in text
    assert "The handout's author found 80.29" in text and "+2.88\u00a0pp, beyond the noise" in text


def test_an_epoch_faster_with_lrn_is_put_down_to_the_machine(tmp_path: Path) -> None:
    write_run(tmp_path, "full", "alexnet", 0, 0.80, train_time_s=1300.0)
    write_run(tmp_path, "full", "alexnet_lrn", 0, 0.80)
    _, results = lab_of(tmp_path)
    for row in results["alexnet"].complete[0].history:
        row["train_seconds"] = 125.0  # the run without LRN met a loaded machine
    text = findings.lrn_finding(results["alexnet_lrn"], results["alexnet"])
    assert "points to a machine whose load changed" in text


def test_scratch_comparison_names_speed_and_accuracy_by_the_rule(tmp_path: Path) -> None:
    write_run(tmp_path, "full", "alexnet", 0, 0.7741, images_per_s=2100.0)
    write_run(tmp_path, "full", "googlenet", 0, 0.8501, images_per_s=900.0)
    _, results = lab_of(tmp_path)
    text = findings.scratch_finding(results["googlenet"], results["alexnet"])
    assert "AlexNet is 2.3 times as fast as GoogLeNet" in text
    assert "GoogLeNet is more accurate" in text and BEYOND in text
    answer = findings.scratch_answer(results["googlenet"], results["alexnet"])
    assert answer.startswith("Training speed: GoogLeNet 900 images/s, AlexNet 2,100 images/s: AlexNet is 2.3 times")


def test_inference_speed_by_the_rule(full_runs: Path, tmp_path: Path) -> None:
    _, results = lab_of(full_runs)
    text = findings.inference_finding(results["googlenet"], results["alexnet"])
    assert "GoogLeNet 1,000 images/s, AlexNet 2,000 images/s: AlexNet is 2.0 times as fast as GoogLeNet" in text
    assert "GoogLeNet 6.0\u00a0ms, AlexNet 2.0\u00a0ms: AlexNet is 3.0 times as fast" in text
    write_run(tmp_path, "full", "alexnet", 0, 0.8, latency_ms=None, inference_images_per_s=None)
    write_run(tmp_path, "full", "googlenet", 0, 0.9)
    _, old = lab_of(tmp_path)
    assert "was not measured for AlexNet" in findings.inference_finding(old["googlenet"], old["alexnet"])


PRETRAINING_CASES = {  # scratch: AlexNet 85 %, GoogLeNet 90 %
    "both gain": ({"alexnet_pretrained": 0.90, "googlenet_pretrained": 0.95}, "**Yes: like AlexNet, GoogLeNet does",
                  "Yes, like AlexNet"),
    "only AlexNet": ({"alexnet_pretrained": 0.90, "googlenet_pretrained": 0.85}, "only AlexNet gains",
                     "No: unlike AlexNet, GoogLeNet loses"),
    "only GoogLeNet": ({"alexnet_pretrained": 0.852, "googlenet_pretrained": 0.95}, "only GoogLeNet gains",
                       "GoogLeNet gains, but AlexNet not beyond the noise"),
    "neither": ({"alexnet_pretrained": 0.80, "googlenet_pretrained": 0.85}, "neither gains beyond the noise",
                "Neither gains beyond the noise"),
    "within noise": ({"alexnet_pretrained": 0.853, "googlenet_pretrained": 0.904}, "neither gains beyond the noise",
                     "Neither gains beyond the noise"),
}


@pytest.mark.parametrize("case", PRETRAINING_CASES)
def test_pretraining_helps_or_not(tmp_path: Path, case: str) -> None:
    accuracies, expected, answer = PRETRAINING_CASES[case]
    for experiment, acc in {"alexnet": 0.85, "googlenet": 0.90, **accuracies}.items():
        write_run(tmp_path, "full", experiment, 0, acc)
    _, results = lab_of(tmp_path)
    text = "\n".join(findings.pretraining_finding(results))
    assert expected in text
    assert f"Pretrained GoogLeNet reaches {fmt_pct(accuracies['googlenet_pretrained'])} test accuracy" in text
    assert "random weights" not in text
    assert findings.pretraining_answer(results).startswith(answer + ": pretrained GoogLeNet")


def test_random_pretrained_weights_say_nothing_about_pretraining(tmp_path: Path) -> None:
    for experiment, acc in {"alexnet": 0.85, "googlenet": 0.90, "alexnet_pretrained": 0.9,
                            "googlenet_pretrained": 0.95}.items():
        write_run(tmp_path, "full", experiment, 0, acc, weights="random (offline smoke run)")
    _, results = lab_of(tmp_path)
    assert findings.pretraining_finding(results) == [
        ("*Findings about pretraining need ImageNet's weights: these pretrained runs started from random weights (a "
         "pipeline check).*")]
    assert findings.random_pretrained(results) and findings.pretrained_pair_finding(results) is None
    assert "needs real data and ImageNet's weights" in findings.pretraining_answer(results)


def test_pretraining_without_pretrained_runs_draws_no_conclusion(full_runs: Path) -> None:
    _, results = lab_of(full_runs)  # pretrained GoogLeNet is missing
    text = "\n".join(findings.pretraining_finding(results))
    assert "Pretrained AlexNet reaches" in text and "Yes:" not in text and "does not help" not in text
    assert findings.pretrained_pair_finding(results) is None


@pytest.mark.parametrize("googlenet, expected", [(0.93, "GoogLeNet is ahead of AlexNet"), (0.9, "are level within"),
                                                 (0.905, "are level within")])
def test_pretrained_pair(tmp_path: Path, googlenet: float, expected: str) -> None:
    write_run(tmp_path, "full", "alexnet_pretrained", 0, 0.9)
    write_run(tmp_path, "full", "googlenet_pretrained", 0, googlenet)
    _, results = lab_of(tmp_path)
    assert expected in findings.pretrained_pair_finding(results)


def test_capacity_names_every_network_tied_for_the_widest_gap(tmp_path: Path) -> None:
    four = ("alexnet", "alexnet_pretrained", "googlenet", "googlenet_pretrained")
    for experiment, (train, val) in {"alexnet": (0.95, 0.80), "alexnet_pretrained": (0.951, 0.801),
                                     "googlenet": (0.90, 0.89), "googlenet_pretrained": (0.96, 0.95)}.items():
        write_run(tmp_path, "full", experiment, 0, val, train_acc=train, val_acc=val)
    _, results = lab_of(tmp_path)
    text = findings.capacity_finding(results, four)
    assert "widest for AlexNet (+15.0\u00a0pp), tied within the noise with pretrained AlexNet (+15.0\u00a0pp)" in text
    assert "narrowest for GoogLeNet (+1.0\u00a0pp), tied within the noise with pretrained GoogLeNet" in text
    assert findings.capacity_answer(results, four).startswith("The training-validation gap")


def test_selection_by_validation_accuracy_within_or_beyond_the_noise(tmp_path: Path) -> None:
    write_run(tmp_path, "full", "alexnet", 0, 0.80, val_acc=0.801)
    _, results = lab_of(tmp_path)
    assert "agree within the noise for every model" in findings.selection_finding(results, ("alexnet",))
    write_run(tmp_path, "full", "alexnet", 0, 0.80, val_acc=0.85)
    _, results = lab_of(tmp_path)
    assert "may have overfit it" in findings.selection_finding(results, ("alexnet",))


def test_pretrained_findings_or_nothing_to_compare(full_runs: Path, tmp_path: Path) -> None:
    _, results = lab_of(full_runs)
    four = ("alexnet", "alexnet_pretrained", "googlenet", "googlenet_pretrained")
    paragraphs = findings.pretrained_findings(results, four).split("\n\n")
    assert paragraphs[0].startswith("Pretrained AlexNet reaches")
    assert any(p.startswith("**Capacity and generalisation.**") for p in paragraphs)
    assert paragraphs[-1].startswith("Validation and test accuracy agree")
    _, nothing = lab_of(tmp_path)
    assert findings.pretrained_findings(nothing, four) == "No results to compare yet."


def test_generated_data_replace_every_comparison_by_one_line(smoke_like: Path) -> None:
    _, results = lab_of(smoke_like, "smoke")
    done = {e: r for e, r in results.items() if r.n}
    five = tuple(done)
    texts = [findings.lrn_finding(results["alexnet_lrn"], results["alexnet"]),
             findings.scratch_finding(results["googlenet"], results["alexnet"]),
             findings.inference_finding(results["googlenet"], results["alexnet"]),
             findings.pretrained_findings(results, five), findings.leaders(done),
             findings.lrn_answer(results["alexnet_lrn"], results["alexnet"]),
             findings.scratch_answer(results["googlenet"], results["alexnet"]),
             findings.pretraining_answer(results)]
    for text in texts:
        assert "real data" in text, text
        assert not [p for p in COMPARATIVE_PHRASES if p in text], text
    assert findings.capacity_finding(results, five) is None and findings.selection_finding(results, five) is None
