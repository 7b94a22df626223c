"""Scoring a model: ``evaluate`` for a split, ``test_model`` for the test set (the handout's name)."""

from __future__ import annotations

import time
from pathlib import Path

import torch
from torch import nn

from .predictions import PredictionCollector, make_predictions, save_predictions
from .runtime.distributed import all_reduce, is_main
from .runtime.runtime import Runtime, default_runtime


def main_logits(outputs: torch.Tensor | tuple[torch.Tensor, ...]) -> torch.Tensor:
    """The main classifier's logits of a network that may also return side classifiers."""
    return outputs[0] if isinstance(outputs, tuple) else outputs


@torch.no_grad()
def evaluate(model: nn.Module, loader, criterion: nn.Module, runtime: Runtime | None = None,
             collect: PredictionCollector | None = None) -> dict:
    """Loss, accuracy and confusion matrix of ``model`` over ``loader``, in eval mode.

    Only the main classifier counts: a GoogLeNet in eval mode does not compute its side
    classifiers at all. Sums stay on the device until the end, so no batch waits for the host;
    under DDP each process scores its share and the sums are added up. ``runtime``: the
    precision to score in (default: that of the model's device). ``collect`` keeps every
    image's prediction (``test_model`` does).
    """
    runtime = runtime or default_runtime(next(model.parameters()).device)
    device = runtime.device
    model.eval()
    confusion = None
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    start = time.perf_counter()
    for inputs, labels in loader:
        if len(labels) == 0:  # a process's empty share of a small last batch
            if collect is not None:
                collect.add(labels, None)
            continue
        with runtime.autocast():
            logits = main_logits(model(inputs))
        if collect is not None:
            collect.add(labels, logits)
        num_classes = logits.shape[1]
        if confusion is None:
            confusion = torch.zeros(num_classes**2, dtype=torch.int64, device=device)
        loss_sum += criterion(logits.float(), labels).double() * len(labels)
        # A scatter, not torch.bincount: on a GPU bincount reads its input's maximum on the host,
        # which makes every batch wait for the GPU.
        cells = labels * num_classes + logits.argmax(1)
        confusion.index_add_(0, cells, torch.ones_like(cells))
    if confusion is None and hasattr(loader, "data"):
        num_classes = len(loader.data.classes)
        confusion = torch.zeros(num_classes**2, dtype=torch.int64, device=device)
    if confusion is None:
        raise ValueError("cannot evaluate on an empty split")
    all_reduce(loss_sum)
    all_reduce(confusion)
    runtime.synchronize()
    seconds = time.perf_counter() - start
    confusion = confusion.view(num_classes, num_classes).cpu()
    count = int(confusion.sum())
    return {
        "loss": float(loss_sum) / count,
        "acc": float(confusion.diag().sum()) / count,
        "confusion": confusion,
        "images": count,
        "seconds": seconds,
    }


def test_model(model: nn.Module, dataloaders: dict, criterion: nn.Module,
               device: torch.device | None = None, *, runtime: Runtime | None = None,
               predictions_file: str | Path | None = None) -> dict:
    """Score ``model`` on ``dataloaders['test']``: loss, accuracy, per-class accuracy, confusion.

    ``confusion[i][j]`` counts test images of class i predicted as class j. ``runtime`` (or the
    defaults of ``device``) says in which precision. With ``predictions_file`` (a run folder's
    ``predictions.npz``), every test image's prediction and the most confident mistakes' images
    are saved there (see ``predictions.py``).
    """
    runtime = runtime or default_runtime(device or next(model.parameters()).device)
    collector = PredictionCollector() if predictions_file is not None else None
    result = evaluate(model, dataloaders["test"], criterion, runtime, collect=collector)
    if collector is not None:
        predicted = collector.result()  # under DDP every process takes part
        if is_main():
            save_predictions(predictions_file, make_predictions(*predicted, dataloaders["test"].data.images))
    confusion = result["confusion"]
    per_class = (confusion.diag() / confusion.sum(1).clamp(min=1)).tolist()
    if is_main():
        print(f"test loss {result['loss']:.4f}  acc {result['acc']:.2%}  "
              f"({result['images']} images, {result['seconds']:.1f} s)")
    return {
        "test_loss": result["loss"],
        "test_acc": result["acc"],
        "per_class_acc": per_class,
        "confusion_matrix": confusion.tolist(),
        "test_seconds": result["seconds"],
    }


test_model.__test__ = False  # the handout's name starts with "test_"; pytest must not collect it
