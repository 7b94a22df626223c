"""``python -m labutils lab``: a profile's experiments through papermill, then the report.

``run_lab`` executes ``notebooks/02_train.ipynb`` once per experiment and seed of a profile
(see ``profiles.py``; ``plan.py`` resolves the runs and estimates their time), each into its run
folder ``<runs>/<profile>/<experiment>/seed<k>/``, where the executed notebook stays beside the
results. Complete runs are skipped (unless ``force``), unfinished ones resume from their last
checkpoint, and a failed run is recorded as failed in its ``metrics.json`` while the lab goes on
with the next one. Then ``render.render_report`` renders the report over the run folders.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from ..config import RunConfig
from ..errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    LabError,
    one_line,
)
from ..run_folder import COMPLETE, RunFolder
from ..run_folder.guard import reuse_problem
from ..run_folder.lock import lock_folder, make_folder, release_folder, try_lock_folder
from .notebooks import TRAIN_NOTEBOOK, execute
from .plan import (
    STALE,
    Progress,
    check_duration,
    estimate_cpu_seconds,
    fmt_clock,
    print_plan,
    resolve_plan,
    run_state,
)
from .profiles import Profile, load_profile
from .render import REPORT_HTML, render_report, report_is_current

# After a stop, how long the lab waits for the notebook's kernel to let go of its run folder.
STOPPED_KERNEL_WAIT_S = 10.0


def run_lab(profile: str, force: bool = False, runs: str = "runs", report_dir: str = "report",
            yes: bool = False, nproc_per_node: int = 1, dry_run: bool = False,
            experiments: tuple[str, ...] | None = None, overrides: dict[str, str] | None = None,
            retrain_stale: bool = False) -> int:
    """Train every run of ``profile`` through ``02_train.ipynb``, then render the report.

    ``profile`` is a shipped profile's name or a path to a .yaml file; ``experiments`` and
    ``overrides`` narrow it (``--experiments``, ``--set``). Each run is resolved completely and
    handed to the notebook whole, so none of the notebook's interactive values reaches a lab run.
    A complete run is kept only when it was made with the settings asked now; one made with others
    is stale, and retrained only with ``retrain_stale`` (or ``force``, which retrains every run).
    The lab holds its profile's run folder and its report folder from the first check to the end,
    so a second lab on the same profile stops at once. ``nproc_per_node`` > 1 trains each run with
    DDP via torchrun. ``dry_run`` prints the plan only.

    Returns 0 when every run is complete and the report rendered, 1 when a run failed (the
    report shows which), 2 for a mistake (stale runs, hours on a CPU without ``yes``), 130 when
    interrupted (rerun to continue where it stopped).
    """
    spec = load_profile(profile).narrowed(experiments, overrides)
    runs_dir, report_path = Path(runs).resolve(), Path(report_dir)
    for note in spec.notes:
        print(f"lab: note: {note}", flush=True)
    plan = resolve_plan(spec, runs_dir)
    # Against what the profile asks, not the machine's defaults: a run made on a GPU is still the profile's here.
    states = {(e, seed): run_state(spec.config(e, seed, runs_dir)) for e, seed in plan}
    if dry_run:
        print_plan(spec, plan, states)
        return EXIT_OK
    stale = {key for key, state in states.items() if state.startswith(STALE)}
    todo = {key: config for key, config in plan.items() if force or states[key] != COMPLETE}
    if not check_duration(spec, todo, yes):  # before any folder is made
        return EXIT_USAGE
    lab_folders = (runs_dir / spec.name, report_path)
    lock_folder(lab_folders[0], "--runs")  # before runs are judged: a second lab on the profile stops here
    try:
        lock_folder(lab_folders[1], "--report-dir")
        if stale and not (force or retrain_stale):
            raise LabError(stale_problem(spec, states, stale))
        return _run_plan(spec, plan, todo, stale, runs_dir, report_path, force, nproc_per_node)
    finally:
        for folder in lab_folders:
            release_folder(folder)


def stale_problem(spec: Profile, states: dict, stale: set, shown: int = 3) -> str:
    """One line: which runs were made with other settings than the profile asks (recorded -> asked)."""
    named = [f"{e} seed {s}: {states[(e, s)].removeprefix(STALE + ': ')}" for e, s in sorted(stale)]
    more = f"; and {len(named) - shown} more" if len(named) > shown else ""
    return (f"{len(stale)} run(s) of profile '{spec.name}' were made with other settings than it asks now "
            f"({'; '.join(named[:shown])}{more}): pass --retrain-stale to train them again with its settings, or "
            "--runs DIR to train elsewhere and keep them (lab --dry-run shows every run's state)")


def _run_plan(spec: Profile, plan: dict, todo: dict, stale: set, runs_dir: Path, report_dir: Path, force: bool,
              nproc_per_node: int) -> int:
    """Train the runs of ``todo`` (the rest of ``plan`` is complete), then render the report."""
    _check_folders(spec, runs_dir, report_dir, todo, force, stale)
    print(f"lab: profile '{spec.name}': {spec.description}", flush=True)
    skipping = len(plan) - len(todo)
    seeds = f"{len(spec.seeds)} seed{'s' if len(spec.seeds) > 1 else ''}"
    print(f"lab: {len(plan)} runs ({len(spec.experiments)} experiments x {seeds}) into "
          f"{runs_dir / spec.name}" + (f"; {skipping} already complete" if skipping else ""), flush=True)

    progress = Progress([estimate_cpu_seconds(config) for config in todo.values()])
    failed = []
    for index, ((experiment, seed), config) in enumerate(plan.items(), start=1):
        tag = f"[{index}/{len(plan)}] {experiment} seed {seed}"
        if (experiment, seed) not in todo:
            accuracy = (RunFolder(config.run_dir).read_metrics() or {}).get("test_acc")
            accuracy = f"{accuracy:.1%}" if isinstance(accuracy, (int, float)) else "unknown"
            print(f"{tag}: already complete (test acc {accuracy}), skipped; --force trains it again", flush=True)
            continue
        outcome = _train_one(config, tag, force or (experiment, seed) in stale, nproc_per_node, progress)
        if outcome is None:
            return EXIT_INTERRUPTED
        if outcome:
            failed.append((tag, outcome))

    if not todo and report_is_current(spec, runs_dir, report_dir):
        print(f"lab: nothing to train, and {report_dir / REPORT_HTML} is up to date "
              f"(python -m labutils report --profile {spec.path} renders it again)", flush=True)
        return EXIT_OK
    report_status = render_report(str(spec.path), runs=str(runs_dir), report_dir=str(report_dir))
    if failed:
        print(f"lab: {len(failed)} of {len(plan)} runs failed (the report lists them):", file=sys.stderr)
        for tag, problem in failed:
            print(f"  {tag}: {problem}", file=sys.stderr)
        return EXIT_FAILED
    return report_status


def notebook_parameters(config: RunConfig, force: bool, nproc_per_node: int) -> dict[str, Any]:
    """What papermill passes to ``02_train.ipynb``: the run's whole resolved config, and the processes."""
    folder = RunFolder(config.run_dir)
    # A run killed half-way (Ctrl-C, a crash) continues from its last epoch.
    run = {**config.to_dict(), "force": force, "resume": not force and folder.last.exists()}
    return {"run_config": run, "nproc_per_node": nproc_per_node}


