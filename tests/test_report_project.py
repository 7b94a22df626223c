"""What is where in the project (report/project.py), read from the files."""

from __future__ import annotations

from pathlib import Path

from labutils.report.project import project_structure


def test_project_structure_reads_docstrings() -> None:
    root = Path(__file__).resolve().parent.parent
    rows = {row["path"]: row for row in project_structure(root)}
    assert rows["labutils/models/googlenet.py"]["modules"] == ["GoogLeNet"]
    assert rows["labutils/lab/runner.py"]["summary"] and rows["labutils/report/runs.py"]["summary"]  # sub-packages too
    assert "notebooks/02_train.ipynb" in rows
