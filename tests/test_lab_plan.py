"""What a lab will run and how long it takes (lab/plan.py): the CPU estimates, and a lab of days on a
CPU that asks first."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from cli import run_cli

from labutils.lab.plan import estimate_cpu_seconds, fmt_clock
from labutils.lab.profiles import load_profile
from labutils.resolve import resolve


def test_cpu_estimates() -> None:
    full = load_profile("full")
    total = sum(estimate_cpu_seconds(resolve(full.config(e, s))) for e, s in full.runs())
    assert total > 24 * 3600  # days on a CPU: the lab says so before starting
    smoke = load_profile("smoke")
    assert sum(estimate_cpu_seconds(resolve(smoke.config(e, s))) for e, s in smoke.runs()) < 5 * 60
    assert fmt_clock(83) == "1m23s" and fmt_clock(720) == "12m" and fmt_clock(7500) == "2h05m"


@pytest.mark.skipif(torch.cuda.is_available(), reason="the full profile runs on a GPU without asking")
def test_full_profile_on_a_cpu_asks_first(tmp_path: Path) -> None:
    result = run_cli("lab", "--profile", "full", "--runs", str(tmp_path / "runs"), "--report-dir", str(tmp_path))
    assert result.returncode == 2
    assert "--profile quick" in result.stderr and "--yes" in result.stderr and "would take about" in result.stderr
    assert not (tmp_path / "runs").exists()
