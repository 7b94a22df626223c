"""The report's data layer (reading run folders, seeds, reference data) and the report itself,
rendered from run folders written here by hand: no training, so every case is cheap."""

from __future__ import annotations

import json
import math
import random
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from labutils import report_details as details
from labutils import report_findings as findings
from labutils.errors import LabError
from labutils.filters import (
    NOISE_ROUGHNESS,
    filter_mosaic,
    first_layer_filters,
    roughness,
)
from labutils.mathml import markdown_to_mathml
from labutils.models import LAB_EXPERIMENTS, GoogLeNet, layer_summary
from labutils.paper_tables import PAPER_TABLE1, REFERENCE_RESULTS, table1_rows
from labutils.report_data import (
    LABELS,
    MISSING,
    UNREADABLE_FIX,
    conclusion_rows,
    difference,
    project_structure,
    read_lab,
    reference_rows,
)
from labutils.report_format import fmt_duration, fmt_pct, markdown_table
from labutils.results import RunFolder

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
PARAMS = {"alexnet": 57_044_810, "alexnet_lrn": 57_044_810, "googlenet": 10_341_566,
          "alexnet_pretrained": 57_044_810, "googlenet_pretrained": 9_960_638}


def write_run(root: Path, profile: str, experiment: str, seed: int, test_acc: float, epochs: int = 10,
              status: str = "complete", dataset: str = "cifar10", image_size: int = 224, **extra) -> Path:
    """A run folder as run_experiment writes it, with made-up but plausible numbers."""
    rng = random.Random(f"{experiment}{seed}")
    folder = RunFolder(root / profile / experiment / f"seed{seed}")
    history = []
    for epoch in range(1, epochs + 1):
        progress = epoch / epochs
        history.append({"epoch": epoch, "train_loss": 2.3 - 1.6 * progress, "val_loss": 2.3 - 1.5 * progress,
                        "train_acc": 0.1 + (test_acc - 0.05) * progress, "val_acc": 0.1 + (test_acc - 0.1) * progress,
                        "lr": 0.01 * (1 - progress), "train_seconds": 60.0, "eval_seconds": 5.0,
                        "images_per_s": 750.0 + rng.random()})
    folder.write_history(history)
    n = 10_000
    correct = round(test_acc * n)
    confusion = [[0] * 10 for _ in range(10)]
    for i in range(10):
        confusion[i][i] = correct // 10
        confusion[i][(i + 1) % 10 if i != 3 else 5] = (n - correct) // 10  # cats taken for dogs
    folder.write_metrics({
        "experiment": experiment, "model": "AlexNet" if "alexnet" in experiment else "GoogLeNet",
        "params": PARAMS[experiment],
        "weights": "ImageNet (IMAGENET1K_V1)" if "pretrained" in experiment else "none (trained from scratch)",
        "dataset": dataset, "image_size": image_size, "epochs": epochs, "batch_size": 128, "lr": 0.01, "seed": seed,
        "device": "cuda (NVIDIA H100 80GB HBM3)", "train_images": 45_000, "val_images": 5_000, "test_images": n,
        "classes": CLASSES, "best_epoch": epochs,
        **{k: history[-1][k] for k in ("train_loss", "train_acc", "val_loss", "val_acc")},
        "test_loss": history[-1]["val_loss"], "test_acc": correct / n,
        "per_class_acc": [0.0] * 10, "confusion_matrix": confusion,
        "train_time_s": 65.0 * epochs, "train_loop_s": 60.0 * epochs, "eval_time_s": 5.0 * epochs,
        "images_per_s": 750.0 + rng.random() * 10, "wall_time_s": 70.0 * epochs, "peak_memory_mb": 2048.0,
        "inference_images_per_s": 2000.0 if "alexnet" in experiment else 1000.0, "inference_batch_size": 128,
        "latency_ms": 2.0 if "alexnet" in experiment else 6.0,
        "environment": {"hardware": "NVIDIA H100 80GB HBM3", "cpu": "AMD EPYC 9654", "cpu_cores": 16,
                        "python": "3.11.7", "torch": "2.14.1", "torchvision": "0.29.1", "cuda": "13.0",
                        "cudnn": 91000},
        "status": status, **extra,
    })
    return folder.path


