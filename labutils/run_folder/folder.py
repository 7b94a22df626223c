"""The run folder: the contract between training and the report.

``runs/<profile>/<experiment>/seed<k>/`` holds

- ``config.json``   what was asked for (written when the run starts)
- ``history.csv``   one row per finished epoch
- ``last.pt``       the resumable state (model, optimizer, schedule, RNG, position in the epoch),
                    removed once the run is complete
- ``best.pt``       the weights with the best validation accuracy
- ``predictions.npz`` every test image's prediction and the most confident mistakes (``predictions.py``)
- ``metrics.json``  the summary; ``status`` is ``complete`` only once the test set was scored,
                    otherwise it says why not (``running``, ``interrupted: ...``, ``failed: ...``)

Every file is written to a temporary name in the same folder, flushed to disk and renamed over
the old one, so a crash at any moment leaves either the old file or the new one, never half of
one (``files.py``); a temporary left by a killed process is removed when the folder is next
opened. One process at a time writes a run folder (``open_for_writing`` locks it, ``lock.py``).
The report reads only these files.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import torch

from ..errors import LabError
from .files import TEMP_PATTERN, WriteError, atomic_write_bytes, atomic_write_json, json_problem, read_json
from .identity import DATA_KEY
from .lock import lock_folder

HISTORY_FIELDS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr",
                  "train_seconds", "eval_seconds", "images_per_s")
METRICS_FIELDS = ("experiment", "model", "params", "epochs", "best_epoch", "train_loss", "train_acc",
                  "val_loss", "val_acc", "test_loss", "test_acc", "train_time_s", "images_per_s",
                  "device", "precision", "memory_format", "seed", "status")
COMPLETE = "complete"
# Everything the lab writes into a run folder (the lock, the executed notebook, its temporaries aside).
OWN_FILES = ("config.json", "metrics.json", "history.csv", "best.pt", "last.pt", "predictions.npz", "02_train.ipynb")


class RunFileError(LabError):
    """A run folder's file is unreadable or cut short."""


class RunFolder:
    """One run's folder; see the module docstring for what it holds."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.config = self.path / "config.json"
        self.metrics = self.path / "metrics.json"
        self.history = self.path / "history.csv"
        self.best = self.path / "best.pt"
        self.last = self.path / "last.pt"
        self.predictions = self.path / "predictions.npz"

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def open_for_writing(self, option: str = "--out") -> None:
        """Create the folder and make it this process's alone (``FolderInUseError`` names the
        holder); remove temporaries a killed process left behind."""
        lock_folder(self.path, option)
        self.remove_temporaries()
        if self.last.exists() and self.is_complete():  # killed between the final metrics.json and removing it
            self.last.unlink(missing_ok=True)

    def remove_temporaries(self) -> None:
        for leftover in self.path.glob(TEMP_PATTERN):
            if leftover.is_file():
                leftover.unlink(missing_ok=True)

    # metrics and status
    def read_metrics(self) -> dict | None:
        return read_json(self.metrics)

    def metrics_problem(self) -> str | None:
        """Why ``metrics.json`` cannot be used, naming it (None: it is fine, or there is none)."""
        problem = json_problem(self.metrics)
        if problem is None and self.metrics.exists() and not isinstance(self.status(), str):
            problem = "has no status"
        return f"{self.metrics} {problem}" if problem else None

    def foreign_files(self) -> list[str]:
        """The files here that this lab did not write (hidden ones aside: .ipynb_checkpoints, .DS_Store)."""
        if not self.path.is_dir():
            return []
        foreign = [p.name for p in sorted(self.path.iterdir()) if not p.name.startswith(".") and p.name not in OWN_FILES]
        if self.config.exists() and not _is_config(read_json(self.config)):
            foreign.append(self.config.name)
        if self.history.is_file() and not _is_history(self.history):
            foreign.append(self.history.name)
        if self.predictions.is_file() and not zipfile.is_zipfile(self.predictions):
            foreign.append(self.predictions.name)
        return foreign

    def recorded_run(self) -> dict:
        """What the run was made with: its config.json, and the data's fingerprint from metrics.json."""
        recorded = read_json(self.config) or {}
        metrics = self.read_metrics() or {}
        if DATA_KEY in metrics:
            recorded[DATA_KEY] = metrics[DATA_KEY]
        return recorded

    def kept_files(self) -> list[str]:
        """The results in the folder that only --force may delete."""
        return [p.name for p in (self.best, self.history, self.last) if p.exists()]

    def status(self) -> str | None:
        metrics = self.read_metrics()
        return None if metrics is None else metrics.get("status")

    def is_complete(self) -> bool:
        return self.status() == COMPLETE

    def write_metrics(self, metrics: dict) -> None:
        atomic_write_json(self.metrics, metrics)

    def mark(self, status: str, **fields: Any) -> None:
        """Record a status that is not ``complete`` (running, interrupted, failed), keeping what is known."""
        metrics = self.read_metrics() or {}
        metrics.update(fields, status=status)
        atomic_write_json(self.metrics, metrics)

    # history
    def write_history(self, rows: list[dict]) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=HISTORY_FIELDS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_bytes(self.history, buffer.getvalue().encode())

    def read_history(self) -> list[dict]:
        """The rows of ``history.csv`` ([] when there is none); ``RunFileError`` naming the file
        and line when it is cut short or holds what this lab does not write."""
        if not self.history.exists():
            return []
        try:
            with open(self.history, newline="") as f:
                reader = csv.DictReader(f)
                rows = list(reader)
                header = reader.fieldnames or []
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise RunFileError(f"{self.history} cannot be read ({error})") from None
        lacking = [name for name in HISTORY_FIELDS if name not in header]
        if lacking:
            raise RunFileError(f"{self.history} lacks the column(s) {', '.join(lacking)}")
        history = []
        for line, row in enumerate(rows, start=2):
            values = {k: _number(v) for k, v in row.items() if k is not None and v is not None}
            if None in row or any(not isinstance(values.get(k), (int, float)) for k in HISTORY_FIELDS):
                raise RunFileError(f"{self.history} is cut short or damaged at line {line}")
            history.append(values)
        return history

    # checkpoints
    def save_checkpoint(self, path: Path, state: dict) -> None:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(path, buffer.getvalue())

    def clear(self) -> None:
        """Remove what an earlier run left (for ``--force``); other files stay."""
        for path in (self.metrics, self.history, self.best, self.last, self.config, self.predictions):
            try:
                path.unlink(missing_ok=True)
            except OSError as error:
                raise WriteError(f"cannot remove {path} ({error.strerror or error}): remove it by hand") from None
        self.remove_temporaries()


def _is_history(path: Path) -> bool:
    """A history.csv this lab wrote: its header is the lab's (the rows may be cut short)."""
    try:
        with open(path, errors="replace") as f:
            return f.readline().strip() == ",".join(HISTORY_FIELDS)
    except OSError:
        return True  # unreadable: told apart when it is read


def _is_config(value: dict | None) -> bool:
    return value is None or "experiment" in value and "epochs" in value


def _number(text: str) -> float | int | str:
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value
