"""Run folders written by hand, as ``run_experiment`` writes them, with made-up but plausible
numbers: what the report's tests read instead of training (``full_runs`` in conftest.py is a profile
of them; :func:`smoke_runs` writes what the smoke profile's lab leaves, predictions and checkpoints
included)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch
import yaml

from labutils.lab.profiles import PROFILE_DIR
from labutils.models import LAB_EXPERIMENTS
from labutils.predictions import make_predictions, save_predictions
from labutils.report.runs import LABELS, ExperimentResults, LabRuns, read_lab
from labutils.run_folder import RunFolder

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
PARAMS = {"alexnet": 57_044_810, "alexnet_lrn": 57_044_810, "googlenet": 10_341_566,
          "alexnet_pretrained": 57_044_810, "googlenet_pretrained": 9_960_638}
FIRST_KERNEL = {"alexnet": 11, "alexnet_lrn": 11, "googlenet": 7, "alexnet_pretrained": 11, "googlenet_pretrained": 7}


def confusion_of(test_acc: float, test_images: int, classes: int = 10) -> list[list[int]]:
    """A confusion matrix with ``test_images`` images split evenly over the classes and
    round(test_acc * test_images) of them right; each class's mistakes go to the next class, the
    cats' to the dogs."""
    counts = [test_images // classes + (1 if c < test_images % classes else 0) for c in range(classes)]
    correct = round(test_acc * test_images)
    right = [min(counts[c], correct // classes + (1 if c < correct % classes else 0)) for c in range(classes)]
    matrix = [[0] * classes for _ in range(classes)]
    for c in range(classes):
        matrix[c][c] = right[c]
        matrix[c][(c + 1) % classes if c != 3 else 5] += counts[c] - right[c]
    return matrix


def write_run(root: Path, profile: str, experiment: str, seed: int, test_acc: float, epochs: int = 10,
              status: str = "complete", dataset: str = "cifar10", image_size: int = 224, train_images: int = 45_000,
              val_images: int = 5_000, test_images: int = 10_000, files: bool = False, **extra) -> Path:
    """A run folder as run_experiment writes it, with made-up but plausible numbers; ``files``: with
    predictions.npz and a best.pt that holds the first convolution's kernels."""
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
    confusion = confusion_of(test_acc, test_images)
    folder.write_metrics({
        "experiment": experiment, "model": "AlexNet" if "alexnet" in experiment else "GoogLeNet",
        "params": PARAMS[experiment],
        "weights": "ImageNet (IMAGENET1K_V1)" if "pretrained" in experiment else "none (trained from scratch)",
        "dataset": dataset, "image_size": image_size, "epochs": epochs, "batch_size": 128, "lr": 0.01, "seed": seed,
        "device": "cuda (NVIDIA H100 80GB HBM3)", "precision": "bf16", "memory_format": "channels_last",
        "train_images": train_images, "val_images": val_images, "test_images": test_images,
        "classes": CLASSES, "best_epoch": epochs,
        **{k: history[-1][k] for k in ("train_loss", "train_acc", "val_loss", "val_acc")},
        "test_loss": history[-1]["val_loss"], "test_acc": sum(confusion[c][c] for c in range(10)) / test_images,
        "per_class_acc": [confusion[c][c] / max(sum(confusion[c]), 1) for c in range(10)],
        "confusion_matrix": confusion,
        "train_time_s": 65.0 * epochs, "train_loop_s": 60.0 * epochs, "eval_time_s": 5.0 * epochs,
        "images_per_s": 750.0 + rng.random() * 10, "wall_time_s": 70.0 * epochs, "peak_memory_mb": 2048.0,
        "inference_images_per_s": 2000.0 if "alexnet" in experiment else 1000.0, "inference_batch_size": 128,
        "latency_ms": 2.0 if "alexnet" in experiment else 6.0,
        "environment": {"hardware": "NVIDIA H100 80GB HBM3", "cpu": "AMD EPYC 9654", "cpu_cores": 16,
                        "python": "3.11.7", "torch": "2.14.1", "torchvision": "0.29.1", "cuda": "13.0",
                        "cudnn": 91000},
        "status": status, **extra,
    })
    if files:
        write_files(folder, experiment, seed, confusion)
    return folder.path


def write_files(folder: RunFolder, experiment: str, seed: int, confusion: list[list[int]]) -> None:
    """predictions.npz matching the confusion matrix, and a best.pt with random first-layer kernels."""
    generator = torch.Generator().manual_seed(seed)
    labels = np.array([c for c, row in enumerate(confusion) for p, n in enumerate(row) for _ in range(n)])
    predicted = np.array([p for row in confusion for p, n in enumerate(row) for _ in range(n)])
    confidence = torch.rand(len(labels), generator=generator).numpy() * 0.8 + 0.2
    images = torch.randint(0, 256, (len(labels), 3, 32, 32), dtype=torch.uint8, generator=generator)
    save_predictions(folder.predictions, make_predictions(labels, predicted, confidence, images))
    size = FIRST_KERNEL[experiment]
    torch.save({"model": {"conv1.weight": torch.randn(64, 3, size, size, generator=generator)}}, folder.best)


def write_profile(runs: Path, name: str, seeds: list[int], **changes) -> Path:
    """A copy of the shipped profile ``name`` with other seeds (and ``changes``), beside the run
    folders: ``runs/<name>.yaml``; :func:`lab_of` reads it in place of the shipped one."""
    profile = yaml.safe_load((PROFILE_DIR / f"{name}.yaml").read_text())
    profile.update(seeds=seeds, **changes)
    runs.mkdir(parents=True, exist_ok=True)
    path = runs / f"{name}.yaml"
    path.write_text(yaml.safe_dump(profile))
    return path


def smoke_runs(runs: Path, accuracies: dict[str, float] | None = None) -> Path:
    """What ``lab --profile smoke`` leaves: five runs of one epoch on 32 / 16 / 16 generated images,
    random "pretrained" weights, on a CPU in fp32, with predictions and checkpoints."""
    accuracies = accuracies or {"alexnet": 0.1875, "alexnet_lrn": 0.1875, "googlenet": 0.125,
                                "alexnet_pretrained": 0.0625, "googlenet_pretrained": 0.125}
    for experiment in LAB_EXPERIMENTS:
        extra = {"weights": "random (offline smoke run)"} if "pretrained" in experiment else {}
        write_run(runs, "smoke", experiment, 0, accuracies[experiment], epochs=1, dataset="fake", train_images=32,
                  val_images=16, test_images=16, files=True, device="cpu", precision="fp32",
                  memory_format="contiguous", batch_size=16, **extra)
    return runs


def lab_of(runs: Path, profile: str = "full") -> tuple[LabRuns, dict[str, ExperimentResults]]:
    """The runs of ``profile`` under ``runs`` (the profile written there by :func:`write_profile`,
    when there is one), and each experiment's results (every one of the registry)."""
    written = runs / f"{profile}.yaml"
    lab = read_lab(runs, str(written) if written.exists() else profile)
    return lab, {e: lab.results(e) for e in (*LABELS, *lab.experiments)}
