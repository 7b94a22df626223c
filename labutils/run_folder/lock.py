"""One process at a time in a folder: an OS lock on the folder itself; ``<folder>/.lock`` names its holder.

The lock is ``flock`` on the open folder, so it dies with the process that holds it: after
``kill -9`` or a crash nothing stale is left, and the next run simply takes it. Deleting
``.lock`` does not release it (the folder is what is locked; where a file system cannot lock a
folder, the ``.lock`` file is locked instead). ``.lock`` keeps the holder's PID, so whoever is
refused can be told who holds it. A process that already holds a folder's lock may ask again
(a notebook cell run twice); it is released with ``release_folder`` or when the process ends.

``make_folder`` creates a folder that is about to be written, or says in one line why it
cannot be (a file in the way, no permission, a read-only disk), before any work is done.
"""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
from pathlib import Path

from ..errors import LabError
from .files import TEMP_PREFIX, TEMP_SUFFIX

LOCK_NAME = ".lock"

_held: dict[Path, int] = {}  # folder (resolved) -> the locked file descriptor (the folder's, or its .lock's)


class FolderInUseError(LabError):
    """Another process holds the folder."""


def make_folder(path: str | Path, option: str) -> Path:
    """Create ``path`` (and its parents) and check that files can be written into it.

    ``option`` names what chose the path (``--out``, ``--runs``, ...), for the message.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=f"{TEMP_PREFIX}write-check.", suffix=TEMP_SUFFIX)
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


def lock_folder(path: str | Path, option: str = "--out") -> bool:
    """Make ``path`` this process's alone, creating it; ``FolderInUseError`` names the holder.
    Returns whether the lock was taken now (False: this process held it already)."""
    folder = make_folder(path, option).resolve()
    if folder in _held:
        return False
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        if not _flock(fd, path):
            os.close(fd)
            raise FolderInUseError(_in_use(path, option, _read_pid(folder / LOCK_NAME)))
    except OSError:  # a file system that cannot lock a folder: lock the .lock file instead
        fd = _lock_file(folder, path, option)
    try:
        (folder / LOCK_NAME).write_text(f"{os.getpid()}\n")
    except OSError as error:
        os.close(fd)
        raise LabError(f"cannot write to {path}: {_why(folder / LOCK_NAME, error)}; pass another {option}") from None
    _held[folder] = fd
    return True


def _flock(fd: int, path: str | Path) -> bool:
    """Take ``fd``'s exclusive lock without waiting: False when another process holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise
    return True


def _lock_file(folder: Path, path: str | Path, option: str) -> int:
    try:
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        locked = _flock(fd, path)
    except OSError as error:
        raise LabError(f"cannot lock {path}: {_why(folder / LOCK_NAME, error)}; pass another {option}") from None
    if not locked:
        os.close(fd)
        raise FolderInUseError(_in_use(path, option, _read_pid(folder / LOCK_NAME)))
    return fd


def _in_use(path: str | Path, option: str, holder: int | None) -> str:
    who = f"process {holder}" if holder else "another process"
    return (f"{path} is in use by {who} (another labutils command writing into it); "
            f"wait for it to finish, stop it, or pass another {option}")


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
    return _key(path) in _held


def release_folder(path: str | Path) -> None:
    """Give up ``path``'s lock if this process holds it (the file stays: unlinking it would let
    two processes lock two different files)."""
    fd = _held.pop(_key(path), None)
    if fd is not None:
        os.close(fd)


def _key(path: str | Path) -> Path:
    """The folder's resolved path (as it was locked); a path that does not resolve (a symlink loop) as given."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(path).absolute()


def _read_pid(lock_file: Path) -> int | None:
    try:
        text = lock_file.read_text(errors="replace")[:32].strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
