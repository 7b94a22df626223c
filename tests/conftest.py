"""Fixtures shared by the tests (plain helpers live in modules beside them: cli.py, fake_runs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_runs import write_run


@pytest.fixture
def full_runs(tmp_path: Path) -> Path:
    """Profile 'full': three seeds of the two AlexNets, one of the others; one failed, one missing."""
    runs = tmp_path / "runs"
    accuracy = {"alexnet": 0.86, "alexnet_lrn": 0.87, "googlenet": 0.92, "alexnet_pretrained": 0.91}
    for experiment, acc in accuracy.items():
        for seed in ((0, 1, 2) if experiment.startswith("alexnet") and "pretrained" not in experiment else (0,)):
            write_run(runs, "full", experiment, seed, acc + 0.004 * seed)
    write_run(runs, "full", "alexnet_pretrained", 1, 0.5, status="failed: the training loss became nan")
    return runs
