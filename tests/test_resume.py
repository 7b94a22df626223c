"""Interrupted runs: Ctrl-C, SIGTERM and kill -9, then --resume, end where an uninterrupted run ends."""

import os
import shutil
import signal
import subprocess
import sys

import pytest

from labutils.results import RunFolder

ARGS = ["train", "--experiment", "alexnet", "--dataset", "fake", "--image-size", "64", "--epochs", "3",
        "--batch-size", "16", "--train-samples", "64", "--val-samples", "32", "--test-samples", "32",
        "--workers", "0", "--no-progress"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
COMPARED = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr")


def _start(out, *extra):
    return subprocess.Popen([sys.executable, "-m", "labutils", *ARGS, "--out", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)


def _history(out):
    return [{k: row[k] for k in COMPARED} for row in RunFolder(out).read_history()]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    proc = _start(out)
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    return out, _history(out), RunFolder(out).read_metrics()


def _interrupt_after_first_epoch(out, sig):
    """Start a run and send ``sig`` once its first epoch is done (so it stops inside epoch 2 or 3)."""
    proc = _start(out)
    for line in proc.stdout:
        if line.startswith("epoch 1/3"):
            proc.send_signal(sig)
            break
    proc.wait(timeout=300)
    return proc


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_interrupted_run_resumes_to_the_same_result(tmp_path, reference, sig):
    out = tmp_path / "run"
    proc = _interrupt_after_first_epoch(out, sig)
    run = RunFolder(out)
    assert proc.returncode != 0
    assert not run.is_complete()
    if sig != signal.SIGKILL:
        stderr = proc.stderr.read()
        assert proc.returncode == 130
        assert "--resume" in stderr and len(stderr.strip().splitlines()) == 1, stderr
        assert run.status().startswith("interrupted")

        # the same command without --resume refuses to clobber the unfinished run
        again = _start(out)
        assert again.wait(timeout=120) == 2 and "--resume" in again.stderr.read()

    resumed = _start(out, "--resume")
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()
    _, history, metrics = reference
    assert _history(out) == history  # each epoch exactly once, with identical numbers
    assert run.read_metrics()["test_acc"] == metrics["test_acc"]
    assert run.read_metrics()["test_loss"] == metrics["test_loss"]


def test_complete_run_is_not_overwritten_without_force(tmp_path, reference):
    out = tmp_path / "run"
    shutil.copytree(reference[0], out)
    before = RunFolder(out).metrics.read_bytes()
    proc = _start(out)
    assert proc.wait(timeout=120) == 2
    assert "--force" in proc.stderr.read()
    assert RunFolder(out).metrics.read_bytes() == before
