"""The lab's notebooks, and how papermill runs them: in the notebooks folder, as Jupyter does."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
TRAIN_NOTEBOOK = NOTEBOOK_DIR / "02_train.ipynb"
REPORT_NOTEBOOK = NOTEBOOK_DIR / "03_report.ipynb"
KERNEL = "python3"  # inside a venv, jupyter_client runs it with the venv's own Python


def execute(notebook: Path, output: Path, parameters: dict[str, Any], echo: bool) -> None:
    """Run ``notebook`` with ``parameters`` into ``output``, in the notebooks folder like Jupyter."""
    import papermill  # noqa: PLC0415 (optional and heavy: only the lab and the report run notebooks)

    output.parent.mkdir(parents=True, exist_ok=True)
    # stdout_file/stderr_file pass the notebook's prints and progress bars through as they come;
    # that is what papermill's log_output does too, but without a logger prefix on every line.
    papermill.execute_notebook(
        str(notebook), str(output), parameters=parameters, kernel_name=KERNEL, cwd=str(NOTEBOOK_DIR),
        progress_bar=False, log_output=False,
        stdout_file=sys.stdout if echo else None, stderr_file=sys.stderr if echo else None,
        # The kernel's own log says at every start that a local kernel talks over plain TCP, and
        # at every stop that it was interrupted; the notebook's errors come as its outputs anyway.
        extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
    )