def _train_one(config: RunConfig, tag: str, force: bool, nproc_per_node: int, progress: Progress) -> str | None:
    """Run one experiment's notebook: '' when complete, the problem when it failed, None when interrupted."""
    run_dir, folder = config.run_dir, RunFolder(config.run_dir)
    parameters = notebook_parameters(config, force, nproc_per_node)
    print(f"{tag}: {'resuming' if parameters['run_config']['resume'] else 'training'} -> {run_dir}", flush=True)
    started = time.perf_counter()
    try:
        execute(TRAIN_NOTEBOOK, run_dir / TRAIN_NOTEBOOK.name, parameters, echo=True)
        problem = None if folder.is_complete() else f"failed: the notebook ended with status {folder.status()!r}"
    except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM (interrupt.Stopped)
        # The notebook's kernel records its own stop; once papermill has ended it, say so where it could not.
        _record(folder, "interrupted: the lab was stopped", config.experiment, config.seed,
                wait_s=STOPPED_KERNEL_WAIT_S)
        print(f"\n{tag}: {stop or 'interrupted'} after {fmt_clock(time.perf_counter() - started)}; "
              "rerun the same command to continue (unfinished runs resume)", file=sys.stderr, flush=True)
        return None
    except Exception as error:  # noqa: BLE001 (PapermillExecutionError, a dead kernel, ...: record it, go on)
        status = folder.status() or ""
        problem = status if status.startswith(("failed", "interrupted")) else f"failed: {one_line(error)}"
    seconds = time.perf_counter() - started
    if problem is None:
        outcome = f"done in {fmt_clock(seconds)} (test acc {folder.read_metrics()['test_acc']:.1%})"
    else:
        _record(folder, problem, config.experiment, config.seed)
        outcome = (f"FAILED after {fmt_clock(seconds)}: {problem.removeprefix('failed: ')} "
                   f"(see {run_dir / TRAIN_NOTEBOOK.name})")
    progress.finish_run(seconds)
    print(f"{tag}: {outcome} - elapsed {progress.elapsed()}{progress.left()}", flush=True)
    return problem or ""


def _check_folders(spec: Profile, runs_dir: Path, report_dir: Path, todo: dict[tuple[str, int], RunConfig],
                   force: bool, stale: set) -> None:
    """Before training anything: every folder the lab writes can be written, no run folder is in use
    by another process, and none holds results that only --force (or --retrain-stale, for a stale
    run) may replace (``LabError`` otherwise)."""
    make_folder(runs_dir / spec.name, "--runs")
    make_folder(report_dir, "--report-dir")
    for experiment, seed in todo:
        folder = RunFolder(spec.run_dir(runs_dir, experiment, seed))
        folder.open_for_writing("--runs")  # in use by another process: stops here; tidies what a kill left
        release_folder(folder.path)
        replaced = force or (experiment, seed) in stale
        problem = None if replaced else reuse_problem(folder, resume=folder.last.exists(), elsewhere="--runs")
        if problem is not None:
            raise LabError(problem)


def _record(folder: RunFolder, status: str, experiment: str, seed: int, wait_s: float = 0.0) -> None:
    """Record why a run is not complete where its status says nothing yet (none, or ``running``):
    not over what its notebook recorded, a complete run, a damaged metrics.json (left for the user
    to see), or a folder another process holds."""
    deadline = time.monotonic() + wait_s
    while not try_lock_folder(folder.path):
        if time.monotonic() >= deadline:
            return
        time.sleep(0.2)
    try:
        if not folder.metrics_problem() and folder.status() in (None, "running"):
            folder.mark(status, experiment=experiment, seed=seed)
    except LabError:
        pass  # the disk is full: the lab's own message still says what failed
    finally:
        release_folder(folder.path)