@pytest.fixture
def full_runs(tmp_path: Path) -> Path:
    """Profile 'full': three seeds of the two AlexNets, one of the others; one failed, one missing."""
    runs = tmp_path / "runs"
    accuracy = {"alexnet": 0.86, "alexnet_lrn": 0.87, "googlenet": 0.92, "alexnet_pretrained": 0.91}
    for experiment, acc in accuracy.items():
        for seed in ((0, 1, 2) if experiment.startswith("alexnet") and "pretrained" not in experiment else (0,)):
            write_run(runs, "full", experiment, seed, acc + 0.004 * seed)
    write_run(runs, "full", "alexnet_pretrained", 1, 0.5, status="failed: the training loss became nan")
    return runs


def test_read_lab_names_missing_and_failed_runs(full_runs: Path) -> None:
    lab = read_lab(full_runs, "full")
    statuses = {(r.experiment, r.seed): r.status for r in lab.records}
    assert statuses[("googlenet_pretrained", 0)] == MISSING
    assert statuses[("alexnet_pretrained", 1)].startswith("failed: the training loss")
    assert statuses[("alexnet", 2)] == "complete"  # seeds on disk count even when the profile lists only [0]
    assert lab.results("alexnet_pretrained").n == 1
    assert "seed 1: failed" in lab.results("alexnet_pretrained").status_text()


def test_seed_statistics_and_noise(full_runs: Path) -> None:
    lab = read_lab(full_runs, "full")
    alexnet, lrn = lab.results("alexnet"), lab.results("alexnet_lrn")
    assert alexnet.n == 3
    assert alexnet.mean("test_acc") == pytest.approx(0.864)
    assert alexnet.std("test_acc") == pytest.approx(0.004)
    assert alexnet.mean("time_per_epoch_s") == pytest.approx(65.0)
    gap = difference(lrn, alexnet, "test_acc")
    assert gap.diff == pytest.approx(0.01)
    assert gap.standard_error == pytest.approx(math.sqrt(2 * 0.004**2 / 3))
    assert gap.beyond_noise is True
    single = difference(lab.results("googlenet"), alexnet, "test_acc")
    assert single.beyond_noise is None  # one seed of GoogLeNet: no spread to compare with


def test_conclusion_table_shows_every_experiment(full_runs: Path) -> None:
    lab = read_lab(full_runs, "full")
    rows = {row[0].split(" (")[0]: row for row in conclusion_rows(lab)}
    assert set(rows) == {LABELS[e] for e in LAB_EXPERIMENTS}
    assert "± 0.40" in rows["AlexNet"][6]  # test accuracy, mean ± std over three seeds
    assert "missing" in rows["pretrained GoogLeNet"][1]
    table = markdown_table(["a", "b"], [["x|y", 1]])
    assert table.splitlines()[2] == "| x\\|y | 1 |"
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
    lab = read_lab(full_runs, "full")
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


def test_googlenet_matches_table1() -> None:
    model = GoogLeNet(batch_norm=True)
    rows = table1_rows(model, layer_summary(model, 224), num_classes=10)
    checked = [r for r in rows if r["match"] is not None]
    assert len(checked) == sum(1 for row in PAPER_TABLE1 if row.output is not None)
    assert all(r["match"] for r in checked), [r["layer"] for r in checked if not r["match"]]
    assert [r["layer"] for r in rows].index("aux1") == [r["layer"] for r in rows].index("inception4a") + 1


def test_project_structure_reads_docstrings() -> None:
    root = Path(__file__).resolve().parent.parent
    rows = {row["path"]: row for row in project_structure(root)}
    assert rows["labutils/models/googlenet.py"]["modules"] == ["GoogLeNet"]
    assert rows["labutils/pipeline.py"]["summary"]
    assert "notebooks/02_train.ipynb" in rows


def test_duration_format() -> None:
    assert fmt_duration(12.34) == "12.3\u00a0s"
    assert fmt_duration(117.23 * 60) == "117.2\u00a0min"
    assert fmt_duration(5 * 3600) == "5.0\u00a0h"


