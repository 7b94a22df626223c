"""The report's data layer (reading run folders, seeds, reference data) and the report itself,
rendered from run folders written here by hand: no training, so every case is cheap."""

from __future__ import annotations

import math
import random
import re
from pathlib import Path

import nbformat
import pytest

from labutils.errors import LabError
from labutils.models import LAB_EXPERIMENTS, GoogLeNet, layer_summary
from labutils.paper_tables import PAPER_TABLE1, REFERENCE_RESULTS, table1_rows
from labutils.report_data import (
    LABELS, MISSING, UNREADABLE_FIX, conclusion_rows, difference, project_structure, read_lab, reference_rows,
)
from labutils.report_format import fmt_duration, fmt_pct, markdown_table
from labutils.results import RunFolder

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
PARAMS = {"alexnet": 57_044_810, "alexnet_lrn": 57_044_810, "googlenet": 10_341_566,
          "alexnet_pretrained": 57_044_810, "googlenet_pretrained": 9_960_638}


def write_run(root: Path, profile: str, experiment: str, seed: int, test_acc: float, epochs: int = 10,
              status: str = "complete", dataset: str = "cifar10", image_size: int = 224) -> Path:
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
        "status": status,
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
