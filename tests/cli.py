"""The command line as a user types it: ``python -m labutils ARGS`` in a child process.

Shared by the tests that check exit statuses, signals and concurrent processes. A process
that is started to be signalled or raced gets one OpenMP thread: on a busy 2-core machine two
spinning threads per process make several at once crawl.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
ONE_THREAD = {**ENV, "OMP_NUM_THREADS": "1"}


def run_cli(*args: str, timeout: float = 900, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m labutils ARGS`` in the repository to the end; its output captured as text."""
    return subprocess.run([sys.executable, "-m", "labutils", *args], cwd=REPO, env=env or ENV, capture_output=True,
                          text=True, timeout=timeout, check=False)


def start_cli(*args: str, env: dict | None = None) -> subprocess.Popen:
    """Start ``python -m labutils ARGS`` in the repository (to signal it, or race it)."""
    return subprocess.Popen([sys.executable, "-m", "labutils", *args], cwd=REPO, env=env or ONE_THREAD, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
