"""The report's one rule for "is this a difference" (report/evidence.py): accuracies inside and outside
their noise, one seed and several, ties of two and of many, timing against its margin and its
repeats, runs that do not compare, and what generated data or random weights can support."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from fake_runs import lab_of, write_profile, write_run

from labutils.report import evidence
from labutils.report.evidence import (
    BEYOND,
    TIED,
    WITHIN,
    WITHIN_MARGIN,
    Estimate,
    accuracy_sentence,
    compare,
    compare_accuracy,
    compare_speed,
    grounds,
    proportion,
    rank,
    rank_speed,
    speed_sentence,
)
from labutils.report.format import fmt_pct, fmt_rate


def test_the_sampling_error_of_a_difference_is_the_stated_formula() -> None:
    gap = compare(proportion(0.80, 1000), proportion(0.75, 2000))
    assert gap.se == pytest.approx(math.sqrt(0.8 * 0.2 / 1000 + 0.75 * 0.25 / 2000))
    assert gap.diff == pytest.approx(0.05) and gap.basis == evidence.SAMPLING


@pytest.mark.parametrize("a, b, n, effect", [
    (0.80, 0.79, 10_000, False),  # 1.0 pp against 2 SE = 1.1 pp
    (0.80, 0.78, 10_000, True),  # 2.0 pp against 2 SE = 1.1 pp
    (0.1875, 0.125, 16, False),  # a smoke run: 6 pp on 16 images is noise
    (0.90, 0.10, 16, True),  # even 16 images tell 90 % from 10 %
])
def test_one_seed_a_difference_is_an_effect_beyond_two_standard_errors(a: float, b: float, n: int,
                                                                       effect: bool) -> None:
    gap = compare(proportion(a, n), proportion(b, n))
    assert gap.effect is effect
    assert gap.verdict == (BEYOND if effect else WITHIN)
    assert gap.judged() == f"{(a - b) * 100:+.1f}\u00a0pp, {gap.verdict}: 2 SE = {2 * gap.se * 100:.1f}\u00a0pp"


def test_with_seeds_on_both_sides_the_seeds_spread_counts_when_it_is_the_larger() -> None:
    steady = compare(Estimate(0.86, 0.86 * 0.14 / 10_000, (0.859, 0.860, 0.861)),
                     Estimate(0.85, 0.85 * 0.15 / 10_000, (0.849, 0.850, 0.851)))
    assert steady.basis == evidence.SAMPLING and steady.effect  # seeds agree: the test set's error rules
    spread = compare(Estimate(0.86, 0.86 * 0.14 / 10_000, (0.83, 0.86, 0.89)),
                     Estimate(0.85, 0.85 * 0.15 / 10_000, (0.82, 0.85, 0.88)))
    assert spread.basis == evidence.SEEDS and not spread.effect
    assert spread.se == pytest.approx(math.sqrt(2 * 0.03**2 / 3))  # Welch: s^2/k on each side
    assert "from the seeds" in spread.noise()
    one_side = compare(Estimate(0.86, 0.86 * 0.14 / 10_000, (0.83, 0.86, 0.89)),
                       Estimate(0.85, 0.85 * 0.15 / 10_000, (0.85,)))
    assert one_side.basis == evidence.SAMPLING  # one seed on a side: no Welch error


@pytest.mark.parametrize("spread, effect", [(0.001, True), (0.03, False)])
def test_experiments_with_three_seeds_each(tmp_path: Path, spread: float, effect: bool) -> None:
    for seed in range(3):
        write_run(tmp_path, "full", "alexnet", seed, 0.85 + spread * (seed - 1))
        write_run(tmp_path, "full", "alexnet_lrn", seed, 0.87 + spread * (1 - seed))
    write_profile(tmp_path, "full", [0, 1, 2])
    _, results = lab_of(tmp_path)
    gap = compare_accuracy(results["alexnet_lrn"], results["alexnet"])
    assert gap.effect is effect and gap.diff == pytest.approx(0.02)
    text = accuracy_sentence(gap, "AlexNet + LRN", "AlexNet")
    expected = "AlexNet + LRN is more accurate: " if effect else f"AlexNet + LRN {fmt_pct(0.87, 1)}, AlexNet"
    assert text.startswith(expected) and (BEYOND if effect else WITHIN) in text


def test_a_tie_of_two_names_both() -> None:
    ranking = rank({"AlexNet": proportion(0.507, 1000), "AlexNet + LRN": proportion(0.4965, 1000),
                    "GoogLeNet": proportion(0.40, 1000)})
    assert ranking.first == "AlexNet" and ranking.tied == ("AlexNet", "AlexNet + LRN")
    assert ranking.named() == f"AlexNet ({fmt_pct(0.507)}), {TIED} with AlexNet + LRN ({fmt_pct(0.4965)})"


def test_a_tie_of_many_names_every_one_and_a_clear_best_stands_alone() -> None:
    many = rank({f"class{i}": proportion(0.0, 2) for i in range(6)} | {"class9": proportion(1.0, 2)}, lowest=True)
    assert many.tied == tuple(f"class{i}" for i in range(6))  # all six at 0 %, none left out
    clear = rank({"pretrained GoogLeNet": proportion(0.94, 10_000), "GoogLeNet": proportion(0.90, 10_000)})
    assert clear.alone and clear.named() == f"pretrained GoogLeNet ({fmt_pct(0.94)})"


def test_ranking_by_the_lowest() -> None:
    hardest = rank({"cat": proportion(0.55, 1000), "dog": proportion(0.57, 1000), "bird": proportion(0.75, 1000)},
                   lowest=True)
    assert hardest.first == "cat" and hardest.tied == ("cat", "dog")


# --- timing ------------------------------------------------------------------------------------

def _speed_runs(tmp_path: Path, alexnet: dict, googlenet: dict, epochs: int = 1) -> dict:
    write_run(tmp_path, "full", "alexnet", 0, 0.8, epochs=epochs, **alexnet)
    write_run(tmp_path, "full", "googlenet", 0, 0.8, epochs=epochs, **googlenet)
    return lab_of(tmp_path)[1]


@pytest.mark.parametrize("a, b, beyond", [(900.0, 300.0, True), (113.0, 97.9, False), (100.0, 81.0, True)])
def test_a_speed_difference_counts_beyond_the_margin(tmp_path: Path, a: float, b: float, beyond: bool) -> None:
    results = _speed_runs(tmp_path, {"images_per_s": a}, {"images_per_s": b})  # one epoch: no repeats
    gap = compare_speed(results["alexnet"], results["googlenet"], "images_per_s")
    assert gap.se is None and gap.beyond_noise is beyond and gap.effect is beyond
    text = speed_sentence(gap, "AlexNet", "GoogLeNet", fmt_rate, " images/s")
    if beyond:
        assert f"AlexNet is {a / b:.1f} times as fast as GoogLeNet" in text and "no repeated measurements" in text
    else:
        assert f"{a / b:.2f}x apart, {WITHIN_MARGIN}" in text


def test_a_speed_difference_must_also_exceed_the_spread_of_the_epochs(tmp_path: Path) -> None:
    results = _speed_runs(tmp_path, {}, {}, epochs=4)
    alexnet, googlenet = results["alexnet"], results["googlenet"]
    steady = [1000.0, 1001.0, 999.0, 1000.0]
    noisy = [400.0, 1600.0, 300.0, 1700.0]  # a machine whose load came and went
    for run, rates in ((alexnet.complete[0], steady), (googlenet.complete[0], noisy)):
        for row, rate in zip(run.history, rates):
            row["images_per_s"] = rate
    alexnet.complete[0].metrics["images_per_s"] = 1000.0
    googlenet.complete[0].metrics["images_per_s"] = 700.0  # 1.43x apart: beyond the margin
    gap = compare_speed(alexnet, googlenet, "images_per_s")
    assert gap.ratio > 1 + evidence.TIMING_MARGIN and gap.se is not None
    assert not gap.beyond_noise  # but not beyond the spread of the repeats
    for row, rate in zip(googlenet.complete[0].history, [700.0, 701.0, 699.0, 700.0]):
        row["images_per_s"] = rate
    assert compare_speed(alexnet, googlenet, "images_per_s").beyond_noise


def test_runs_with_other_settings_are_not_compared_as_networks(tmp_path: Path) -> None:
    results = _speed_runs(tmp_path, {"images_per_s": 97.9, "precision": "fp32", "memory_format": "contiguous"},
                          {"images_per_s": 163.0})
    gap = compare_speed(results["googlenet"], results["alexnet"], "images_per_s")
    assert gap.mismatch == ("precision: GoogLeNet bf16, AlexNet fp32; memory format: GoogLeNet channels-last, "
                            "AlexNet contiguous")
    assert gap.beyond_noise and not gap.effect
    text = speed_sentence(gap, "GoogLeNet", "AlexNet", fmt_rate)
    assert "not like with like (precision: GoogLeNet bf16" in text and "times as fast" not in text
    ranking, mismatch = rank_speed({r.label: r for r in results.values() if r.n})
    assert ranking is None and mismatch.startswith("precision:")


def test_the_fastest_and_every_run_within_the_timing_noise_of_it(tmp_path: Path) -> None:
    for experiment, rate in {"alexnet": 2100.0, "alexnet_lrn": 2000.0, "googlenet": 900.0}.items():
        write_run(tmp_path, "full", experiment, 0, 0.8, epochs=1, images_per_s=rate)
    _, results = lab_of(tmp_path)
    ranking, mismatch = rank_speed({r.label: r for r in results.values() if r.n})
    assert mismatch is None and ranking.first == "AlexNet" and ranking.tied == ("AlexNet", "AlexNet + LRN")


# --- what the runs can support -------------------------------------------------------------------

def test_generated_data_or_random_weights_make_a_pipeline_check(tmp_path: Path, smoke_like: Path) -> None:
    check = grounds(lab_of(smoke_like, "smoke")[0])
    assert check.generated and check.pipeline_check and not check.can_compare()
    assert check.random_weights == ("pretrained AlexNet", "pretrained GoogLeNet")
    assert "Pipeline check" in check.banner() and "need real data" in check.needs_real_data()
    write_run(tmp_path, "full", "alexnet", 0, 0.8)
    write_run(tmp_path, "full", "alexnet_pretrained", 0, 0.9, weights="random (offline smoke run)")
    real_random = grounds(lab_of(tmp_path)[0])
    assert real_random.pipeline_check and real_random.can_compare() and not real_random.can_compare(pretraining=True)
    assert "ImageNet's weights" in real_random.needs_real_data(pretraining=True)
    real = grounds(lab_of(tmp_path / "none")[0])
    assert not real.pipeline_check and real.banner() is None


def test_no_comparative_phrase_leaks_from_the_rule_into_a_within_noise_sentence() -> None:
    gap = compare(proportion(0.80, 1000), proportion(0.79, 1000))
    text = accuracy_sentence(gap, "A", "B")
    assert "more accurate" not in text and "less accurate" not in text and WITHIN in text
