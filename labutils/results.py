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
one; a temporary left by a killed process is removed when the folder is next opened. One
process at a time writes a run folder (``open_for_writing`` locks it, see ``lab/folder_lock.py``).
The report reads only these files.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from .errors import QUOTE_LIMIT, CheckpointError, LabError, quoted
from .lab.folder_lock import lock_folder

HISTORY_FIELDS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr",
                  "train_seconds", "eval_seconds", "images_per_s")
METRICS_FIELDS = ("experiment", "model", "params", "epochs", "best_epoch", "train_loss", "train_acc",
                  "val_loss", "val_acc", "test_loss", "test_acc", "train_time_s", "images_per_s",
                  "device", "precision", "memory_format", "seed", "status")
COMPLETE = "complete"
_UMASK = os.umask(0o022)
os.umask(_UMASK)


TEMP_PATTERN = ".*.tmp"  # what atomic_write_bytes names its temporaries


class WriteError(LabError):
    """A file could not be written (a full disk, no permission, ...)."""


class RunFileError(LabError):
    """A run folder's file is unreadable or cut short."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all; ``WriteError`` (one line) when it cannot."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise WriteError(_write_problem(path, error)) from error
        raise


def _write_problem(path: Path, error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        return (f"no space left on the disk to write {path}: free some space, then rerun the same command "
                "(with --resume, a training run keeps its finished epochs)")
    return f"cannot write {path}: {error.strerror or error}"


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
        value = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def json_problem(path: Path) -> str | None:
    """Why ``path`` does not hold a JSON object (None: it does, or it does not exist)."""
    try:
        value = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    except ValueError as error:
        return f"is not valid JSON ({' '.join(str(error).split())})"
    if not isinstance(value, dict):
        return f"holds {json.dumps(value)[:40]} instead of a JSON object"
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
        self.predictions = self.path / "predictions.npz"

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def open_for_writing(self, option: str = "--out") -> None:
        """Create the folder and make it this process's alone (``FolderInUseError`` names the
        holder); remove temporaries a killed process left behind."""
        lock_folder(self.path, option)
        self.remove_temporaries()

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


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """A checkpoint saved by this lab, loaded with ``weights_only=True``; clear error otherwise."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if path.is_dir():
        found = [p.name for p in (path / "best.pt", path / "last.pt") if p.exists()]
        example = path / (found[0] if found else "best.pt")
        raise CheckpointError(f"{path} is a folder; a checkpoint is a file, e.g. {example}"
                              + ("" if found else " (this folder holds none)"))
    if not path.is_file():  # a named pipe: reading it would wait for a writer forever
        raise CheckpointError(f"checkpoint {path} is not a regular file: pass a best.pt or last.pt of a run folder")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except OSError as error:
        raise CheckpointError(f"checkpoint {path} cannot be read ({error.strerror or error})") from error
    except Exception as error:
        raise CheckpointError(
            f"checkpoint {path} is corrupted or not a checkpoint of this lab ({type(error).__name__}); "
            "delete it and train again (--force)"
        ) from error
    weights = state.get("model") if isinstance(state, dict) else None
    if not isinstance(weights, Mapping) or not weights or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in weights.items()):
        raise CheckpointError(f"checkpoint {path} holds no model weights (a dict with a 'model' state dict); "
                              "it is not a checkpoint of this lab: pass a best.pt or last.pt of a run folder")
    return state


def load_weights(model: torch.nn.Module, state: dict, path: str | Path, experiment: str) -> None:
    """Load a checkpoint's weights into ``model``, explaining an architecture mismatch."""
    saved = state.get("experiment")
    if saved is not None and saved != experiment:
        name = saved[:QUOTE_LIMIT] if isinstance(saved, str) else quoted(saved)
        raise CheckpointError(f"checkpoint {path} was trained as '{name}', not '{experiment}': "
                              f"pass --experiment {name} or another checkpoint")
    problem = weights_mismatch(model.state_dict(), state["model"])
    if problem is not None:
        raise CheckpointError(f"checkpoint {path} does not fit the '{experiment}' architecture here: {problem}")
    broken = next((k for k, v in state["model"].items() if v.is_floating_point() and not v.isfinite().all()), None)
    if broken is not None:
        raise CheckpointError(f"checkpoint {path} holds weights that are not finite (NaN or infinity in {broken}): "
                              "the run diverged; use another checkpoint, or train again (e.g. with a smaller --lr)")
    model.load_state_dict(state["model"])


def weights_mismatch(own: Mapping, saved: Mapping) -> str | None:
    """What differs between a model's state dict and a checkpoint's, and what to do (None: they fit)."""
    missing = [k for k in own if k not in saved]
    unexpected = [k for k in saved if k not in own]
    if missing or unexpected:
        parts = [f"it lacks {len(missing)} of the model's tensors (e.g. {missing[0]})" if missing else "",
                 f"holds {len(unexpected)} the model has not (e.g. {quoted(unexpected[0])})" if unexpected else ""]
        return (" and ".join(p for p in parts if p) + "; it was saved from another architecture: "
                "use the checkpoint of the same experiment")
    shapes = [(k, tuple(saved[k].shape), tuple(own[k].shape)) for k in own if saved[k].shape != own[k].shape]
    if not shapes:
        return None
    counts = {(s[0], o[0]) for _, s, o in shapes if s and o and s[1:] == o[1:]}
    if len(counts) == 1 and all(s and o and s[1:] == o[1:] for _, s, o in shapes):
        trained, here = counts.pop()
        return (f"it was trained for {trained} classes and the test images here have {here}: test it on the "
                "data it was trained on (the same --dataset and --data-root)")
    key, s, o = shapes[0]
    return (f"{key} has shape {list(s)} in the checkpoint and {list(o)} in the model "
            f"({len(shapes)} tensor(s) differ); use the checkpoint of the same experiment and settings")


def _number(text: str) -> float | int | str:
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value
