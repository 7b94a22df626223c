"""The lab runner (lab/runner.py) end to end: ``python -m labutils lab --profile smoke`` trains the five
experiments through papermill and renders the report; then the report again with one run
failed and one missing. The smoke lab runs once for the whole module (about two minutes on
two CPU cores)."""

from __future__ import annotations

import ast
import json
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest
import torch
import yaml
from cli import run_cli

from labutils.config import split_sizes
from labutils.lab.notebooks import TRAIN_NOTEBOOK
from labutils.lab.profiles import PROFILE_DIR, load_profile
from labutils.lab.render import find_browser
from labutils.models import LAB_EXPERIMENTS
from labutils.predictions import MISTAKES_KEPT, read_predictions
from labutils.recipe import default_batch_size, recipe_for
from labutils.report.filters import first_layer_filters, roughness
from labutils.report.format import NBSP, fmt_pct, fmt_rate
from labutils.report.runs import LABELS
from labutils.resolve import default_workers, resolve
from labutils.run_folder import METRICS_FIELDS
from labutils.runtime.device import pick_device

labutils = run_cli  # python -m labutils ARGS, as a user types it


def visible_text(html: str) -> str:
    """What a reader sees, with every run of white space (non-breaking ones too) as one space."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.split("</style>")[-1]))


def plain(text: str) -> str:
    """A string the report prints, as visible_text shows it."""
    return text.replace(NBSP, " ")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("lab")
    started = time.perf_counter()
    result = labutils("lab", "--profile", "smoke", "--runs", str(root / "runs"), "--report-dir", str(root / "report"))
    return {"root": root, "runs": root / "runs" / "smoke", "report": root / "report", "result": result,
            "seconds": time.perf_counter() - started}


# --- a full-like profile, given as a path (slow) --------------------------------------------

@pytest.mark.slow
def test_a_full_like_profile_given_as_a_path_trains_the_whole_split(tmp_path: Path) -> None:
    """The shipped full.yaml with only dataset, experiments, size and epochs changed: the run must
    train the whole generated split at the device's default batch, and the report must render."""
    raw = yaml.safe_load((PROFILE_DIR / "full.yaml").read_text())
    raw.update(dataset="fake", experiments=["alexnet"])
    raw["defaults"].update(image_size=64, epochs=1)
    path = tmp_path / "mine" / "fulllike.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(raw))
    runs, report = tmp_path / "runs", tmp_path / "report"

    result = labutils("lab", "--profile", str(path), "--runs", str(runs), "--report-dir", str(report))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    folder = runs / "fulllike" / "alexnet" / "seed0"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert (metrics["train_images"], metrics["val_images"], metrics["test_images"]) == split_sizes("fake")
    assert split_sizes("fake") == (900, 100, 200)
    batch = default_batch_size(pick_device(None))
    assert metrics["batch_size"] == batch and metrics["epochs"] == 1 and metrics["image_size"] == 64
    assert metrics["lr"] == pytest.approx(recipe_for("alexnet", "alexnet", False).scaled_lr(batch))
    config = json.loads((folder / "config.json").read_text())
    assert config["train_samples"] is None and config["workers"] == default_workers()
    text = visible_text((report / "report.html").read_text())
    assert "Profile fulllike" in text and "900 / 100 / 200" in text

    # A student re-running one experiment's notebook does not replace the complete run.
    import papermill

    best = (folder / "best.pt").stat().st_mtime_ns
    rerun = tmp_path / "rerun.ipynb"
    papermill.execute_notebook(str(TRAIN_NOTEBOOK), str(rerun), parameters={"out": str(folder)},
                               kernel_name="python3", cwd=str(TRAIN_NOTEBOOK.parent), progress_bar=False)
    assert (folder / "best.pt").stat().st_mtime_ns == best
    assert "already holds a complete run" in rerun.read_text()


# --- the smoke lab, end to end (slow) -------------------------------------------------------

@pytest.mark.slow
def test_smoke_lab_succeeds_with_progress(smoke: dict) -> None:
    result = smoke["result"]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for index, experiment in enumerate(LAB_EXPERIMENTS, start=1):
        line = rf"\[{index}/5\] {experiment} seed 0: done in \S+ \(test acc [\d.]+%\) - elapsed"
        assert re.search(line, result.stdout)
    assert "left" in result.stdout  # the estimate of what remains
    print(f"smoke lab: {smoke['seconds']:.0f} s")


