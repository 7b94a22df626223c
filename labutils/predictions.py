"""Every test image's prediction, and the most confident mistakes, in a run folder's ``predictions.npz``.

``test_model`` collects, per test image (in the test set's order), the true label, the predicted
label and the confidence (the softmax probability of the predicted class), and keeps the
images of the ``MISTAKES_KEPT`` mistakes made with the highest confidence as small thumbnails,
so that the report can show them while reading the run folder only. The file stays small:
about 4 bytes per test image (40 KB for CIFAR-10's 10,000) plus the thumbnails, compressed.

=================  =========================================================================
``labels``         true class per test image (uint8, int16 past 255 classes)
``predictions``    predicted class per test image (same type)
``confidences``    softmax probability of the predicted class (float16)
``mistake_index``  indices into the test set of the kept mistakes, most confident first (int32)
``mistake_images`` their images as stored, at most ``THUMBNAIL_SIZE`` pixels a side (uint8, N x H x W x 3)
=================  =========================================================================
"""

from __future__ import annotations

import io
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from .run_folder import atomic_write_bytes
from .runtime.distributed import world_size

MISTAKES_KEPT = 8
THUMBNAIL_SIZE = 48  # CIFAR-10's 32x32 images stay as they are; larger stored images shrink to this


@dataclass
class Predictions:
    """What ``predictions.npz`` holds (see the module docstring)."""

    labels: np.ndarray
    predictions: np.ndarray
    confidences: np.ndarray
    mistake_index: np.ndarray
    mistake_images: np.ndarray

    @property
    def accuracy(self) -> float:
        return float((self.labels == self.predictions).mean()) if len(self.labels) else 0.0

    def mistakes(self) -> list[dict]:
        """The kept mistakes, most confident first: ``image``, ``index``, ``true``, ``predicted``, ``confidence``."""
        return [{"image": image, "index": int(i), "true": int(self.labels[i]), "predicted": int(self.predictions[i]),
                 "confidence": float(self.confidences[i])}
                for i, image in zip(self.mistake_index, self.mistake_images)]


