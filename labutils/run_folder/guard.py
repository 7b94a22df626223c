"""Guarding a run folder: who may write it, what in it may be reused, what a stop leaves in it.

``prepare_run`` opens the folder for a new run: it locks it (one process per run folder, see
``lock.py``) before any data or model is loaded, and it never deletes a run's results
(``best.pt``, ``history.csv``, ``last.pt``) without ``--force``. ``reuse_problem`` says why a
folder cannot be trained into (``lab`` asks it of every run folder before training any).
``record_stop`` writes what a stop request (Ctrl-C, SIGTERM) outside the training loop left.
"""

from __future__ import annotations

from ..config import RunConfig
from ..data import fingerprint
from ..errors import CheckpointError, LabError, TrainingInterrupted
from ..runtime.interrupt import StopRequest
from .checkpoint import load_checkpoint
from .folder import COMPLETE, RunFolder
from .identity import DATA_KEY, differences
from .lock import holds_folder

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
        check_resumable(state, run, config)
        return run, state
    if config.resume and run.kept_files():
        print(f"{run.path}: nothing to resume (no epoch's state was saved in last.pt): starting over", flush=True)
    run.clear()  # an unfinished run without a last.pt, or only a status: nothing that could be continued
    return run, None


def reuse_problem(run: RunFolder, resume: bool, elsewhere: str = "--out") -> str | None:
    """Why ``run`` cannot be trained into without --force (None: it can; with ``resume``, from last.pt).

    ``elsewhere`` is the option that picks another folder."""
    foreign = run.foreign_files()
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        return (f"{run.path} holds files this lab did not write ({shown}): move them away or pass {elsewhere} for "
                "another folder (--force trains there anyway: it replaces files with the lab's names, keeps the rest)")
    kept = run.kept_files()
    unreadable = run.metrics_problem()
    if unreadable and not (resume and run.last.exists()):
        if not kept and run.read_metrics() is None:
            return None  # nothing but a status cut short: nothing to lose
        if not kept:
            return (f"{unreadable}: it is not a metrics.json this lab wrote; move it away, pass {elsewhere} for "
                    "another folder, or --force to replace it")
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
    if kept and not resume:
        return (f"{run.path} holds an unfinished run ({status or 'no status'}) with {', '.join(kept)} but no "
                f"last.pt to continue from; pass --resume or --force to start it over, or {elsewhere} to write "
                "elsewhere")
    return None


def check_resumable(state: dict, run: RunFolder, config: RunConfig) -> None:
    """Refuse a ``last.pt`` that lacks what ``train_model`` resumes from, that another config or other
    data made, or whose best weights (``best.pt``, what the run tests) are gone."""
    path = run.last
    lacking = [key for key in RESUMABLE_STATE if key not in state]
    if lacking:
        raise CheckpointError(f"{path} is not a resumable checkpoint (it lacks {', '.join(lacking)}); "
                              "pass --force to start over")
    saved = state.get("config")
    saved = {**(saved if isinstance(saved, dict) else {}), **({DATA_KEY: state[DATA_KEY]} if DATA_KEY in state else {})}
    asked = {**config.to_dict(), DATA_KEY: fingerprint(config.dataset, config.data_root)}
    changed = differences(saved, asked)
    if changed:
        raise LabError(f"cannot resume {path.parent}: this command asks for another run ({'; '.join(changed)}); "
                       "use the options it was started with, or --force to start over")
    if state.get("best_epoch", 0) > 0 and not run.best.exists():
        raise CheckpointError(f"{run.best} is missing: it holds the weights of epoch {state['best_epoch']}, the best so "
                              "far, which the run tests at the end; restore it, or pass --force to start over")


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
