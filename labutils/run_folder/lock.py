"""One process at a time in a folder: an OS lock on ``<folder>/.lock``, which names its holder.

The lock is ``flock`` on the open file, so it dies with the process that holds it: after
``kill -9`` or a crash nothing stale is left, and the next run simply takes it. The file keeps
the holder's PID, so whoever is refused can be told who holds it. A process that already holds
a folder's lock may ask again (a notebook cell run twice); it is released with
``release_folder`` or when the process ends.

``make_folder`` creates a folder that is about to be written, or says in one line why it
cannot be (a file in the way, no permission, a read-only disk), before any work is done.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from ..errors import LabError

LOCK_NAME = ".lock"

_held: dict[Path, int] = {}  # folder (resolved) -> file descriptor of its locked .lock


class FolderInUseError(LabError):
    """Another process holds the folder."""


def make_folder(path: str | Path, option: str) -> Path:
    """Create ``path`` (and its parents) and check that files can be written into it.

    ``option`` names what chose the path (``--out``, ``--runs``, ...), for the message.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-check.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise LabError(f"cannot write to {path}: {_why(path, error)}; pass another {option}") from None
    return path


def _why(path: Path, error: OSError) -> str:
    """What stands in the way of writing into ``path``, in a few words."""
    if error.errno in (errno.EEXIST, errno.ENOTDIR):
        blocker = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            return f"{blocker} is a file, not a folder"
    if error.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied ({error.filename or path})"
    if error.errno == errno.EROFS:
        return "the file system is read-only"
    if error.errno == errno.ENOSPC:
        return "no space left on the disk"
    return error.strerror or str(error)


def lock_folder(path: str | Path, option: str = "--out") -> None:
    """Make ``path`` this process's alone, creating it; ``FolderInUseError`` names the holder."""
    import fcntl

    folder = make_folder(path, option).resolve()
    if folder in _held:
        return
    try:
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise LabError(f"cannot write to {path}: {_why(folder / LOCK_NAME, error)}; pass another {option}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        holder = _read_pid(fd)
        os.close(fd)
        if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            raise LabError(f"cannot lock {path}: {error.strerror}") from None
        who = f"process {holder}" if holder else "another process"
        raise FolderInUseError(f"{path} is in use by {who} (another labutils command writing into it); "
                               f"wait for it to finish, stop it, or pass another {option}") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    _held[folder] = fd


def try_lock_folder(path: str | Path) -> bool:
    """``lock_folder`` for a folder that already exists, answering False where it is in use
    (or cannot be locked) instead of raising."""
    if not Path(path).is_dir():
        return False
    try:
        lock_folder(path)
    except LabError:
        return False
    return True


def holds_folder(path: str | Path) -> bool:
    """Whether this process holds ``path``'s lock."""
    return Path(path).resolve() in _held


def release_folder(path: str | Path) -> None:
    """Give up ``path``'s lock if this process holds it (the file stays: unlinking it would let
    two processes lock two different files)."""
    fd = _held.pop(Path(path).resolve(), None)
    if fd is not None:
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
