"""Fixtures shared by the tests (plain helpers live in modules beside them: cli.py, fake_runs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_runs import smoke_runs, write_profile, write_run


@pytest.fixture
def full_runs(tmp_path: Path) -> Path:
    """Profile 'full' with seeds 0, 1 and 2 (``runs/full.yaml``): three seeds of the two AlexNets, one of
    GoogLeNet and of pretrained AlexNet (whose seed 1 failed), none of pretrained GoogLeNet."""
    runs = tmp_path / "runs"
    write_profile(runs, "full", [0, 1, 2])
    accuracy = {"alexnet": 0.86, "alexnet_lrn": 0.87, "googlenet": 0.92, "alexnet_pretrained": 0.91}
    for experiment, acc in accuracy.items():
        for seed in ((0, 1, 2) if experiment.startswith("alexnet") and "pretrained" not in experiment else (0,)):
            write_run(runs, "full", experiment, seed, acc + 0.004 * seed)
    write_run(runs, "full", "alexnet_pretrained", 1, 0.5, status="failed: the training loss became nan")
    return runs


@pytest.fixture
def smoke_like(tmp_path: Path) -> Path:
    """The run folders a smoke lab leaves (generated images, random "pretrained" weights), without training."""
    return smoke_runs(tmp_path / "runs")
