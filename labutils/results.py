"""The run folder: the contract between training and the report.

``runs/<profile>/<experiment>/seed<k>/`` holds

- ``config.json``   what was asked for (written when the run starts)
- ``history.csv``   one row per finished epoch
- ``last.pt``       the resumable state (model, optimizer, schedule, RNG, position in the epoch),
                    removed once the run is complete
- ``best.pt``       the weights with the best validation accuracy
- ``metrics.json``  the summary; ``status`` is ``complete`` only once the test set was scored,
                    otherwise it says why not (``running``, ``interrupted: ...``, ``failed: ...``)

Every file is written to a temporary name in the same folder, flushed to disk and renamed over
the old one, so a crash at any moment leaves either the old file or the new one, never half of
one. The report reads only these files.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from .errors import CheckpointError

HISTORY_FIELDS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr",
                  "train_seconds", "eval_seconds", "images_per_s")
METRICS_FIELDS = ("experiment", "model", "params", "epochs", "best_epoch", "train_loss", "train_acc",
                  "val_loss", "val_acc", "test_loss", "test_acc", "train_time_s", "images_per_s",
                  "device", "precision", "memory_format", "seed", "status")
COMPLETE = "complete"
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, default=_jsonable) + "\n").encode())


def _jsonable(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def read_json(path: Path) -> dict | None:
    """The JSON object in ``path``, or None when the file is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


class RunFolder:
    """One run's folder; see the module docstring for what it holds."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.config = self.path / "config.json"
        self.metrics = self.path / "metrics.json"
        self.history = self.path / "history.csv"
        self.best = self.path / "best.pt"
        self.last = self.path / "last.pt"

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    # metrics and status
    def read_metrics(self) -> dict | None:
        return read_json(self.metrics)

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
        if not self.history.exists():
            return []
        with open(self.history, newline="") as f:
            return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]

    # checkpoints
    def save_checkpoint(self, path: Path, state: dict) -> None:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(path, buffer.getvalue())

    def clear(self) -> None:
        """Remove what an earlier run left (for ``--force``); other files stay."""
        for path in (self.metrics, self.history, self.best, self.last, self.config):
            path.unlink(missing_ok=True)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """A checkpoint saved by this lab, loaded with ``weights_only=True``; clear error otherwise."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:
        raise CheckpointError(
            f"checkpoint {path} is corrupted or not a checkpoint of this lab ({type(error).__name__}); "
            "delete it and train again (--force)"
        ) from error
    if not isinstance(state, dict) or "model" not in state:
        raise CheckpointError(f"checkpoint {path} holds no model weights; delete it and train again (--force)")
    return state


def load_weights(model: torch.nn.Module, state: dict, path: str | Path, experiment: str) -> None:
    """Load a checkpoint's weights into ``model``, explaining an architecture mismatch."""
    saved = state.get("experiment")
    if saved is not None and saved != experiment:
        raise CheckpointError(f"checkpoint {path} was trained as '{saved}', not '{experiment}': "
                              f"pass --experiment {saved} or another checkpoint")
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError) as error:
        first = str(error).strip().splitlines()[0]
        raise CheckpointError(f"checkpoint {path} does not fit the '{experiment}' architecture ({first}); "
                              "use the checkpoint of the same experiment") from error


def _number(text: str) -> float | int | str:
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value
