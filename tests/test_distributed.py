"""Two processes through torchrun (gloo on the CPU) train like one process with the same global batch."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from labutils.augment import CIFAR10_MEAN, CIFAR10_STD, BatchTransform
from labutils.data import make_fake_dataset
from labutils.loader import BatchLoader
from labutils.predictions import read_predictions
from labutils.run_folder import RunFolder
from labutils.runtime.runtime import default_runtime

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
                            capture_output=True, text=True, env=ENV, timeout=300, check=False)
    assert single.returncode == 0, single.stderr
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          "-m", "labutils", *ARGS, "--out", str(root / "ddp")],
                         capture_output=True, text=True, env=ENV, timeout=300, check=False)
    assert ddp.returncode == 0, ddp.stderr
    return RunFolder(root / "single"), RunFolder(root / "ddp"), ddp.stdout


def test_two_processes_write_one_complete_run_folder(runs):
    _, ddp, stdout = runs
    metrics = ddp.read_metrics()
    assert metrics["status"] == "complete" and metrics["processes"] == 2
    assert sorted(p.name for p in ddp.path.iterdir()) == [".lock", "best.pt", "config.json", "history.csv",
                                                          "metrics.json", "predictions.npz"]
    assert (ddp.path / ".lock").read_text().strip().isdigit()  # the PID of the process that held the folder
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
        # not val_acc: near chance on 32 images, the dropout masks flip a few of them (4 in torch 2.4)
    assert two["test_loss"] == pytest.approx(one["test_loss"], rel=0.02)
    # Each process scored its share of every test batch; put together they are the test set in order.
    one_pred, two_pred = read_predictions(single.predictions), read_predictions(ddp.predictions)
    assert np.array_equal(two_pred.labels, one_pred.labels) and len(two_pred.labels) == 32
    assert two_pred.accuracy == pytest.approx(two["test_acc"])


def test_torchrun_processes_read_the_resolved_config_from_a_file(tmp_path, monkeypatch):
    """What a notebook or the lab starts with nproc_per_node > 1: every process reads one JSON config."""
    from labutils.cli import build_parser, run_config
    from labutils.experiment import run_experiment_with_torchrun
    from labutils.resolve import resolve

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # not /tmp: other test runs there come and go
    leftovers = lambda: set(Path(tempfile.gettempdir()).glob("labutils-run-*.json"))
    before = leftovers()
    config = resolve(run_config(build_parser().parse_args([*ARGS, "--epochs", "1", "--warmup-epochs", "0.5",
                                                           "--out", str(tmp_path / "run")])))
    metrics = run_experiment_with_torchrun(config, nproc_per_node=2)
    assert metrics["status"] == "complete" and metrics["processes"] == 2
    written = json.loads(RunFolder(tmp_path / "run").config.read_text())
    assert written == {**config.to_dict(), **{k: written[k] for k in ("precision", "memory_format", "data_placement",
                                                                       "host_sync_every")}}
    assert written["precision"] in ("fp32", "bf16")  # auto, resolved by the run
    assert leftovers() == before  # the config file is removed
