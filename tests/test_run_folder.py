"""Run folders are never lost or mixed: the lock, damaged files, leftovers, unwritable paths, a full
disk, and stop requests (Ctrl-C, SIGTERM) at every stage, each ending in one line on stderr.

One tiny run is trained for the module; tests work on copies of it (checkpoints hard-linked)."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from cli import start_cli as _start

from labutils.__main__ import main
from labutils.errors import LabError
from labutils.run_folder import RunFolder
from labutils.run_folder.lock import LOCK_NAME

TINY = ["--experiment", "alexnet", "--dataset", "fake", "--image-size", "64", "--epochs", "1", "--batch-size", "16",
        "--train-samples", "32", "--val-samples", "16", "--test-samples", "16", "--workers", "0", "--no-progress"]


def _exits(capsys, argv: list[str], code: int, *expected: str) -> str:
    """Run the CLI in this process: exit ``code`` with one line on stderr holding every ``expected``."""
    assert main(argv) == code
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for piece in expected:
        assert piece in err, err
    return err


def _wait_for(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _one_line_130(proc: subprocess.Popen) -> str:
    """The process ended on a stop request: status 130 and one line on stderr, no traceback."""
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def complete_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("complete") / "run"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    return out


def _copy(run: Path, to: Path) -> RunFolder:
    """A copy of a run folder; the (large, never rewritten in place) checkpoints are hard links."""
    to.mkdir(parents=True)
    for path in run.iterdir():
        (os.link if path.suffix == ".pt" else shutil.copy)(path, to / path.name)
    return RunFolder(to)


# --- data loss ---------------------------------------------------------------------------------

@pytest.mark.parametrize("damage", [lambda p: os.truncate(p, 100), lambda p: p.write_text("[]"),
                                    lambda p: p.write_text('{"test_acc": 0.5}')],
                         ids=["cut short", "a list", "no status"])
def test_unreadable_metrics_never_deletes_a_run(capsys, tmp_path, complete_run, damage):
    run = _copy(complete_run, tmp_path / "run")
    damage(run.metrics)
    kept = {p.name: p.read_bytes() for p in (run.config, run.history)}
    _exits(capsys, ["train", *TINY, "--out", str(run.path)], 2, str(run.metrics), "--force")
    assert run.best.stat().st_ino == (complete_run / "best.pt").stat().st_ino
    assert {p.name: p.read_bytes() for p in (run.config, run.history)} == kept


def test_lab_refuses_before_training_when_a_run_file_is_unreadable(capsys, tmp_path, complete_run):
    profile = tmp_path / "tiny.yaml"
    profile.write_text("dataset: fake\nexperiments: [alexnet]\n"
                       "defaults: {image_size: 64, epochs: 1, train_samples: 32, val_samples: 16, test_samples: 16}\n")
    run = _copy(complete_run, tmp_path / "runs" / "tiny" / "alexnet" / "seed0")
    os.truncate(run.metrics, 100)
    _exits(capsys, ["lab", "--profile", str(profile), "--runs", str(tmp_path / "runs"),
                    "--report-dir", str(tmp_path / "report")], 2, str(run.metrics), "--force")
    assert run.best.exists() and run.history.exists() and run.config.exists()
    assert len(run.metrics.read_bytes()) == 100  # left as it was, for the user to look at


def test_leftover_temporaries_are_removed_when_the_folder_is_opened(capsys, tmp_path, complete_run):
    run = _copy(complete_run, tmp_path / "run")
    leftovers = [run.path / ".labutils-last.pt.k9x2.tmp", run.path / ".labutils-metrics.json.a1b2.tmp"]
    for path in leftovers:
        path.write_bytes(b"half a checkpoint")
    (run.path / ".notes.tmp").write_text("mine, not the lab's")
    _exits(capsys, ["train", *TINY, "--out", str(run.path)], 2, "already holds a complete run")
    assert not any(path.exists() for path in leftovers)
    assert (run.path / ".notes.tmp").read_text() == "mine, not the lab's" and run.is_complete()


@pytest.mark.parametrize("name, content", [("notes.txt", "mine"), ("config.json", '{"learning_rate": 3}'),
                                           ("metrics.json", '{"my_score": 0.9}')])
def test_a_folder_holding_the_users_own_files_is_refused_and_they_survive(capsys, tmp_path, name, content):
    out = tmp_path / "mine"
    out.mkdir()
    (out / name).write_text(content)
    err = _exits(capsys, ["train", *TINY, "--out", str(out)], 2, name, "--force")
    assert "did not write" in err or "metrics.json" in err
    assert (out / name).read_text() == content


def test_kill_after_the_final_metrics_leaves_no_last_pt_once_the_folder_is_next_opened(capsys, tmp_path, complete_run):
    run = _copy(complete_run, tmp_path / "run")
    run.last.write_bytes(b"the resumable state a kill -9 left behind")  # complete, and last.pt still there
    _exits(capsys, ["train", *TINY, "--out", str(run.path)], 2, "already holds a complete run")
    assert not run.last.exists() and run.is_complete()


def test_a_second_process_on_a_run_folder_is_refused_naming_the_first(tmp_path):
    out = tmp_path / "run"
    first = _start("train", *TINY, "--out", str(out))
    _wait_for(lambda: (out / LOCK_NAME).exists() and (out / LOCK_NAME).read_text().strip() == str(first.pid))
    first.send_signal(signal.SIGSTOP)  # hold the first in place, however fast or slow the machine
    try:
        second = _start("train", *TINY, "--seed", "1", "--epochs", "2", "--out", str(out))
        _, err = second.communicate(timeout=120)
    finally:
        first.send_signal(signal.SIGCONT)
    assert second.returncode == 2, err
    assert len(err.strip().splitlines()) == 1 and f"in use by process {first.pid}" in err, err
    assert first.wait(timeout=300) == 0, first.stderr.read()
    run = RunFolder(out)  # one run, all of it from the first process
    assert run.read_metrics()["seed"] == 0 and run.read_metrics()["epochs"] == 1
    assert '"seed": 0' in run.config.read_text() and len(run.read_history()) == 1
    assert torch.load(run.best, weights_only=True)["config"]["seed"] == 0


# --- paths that cannot be written, a full disk --------------------------------------------------

@pytest.mark.parametrize("command, option, where", [
    ("train", "--out", "file"), ("train", "--out", "file/sub"),
    ("lab", "--runs", "file"), ("report", "--report-dir", "file"),
])
def test_a_path_that_cannot_be_written_is_refused_before_any_work(capsys, tmp_path, command, option, where):
    (tmp_path / "file").write_text("in the way")
    argv = {"train": ["train", *TINY, "--dataset", "imagefolder", "--data-root", str(tmp_path / "no-data")],
            "lab": ["lab", "--profile", "smoke", "--report-dir", str(tmp_path / "report")],
            "report": ["report", "--profile", "smoke", "--runs", str(tmp_path / "runs")]}[command]
    # The folder is checked first: the missing data (train) is not reached.
    _exits(capsys, [*argv, option, str(tmp_path / where)], 2, f"{tmp_path / 'file'} is a file, not a folder", option)
    assert (tmp_path / "file").read_text() == "in the way"


def test_a_folder_without_write_permission_is_refused(capsys, tmp_path):
    (tmp_path / "locked").mkdir(mode=0o555)
    out = tmp_path / "locked" / "run"
    if os.geteuid() == 0:  # root may write into any folder, but not create one in /sys
        if not Path("/sys").is_dir():
            pytest.skip("running as root, and no /sys")
        out = Path("/sys") / "lab-run"
    _exits(capsys, ["train", *TINY, "--out", str(out)], 2, "permission denied", "--out")


def test_a_full_disk_while_saving_a_checkpoint_is_one_line(capsys, tmp_path, monkeypatch):
    real_fsync = os.fsync

    def fsync_on_a_full_disk(fd):
        if os.fstat(fd).st_size > 1_000_000:  # a checkpoint, not config.json or metrics.json
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr("labutils.run_folder.files.os.fsync", fsync_on_a_full_disk)
    _exits(capsys, ["train", *TINY, "--out", str(tmp_path)], 2, "no space left", "best.pt")
    assert RunFolder(tmp_path).status().startswith("failed: no space left")
    assert not list(tmp_path.glob("*.tmp"))


# --- stop requests ------------------------------------------------------------------------------

def test_ctrl_c_during_start_up_imports_is_one_line(tmp_path):
    proc = _start("train", *TINY, "--out", str(tmp_path / "run"))
    maps = Path(f"/proc/{proc.pid}/maps")
    if not maps.exists():
        proc.kill()
        pytest.skip("needs /proc to see when torch is being imported")
    _wait_for(lambda: proc.poll() is not None or "libtorch" in maps.read_text(), timeout=60)
    proc.send_signal(signal.SIGINT)
    assert "stopped by SIGINT" in _one_line_130(proc)
    assert not (tmp_path / "run").exists()


def test_sigterm_before_training_is_recorded(tmp_path):
    out = tmp_path / "run"
    proc = _start("train", *TINY, "--out", str(out))
    # The folder is locked (its holder's PID written); the data and the model load next.
    _wait_for(lambda: (out / LOCK_NAME).exists() and (out / LOCK_NAME).read_text().strip() == str(proc.pid))
    time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    assert "stopped by SIGTERM" in _one_line_130(proc)
    assert RunFolder(out).status().startswith("interrupted: stopped by SIGTERM")


def test_sigterm_while_testing_is_recorded_and_resumes_to_the_end(tmp_path):
    out = tmp_path / "run"
    slow_test = [*TINY, "--test-samples", "100"]  # a second or more of testing after the epoch's line
    proc = _start("train", *slow_test, "--out", str(out))
    for line in proc.stdout:
        if line.startswith("epoch 1/1"):
            proc.send_signal(signal.SIGTERM)
            break
    assert "--resume" in _one_line_130(proc)
    run = RunFolder(out)
    assert run.status().startswith("interrupted") and run.last.exists()
    assert main(["train", *slow_test, "--out", str(out), "--resume"]) == 0
    assert run.is_complete() and len(run.read_history()) == 1 and not run.last.exists()


def test_a_stop_after_the_last_epoch_is_not_ignored(monkeypatch):
    """A request that comes while the last epoch is validated stops before the test, not after it."""
    from torch import nn

    from labutils import train_module
    from labutils.augment import BatchTransform
    from labutils.data import make_fake_dataset
    from labutils.loader import BatchLoader
    from labutils.runtime.runtime import default_runtime

    data = make_fake_dataset(num_train=16, num_test=8)[0]
    loader = BatchLoader(data, 8, BatchTransform(32, (0.5,) * 3, (0.25,) * 3, train=False), shuffle=False,
                         runtime=default_runtime(torch.device("cpu")))
    real_evaluate = train_module.evaluate

    def evaluate_then_sigterm(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # caught by the training loop's handler
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(train_module, "evaluate", evaluate_then_sigterm)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
    with pytest.raises(LabError, match=r"stopped by SIGTERM after the last epoch \(1/1\), before testing"):
        train_module.train_model(model, {"train": loader, "val": loader}, nn.CrossEntropyLoss(),
                                 torch.optim.SGD(model.parameters(), lr=0.01), 1, progress=False)
