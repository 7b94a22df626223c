"""The GPU check (scripts/gpu_check.sh): its summary, and its CPU dry run from start to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_bench import _measured_report

from labutils.bench.summary import summary

ROOT = Path(__file__).resolve().parent.parent
RUNS = ["alexnet", "alexnet_lrn", "googlenet", "alexnet_pretrained", "googlenet_pretrained", "resume", "auto"]
COMPLETE = {"status": "complete", "precision": "bf16", "memory_format": "channels_last", "test_acc": 0.25,
            "wall_time_s": 9.0}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _complete_check(out: Path) -> None:
    """An output folder as a check where everything finished writes it (one run, one lab run)."""
    _write(out / "bench.json", json.dumps(_measured_report()))
    _write(out / "runs" / "alexnet" / "metrics.json", json.dumps(COMPLETE))
    _write(out / "steps.tsv", "bench\t0\t12\t\nstop\t0\t5\texit 130 (130 expected)\n")
    _write(out / "lab" / "runs" / "gpu_check_profile" / "alexnet" / "seed0" / "metrics.json", json.dumps(COMPLETE))
    _write(out / "lab" / "report" / "report.html", "<html></html>")


def test_the_summary_is_complete_only_when_every_part_is(tmp_path):
    _complete_check(tmp_path)
    text, complete = summary(tmp_path, ["alexnet"])
    assert complete and text.splitlines()[-1] == "all complete: yes"
    row = next(line.split() for line in text.splitlines() if line.startswith("alexnet "))
    assert row[1] == "40" and row[-5:] == ["complete", "bf16", "channels_last", "25.0%", "9.0"]
    assert "scaling alexnet: 8: 40, 16: out of memory" in text
    assert "target: alexnet: data pipeline <= 10% of the bare step: 25.0 -> NOT met" in text
    assert any(line.split()[:2] == ["gpu_check_profile/alexnet/seed0", "complete"] for line in text.splitlines())
    text, complete = summary(tmp_path, ["alexnet", "googlenet"])
    assert not complete and "missing" in next(line for line in text.splitlines() if line.startswith("googlenet"))


@pytest.mark.parametrize("breaks", ["a step failed", "no report", "a lab run failed", "no steps"])
def test_one_missing_part_makes_the_check_fail(tmp_path, breaks):
    _complete_check(tmp_path)
    if breaks == "a step failed":
        _write(tmp_path / "steps.tsv", "bench\t0\t12\t\nlab\t124\t300\ttime limit\n")
    elif breaks == "no report":
        (tmp_path / "lab" / "report" / "report.html").unlink()
    elif breaks == "a lab run failed":
        _write(tmp_path / "lab" / "runs" / "gpu_check_profile" / "googlenet" / "seed0" / "metrics.json",
               json.dumps({**COMPLETE, "status": "failed: the training loss became nan"}))
    else:
        (tmp_path / "steps.tsv").unlink()
    text, complete = summary(tmp_path, ["alexnet"])
    assert not complete and text.splitlines()[-1] == "all complete: NO"


@pytest.mark.slow
def test_the_cpu_dry_run_completes_every_step(tmp_path):
    """GPU_CHECK_CPU=1: bench, five epochs, the lab through papermill and its report, test, stop and resume."""
    env = {**os.environ, "GPU_CHECK_CPU": "1", "GPU_CHECK_PYTHON": sys.executable, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    for run in RUNS:
        assert json.loads((tmp_path / "runs" / run / "metrics.json").read_text())["status"] == "complete", run
    lab = sorted((tmp_path / "lab" / "runs" / "gpu_check_profile").glob("*/seed0/metrics.json"))
    assert len(lab) == 5 and all(json.loads(m.read_text())["status"] == "complete" for m in lab)
    assert (tmp_path / "lab" / "report" / "report.html").stat().st_size > 10_000
    steps = {row.split("\t")[0]: row.split("\t") for row in (tmp_path / "steps.tsv").read_text().splitlines()}
    assert steps["stop"][1:4:2] == ["0", "exit 130 (130 expected)"]  # the SIGINT stopped it, --resume finished it
    assert len((tmp_path / "runs" / "resume" / "history.csv").read_text().splitlines()) == 1 + 10
