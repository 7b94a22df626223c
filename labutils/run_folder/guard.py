"""Guarding a run folder: who may write it, what in it may be reused, what a stop leaves in it.

``prepare_run`` opens the folder for a new run: it locks it (one process per run folder, see
``folder_lock.py``) before any data or model is loaded, and it never deletes a run's results
(``best.pt``, ``history.csv``, ``last.pt``) without ``--force``. ``reuse_problem`` says why a
folder cannot be trained into (``lab`` asks it of every run folder before training any).
``record_stop`` writes what a stop request (Ctrl-C, SIGTERM) outside the training loop left.
"""

from __future__ import annotations

from pathlib import Path

from ..config import RESUME_KEYS, RunConfig
from ..errors import CheckpointError, LabError
from ..results import COMPLETE, RunFolder, load_checkpoint
from ..runtime.interrupt import StopRequest
from ..train_module import TrainingInterrupted
from .folder_lock import holds_folder

# What train_model reads from a last.pt to continue.
RESUMABLE_STATE = ("model", "optimizer", "epoch", "batch", "history", "best_acc", "best_epoch", "rng")


def prepare_run(config: RunConfig) -> tuple[RunFolder, dict | None]:
    """The run folder, made ready for this config; with the state to resume from, if any.

    The folder is locked first (one process per run folder), before any data or model is
    loaded. A run's results (``best.pt``, ``history.csv``, ``last.pt``) are never deleted
    without ``force``; an unfinished run is continued only when asked (``resume``).
    """
    run = RunFolder(config.run_dir)
    run.open_for_writing()
    if config.force:
        run.clear()
        return run, None
    problem = reuse_problem(run, config.resume)
    if problem is not None:
        raise LabError(problem)
    if run.last.exists():  # and resume was asked for
        state = load_checkpoint(run.last)
        check_resumable(state, run.last, config)
        return run, state
    run.clear()  # only the status of a run stopped before its first epoch: nothing to keep
    return run, None


def reuse_problem(run: RunFolder, resume: bool, elsewhere: str = "--out") -> str | None:
    """Why ``run`` cannot be trained into without --force (None: it can; with ``resume``, from last.pt).

    ``elsewhere`` is the option that picks another folder."""
    kept = run.kept_files()
    unreadable = run.metrics_problem()
    if unreadable and not (resume and run.last.exists()):
        if not kept:
            return None  # nothing but a damaged status: nothing to lose
        return (f"{unreadable}, and the folder holds {', '.join(kept)}: restore the file, or pass --force to "
                f"train the run again (deleting them), or {elsewhere} to write elsewhere")
    status = run.status()
    if status == COMPLETE:
        acc = (run.read_metrics() or {}).get("test_acc")
        accuracy = f" (test accuracy {acc:.2%})" if isinstance(acc, (int, float)) else ""
        return (f"{run.path} already holds a complete run{accuracy}; pass --force to train it again, "
                f"or {elsewhere} to write elsewhere")
    if run.last.exists():
        return None if resume else (f"{run.path} holds an unfinished run ({status or 'no status'}); "
                                    "pass --resume to continue it or --force to start over")
    if kept:
        return (f"{run.path} holds an unfinished run ({status or 'no status'}) with {', '.join(kept)} but no "
                f"last.pt to resume from; pass --force to start over, or {elsewhere} to write elsewhere")
    return None


def check_resumable(state: dict, path: Path, config: RunConfig) -> None:
    """Refuse a ``last.pt`` that lacks what ``train_model`` resumes from, or that another config made."""
    lacking = [key for key in RESUMABLE_STATE if key not in state]
    if lacking:
        raise CheckpointError(f"{path} is not a resumable checkpoint (it lacks {', '.join(lacking)}); "
                              "pass --force to start over")
    saved = state.get("config")
    saved = saved if isinstance(saved, dict) else {}
    for key in RESUME_KEYS:
        if key in saved and saved[key] != getattr(config, key):
            raise LabError(f"cannot resume {path.parent}: it was started with {key}={saved[key]!r}, "
                           f"this run asks {key}={getattr(config, key)!r}; use the same options or --force")


def record_stop(run: RunFolder, signal: str) -> TrainingInterrupted:
    """The run folder's status after a stop outside the training loop, and the error that says it."""
    if not holds_folder(run.path):
        return TrainingInterrupted(f"stopped by {signal} before {run.path} was opened; nothing was written")
    if run.is_complete():
        return TrainingInterrupted(f"stopped by {signal} after {run.path} was complete; nothing is lost")
    if run.last.exists():
        message = (f"stopped by {signal}; the finished epochs are saved in {run.last}: rerun the same command "
                   "with --resume")
    else:
        message = f"stopped by {signal} before the first epoch was saved: rerun the same command"
    with StopRequest(shield=True):  # a second Ctrl-C must not cut this write in half
        try:
            run.mark(f"interrupted: {message}")
        except LabError:
            pass  # a full disk: the message still says what to do
    return TrainingInterrupted(message)
