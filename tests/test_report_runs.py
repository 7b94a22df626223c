"""Reading run folders (report/runs.py): which runs are missing, failed or damaged, statistics
over seeds, and the conclusion tables, on run folders written by hand (fake_runs.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from fake_runs import lab_of, write_run

from labutils.models import LAB_EXPERIMENTS
from labutils.report.evidence import SAMPLING, compare_accuracy
from labutils.report.format import fmt_pct
from labutils.report.paper_tables import REFERENCE_RESULTS
from labutils.report.runs import (
    LABELS,
    MISSING,
    NOT_USED,
    UNREADABLE_FIX,
    conclusion_rows,
    read_lab,
    reference_rows,
)


def test_read_lab_names_missing_and_failed_runs(full_runs: Path) -> None:
    lab, _ = lab_of(full_runs)
    statuses = {(r.experiment, r.seed): r.status for r in lab.records}
    assert statuses[("googlenet_pretrained", 0)] == MISSING
    assert statuses[("alexnet_pretrained", 1)].startswith("failed: the training loss")
    assert statuses[("alexnet", 2)] == "complete"
    assert lab.results("alexnet_pretrained").n == 1
    assert "seed 1: failed" in lab.results("alexnet_pretrained").status_text()
    assert lab.ignored == []


def test_only_the_profiles_seeds_are_used_and_the_others_named(full_runs: Path) -> None:
    lab = read_lab(full_runs, "full")  # the shipped profile: seed 0 only
    assert {r.seed for r in lab.records} == {0}
    assert lab.results("alexnet").n == 1 and lab.results("alexnet").mean("test_acc") == pytest.approx(0.86)
    root = full_runs / "full"
    assert (root / "alexnet" / "seed2", "seed 2 is not among the profile's seeds (0)") in lab.ignored
    assert (root / "alexnet_pretrained" / "seed1", "seed 1 is not among the profile's seeds (0)") in lab.ignored
    assert len(lab.ignored) == 5  # seeds 1 and 2 of both AlexNets, seed 1 of pretrained AlexNet


def test_a_run_of_another_experiment_in_a_folder_is_not_used(tmp_path: Path) -> None:
    for experiment, change in {"alexnet": {"experiment": "googlenet"},  # googlenet's run inside alexnet/seed0
                               "googlenet": {"seed": 3}}.items():  # seed 3's run inside seed0
        path = write_run(tmp_path, "full", experiment, 0, 0.9) / "metrics.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    lab = read_lab(tmp_path, "full")
    alexnet = lab.results("alexnet")
    assert alexnet.n == 0
    metrics = tmp_path / "full" / "alexnet" / "seed0" / "metrics.json"
    assert alexnet.runs[0].status == f"{NOT_USED}: {metrics} is a run of experiment 'googlenet', not 'alexnet'"
    assert lab.results("googlenet").runs[0].status.endswith("is a run of seed 3, not seed 0")
    rows = {row[0]: row for row in conclusion_rows(lab)}
    assert "is a run of experiment 'googlenet'" in rows["AlexNet"][1]


def test_a_run_made_with_other_settings_than_the_profile_asks_is_not_used(tmp_path: Path) -> None:
    folder = write_run(tmp_path, "full", "alexnet", 0, 0.9, epochs=2)
    (folder / "config.json").write_text(json.dumps({"experiment": "alexnet", "dataset": "cifar10", "epochs": 2,
                                                    "seed": 0, "batch_size": None}))
    write_run(tmp_path, "full", "googlenet", 0, 0.9)  # no config.json (an older run folder): not compared
    lab = read_lab(tmp_path, "full")
    assert lab.results("alexnet").n == 0 and lab.results("googlenet").n == 1
    assert lab.results("alexnet").runs[0].status == (
        f"{NOT_USED}: made with other settings than the profile asks (epochs 2 -> 10)")


def test_seed_statistics_and_noise(full_runs: Path) -> None:
    lab, _ = lab_of(full_runs)
    alexnet, lrn = lab.results("alexnet"), lab.results("alexnet_lrn")
    assert alexnet.n == 3
    assert alexnet.mean("test_acc") == pytest.approx(0.864)
    assert alexnet.std("test_acc") == pytest.approx(0.004)
    assert alexnet.mean("time_per_epoch_s") == pytest.approx(65.0)
    gap = compare_accuracy(lrn, alexnet)  # the report's rule (evidence.py) on the seeds' means and spreads
    assert gap.diff == pytest.approx(0.01)
    sampling = math.sqrt(0.864 * 0.136 / 10_000 + 0.874 * 0.126 / 10_000)
    assert gap.se == pytest.approx(max(sampling, math.sqrt(2 * 0.004**2 / 3)))
    assert gap.effect
    single = compare_accuracy(lab.results("googlenet"), alexnet)
    assert single.basis == SAMPLING  # one seed of GoogLeNet: no spread to compare with


def test_conclusion_table_shows_every_experiment(full_runs: Path) -> None:
    lab, _ = lab_of(full_runs)
    rows = {row[0].split(" (")[0]: row for row in conclusion_rows(lab)}
    assert set(rows) == {LABELS[e] for e in LAB_EXPERIMENTS}
    assert "± 0.40" in rows["AlexNet"][6]  # test accuracy, mean ± std over three seeds
    assert "missing" in rows["pretrained GoogLeNet"][1]
    reference = {row[0]: row for row in reference_rows(lab)}
    assert reference["GoogLeNet"][6] == fmt_pct(REFERENCE_RESULTS["googlenet"]["test_acc"])
    assert reference["pretrained GoogLeNet"][-1] == "-"


def test_a_damaged_run_file_is_named_and_the_other_runs_still_count(full_runs: Path) -> None:
    root = full_runs / "full"
    history = root / "alexnet" / "seed1" / "history.csv"
    history.write_text(history.read_text()[:-30])  # cut mid-row
    (root / "alexnet_lrn" / "seed2" / "metrics.json").write_text("[]")
    lacking = root / "googlenet" / "seed0" / "metrics.json"
    lacking.write_text('{"status": "complete", "test_acc": 0.9}')
    lab, _ = lab_of(full_runs)
    statuses = {(r.experiment, r.seed): r.status for r in lab.records}
    assert statuses[("alexnet", 1)] == f"unreadable: {history} is cut short or damaged at line 11 ({UNREADABLE_FIX})"
    assert statuses[("alexnet_lrn", 2)].startswith(f"unreadable: {root / 'alexnet_lrn' / 'seed2' / 'metrics.json'}")
    assert statuses[("googlenet", 0)].startswith(f"unreadable: {lacking} lacks or garbles params, epochs")
    assert lab.results("alexnet").n == 2 and lab.results("alexnet_lrn").n == 2 and lab.results("googlenet").n == 0
    rows = {row[0].split(" (")[0]: row for row in conclusion_rows(lab)}
    assert "seed 0: unreadable" in rows["GoogLeNet"][1]
    assert rows["AlexNet"][6] == f"{fmt_pct(0.864)} ± 0.57"  # seeds 0 and 2 (86.0 % and 86.8 %), not seed 1


def test_an_experiment_outside_the_profile_is_not_called_complete(tmp_path: Path) -> None:
    write_run(tmp_path, "mine", "alexnet", 0, 0.5)  # a profile of AlexNet alone
    lab = read_lab(tmp_path, "mine")
    assert lab.results("alexnet_lrn").status_text() == "not in this profile"


def test_unknown_profile_still_reads_what_is_on_disk(full_runs: Path) -> None:
    (full_runs / "mine").mkdir()
    (full_runs / "full").rename(full_runs / "mine" / "x")  # nothing sensible on disk
    lab = read_lab(full_runs, "mine")
    assert lab.problem and "unknown profile 'mine'" in lab.problem
    assert lab.records == [] or all(r.status == MISSING for r in lab.records)