@pytest.mark.slow
def test_report_renders_seeds_failures_and_reference(full_runs: Path, tmp_path: Path) -> None:
    from labutils.pipeline import render_report

    report = tmp_path / "report"
    damaged = write_run(full_runs, "full", "alexnet", 3, 0.2) / "metrics.json"
    damaged.write_text("[]")  # one unreadable run: named, and the others still reported
    assert render_report("full", runs=str(full_runs), report_dir=str(report)) == 0
    html = (report / "report.html").read_text()
    text = re.sub(r"<[^>]+>", " ", html)
    assert f"unreadable: {damaged} holds [] instead of a JSON object" in text
    for label in LABELS.values():
        if label != LABELS["googlenet_paper"]:
            assert label in text
    executed = nbformat.read(report / "executed" / "03_report.ipynb", as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors[0]["evalue"] if errors else ""
    assert "(3 seeds)" in text  # mean ± std over seeds in the conclusion table
    assert "is larger than the seed-to-seed noise" in text  # LRN: +1.0 pp against a 0.33 pp standard error
    assert "seed 0: missing" in text and "failed: the training loss became nan" in text
    assert html.count("data:image/png;base64") >= 5


def test_unknown_profile_is_one_line(tmp_path: Path) -> None:
    from labutils.pipeline import render_report

    with pytest.raises(LabError, match=r"unknown profile 'smok' \(did you mean 'smoke'\?\)"):
        render_report("smok", runs=str(tmp_path))


def _fake_execute(notebook, output, parameters, echo):
    """The report notebook's run, in a second: a notebook with one line and papermill's parameters."""
    executed = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# The new report")])
    executed.metadata["papermill"] = {"parameters": parameters}
    output.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(executed, str(output))


def test_report_files_are_replaced_together_or_not_at_all(tmp_path: Path, monkeypatch) -> None:
    from labutils import pipeline, render

    report = tmp_path / "report"
    (report / "executed").mkdir(parents=True)
    old = {"report.html": b"old html", "report.pdf": b"%PDF old", "executed/03_report.ipynb": b"old notebook"}
    for name, content in old.items():
        (report / name).write_bytes(content)
    monkeypatch.setattr(pipeline, "_execute", _fake_execute)

    def stopped_while_printing(html, pdf, notebook=None):
        pdf.write_bytes(b"%PDF half")
        raise KeyboardInterrupt

    monkeypatch.setattr(render, "render_pdf", stopped_while_printing)
    with pytest.raises(KeyboardInterrupt):
        pipeline.render_report("smoke", runs=str(tmp_path / "runs"), report_dir=str(report))
    assert {name: (report / name).read_bytes() for name in old} == old  # the old report, whole
    assert sorted(p.name for p in report.iterdir()) == [".lock", "executed", "report.html", "report.pdf"]

    def printed(html, pdf, notebook=None):
        pdf.write_bytes(b"%PDF new")
        return "a test printer"

    monkeypatch.setattr(render, "render_pdf", printed)
    assert pipeline.render_report("smoke", runs=str(tmp_path / "runs"), report_dir=str(report)) == 0
    assert (report / "report.pdf").read_bytes() == b"%PDF new"
    assert "The new report" in (report / "report.html").read_text()
    assert "The new report" in (report / "executed" / "03_report.ipynb").read_text()
    monkeypatch.setattr(render, "render_pdf", lambda html, pdf, notebook=None: None)  # no printer now
    assert pipeline.render_report("smoke", runs=str(tmp_path / "runs"), report_dir=str(report)) == 0
    assert not (report / "report.pdf").exists()  # an older PDF would not match the new HTML
    assert not list(report.glob(".render-*"))


# --- the sentences (report_findings, report_details), branch by branch -------------------------------

def lab_of(runs: Path, profile: str = "full") -> tuple:
    lab = read_lab(runs, profile)
    return lab, {e: lab.results(e) for e in (*LABELS, *lab.experiments)}


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


def test_inference_speed_rows_and_sentence(full_runs: Path, tmp_path: Path) -> None:
    lab, results = lab_of(full_runs)
    rows = {row[0]: row for row in details.inference_rows(lab.all_results())}
    assert rows["GoogLeNet"][2:5] == ["1,000", "128", "6.0 ms"]
    text = findings.inference_finding(results["googlenet"], results["alexnet"])
    assert "GoogLeNet scores 1,000 images/s and AlexNet 2,000: AlexNet is 2.0 times as fast" in text
    assert "6.0 ms through GoogLeNet and 2.0 ms" in text
    write_run(tmp_path, "full", "alexnet", 0, 0.8, latency_ms=None, inference_images_per_s=None)
    write_run(tmp_path, "full", "googlenet", 0, 0.9)
    _, old = lab_of(tmp_path)
    assert "was not measured for AlexNet" in findings.inference_finding(old["googlenet"], old["alexnet"])


def test_hardest_classes_are_named_with_their_accuracy() -> None:
    accuracies = {"AlexNet": [0.9, 0.95, 0.7, 0.5, 0.8, 0.6, 0.9, 0.85, 0.92, 0.9],
                  "GoogLeNet": [0.95, 0.97, 0.8, 0.6, 0.9, 0.7, 0.9, 0.9, 0.96, 0.93]}
    text = details.hardest_classes_finding(accuracies, CLASSES)
    assert text.startswith(f"The hardest classes, averaged over the 2 models: cat ({fmt_pct(0.55, 1)}), "
                           f"dog ({fmt_pct(0.65, 1)}), bird ({fmt_pct(0.75, 1)}); the easiest: automobile")
    assert "Cat is the hardest class (or tied for it) for 2 of the 2 models." in text
    assert details.hardest_classes_finding({}, CLASSES).startswith("No complete runs")


def test_mistakes_sentence_names_the_surest_wrong_answer() -> None:
    image = np.zeros((32, 32, 3), np.uint8)
    galleries = {"AlexNet": [{"image": image, "true": 3, "predicted": 5, "confidence": 0.97}],
                 "GoogLeNet": [{"image": image, "true": 2, "predicted": 0, "confidence": 0.6}]}
    text = details.mistakes_finding(galleries, CLASSES, ["pretrained AlexNet"])
    assert "AlexNet took a cat for a dog with 97\u00a0% confidence" in text
    assert "No predictions file for: pretrained AlexNet" in text
    assert "None of the models made a mistake" in details.mistakes_finding({"AlexNet": []}, CLASSES, [])


def test_first_layer_filters_and_their_roughness(tmp_path: Path) -> None:
    torch.manual_seed(0)
    noise = torch.randn(64, 3, 11, 11)
    ramp = torch.linspace(0, 1, 11)
    smooth = (ramp.view(1, 1, 1, 11) * torch.randn(64, 3, 1, 1) + ramp.view(1, 1, 11, 1) * torch.randn(64, 3, 1, 1))
    RunFolder(tmp_path).save_checkpoint(tmp_path / "best.pt", {"model": {"features.0.weight": smooth,
                                                                         "features.0.bias": torch.zeros(64),
                                                                         "classifier.1.weight": torch.zeros(10, 4)}})
    loaded = first_layer_filters(tmp_path / "best.pt")
    assert loaded.shape == (64, 3, 11, 11) and np.allclose(loaded, smooth.numpy())
    assert first_layer_filters(tmp_path / "missing.pt") is None
    assert abs(roughness(noise.numpy()) - NOISE_ROUGHNESS) < 0.05 and roughness(loaded) < 0.3
    mosaic = filter_mosaic(loaded)
    assert mosaic.shape == (8 * 12 + 1, 8 * 12 + 1, 3) and 0 <= mosaic.min() and mosaic.max() <= 1

    values = {"alexnet": roughness(noise.numpy()), "alexnet_pretrained": roughness(loaded)}
    text = details.filters_finding(values, random_weights=False, missing=[], epochs=10)
    assert "Smooth, structured kernels (edges, colour blobs, as in Figure 3 of the AlexNet paper): " \
           "pretrained AlexNet" in text
    assert "Close to noise, no image structure yet: AlexNet." in text
    assert "10 epochs on CIFAR-10 do not form from scratch: pretrained AlexNet (AlexNet not)" in text
    random = details.filters_finding(values, random_weights=True, missing=["GoogLeNet"])
    assert "Pretraining brings" not in random and "started from random weights" in random
    assert "No checkpoint for: GoogLeNet" in random


def test_formulas_become_mathml_outside_code() -> None:
    text = markdown_to_mathml(r"a $\alpha = 10^{-4}$ and `$x$`, $$\frac{a}{b}$$ and \$5")
    assert text.count("<math") == 2 and 'display="block"' in text and "`$x$`" in text and r"\$5" in text
    assert "$" not in text.replace("`$x$`", "").replace(r"\$5", "")


def test_html_report_is_self_contained(tmp_path: Path) -> None:
    from labutils.render import render_html

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(r"## LRN" "\n\n" r"$$b = a / (k + \alpha \sum a^2)^\beta$$"),
        nbformat.v4.new_code_cell("show()", outputs=[nbformat.v4.new_output(
            "display_data", data={"text/markdown": r"with $\alpha = 10^{-4}$", "text/plain": "x"})]),
    ])
    nbformat.write(notebook, tmp_path / "in.ipynb")
    html = render_html(tmp_path / "in.ipynb", tmp_path / "out.html").read_text()
    assert html.count("<math") == 2 and "\\alpha" not in html
    for external in ('src="http', "src='http", "file://", "<script src=", "@import url(http", "mathjax"):
        assert external not in html.lower() if external == "mathjax" else external not in html
