"""The command line at its edges: a closed or full stdout, a stop during start-up, values that
cannot be a run. Each ends with one line (or, for a closed pipe, quietly), never a traceback."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from cli import ENV, REPO, run_cli

from labutils.__main__ import load
from labutils.runtime.interrupt import Stopped, stops_raise

DRY_RUN = ["lab", "--profile", "smoke", "--set", "image_size=64", "--dry-run"]  # its CPU estimate times 64 px steps


def test_a_reader_that_goes_away_ends_the_output_quietly() -> None:
    with subprocess.Popen([sys.executable, "-m", "labutils", *DRY_RUN], cwd=REPO, env=ENV, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as proc:
        proc.stdout.readline()  # | head -1
        proc.stdout.close()
        err = proc.stderr.read()
    assert proc.returncode == 141 and err == "", err


def test_stdout_on_a_full_disk_is_one_line() -> None:
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "labutils", *DRY_RUN], cwd=REPO, env=ENV, stdout=full,
                                stderr=subprocess.PIPE, text=True, timeout=300, check=False)
    assert result.returncode == 2 and result.stderr.strip() == "error: cannot write the output (No space left on device)"


@pytest.mark.parametrize("delay", [0.15, 0.3, 0.6, 1.0])  # the interpreter itself starts in ~0.05 s
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_during_start_up_is_one_line_and_status_130(delay: float, sig: signal.Signals) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "labutils", *DRY_RUN], cwd=REPO, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=300)
    if proc.returncode == 0:  # it finished before the signal came
        return
    assert proc.returncode == 130, f"exit {proc.returncode}: {err}"  # a string: pytest shows it whole
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


def test_a_stop_during_an_import_is_raised_once_the_import_is_done(tmp_path, monkeypatch) -> None:
    """Code inside an import may be C or C++ that cannot take an exception (torch 2.4's import of numpy
    swallows it, pybind11 aborts the process): the command line holds the stop until the module is in."""
    (tmp_path / "stopped_import.py").write_text(
        "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\nDONE = sum(range(100_000))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(Stopped, match="SIGTERM"), stops_raise():
        load("stopped_import")
    assert sys.modules.pop("stopped_import").DONE == 4_999_950_000  # the import ran to its end


@pytest.mark.parametrize("args, message", [
    (["--device", "cpu:x"], "unknown device 'cpu:x'"),
    (["--out", ""], "--out is empty"),
    (["--batch-size", "999999999"], "batch size 999999999 is too large"),
    (["--workers", "100000"], "workers must lie between 0 and 64"),
    (["--epochs", "1000000000000000000000000000000"], "epochs 1000000000000000000000000000000 is too many"),
    (["--config", "/dev/zero"], "/dev/zero is not a run config"),
])
def test_values_that_cannot_be_a_run_are_one_line(args: list[str], message: str) -> None:
    which = [] if "--config" in args else ["--experiment", "alexnet"]
    result = run_cli("train", *which, "--dataset", "fake", *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
