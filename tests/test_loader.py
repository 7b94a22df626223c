"""Batches (loader.py): seeded order, mid-epoch resume, workers and resident data give the same batches."""

import os

import torch

from labutils.augment import CIFAR10_MEAN, CIFAR10_STD, BatchTransform
from labutils.data import make_fake_dataset
from labutils.loader import BatchLoader
from labutils.runtime.runtime import Runtime, default_runtime

CPU = default_runtime(torch.device("cpu"))
WORKERS = Runtime(torch.device("cpu"), resident_data=False)  # the --data-placement workers path


def test_loader_order_depends_on_seed_and_epoch_and_resumes_mid_epoch():
    data = make_fake_dataset(num_train=50)[0]
    t = BatchTransform(32, CIFAR10_MEAN, CIFAR10_STD, train=True)
    loader = BatchLoader(data, 8, t, shuffle=True, runtime=CPU, seed=0)
    assert len(loader) == 7
    loader.set_epoch(0)
    epoch0 = [(x, y) for x, y in loader]
    loader.set_epoch(0)
    again = [(x, y) for x, y in loader]
    loader.set_epoch(1)
    epoch1 = [y for _, y in loader]
    assert all(torch.equal(x1, x2) and torch.equal(y1, y2) for (x1, y1), (x2, y2) in zip(epoch0, again))
    assert not all(torch.equal(a, b) for (_, a), b in zip(epoch0, epoch1))
    assert sorted(torch.cat([y for _, y in epoch0]).tolist()) == sorted(data.labels.tolist())
    loader.set_epoch(0, start_batch=5)
    tail = [(x, y) for x, y in loader]
    assert len(tail) == 2 and torch.equal(tail[0][0], epoch0[5][0])


def test_loader_workers_give_the_same_batches():
    data = make_fake_dataset(num_train=24)[0]
    t = BatchTransform(32, CIFAR10_MEAN, CIFAR10_STD, train=True)
    batches = {}
    for workers in (0, 1):
        loader = BatchLoader(data, 8, t, shuffle=True, runtime=WORKERS, seed=5, workers=workers)
        batches[workers] = [x for x, _ in loader]
    assert all(torch.equal(a, b) for a, b in zip(batches[0], batches[1]))


def test_resident_path_gives_the_same_batches_as_the_worker_path():
    # The CUDA path (dataset on the device, batches indexed there, a device generator) on the CPU.
    data = make_fake_dataset(num_train=40)[0]
    t = BatchTransform(32, CIFAR10_MEAN, CIFAR10_STD, train=True)
    loaders = [BatchLoader(data, 16, t, shuffle=True, runtime=Runtime(torch.device("cpu"), resident_data=resident),
                           seed=2, workers=1) for resident in (False, True)]
    for loader in loaders:
        loader.set_epoch(1, start_batch=1)
    via_workers, via_device = list(loaders[0]), list(loaders[1])
    assert len(via_workers) == len(via_device) == 2
    for (x1, y1), (x2, y2) in zip(via_workers, via_device):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)


class _PidRecordingTransform(BatchTransform):
    """The training augmentation, noting in a file which process made each batch."""

    def __init__(self, path, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.path = path

    def __call__(self, images, *args, **kwargs):
        with open(self.path, "a") as f:
            f.write(f"{os.getpid()}\n")
        return super().__call__(images, *args, **kwargs)


def test_one_loader_serves_every_epoch_from_the_same_workers_with_the_same_batches(tmp_path):
    data = make_fake_dataset(num_train=24)[0]
    pids = tmp_path / "pids"
    persistent = BatchLoader(data, 8, _PidRecordingTransform(pids, 32, CIFAR10_MEAN, CIFAR10_STD, train=True),
                             shuffle=True, runtime=WORKERS, seed=5, workers=2)
    reference = BatchLoader(data, 8, BatchTransform(32, CIFAR10_MEAN, CIFAR10_STD, train=True), shuffle=True,
                            runtime=CPU, seed=5)
    persistent.set_epoch(1)
    next(iter(persistent))  # a pass left after one batch (a stop request): the next one starts clean
    for epoch, start_batch in ((0, 0), (1, 0), (1, 2), (2, 1), (0, 0)):  # (1, 2), (2, 1): resumed mid-epoch
        for loader in (persistent, reference):
            loader.set_epoch(epoch, start_batch)
        got, expected = list(persistent), list(reference)
        assert len(got) == len(expected) == 3 - start_batch
        assert all(torch.equal(x1, x2) and torch.equal(y1, y2) for (x1, y1), (x2, y2) in zip(got, expected))
    workers = set(pids.read_text().split())
    assert len(workers) == 2 and str(os.getpid()) not in workers  # started once, for all five passes


def test_workers_path_pins_memory_for_cuda_only():
    data = make_fake_dataset(num_train=8)[0]
    t = BatchTransform(32, CIFAR10_MEAN, CIFAR10_STD, train=False)
    for device, pinned in ((torch.device("cuda"), True), (torch.device("cpu"), False)):
        loader = BatchLoader(data, 4, t, shuffle=False, runtime=Runtime(device, resident_data=False), workers=2)
        dataloader = loader._dataloader()  # built, its workers not started
        assert (dataloader.pin_memory, dataloader.persistent_workers) == (pinned, True)
