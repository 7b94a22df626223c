"""The report's first and last sections: the setup table (report/setup.py) and the conclusion's
notes (report/findings.py), on run folders written by hand (fake_runs.py), branch by branch."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_runs import lab_of, write_run

from labutils.report import findings, setup
from labutils.report.format import fmt_pct
from labutils.report.paper_tables import PAPER_IMAGE_SIZE, REFERENCE_RESULTS


def test_settings_are_the_complete_runs_distinct_values(full_runs: Path) -> None:
    write_run(full_runs, "full", "alexnet", 5, 0.5, status="failed: stopped", image_size=64)
    lab, _ = lab_of(full_runs)
    assert setup.settings(lab, "image_size") == ["224"]  # the failed run's 64 does not count
    assert setup.settings(lab, "epochs") == ["10"]
    assert setup.trained_image_size(lab) == 224
    assert setup.devices(lab) == "cuda (NVIDIA H100 80GB HBM3)"


def test_without_complete_runs_the_image_size_is_the_papers(tmp_path: Path) -> None:
    write_run(tmp_path, "full", "alexnet", 0, 0.5, status="failed: stopped", image_size=64)
    lab, _ = lab_of(tmp_path)
    assert setup.settings(lab, "image_size") == []
    assert setup.trained_image_size(lab) == PAPER_IMAGE_SIZE


def test_the_setup_table_and_the_profile_in_one_line(full_runs: Path) -> None:
    lab, _ = lab_of(full_runs)
    assert lab.description and setup.profile_line(lab) == f"Profile **full**: {lab.description}"
    rows = {row[0]: row[1] for row in setup.setup_rows(lab, full_runs)}
    assert rows["images (train / validation / test)"] == "45,000 / 5,000 / 10,000"
    assert rows["input size"] == "224x224" and rows["seeds"] == "0, 1, 2"
    assert rows["learning rate (peak)"] == "AlexNet + LRN 0.01, AlexNet 0.01, GoogLeNet 0.01, pretrained AlexNet 0.01"
    assert rows["run folders"] == f"`{full_runs / 'full'}/<experiment>/seed<k>/`"
    assert rows["hardware"] == "NVIDIA H100 80GB HBM3"
    assert setup.profile_summary(lab) == (
        "Profile **full** · CIFAR-10 · 45,000 / 5,000 / 10,000 images (train / val / test) · 224x224 · 10 epochs · "
        "seeds 0, 1, 2 · cuda (NVIDIA H100 80GB HBM3), bf16 (channels-last)")


def test_the_profile_in_one_line_names_generated_data_and_random_weights(smoke_like: Path) -> None:
    lab, _ = lab_of(smoke_like, "smoke")
    assert setup.profile_summary(lab) == (
        "Profile **smoke** · generated images (not CIFAR-10) · 32 / 16 / 16 images (train / val / test) · 224x224 · "
        "1 epoch · seed 0 · cpu, fp32 (contiguous) · random weights for pretrained AlexNet, pretrained GoogLeNet")


@pytest.mark.parametrize("failed", [False, True], ids=["no runs", "only a failed run"])
def test_without_complete_runs_the_report_says_how_to_make_them(tmp_path: Path, failed: bool) -> None:
    if failed:
        write_run(tmp_path, "full", "alexnet", 0, 0.5, status="failed: stopped")
    lab, _ = lab_of(tmp_path)
    assert setup.profile_summary(lab).startswith("Profile **full**")
    note = setup.no_runs_note(lab, tmp_path, "full")
    assert f"**No complete runs of profile `full` in `{tmp_path / 'full'}`.**" in note
    assert "`make lab PROFILE=full`" in note and "`python -m labutils report --profile full`" in note


def test_an_unknown_profile_says_why_its_list_could_not_be_read(tmp_path: Path) -> None:
    write_run(tmp_path, "mine", "alexnet", 0, 0.5)
    lab, _ = lab_of(tmp_path, "mine")
    assert setup.profile_line(lab).startswith("Profile **mine** (unknown profile 'mine'")


# --- against the handout author's setup -----------------------------------------------------------

def test_runs_with_the_handouts_setup_are_comparable(full_runs: Path, tmp_path: Path) -> None:
    assert setup.handout_comparable(lab_of(full_runs)[0])
    assert not setup.handout_comparable(lab_of(tmp_path)[0])  # no runs: nothing to compare


@pytest.mark.parametrize("change", [{"dataset": "fake"}, {"image_size": 128}, {"epochs": 3},
                                    {"train_images": 10_000}], ids=lambda change: next(iter(change)))
def test_one_run_off_the_handouts_setup_makes_the_lab_not_comparable(full_runs: Path, change: dict) -> None:
    write_run(full_runs, "full", "googlenet", 1, 0.9, **change)
    lab, results = lab_of(full_runs)
    assert not setup.handout_comparable(lab)
    assert findings.handout_comparison(lab, {e: r for e, r in results.items() if r.n}).startswith(
        "These runs used a different setup from the handout's")


def test_handout_comparison_judges_the_accuracies_by_the_rule(tmp_path: Path) -> None:
    reference = REFERENCE_RESULTS["alexnet"]
    write_run(tmp_path, "full", "alexnet", 0, reference["test_acc"] + 0.05)  # ahead; 650 s, faster than 25.5 min
    write_run(tmp_path, "full", "alexnet_lrn", 0, REFERENCE_RESULTS["alexnet_lrn"]["test_acc"] + 0.003)  # level
    write_run(tmp_path, "full", "googlenet", 0, REFERENCE_RESULTS["googlenet"]["test_acc"] - 0.05,
              train_time_s=REFERENCE_RESULTS["googlenet"]["time_min"] * 60 + 1)  # behind, and slower
    lab, results = lab_of(tmp_path)
    done = {e: r for e, r in results.items() if r.n}
    assert findings.handout_comparison(lab, done) == (
        "Same data, input size and number of epochs as the handout. Test accuracy against the author's (by the same "
        "rule, his on 10,000 test images): ahead of it: AlexNet; level with it: AlexNet + LRN; behind it: GoogLeNet. "
        "Training time: 2 of 3 trained in less time than his (2.4 times as fast), on other hardware than his: not "
        "like with like, a measure of the whole setup.")


def test_leaders_name_the_most_accurate_fastest_and_smallest_with_their_ties(tmp_path: Path) -> None:
    write_run(tmp_path, "full", "alexnet", 0, 0.80, images_per_s=900.0)
    write_run(tmp_path, "full", "googlenet", 0, 0.85, images_per_s=300.0)
    _, results = lab_of(tmp_path)
    done = {e: r for e, r in results.items() if r.n}
    assert findings.leaders(done) == (f"Most accurate: GoogLeNet ({fmt_pct(0.85)}); fastest to train: AlexNet "
                                      "(900 images/s); fewest parameters: GoogLeNet (10,341,566).")
    write_run(tmp_path, "full", "alexnet_lrn", 0, 0.846, images_per_s=880.0)
    _, results = lab_of(tmp_path)
    tied = findings.leaders({e: r for e, r in results.items() if r.n})
    assert tied == (f"Most accurate: GoogLeNet ({fmt_pct(0.85)}), tied within the noise with AlexNet + LRN "
                    f"({fmt_pct(0.846)}); fastest to train: AlexNet (900 images/s), tied within the timing noise with "
                    "AlexNet + LRN (880 images/s); fewest parameters: GoogLeNet (10,341,566).")
    assert findings.leaders({}) is None


def test_leaders_name_no_fastest_between_runs_of_other_precisions(tmp_path: Path) -> None:
    write_run(tmp_path, "full", "alexnet", 0, 0.80, images_per_s=97.9, precision="fp32")
    write_run(tmp_path, "full", "googlenet", 0, 0.85, images_per_s=113.0)
    _, results = lab_of(tmp_path)
    text = findings.leaders({e: r for e, r in results.items() if r.n})
    assert "no model is named fastest to train: not like with like (precision: AlexNet fp32, GoogLeNet bf16)" in text


def test_conclusion_notes_join_what_there_is_to_say(full_runs: Path, tmp_path: Path) -> None:
    lab, results = lab_of(full_runs)
    done = {e: r for e, r in results.items() if r.n}
    comparison, leaders = findings.conclusion_notes(lab, done).split("\n\n")
    assert comparison.startswith("Same data") and leaders.startswith("Most accurate: GoogLeNet")
    empty, _ = lab_of(tmp_path)
    assert findings.handout_comparison(empty, {}) is None and findings.conclusion_notes(empty, {}) == ""


def test_a_subset_of_cifar10_is_named_against_the_full_split(tmp_path: Path) -> None:
    write_run(tmp_path, "full", "alexnet", 0, 0.5, train_images=10_000)
    lab, _ = lab_of(tmp_path)
    notes = findings.setup_notes(lab)
    assert f"> **A subset of CIFAR-10**: 10,000 of the {setup.FULL_TRAIN_IMAGES:,} training images" in notes[0]
    assert setup.FULL_TRAIN_IMAGES == 45_000  # CIFAR-10's 50,000 less the default validation tenth


def test_the_handouts_googlenet_against_its_alexnet() -> None:
    assert findings.handout_scratch_result() == (
        f" The handout's author found {fmt_pct(REFERENCE_RESULTS['googlenet']['test_acc'])} vs "
        f"{fmt_pct(REFERENCE_RESULTS['alexnet']['test_acc'])} (+7.6\u00a0pp, beyond the noise: 2 SE = 1.1\u00a0pp) in "
        "117 vs 25.5 minutes of training.")


def test_the_setup_table_names_precision_and_memory_format(tmp_path: Path) -> None:
    write_run(tmp_path, "full", "alexnet", 0, 0.7, precision="bf16", memory_format="channels_last")
    write_run(tmp_path, "full", "googlenet", 0, 0.8, precision="fp32", memory_format="contiguous")
    lab, _ = lab_of(tmp_path)
    assert setup.precisions(lab) == {"bf16 (channels-last)", "fp32 (contiguous)"}
