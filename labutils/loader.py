"""Batches of augmented images from an in-memory ``ImageSet``, resident on the device or through workers.

Both paths draw the same batches: the order of epoch ``e`` and the augmentation of batch ``b``
depend only on (seed, e, b). That makes CPU runs repeatable, lets a resumed run continue
exactly where it stopped, and lets DataLoader workers augment batches in parallel without
sharing a random state.

- resident (``runtime.resident_data``, the default on CUDA): the uint8 dataset is copied to the
  device once and every batch is an index + one ``grid_sample`` there, with a generator on the
  device; on a GPU nothing crosses the PCIe bus during training. On a CPU this is the same code.
- workers (``--data-placement workers``): a ``DataLoader`` whose workers each build whole
  augmented batches, so the augmentation of the next batches overlaps the model step of this
  one. The workers start at the first pass and serve every epoch; on CUDA the batches come in
  pinned memory.

Under DDP (``world_size`` > 1) every process walks the same global batches and takes its own
contiguous share of each (``torch.tensor_split``); see ``runtime/distributed.py``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from .augment import BatchTransform
from .data import ImageSet
from .runtime.device import cudnn_autotuning
from .runtime.runtime import Runtime

_MIX = 1_000_003  # spreads (seed, epoch, batch) over distinct generator seeds


def batch_seed(seed: int, epoch: int, batch: int) -> int:
    return (seed * _MIX + epoch) * _MIX + batch


def _share(batch: torch.Tensor, rank: int, world_size: int) -> tuple[torch.Tensor, slice]:
    """This process's contiguous share of a global batch, and where it sits in the batch."""
    sizes = [len(part) for part in torch.tensor_split(torch.arange(len(batch)), world_size)]
    start = sum(sizes[:rank])
    rows = slice(start, start + sizes[rank])
    return batch[rows], rows


class _AugmentedBatches(Dataset):
    """Item ``(epoch, b)`` is this process's share of augmented batch ``b`` of ``epoch`` (what a
    worker computes). The epoch comes with each item: a persistent worker keeps the copy of the
    loader it started with, whatever epoch the loader has moved to since."""

    def __init__(self, loader: BatchLoader) -> None:
        self.loader = loader
        self._epoch_batches: tuple[int, list[torch.Tensor]] | None = None  # the last epoch's, in this worker

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, b = item
        if self._epoch_batches is None or self._epoch_batches[0] != epoch:
            self._epoch_batches = epoch, self.loader._batches(epoch)
        return self.loader.make_batch(self.loader.data, self._epoch_batches[1][b], b, torch.Generator(), epoch)


class _Items(Sampler):
    """The items ``(epoch, b)`` of the pass under way, set by the loader before each pass."""

    def __init__(self) -> None:
        self.items: list[tuple[int, int]] = []

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class BatchLoader:
    """Iterates over ``(inputs, labels)`` of one split; ``set_epoch`` picks the epoch's order.

    ``start_batch`` skips the first batches of the epoch (to resume mid-epoch).
    """

    def __init__(self, data: ImageSet, batch_size: int, transform: BatchTransform, *,
                 shuffle: bool, runtime: Runtime, seed: int = 0, workers: int = 0,
                 rank: int = 0, world_size: int = 1) -> None:
        if batch_size <= 0:
            raise ValueError(f"batch size must be positive, got {batch_size}")
        self.data, self.batch_size, self.transform = data, batch_size, transform
        self.shuffle, self.runtime, self.seed, self.workers = shuffle, runtime, seed, workers
        self.device = runtime.device
        self.rank, self.world_size = rank, world_size
        self.epoch = 0
        self.start_batch = 0
        self._on_device: ImageSet | None = None
        self._workers_loader: DataLoader | None = None  # built at the first pass, its workers kept
        self._items = _Items()

    def __getstate__(self) -> dict:
        # What a worker gets (pickled where workers are spawned: macOS, Windows) and what the
        # workers' dataset holds: not the DataLoader, whose workers a reference cycle would keep
        # alive after the loader is gone, nor the images on the device.
        return {**self.__dict__, "_workers_loader": None, "_on_device": None}

    def __len__(self) -> int:
        return len(self._batches())

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch

    def _batches(self, epoch: int | None = None) -> list[torch.Tensor]:
        """The global batches (image indices) of ``epoch`` (default: the current one)."""
        epoch = self.epoch if epoch is None else epoch
        n = len(self.data)
        if self.shuffle:
            order = torch.randperm(n, generator=torch.Generator().manual_seed(batch_seed(self.seed, epoch, -1)))
        else:
            order = torch.arange(n)
        batches = list(order.split(self.batch_size))
        if self.shuffle and len(batches[-1]) < self.world_size:
            batches.pop()  # a training step needs an image on every process
        return batches

    def make_batch(self, data: ImageSet, batch: torch.Tensor, b: int, generator: torch.Generator,
                   epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """This process's share of batch ``b`` of ``epoch``, augmented as in a single-process run."""
        index, rows = _share(batch, self.rank, self.world_size)
        generator.manual_seed(batch_seed(self.seed, epoch, b))
        index = index.to(data.images.device, non_blocking=True)
        return self.transform(data.images[index], generator, rows, len(batch)), data.labels[index]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        batches = self._batches()
        source = self._iter_resident(batches) if self.runtime.resident_data else self._iter_workers(batches)
        for b, inputs_labels in enumerate(source, start=self.start_batch):
            # Autotuned convolutions for full batches, the shape every step repeats; not for the
            # last partial one, a shape seen once an epoch (a no-op off CUDA).
            with cudnn_autotuning(self.device, len(batches[b]) == self.batch_size):
                yield inputs_labels

    def _iter_workers(self, batches: list[torch.Tensor]) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        self._items.items = [(self.epoch, b) for b in range(self.start_batch, len(batches))]
        for inputs, labels in self._dataloader():
            yield inputs.to(self.device, non_blocking=True), labels.to(self.device, non_blocking=True)

    def _dataloader(self) -> DataLoader:
        """One DataLoader for every pass: its workers start once and stay (``persistent_workers``);
        on CUDA its batches come in pinned memory, so that the copy to the GPU is asynchronous."""
        if self._workers_loader is None:
            # Its own generator: otherwise each pass draws from the global RNG, and a run resumed
            # mid-epoch would see different dropout masks than an uninterrupted one.
            self._workers_loader = DataLoader(
                _AugmentedBatches(copy.copy(self)), batch_size=None, sampler=self._items,
                num_workers=self.workers, prefetch_factor=2 if self.workers else None,
                persistent_workers=self.workers > 0, pin_memory=self.device.type == "cuda",
                generator=torch.Generator())
        return self._workers_loader

    def _iter_resident(self, batches: list[torch.Tensor]) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if self._on_device is None:
            self._on_device = ImageSet(self.data.images.to(self.device), self.data.labels.to(self.device),
                                       self.data.classes)
        # The epoch's order goes to the device in one copy, not one per batch.
        batches = torch.cat(batches).to(self.device).split([len(b) for b in batches])
        generator = torch.Generator(device=self.device)
        for b in range(self.start_batch, len(batches)):
            yield self.make_batch(self._on_device, batches[b], b, generator, self.epoch)
