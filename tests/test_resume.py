"""Interrupted runs: Ctrl-C, SIGTERM and kill -9, then --resume, end where an uninterrupted run ends.

On the worker path (fp32, the loss read every step) and on the path a GPU takes, run on the CPU
(images resident with a device generator, bf16, channels-last, the loss read every 3 of 8 steps).
"""

import shutil
import signal

import pytest
from cli import start_cli

from labutils.run_folder import RunFolder, load_checkpoint

ARGS = ["train", "--experiment", "alexnet", "--dataset", "fake", "--image-size", "64", "--epochs", "3",
        "--batch-size", "16", "--train-samples", "64", "--val-samples", "32", "--test-samples", "32",
        "--workers", "0", "--no-progress"]
COMPARED = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr")
PATHS = {
    "worker-path": ["--precision", "fp32", "--data-placement", "workers"],
    # 8 steps per epoch, the host reads after steps 3, 6 and 8: a stop lands mid-epoch.
    "cuda-shaped-path": ["--batch-size", "8", "--precision", "bf16", "--memory-format", "channels_last",
                         "--data-placement", "resident", "--host-sync-every", "3"],
}
CASES = [("worker-path", signal.SIGINT), ("worker-path", signal.SIGTERM), ("worker-path", signal.SIGKILL),
         ("cuda-shaped-path", signal.SIGINT), ("cuda-shaped-path", signal.SIGKILL)]


def _start(out, path, *extra):
    return start_cli(*ARGS, *PATHS[path], "--out", str(out), *extra)


def _history(out):
    return [{k: row[k] for k in COMPARED} for row in RunFolder(out).read_history()]


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """An uninterrupted run of each path, made when a test first asks for it."""
    made = {}

    def reference(path):
        if path not in made:
            out = tmp_path_factory.mktemp(path)
            proc = _start(out, path)
            assert proc.wait(timeout=300) == 0, proc.stderr.read()
            made[path] = out, _history(out), RunFolder(out).read_metrics()
        return made[path]

    return reference


def _interrupt_after_first_epoch(out, path, sig):
    """Start a run and send ``sig`` once its first epoch is done (so it stops inside epoch 2 or 3)."""
    proc = _start(out, path)
    for line in proc.stdout:
        if line.startswith("epoch 1/3"):
            proc.send_signal(sig)
            break
    proc.wait(timeout=300)
    return proc


@pytest.mark.parametrize("path, sig", CASES, ids=[f"{path}-{sig.name}" for path, sig in CASES])
def test_interrupted_run_resumes_to_the_same_result(tmp_path, references, path, sig):
    _, history, metrics = references(path)
    out = tmp_path / "run"
    proc = _interrupt_after_first_epoch(out, path, sig)
    run = RunFolder(out)
    assert proc.returncode != 0
    assert not run.is_complete()
    if sig != signal.SIGKILL:
        stderr = proc.stderr.read()
        assert proc.returncode == 130
        assert "--resume" in stderr and len(stderr.strip().splitlines()) == 1, stderr
        assert run.status().startswith("interrupted")
        stopped_at = load_checkpoint(run.last)["batch"]
        if path == "cuda-shaped-path":  # mid-epoch, at a host read
            assert stopped_at in (3, 6), stderr

        # the same command without --resume refuses to clobber the unfinished run
        again = _start(out, path)
        assert again.wait(timeout=120) == 2 and "--resume" in again.stderr.read()

    resumed = _start(out, path, "--resume")
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()
    assert _history(out) == history  # each epoch exactly once, with identical numbers
    assert run.read_metrics()["test_acc"] == metrics["test_acc"]
    assert run.read_metrics()["test_loss"] == metrics["test_loss"]


def test_complete_run_is_not_overwritten_without_force(tmp_path, references):
    out = tmp_path / "run"
    shutil.copytree(references("worker-path")[0], out)
    before = RunFolder(out).metrics.read_bytes()
    proc = _start(out, "worker-path")
    assert proc.wait(timeout=120) == 2
    assert "--force" in proc.stderr.read()
    assert RunFolder(out).metrics.read_bytes() == before
