"""Run folders written by hand, as ``run_experiment`` writes them, with made-up but plausible
numbers: what the report's tests read instead of training (``full_runs`` in conftest.py is a profile of them)."""

from __future__ import annotations

import random
from pathlib import Path

from labutils.report.runs import LABELS, ExperimentResults, LabRuns, read_lab
from labutils.run_folder import RunFolder

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


def lab_of(runs: Path, profile: str = "full") -> tuple[LabRuns, dict[str, ExperimentResults]]:
    """The runs of ``profile`` under ``runs``, and each experiment's results (every one of the registry)."""
    lab = read_lab(runs, profile)
    return lab, {e: lab.results(e) for e in (*LABELS, *lab.experiments)}