@pytest.mark.slow
@pytest.mark.parametrize("experiment", LAB_EXPERIMENTS)
def test_smoke_run_folders_are_complete(smoke: dict, experiment: str) -> None:
    folder = smoke["runs"] / experiment / "seed0"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["status"] == "complete"
    assert set(METRICS_FIELDS) <= set(metrics)
    assert metrics["dataset"] == "fake" and metrics["image_size"] == 224 and metrics["train_images"] == 32
    assert 0 <= metrics["test_acc"] <= 1
    assert len((folder / "history.csv").read_text().strip().splitlines()) == 1 + metrics["epochs"]
    assert (folder / "best.pt").stat().st_size > 0
    # The run used what the profile and RunConfig's defaults say, nothing else.
    expected = {**resolve(load_profile("smoke").config(experiment, 0, smoke["root"] / "runs")).to_dict(),
                "out": str(folder)}
    written = json.loads((folder / "config.json").read_text())
    runtime = {"precision", "memory_format", "data_placement", "host_sync_every"}  # resolved when the run starts
    assert {k: v for k, v in written.items() if k not in runtime} == {k: v for k, v in expected.items()
                                                                      if k not in runtime}
    assert written["precision"] in ("fp32", "bf16") and written["memory_format"] == metrics["memory_format"]
    executed = nbformat.read(folder / "02_train.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assigned = {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(injected[0].source).body}
    assert assigned["run_config"] == {**written, "out": str(folder), "resume": False, "force": False,
                                      **{k: assigned["run_config"][k] for k in runtime}}
    assert not [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]


@pytest.mark.slow
def test_smoke_report_has_conclusion_table_and_figures(smoke: dict) -> None:
    html = smoke_report(smoke)
    text = visible_text(html)
    conclusion = first_page(text)  # the report opens with the conclusion table and the answers
    for experiment in LAB_EXPERIMENTS:
        assert LABELS[experiment] in conclusion
    assert "Train loss" in conclusion and "Images/s" in conclusion
    assert "Generated images, not CIFAR-10" in text and "Random weights for" in text
    assert "A pipeline check (generated images, not CIFAR-10" in conclusion
    assert html.count("data:image/png;base64") >= 5
    assert "def " not in text  # code cells are hidden
    assert (smoke["report"] / "executed" / "03_report.ipynb").exists()


SECTIONS = ("Table 1.", "1 The project", "2 AlexNet with and without", "3 GoogLeNet: the paper",
            "4 GoogLeNet vs. AlexNet", "Inference speed", "5 Pretrained GoogLeNet", "What the first layer learned",
            "6 Where the models go wrong", "Per-class accuracy", "The most confident mistakes",
            "Appendix: for verification")


def first_page(text: str) -> str:
    """What a reader sees before the first section: the conclusion table and the answers."""
    return text[:text.index("1 The project")]


def sections(html: str) -> dict[str, str]:
    """The report's HTML cut at its headings, in the exercises' order (an AssertionError when out of order)."""
    starts = [html.index(f">{title}") for title in SECTIONS]
    assert starts == sorted(starts), "sections out of order"
    return {title: html[start:end] for title, start, end in zip(SECTIONS, starts, [*starts[1:], len(html)])}


def smoke_report(smoke: dict) -> str:
    """The smoke lab's report.html."""
    return (smoke["report"] / "report.html").read_text()


def smoke_metrics(smoke: dict) -> dict[str, dict]:
    return {e: json.loads((smoke["runs"] / e / "seed0" / "metrics.json").read_text()) for e in LAB_EXPERIMENTS}


def smoke_sections(smoke: dict) -> tuple[str, dict[str, str], dict[str, dict]]:
    """The smoke report's HTML, what a reader sees of each section, and the metrics of its runs."""
    html = smoke_report(smoke)
    return html, {title: visible_text(text) for title, text in sections(html).items()}, smoke_metrics(smoke)


@pytest.mark.slow
def test_smoke_run_folders_hold_predictions_speed_and_environment(smoke: dict) -> None:
    for experiment, metrics in smoke_metrics(smoke).items():
        path = smoke["runs"] / experiment / "seed0" / "predictions.npz"
        predictions = read_predictions(path)
        assert path.stat().st_size < 100_000 and len(predictions.labels) == metrics["test_images"]
        assert predictions.accuracy == pytest.approx(metrics["test_acc"])
        wrong = round((1 - metrics["test_acc"]) * metrics["test_images"])
        assert len(predictions.mistakes()) == min(MISTAKES_KEPT, wrong)
        assert metrics["inference_images_per_s"] > 0 and metrics["latency_ms"] > 0
        assert metrics["inference_batch_size"] == metrics["batch_size"]
        assert metrics["environment"]["torch"] == torch.__version__


@pytest.mark.slow
def test_smoke_report_sections_and_their_numbers(smoke: dict) -> None:
    html, part, metrics = smoke_sections(smoke)
    env = metrics["alexnet"]["environment"]
    setup = part["Appendix: for verification"]
    assert f"hardware {env['hardware']}" in setup
    assert f"PyTorch {env['torch']}, torchvision {env['torchvision']}" in setup
    assert re.search(r"lab time \(all runs\) [\d.]+\s(s|min) for 5 runs \(from \d{4}-\d\d-\d\d", setup)
    # Exercise 1: the main module and the ways in; the model files, not every file of the package, in the appendix.
    project = part["1 The project"]
    assert "the main module is labutils/__main__.py" in project and "notebooks/02_train.ipynb" in project
    assert "labutils/models/googlenet.py GoogLeNetOutputs , GoogLeNet" in setup
    assert "labutils/report/format.py" not in setup
    speed = part["Inference speed"]
    for experiment, m in metrics.items():
        assert f"{LABELS[experiment]} {m['params']:,} {fmt_rate(m['inference_images_per_s'])} {m['batch_size']} " \
               f"{m['latency_ms']:.1f} ms" in speed
    for title in ("What the first layer learned", "Per-class accuracy", "The most confident mistakes"):
        assert "data:image/png;base64" in sections(html)[title], title


@pytest.mark.slow
def test_smoke_report_sentences_match_the_run_folders(smoke: dict) -> None:
    _, part, metrics = smoke_sections(smoke)
    classes = metrics["alexnet"]["classes"]
    # Generated images: no hardest class is named, the section says why.
    assert "Comparative findings need real data" in part["Per-class accuracy"]
    surest = max(((m["confidence"], LABELS[e], m) for e in LAB_EXPERIMENTS
                  for m in read_predictions(smoke["runs"] / e / "seed0" / "predictions.npz").mistakes()),
                 key=lambda item: item[0])
    confidence, name, m = surest
    assert plain(f"{name} took a {classes[m['true']]} for a {classes[m['predicted']]} with {fmt_pct(confidence, 0)} "
                 "confidence") in part["The most confident mistakes"]
    filters = part["What the first layer learned"]
    for experiment in ("alexnet", "alexnet_pretrained", "googlenet", "googlenet_pretrained"):
        kernels = first_layer_filters(smoke["runs"] / experiment / "seed0" / "best.pt")
        assert f"{LABELS[experiment]} {roughness(kernels):.2f}" in filters
    assert "started from random weights, so their filters are not ImageNet's" in filters


@pytest.mark.slow
def test_smoke_report_html_is_self_contained(smoke: dict) -> None:
    html = smoke_report(smoke)
    for external in ('src="http', "src='http", "file://", "<script src=", "url(http"):
        assert external not in html, external
    assert "mathjax" not in html.lower()
    lrn = sections(html)["2 AlexNet with and without"]
    assert lrn.count("<math") >= 5 and "\\alpha" not in visible_text(lrn)  # the formula and the constants


@pytest.mark.slow
def test_smoke_report_pdf(smoke: dict) -> None:
    if find_browser() is None:
        pytest.skip("no Chromium or Chrome to print the PDF")
    assert (smoke["report"] / "report.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.slow
def test_second_lab_skips_complete_runs(smoke: dict) -> None:
    started = time.perf_counter()
    result = labutils("lab", "--profile", "smoke", "--runs", str(smoke["root"] / "runs"),
                      "--report-dir", str(smoke["report"]))
    assert result.returncode == 0, result.stderr
    assert len(re.findall(r"seed 0: already complete \(test acc", result.stdout)) == 5
    assert "is up to date" in result.stdout
    assert time.perf_counter() - started < 60


@pytest.mark.slow
def test_report_names_failed_and_missing_runs(smoke: dict, tmp_path: Path) -> None:
    # The report reads metrics.json and history.csv only: copy those, not the checkpoints.
    runs = tmp_path / "runs"
    for experiment in LAB_EXPERIMENTS:
        source, target = smoke["runs"] / experiment / "seed0", runs / "smoke" / experiment / "seed0"
        target.mkdir(parents=True)
        for name in ("metrics.json", "history.csv"):
            shutil.copy(source / name, target / name)
    metrics_path = runs / "smoke" / "alexnet_lrn" / "seed0" / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    metrics["status"] = "failed: the training loss became nan in epoch 1 (made up by the test)"
    metrics_path.write_text(json.dumps(metrics))
    shutil.rmtree(runs / "smoke" / "googlenet")

    result = labutils("report", "--profile", "smoke", "--runs", str(runs), "--report-dir", str(tmp_path / "report"))
    assert result.returncode == 0, result.stderr
    text = visible_text((tmp_path / "report" / "report.html").read_text())
    assert "Runs missing from the numbers below" in text
    assert "GoogLeNet, seed 0: missing" in text
    assert "failed: the training loss became nan in epoch 1 (made up by the test)" in text
    conclusion = first_page(text)
    assert "seed 0: missing" in conclusion and "seed 0: failed" in conclusion
    for experiment in ("alexnet", "alexnet_pretrained", "googlenet_pretrained"):
        assert LABELS[experiment] in conclusion
    # Without predictions.npz and best.pt (not copied) the closer looks say what is missing.
    assert "No predictions file for: AlexNet, pretrained AlexNet, pretrained GoogLeNet" in text
    assert "No checkpoints (best.pt) to read the filters from" in text
