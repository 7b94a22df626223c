"""Writing a run folder's files whole or not at all, and reading its JSON.

Every file is written to a temporary name in the same folder, flushed to disk and renamed over
the old one, so a crash at any moment leaves either the old file or the new one, never half of
one. The temporaries carry a name only this lab writes (``TEMP_PREFIX``), so that a clean-up
removes its own leftovers and nothing a user put there.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from ..errors import LabError

TEMP_PREFIX, TEMP_SUFFIX = ".labutils-", ".tmp"
TEMP_PATTERN = f"{TEMP_PREFIX}*{TEMP_SUFFIX}"  # what atomic_write_bytes names its temporaries


@functools.cache
def _file_mode() -> int:
    """The mode a newly created file gets here (0666 less the umask); mkstemp's own is 0600."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


class WriteError(LabError):
    """A file could not be written (a full disk, no permission, ...)."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all; ``WriteError`` (one line) when it cannot."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{TEMP_PREFIX}{path.name}.", suffix=TEMP_SUFFIX)
        os.fchmod(fd, _file_mode())
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