class PredictionCollector:
    """Gathers ``evaluate``'s per-batch predictions; under DDP, the shares of every process.

    Each process scores a contiguous share of every batch, in rank order, so batch by batch the
    shares of ranks 0, 1, ... put together give the batch, and the batches the test set's order.
    """

    def __init__(self) -> None:
        self._batches: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def add(self, labels: torch.Tensor, logits: torch.Tensor | None) -> None:
        """One batch (``logits`` None for a process's empty share of it)."""
        if logits is None:
            empty = torch.zeros(0, dtype=torch.int64)
            self._batches.append((empty, empty, torch.zeros(0)))
            return
        confidence, predicted = torch.softmax(logits.float(), dim=1).max(dim=1)
        self._batches.append((labels.detach(), predicted, confidence))

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(labels, predictions, confidences) of the whole split; every process must call it under DDP."""
        batches = [tuple(t.cpu() for t in batch) for batch in self._batches]
        if world_size() > 1:
            shares: list = [None] * world_size()
            dist.all_gather_object(shares, batches)
            batches = [tuple(torch.cat(parts) for parts in zip(*(share[b] for share in shares)))
                       for b in range(len(batches))]
        if not batches:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
        labels, predicted, confidence = (torch.cat(parts).numpy() for parts in zip(*batches))
        return labels, predicted, confidence


def make_predictions(labels: np.ndarray, predicted: np.ndarray, confidence: np.ndarray,
                     images: torch.Tensor) -> Predictions:
    """The file's content: ``images`` are the split's stored uint8 images (N, 3, H, W), in its order."""
    wrong = np.flatnonzero(labels != predicted)
    kept = wrong[np.argsort(-confidence[wrong], kind="stable")][:MISTAKES_KEPT]
    thumbnails = images[torch.as_tensor(kept, dtype=torch.int64)]
    if thumbnails.shape[-1] > THUMBNAIL_SIZE or thumbnails.shape[-2] > THUMBNAIL_SIZE:
        thumbnails = F.interpolate(thumbnails.float(), size=(THUMBNAIL_SIZE, THUMBNAIL_SIZE), mode="bilinear",
                                   antialias=True, align_corners=False).round().clamp(0, 255).to(torch.uint8)
    kind = np.uint8 if max(labels.max(initial=0), predicted.max(initial=0)) < 256 else np.int16
    return Predictions(labels.astype(kind), predicted.astype(kind), confidence.astype(np.float16),
                       kept.astype(np.int32), thumbnails.permute(0, 2, 3, 1).cpu().numpy())


def save_predictions(path: Path, predictions: Predictions) -> None:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **vars(predictions))
    atomic_write_bytes(Path(path), buffer.getvalue())


def read_predictions(path: Path, num_classes: int | None = None) -> Predictions | None:
    """``predictions.npz`` of a run folder, or None when it is missing, unreadable or inconsistent
    (``predictions_problem`` says why); with ``num_classes``, every class number must be below it."""
    predictions, _ = _read_checked(path, num_classes)
    return predictions


def predictions_problem(path: Path, num_classes: int | None = None) -> str | None:
    """Why ``predictions.npz`` at ``path`` cannot be used, in a few words to follow its name, such as
    "names a mistake outside its 200 test images" (None: it can be used, or there is none)."""
    _, problem = _read_checked(path, num_classes)
    return None if problem == "missing" else problem


MAX_PREDICTIONS_BYTES = 200_000_000  # unpacked; CIFAR-10's 10,000 test images take 40 KB


def _read_checked(path: Path, num_classes: int | None) -> tuple[Predictions | None, str | None]:
    try:
        if not stat.S_ISREG(Path(path).stat().st_mode):
            return None, "is not a regular file"  # a named pipe would block the reader
        with zipfile.ZipFile(path) as archive:  # the sizes it declares, before anything is unpacked
            unpacked = sum(member.file_size for member in archive.infolist())
        if unpacked > MAX_PREDICTIONS_BYTES:
            return None, f"unpacks to {unpacked:,} bytes, more than a run writes"
        with np.load(path, allow_pickle=False) as data:
            predictions = Predictions(**{name: data[name] for name in Predictions.__dataclass_fields__})
    except FileNotFoundError:
        return None, "missing"
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):  # cut short, other layout
        return None, "is unreadable or not a predictions file of this lab"
    problem = _inconsistency(predictions, num_classes)
    return (None, problem) if problem else (predictions, None)


def _inconsistency(p: Predictions, num_classes: int | None) -> str | None:
    """What in ``p`` contradicts the layout of the module docstring (None: nothing)."""
    n = len(p.labels) if p.labels.ndim == 1 else -1
    if n < 0 or p.predictions.shape != (n,) or p.confidences.shape != (n,):
        return "holds labels, predictions and confidences of different shapes"
    if not all(np.issubdtype(a.dtype, np.integer) for a in (p.labels, p.predictions, p.mistake_index)):
        return "holds labels, predictions or mistake indices that are not whole numbers"
    lowest = min(p.labels.min(initial=0), p.predictions.min(initial=0))
    highest = max(p.labels.max(initial=0), p.predictions.max(initial=0))
    if lowest < 0 or (num_classes is not None and highest >= num_classes):
        return "holds class numbers outside the run's classes"
    if not np.issubdtype(p.confidences.dtype, np.floating) or not ((0 <= p.confidences) & (p.confidences <= 1)).all():
        return "holds confidences that are not probabilities"
    if p.mistake_index.ndim != 1 or not ((0 <= p.mistake_index) & (p.mistake_index < n)).all():
        return f"names a mistake outside its {n:,} test images"
    images = p.mistake_images
    if images.dtype != np.uint8 or images.ndim != 4 or len(images) != len(p.mistake_index) or images.shape[-1] != 3:
        return "holds mistake images that do not match its mistakes"
    return None
