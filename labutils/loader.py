"""Batches of augmented images from an in-memory ``ImageSet``, resident on the device or through workers.

Both paths draw the same batches: the order of epoch ``e`` and the augmentation of batch ``b``
depend only on (seed, e, b). That makes CPU runs repeatable, lets a resumed run continue
exactly where it stopped, and lets DataLoader workers augment batches in parallel without
sharing a random state.

- resident (``runtime.resident_data``, the default on CUDA): the uint8 dataset is copied to the
  device once and every batch is an index + one ``grid_sample`` there, with a generator on the
  device; on a GPU nothing crosses the PCIe bus during training. On a CPU this is the same code.
- workers (the default elsewhere): a ``DataLoader`` whose workers each build whole augmented
  batches, so the augmentation of the next batches overlaps the model step of this one.

Under DDP (``world_size`` > 1) every process walks the same global batches and takes its own
contiguous share of each (``torch.tensor_split``); see ``runtime/distributed.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset

from .augment import BatchTransform
from .data import ImageSet
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
    """Item ``b`` is this process's share of augmented batch ``b`` (what a worker computes)."""

    def __init__(self, loader: BatchLoader, batches: list[torch.Tensor]) -> None:
        self.loader, self.batches = loader, batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, b: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.loader.make_batch(self.loader.data, self.batches[b], b, torch.Generator())


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

    def __len__(self) -> int:
        return len(self._batches())

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch

    def _batches(self) -> list[torch.Tensor]:
        n = len(self.data)
        if self.shuffle:
            order = torch.randperm(n, generator=torch.Generator().manual_seed(batch_seed(self.seed, self.epoch, -1)))
        else:
            order = torch.arange(n)
        batches = list(order.split(self.batch_size))
        if self.shuffle and len(batches[-1]) < self.world_size:
            batches.pop()  # a training step needs an image on every process
        return batches

    def make_batch(self, data: ImageSet, batch: torch.Tensor, b: int,
                   generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """This process's share of batch ``b``, augmented as in a single-process run."""
        index, rows = _share(batch, self.rank, self.world_size)
        generator.manual_seed(batch_seed(self.seed, self.epoch, b))
        index = index.to(data.images.device, non_blocking=True)
        return self.transform(data.images[index], generator, rows, len(batch)), data.labels[index]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        batches = self._batches()
        if self.runtime.resident_data:
            yield from self._iter_resident(batches)
            return
        dataset = _AugmentedBatches(self, batches)
        todo = list(range(self.start_batch, len(batches)))
        # Its own generator: otherwise each new iterator draws from the global RNG, and a run
        # resumed mid-epoch would see different dropout masks than an uninterrupted one.
        loader = DataLoader(dataset, batch_size=None, sampler=todo, num_workers=self.workers,
                            prefetch_factor=2 if self.workers else None, generator=torch.Generator())
        for inputs, labels in loader:
            yield inputs.to(self.device, non_blocking=True), labels.to(self.device, non_blocking=True)

    def _iter_resident(self, batches: list[torch.Tensor]) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if self._on_device is None:
            self._on_device = ImageSet(self.data.images.to(self.device), self.data.labels.to(self.device),
                                       self.data.classes)
        # The epoch's order goes to the device in one copy, not one per batch.
        batches = torch.cat(batches).to(self.device).split([len(b) for b in batches])
        generator = torch.Generator(device=self.device)
        for b in range(self.start_batch, len(batches)):
            yield self.make_batch(self._on_device, batches[b], b, generator)
