"""Two processes through torchrun (gloo on the CPU) train like one process with the same global batch."""

import os
import subprocess
import sys

import pytest
import torch

from labutils.augment import CIFAR10_MEAN, CIFAR10_STD, BatchTransform
from labutils.data import make_fake_dataset
from labutils.loader import BatchLoader
from labutils.results import RunFolder
from labutils.runtime import default_runtime

CPU = default_runtime(torch.device("cpu"))

ARGS = ["train", "--experiment", "alexnet", "--dataset", "fake", "--image-size", "64", "--epochs", "2",
        "--batch-size", "16", "--train-samples", "96", "--val-samples", "32", "--test-samples", "32",
        "--workers", "0", "--no-progress"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def test_process_shares_of_a_batch_are_the_single_process_batch():
    data = make_fake_dataset(num_train=40)[0]
    transform = BatchTransform(32, CIFAR10_MEAN, CIFAR10_STD, train=True)
    make = lambda rank, world: BatchLoader(data, 16, transform, shuffle=True, runtime=CPU,
                                           seed=3, rank=rank, world_size=world)
    single = list(make(0, 1))
    shares = [list(make(rank, 3)) for rank in range(3)]
    assert len(single) == len(shares[0]) == 3
    for b, (inputs, labels) in enumerate(single):
        assert torch.equal(torch.cat([s[b][0] for s in shares]), inputs)  # same images, same augmentation
        assert torch.equal(torch.cat([s[b][1] for s in shares]), labels)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    single = subprocess.run([sys.executable, "-m", "labutils", *ARGS, "--out", str(root / "single")],
                            capture_output=True, text=True, env=ENV, timeout=300)
    assert single.returncode == 0, single.stderr
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          "-m", "labutils", *ARGS, "--out", str(root / "ddp")],
                         capture_output=True, text=True, env=ENV, timeout=300)
    assert ddp.returncode == 0, ddp.stderr
    return RunFolder(root / "single"), RunFolder(root / "ddp"), ddp.stdout


def test_two_processes_write_one_complete_run_folder(runs):
    _, ddp, stdout = runs
    metrics = ddp.read_metrics()
    assert metrics["status"] == "complete" and metrics["processes"] == 2
    assert sorted(p.name for p in ddp.path.iterdir()) == ["best.pt", "config.json", "history.csv", "metrics.json"]
    assert [row["epoch"] for row in ddp.read_history()] == [1, 2]
    # rank 0 alone reports: each epoch line once, one test line
    assert stdout.count("epoch 1/2 ") == 1 and stdout.count("test loss") == 1
    assert metrics["train_images"] == 96 and sum(map(sum, metrics["confusion_matrix"])) == 32


def test_metrics_agree_with_one_process_of_the_same_global_batch(runs):
    single, ddp, _ = runs
    one, two = single.read_metrics(), ddp.read_metrics()
    # Same data, order, augmentation and initial weights; only dropout masks differ per process.
    assert two["lr"] == one["lr"] and two["batch_size"] == one["batch_size"]
    for a, b in zip(single.read_history(), ddp.read_history()):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=0.05)
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=0.02)
        assert b["val_acc"] == pytest.approx(a["val_acc"], abs=0.1)
    assert two["test_loss"] == pytest.approx(one["test_loss"], rel=0.02)
