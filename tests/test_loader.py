"""Batches (loader.py): seeded order, mid-epoch resume, workers and resident data give the same batches."""

import torch

from labutils.augment import CIFAR10_MEAN, CIFAR10_STD, BatchTransform
from labutils.data import make_fake_dataset
from labutils.loader import BatchLoader
from labutils.runtime.runtime import Runtime, default_runtime

CPU = default_runtime(torch.device("cpu"))


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
        loader = BatchLoader(data, 8, t, shuffle=True, runtime=CPU, seed=5, workers=workers)
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
