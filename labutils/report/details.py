"""The report's closer looks, read from the run folders: where and how long the lab ran, inference
speed, pretrained against from scratch, confusions, per-class accuracy, the most confident
mistakes and the first-layer filters. Each function returns numbers for a table or figure, or the
markdown sentence they support.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ..lab.notebooks import (
    TRAIN_NOTEBOOK,  # the lab runner leaves the executed copy in each run folder
)
from ..predictions import Predictions, read_predictions
from ..run_folder import RunFolder
from .evidence import TIED, WITHIN, Grounds, join, proportion, rank
from .filters import NOISE_ROUGHNESS, first_layer_filters
from .format import fmt_duration, fmt_pct, fmt_pp, fmt_rate
from .runs import LABELS, ExperimentResults, LabRuns, RunRecord, fmt_mean_std

NOT_RECORDED = "not recorded"
# Filters whose neighbouring weights differ by less than this share of noise's roughness look smooth.
SMOOTH_SHARE = 0.8
PRETRAINED_PAIRS = (("alexnet", "alexnet_pretrained"), ("googlenet", "googlenet_pretrained"))
FILTER_EXPERIMENTS = tuple(e for pair in PRETRAINED_PAIRS for e in pair)


# --- where and how long -----------------------------------------------------------------------

def _distinct(values: Sequence[Any]) -> str:
    shown = sorted({str(v) for v in values if v not in (None, "")})
    return ", ".join(shown) if shown else NOT_RECORDED


def environment_rows(lab: LabRuns) -> list[list[str]]:
    """Setup-table rows: the hardware and the software versions the complete runs used."""
    envs = [r.metrics.get("environment") or {} for r in lab.complete]
    software = []
    for env in envs:
        if env.get("torch"):
            cuda = f"CUDA {env['cuda']}, cuDNN {env['cudnn']}" if env.get("cuda") else "no CUDA (CPU run)"
            software.append(f"Python {env.get('python')}, PyTorch {env['torch']}, torchvision {env.get('torchvision')},"
                            f" {cuda}")
    cores = [f"{env['cpu']} ({env['cpu_cores']} cores)" for env in envs if env.get("cpu")]
    return [["hardware", _distinct([env.get("hardware") for env in envs])], ["CPU", _distinct(cores)],
            ["software", _distinct(software)]]


def run_duration(run: RunRecord) -> tuple[float, str | None, str | None] | None:
    """(seconds, start, end) of a run: its executed training notebook's (papermill records the
    whole run: kernel start, data, training, testing), else ``wall_time_s`` from metrics.json."""
    try:
        meta = json.loads((Path(run.path) / TRAIN_NOTEBOOK.name).read_text())["metadata"]["papermill"]
        return float(meta["duration"]), meta.get("start_time"), meta.get("end_time")
    except (OSError, ValueError, KeyError, TypeError):
        seconds = run.metrics.get("wall_time_s")
        return (float(seconds), None, None) if isinstance(seconds, (int, float)) else None


def lab_time(lab: LabRuns) -> str:
    """The lab's time: the runs' durations added up, and when the first began and the last ended."""
    durations = [d for d in (run_duration(r) for r in lab.complete) if d is not None]
    if not durations:
        return NOT_RECORDED
    text = f"{fmt_duration(sum(d[0] for d in durations))} for {len(durations)} runs"
    starts, ends = [d[1] for d in durations if d[1]], [d[2] for d in durations if d[2]]
    if starts and ends:
        first, last = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in (min(starts), max(ends)))
        text += f" (from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC)"
    return text


# --- inference speed --------------------------------------------------------------------------

INFERENCE_HEADERS = ("model", "parameters", "inference images/s", "batch", "latency, 1 image", "training images/s")
INFERENCE_ALIGN = "lrrrrr"


def inference_rows(results: Sequence[ExperimentResults]) -> list[list[str]]:
    """One row per experiment with a complete run: evaluation images/s at the lab's batch, the
    latency of one image, and training images/s beside them (means over seeds)."""
    rows = []
    for r in results:
        if not r.n:
            continue
        latency = r.mean("latency_ms")
        rows.append([r.label, f"{r.first('params'):,}", fmt_rate(r.mean("inference_images_per_s")),
                     str(r.first("inference_batch_size") or "-"),
                     "n/a" if latency is None else f"{latency:.1f} ms", fmt_rate(r.mean("images_per_s"))])
    return rows


# --- accuracy, side by side --------------------------------------------------------------------

ACCURACY_HEADERS = ("model", "train acc", "val acc", "test acc", "test loss", "time per epoch", "seeds")
ACCURACY_ALIGN = "lrrrrrr"


def accuracy_rows(results: Mapping[str, ExperimentResults], experiments: Sequence[str]) -> list[list[str]]:
    """One row per experiment: accuracies, test loss and time per epoch (mean ± std over seeds)."""
    return [[results[e].label, fmt_mean_std(results[e], "train_acc", "pct"), fmt_mean_std(results[e], "val_acc", "pct"),
             fmt_mean_std(results[e], "test_acc", "pct"), fmt_mean_std(results[e], "test_loss", "loss"),
             fmt_mean_std(results[e], "time_per_epoch_s", "time"), str(results[e].n)] for e in experiments]


# --- pretrained against from scratch --------------------------------------------------------------

GENERALISATION_HEADERS = ("model", "weights", "train acc", "val acc", "test acc", "train - val", "val - test",
                          "test loss")
GENERALISATION_ALIGN = "llrrrrrr"


def generalisation_rows(results: Mapping[str, ExperimentResults], experiments: Sequence[str]) -> list[list[str]]:
    """One row per experiment: its weights, its accuracies (means over seeds) and the gaps between
    them, which show how far it fits its training images beyond what it generalises to."""
    rows = []
    for experiment in experiments:
        r = results[experiment]
        train, val, test = r.mean("train_acc"), r.mean("val_acc"), r.mean("test_acc")
        rows.append([r.label, str(r.first("weights") or "-"), fmt_pct(train), fmt_pct(val), fmt_pct(test),
                     fmt_pp(None if train is None else train - val), fmt_pp(None if val is None else val - test),
                     fmt_mean_std(r, "test_loss", "loss")])
    return rows


# --- confusions ---------------------------------------------------------------------------------

def confusion_matrices(results: Iterable[ExperimentResults]) -> dict[str, list[list[int]]]:
    """Each experiment's test confusion matrix (rows: the true class) summed over its complete
    seeds, by label; experiments without a complete run are left out."""
    return {r.label: [[sum(cells) for cells in zip(*rows)]
                      for rows in zip(*(run.metrics["confusion_matrix"] for run in r.complete))]
            for r in results if r.n}


def class_test_images(results: Iterable[ExperimentResults]) -> list[int] | None:
    """How many test images each class has (a confusion matrix's row sums, one seed's); None without runs."""
    for r in results:
        if r.n:
            return [sum(row) for row in r.complete[0].metrics["confusion_matrix"]]
    return None


def confusion_finding(matrices: Mapping[str, Sequence[Sequence[int]]], classes: Sequence[str],
                      ground: Grounds | None = None) -> str:
    """Each model's most frequent confusion (the largest share of a class's test images taken for
    one other class), with every confusion within noise of it; one line on generated data."""
    if ground is not None and not ground.can_compare():
        return ground.needs_real_data()
    confusions = []
    for name, matrix in matrices.items():
        shares = {f"{classes[i]} as {classes[j]}": proportion(matrix[i][j] / max(sum(matrix[i]), 1), sum(matrix[i]))
                  for i in range(len(classes)) for j in range(len(classes)) if i != j}
        top = rank(shares)
        text = f"{name}: {top.first} ({top.values[top.first]:.0%})"
        if len(top.tied) > 1:
            others = top.tied[1:]
            shown = join([f"{other} ({top.values[other]:.0%})" for other in others]) if len(others) <= 2 else \
                f"{len(others)} other confusions"
            text += f", {TIED} with {shown}"
        confusions.append(text)
    return ("The most frequent confusion of each model (share of the true class's test images): "
            + "; ".join(confusions) + ".")


# --- per-class accuracy -----------------------------------------------------------------------

def per_class_accuracy(results: ExperimentResults) -> list[float] | None:
    """Test accuracy of each class, averaged over the complete seeds (None without a complete run)."""
    rows = [r.metrics["per_class_acc"] for r in results.complete if r.metrics.get("per_class_acc")]
    if not rows:
        return None
    return [sum(values) / len(rows) for values in zip(*rows)]


def hardest_classes_finding(accuracies: Mapping[str, Sequence[float]], classes: Sequence[str],
                            class_images: Sequence[int] | None = None, ground: Grounds | None = None) -> str:
    """The hardest and the easiest class averaged over the models, each with every class within
    noise of it (``class_images``: each class's test images), and for how many models the hardest
    class is among their own hardest; one line on generated data."""
    if not accuracies:
        return "No complete runs to compare per class yet."
    if ground is not None and not ground.can_compare():
        return ground.needs_real_data()
    images = list(class_images) if class_images else [1] * len(classes)
    mean = [sum(values[c] for values in accuracies.values()) / len(accuracies) for c in range(len(classes))]
    estimates = {classes[c]: proportion(mean[c], images[c]) for c in range(len(classes))}
    hardest, easiest = rank(estimates, lowest=True), rank(estimates)
    over = f"averaged over the {len(accuracies)} models" if len(accuracies) > 1 else f"for {next(iter(accuracies))}"
    if len(hardest.tied) == len(classes):
        return (f"Per class, {over}, all {len(classes)} classes are {WITHIN} of the lowest ({fmt_pct(min(mean), 1)} to "
                f"{fmt_pct(max(mean), 1)}): no class stands out as harder, all are tied.")
    counts = f"{min(images):,}" if min(images) == max(images) else f"{min(images):,} to {max(images):,}"
    text = (f"The hardest class, {over}: {hardest.named(lambda v: fmt_pct(v, 1))}; the easiest: "
            f"{easiest.named(lambda v: fmt_pct(v, 1))} ({counts} test images per class).")
    if len(accuracies) > 1:
        agree = sum(1 for values in accuracies.values()
                    if hardest.first in rank({classes[c]: proportion(values[c], images[c])
                                              for c in range(len(classes))}, lowest=True).tied)
        text += (f" {hardest.first.capitalize()} is among the hardest classes (or tied with them) for {agree} of the "
                 f"{len(accuracies)} models.")
    return text


# --- the most confident mistakes ----------------------------------------------------------------

def predictions_of(results: ExperimentResults) -> Predictions | None:
    """The first complete seed's ``predictions.npz``, or None."""
    return read_predictions(RunFolder(results.complete[0].path).predictions) if results.n else None


def mistakes_finding(galleries: Mapping[str, Sequence[Mapping[str, Any]]], classes: Sequence[str],
                     missing: Sequence[str]) -> str:
    """What the gallery shows: the surest wrong answer of all, and which runs have no predictions file."""
    text = ("Each row: a model's most confident mistakes on the test images (first seed), the true class above the "
            "predicted one and the softmax probability the model gave it.")
    shown = [(m["confidence"], name, m) for name, mistakes in galleries.items() for m in mistakes]
    if galleries and not shown:
        text += " None of the models made a mistake on the test images."
    elif shown:
        confidence, name, m = max(shown, key=lambda item: item[0])
        text += (f" The surest wrong answer: {name} took a {classes[m['true']]} for a {classes[m['predicted']]} "
                 f"with {fmt_pct(confidence, 0)} confidence.")
    if missing:
        text += f" *No predictions file for: {', '.join(missing)}* (run folders from before it was recorded)."
    return text


# --- learned first-layer filters ------------------------------------------------------------------

def filters_of(results: ExperimentResults) -> Any:
    """The first convolution's kernels from the first complete seed's ``best.pt``, or None."""
    return first_layer_filters(RunFolder(results.complete[0].path).best) if results.n else None


def filters_finding(roughnesses: Mapping[str, float], random_weights: bool, missing: Sequence[str],
                    epochs: int | None = None) -> str:
    """Which networks' first layers look like learned detectors and which like noise, by their
    roughness (keyed by experiment); and what that says about pretraining."""
    if not roughnesses:
        return "*No checkpoints (best.pt) to read the filters from.*"
    smooth = [e for e, value in roughnesses.items() if value < SMOOTH_SHARE * NOISE_ROUGHNESS]
    noisy = [e for e in roughnesses if e not in smooth]
    text = (f"Roughness of each panel (mean difference of neighbouring weights over their spread; "
            f"{NOISE_ROUGHNESS:.2f} for random noise): "
            + ", ".join(f"{LABELS.get(e, e)} {value:.2f}" for e, value in roughnesses.items()) + ". ")
    if smooth:
        text += ("Smooth, structured kernels (edges, colour blobs, as in Figure 3 of the AlexNet paper): "
                 f"{', '.join(LABELS.get(e, e) for e in smooth)}. ")
    if noisy:
        text += f"Close to noise, no image structure yet: {', '.join(LABELS.get(e, e) for e in noisy)}. "
    brought = [(s, p) for s, p in PRETRAINED_PAIRS if s in noisy and p in smooth]
    if brought and not random_weights:
        pairs = ", ".join(f"{LABELS[p]} ({LABELS[s]} not)" for s, p in brought)
        text += (f"Pretraining brings first-layer detectors that {epochs or 'these'} epochs on CIFAR-10 do not form "
                 f"from scratch: {pairs}; fine-tuning keeps them. ")
    if random_weights:
        text += "*The pretrained runs here started from random weights, so their filters are not ImageNet's.* "
    if missing:
        text += f"*No checkpoint for: {', '.join(missing)}.*"
    return text.strip()
