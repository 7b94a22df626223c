"""``python -m labutils lab`` and ``report``: a profile's experiments through papermill, then the report.

``run_lab`` executes ``notebooks/02_train.ipynb`` once per experiment and seed of a profile
(see ``profiles.py``), each into its run folder ``<runs>/<profile>/<experiment>/seed<k>/``,
where the executed notebook stays beside the results. Complete runs are skipped (unless
``force``), unfinished ones resume from their last checkpoint, and a failed run is recorded
as failed in its ``metrics.json`` while the lab goes on with the next one. Then
``render_report`` executes ``notebooks/03_report.ipynb`` over the run folders and renders it
to ``<report>/report.html`` and ``report.pdf``.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .config import RunConfig
from .data import split_sizes
from .errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, LabError, one_line
from .folder_lock import make_folder
from .interrupt import shielded
from .profiles import Profile, load_profile
from .results import RunFolder

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
TRAIN_NOTEBOOK = NOTEBOOK_DIR / "02_train.ipynb"
REPORT_NOTEBOOK = NOTEBOOK_DIR / "03_report.ipynb"
REPORT_HTML, REPORT_PDF, REPORT_EXECUTED = "report.html", "report.pdf", f"executed/{REPORT_NOTEBOOK.name}"
REPORT_FILES = (REPORT_EXECUTED, REPORT_PDF, REPORT_HTML)  # the order they are replaced in: the HTML last
RENDER_TEMP_PATTERN = ".render-*.tmp"
KERNEL = "python3"  # inside a venv, jupyter_client runs it with the venv's own Python


# Training images per second on a CPU at 224x224 (2 cores, batch 16, measured), per model
# family; other sizes scale with the FLOPs per image. Evaluation runs about 3x faster than training.
# Starting a kernel, importing torch and loading data adds about CPU_RUN_OVERHEAD_S per run.
CPU_RATES_IMAGE_SIZE = 224
CPU_TRAIN_IMAGES_PER_S = {"alexnet": 22.0, "googlenet": 11.0}
CPU_EVAL_SPEEDUP = 3.0
CPU_RUN_OVERHEAD_S = 15.0
# Longer than this on a CPU, and the lab asks for --yes first.
LONG_CPU_LAB_S = 3 * 3600
# After a stop, how long the lab waits for the notebook's kernel to let go of its run folder.
STOPPED_KERNEL_WAIT_S = 10.0


def fmt_clock(seconds: float) -> str:
    """1m23s, 12m, 2h05m: a clock reading for progress lines (the report uses report_format.fmt_duration)."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 10:
        return f"{minutes}m{seconds:02d}s"
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    return f"{hours / 24:.1f} days"


@functools.lru_cache(maxsize=None)
def _training_flops(experiment: str, image_size: int) -> int:
    from .flops import training_flops

    return training_flops(experiment, image_size)


def estimate_cpu_seconds(config: RunConfig) -> float | None:
    """How long one run takes on a 2-core CPU (None when the dataset's size is unknown)."""
    from .models import spec

    sizes = split_sizes(config.dataset, config.val_fraction, config.train_samples, config.val_samples,
                        config.test_samples)
    if sizes is None:
        return None
    train, val, test = sizes
    # Time per image follows the arithmetic per image, which depends on the image size.
    measured_at = _training_flops(config.experiment, CPU_RATES_IMAGE_SIZE)
    scale = measured_at / _training_flops(config.experiment, config.image_size)
    rate = CPU_TRAIN_IMAGES_PER_S[spec(config.experiment).family] * scale
    epoch = train / rate + val / (rate * CPU_EVAL_SPEEDUP)
    return CPU_RUN_OVERHEAD_S + config.epochs * epoch + test / (rate * CPU_EVAL_SPEEDUP)


def _trains_on_cpu(config: RunConfig) -> bool:
    from .device import pick_device

    return pick_device(config.device).type == "cpu"


def _execute(notebook: Path, output: Path, parameters: dict[str, Any], echo: bool) -> None:
    """Run ``notebook`` with ``parameters`` into ``output``, in the notebooks folder like Jupyter."""
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    # stdout_file/stderr_file pass the notebook's prints and progress bars through as they come;
    # that is what papermill's log_output does too, but without a logger prefix on every line.
    papermill.execute_notebook(
        str(notebook), str(output), parameters=parameters, kernel_name=KERNEL, cwd=str(NOTEBOOK_DIR),
        progress_bar=False, log_output=False,
        stdout_file=sys.stdout if echo else None, stderr_file=sys.stderr if echo else None,
        # The kernel's own log says at every start that a local kernel talks over plain TCP, and
        # at every stop that it was interrupted; the notebook's errors come as its outputs anyway.
        extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
    )


class _Progress:
    """Overall progress: elapsed time, and what is left estimated from the runs so far."""

    def __init__(self, estimates: list[float | None]) -> None:
        self.started = time.perf_counter()
        self.remaining = list(estimates)  # per run still to do; None when unknown
        self.spent = 0.0  # seconds of the runs done so far ...
        self.expected = 0.0  # ... and what the estimate said for them

    def finish_run(self, seconds: float | None) -> None:
        estimate = self.remaining.pop(0)
        if seconds is not None and estimate:
            self.spent += seconds
            self.expected += estimate

    def left(self) -> str:
        """'about 12m left', scaled by how fast the runs so far were against their estimate."""
        if not self.remaining:
            return ""
        if any(e is None for e in self.remaining) or self.expected == 0:
            return ""
        return f", about {fmt_clock(sum(self.remaining) * self.spent / self.expected)} left"

    def elapsed(self) -> str:
        return fmt_clock(time.perf_counter() - self.started)


def _check_duration(profile: Profile, plan: dict[tuple[str, int], RunConfig], yes: bool) -> bool:
    """False (after saying why) when the lab would train for hours on a CPU and ``yes`` is not set."""
    on_cpu = [config for config in plan.values() if _trains_on_cpu(config)]
    estimates = [estimate_cpu_seconds(config) for config in on_cpu]
    if not on_cpu or any(e is None for e in estimates) or sum(estimates) < LONG_CPU_LAB_S:
        return True
    total = fmt_clock(sum(estimates))
    if yes:
        print(f"lab: no GPU found; the {len(on_cpu)} runs of profile '{profile.name}' take about {total} on a "
              "2-core CPU (--yes given: starting)", flush=True)
        return True
    print(f"lab: no GPU found: the {len(on_cpu)} runs of profile '{profile.name}' would take about {total} on a "
          f"2-core CPU (less with more cores, still hours). Run them on a machine with a CUDA GPU, try "
          f"'--profile quick' (real CIFAR-10, smaller images, a subset), or pass --yes to start anyway.",
          file=sys.stderr)
    return False


def resolve_plan(profile: Profile, runs_dir: Path) -> dict[tuple[str, int], RunConfig]:
    """Every run of ``profile``, resolved completely (what each run will really use)."""
    return {(e, s): profile.config(e, s, runs_dir) for e, s in profile.runs()}


def print_plan(profile: Profile, plan: dict[tuple[str, int], RunConfig]) -> None:
    """``lab --dry-run``: each run's resolved settings and estimated time; trains nothing."""
    from .device import pick_device

    print(f"lab: profile '{profile.name}' ({_shown(profile.path)}): {profile.description}")
    headers = ["run", "dataset", "train / val / test", "size", "epochs", "batch", "lr", "device", "CPU estimate",
               "run folder"]
    rows = []
    for (experiment, seed), config in plan.items():
        sizes = split_sizes(config.dataset, config.val_fraction, config.train_samples, config.val_samples,
                            config.test_samples)
        counts = " / ".join(f"{n:,}" for n in sizes) if sizes else "read at start"
        estimate = estimate_cpu_seconds(config)
        rows.append([f"{experiment} seed {seed}", config.dataset, counts, f"{config.image_size}px",
                     str(config.epochs), str(config.batch_size), f"{config.lr:.3g}",
                     pick_device(config.device).type, fmt_clock(estimate) if estimate is not None else "?",
                     _shown(config.out)])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    for row in [headers, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    estimates = [estimate_cpu_seconds(c) for c in plan.values() if _trains_on_cpu(c)]
    if estimates and None not in estimates:
        print(f"lab: about {fmt_clock(sum(estimates))} on a 2-core CPU in all (estimated; a GPU takes a fraction)")
    print("lab: dry run: nothing trained")


def _shown(path: str | Path) -> str:
    """``path`` relative to the working folder when it lies below it (shorter to read)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def run_lab(profile: str, force: bool = False, runs: str = "runs", report_dir: str = "report",
            yes: bool = False, nproc_per_node: int = 1, dry_run: bool = False) -> int:
    """Train every run of ``profile`` through ``02_train.ipynb``, then render the report.

    ``profile`` is a shipped profile's name or a path to a .yaml file. Each run is resolved
    completely (``Profile.config``) and every field is passed to the notebook, so none of the
    notebook's interactive defaults reaches a lab run. ``nproc_per_node`` > 1 trains each run
    with DDP over that many processes (GPUs) via torchrun. ``dry_run`` prints the plan only.

    Returns 0 when every run is complete and the report rendered, 1 when a run failed (the
    report shows which), 2 when the lab would take hours on a CPU and ``yes`` is not set,
    130 when interrupted (rerun to continue where it stopped).
    """
    spec = load_profile(profile)
    runs_dir = Path(runs).resolve()
    plan = resolve_plan(spec, runs_dir)
    if dry_run:
        print_plan(spec, plan)
        return EXIT_OK
    todo = {key: config for key, config in plan.items() if force or not RunFolder(config.run_dir).is_complete()}
    if not _check_duration(spec, todo, yes):
        return EXIT_USAGE
    _check_folders(spec, runs_dir, Path(report_dir), todo, force)

    print(f"lab: profile '{spec.name}': {spec.description}", flush=True)
    skipping = len(plan) - len(todo)
    seeds = f"{len(spec.seeds)} seed{'s' if len(spec.seeds) > 1 else ''}"
    print(f"lab: {len(plan)} runs ({len(spec.experiments)} experiments x {seeds}) into "
          f"{runs_dir / spec.name}" + (f"; {skipping} already complete" if skipping else ""), flush=True)

    progress = _Progress([estimate_cpu_seconds(config) for config in todo.values()])
    failed = []
    for index, ((experiment, seed), config) in enumerate(plan.items(), start=1):
        tag = f"[{index}/{len(plan)}] {experiment} seed {seed}"
        if (experiment, seed) not in todo:
            accuracy = (RunFolder(config.run_dir).read_metrics() or {}).get("test_acc")
            accuracy = f"{accuracy:.1%}" if isinstance(accuracy, (int, float)) else "unknown"
            print(f"{tag}: already complete (test acc {accuracy}), skipped; --force trains it again", flush=True)
            continue
        outcome = _train_one(config, tag, spec.name, force, nproc_per_node, progress)
        if outcome is None:
            return EXIT_INTERRUPTED
        if outcome:
            failed.append((tag, outcome))

    if not todo and _report_is_current(spec, runs_dir, Path(report_dir)):
        print(f"lab: nothing to train, and {Path(report_dir) / REPORT_HTML} is up to date "
              f"(python -m labutils report --profile {profile} renders it again)", flush=True)
        return EXIT_OK
    report_status = render_report(str(spec.path), runs=str(runs_dir), report_dir=report_dir)
    if failed:
        print(f"lab: {len(failed)} of {len(plan)} runs failed (the report lists them):", file=sys.stderr)
        for tag, problem in failed:
            print(f"  {tag}: {problem}", file=sys.stderr)
        return EXIT_FAILED
    return report_status


def notebook_parameters(config: RunConfig, profile: str, force: bool, nproc_per_node: int) -> dict[str, Any]:
    """What papermill passes to ``02_train.ipynb``: every RunConfig field, resolved, and the runner's own."""
    folder = RunFolder(config.run_dir)
    return {**config.to_dict(), "profile": profile, "force": force,
            # A run killed half-way (Ctrl-C, a crash) continues from its last epoch.
            "resume": not force and folder.last.exists(), "nproc_per_node": nproc_per_node}


def _train_one(config: RunConfig, tag: str, profile: str, force: bool, nproc_per_node: int,
               progress: _Progress) -> str | None:
    """Run one experiment's notebook: '' when complete, the problem when it failed, None when interrupted."""
    run_dir, folder = config.run_dir, RunFolder(config.run_dir)
    parameters = notebook_parameters(config, profile, force, nproc_per_node)
    print(f"{tag}: {'resuming' if parameters['resume'] else 'training'} -> {run_dir}", flush=True)
    started = time.perf_counter()
    try:
        _execute(TRAIN_NOTEBOOK, run_dir / TRAIN_NOTEBOOK.name, parameters, echo=True)
        problem = None if folder.is_complete() else f"failed: the notebook ended with status {folder.status()!r}"
    except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM (interrupt.Stopped)
        # The notebook's kernel records its own stop; once papermill has ended it, say so where it could not.
        _record(folder, "interrupted: the lab was stopped", config.experiment, config.seed,
                wait_s=STOPPED_KERNEL_WAIT_S)
        print(f"\n{tag}: {stop or 'interrupted'} after {fmt_clock(time.perf_counter() - started)}; "
              "rerun the same command to continue (unfinished runs resume)", file=sys.stderr, flush=True)
        return None
    except Exception as error:  # PapermillExecutionError, a dead kernel, ...: record it, go on
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
                   force: bool) -> None:
    """Before training anything: every folder the lab writes can be written, no run folder is in use
    by another process, and none holds results that only --force may replace (``LabError`` otherwise)."""
    from .folder_lock import lock_folder, release_folder
    from .run_guard import reuse_problem

    make_folder(runs_dir / spec.name, "--runs")
    make_folder(report_dir, "--report-dir")
    for experiment, seed in todo:
        folder = RunFolder(spec.run_dir(runs_dir, experiment, seed))
        lock_folder(folder.path, "--runs")
        release_folder(folder.path)
        problem = None if force else reuse_problem(folder, resume=folder.last.exists(), elsewhere="--runs")
        if problem is not None:
            raise LabError(problem)


def _record(folder: RunFolder, status: str, experiment: str, seed: int, wait_s: float = 0.0) -> None:
    """Record why a run is not complete where its status says nothing yet (none, or ``running``):
    not over what its notebook recorded, a complete run, a damaged metrics.json (left for the user
    to see), or a folder another process holds."""
    from .folder_lock import release_folder, try_lock_folder

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


def _report_is_current(spec: Profile, runs_dir: Path, report_dir: Path) -> bool:
    """True when ``report_dir`` holds a report of these runs newer than every file it was made from."""
    import nbformat

    html, executed = report_dir / REPORT_HTML, report_dir / REPORT_EXECUTED
    if not html.exists() or not executed.exists():
        return False
    try:
        made_with = nbformat.read(str(executed), as_version=4).metadata.get("papermill", {}).get("parameters", {})
    except (OSError, ValueError):
        return False
    if made_with != report_parameters(spec, runs_dir):
        return False
    # The report's own code is not among them: after editing it, `python -m labutils report`.
    sources = [REPORT_NOTEBOOK, spec.path, *(runs_dir / spec.name).glob("*/seed*/metrics.json")]
    return html.stat().st_mtime > max(path.stat().st_mtime for path in sources)


def report_parameters(spec: Profile, runs_dir: Path) -> dict[str, str]:
    """What papermill passes to ``03_report.ipynb``: the profile's file (so that a profile given
    as a path is found again) and where its runs are."""
    return {"profile": str(spec.path.resolve()), "runs_dir": str(runs_dir)}


def render_report(profile: str, runs: str = "runs", report_dir: str = "report") -> int:
    """Execute ``03_report.ipynb`` over the run folders of ``profile``, render HTML and PDF.

    Everything is made in a temporary folder inside ``report_dir``, which then replaces the
    report's files together (or, when stopped before, not at all), so an HTML and a PDF in
    ``report_dir`` always come from the same run of the notebook.

    Returns 0 when the report rendered, 1 when the report notebook failed (the HTML is still
    written and shows where).
    """
    from .folder_lock import lock_folder, release_folder

    spec = load_profile(profile)  # an unknown name or a missing file fails here, saying what to give
    runs_dir = Path(runs).resolve()
    report_dir = Path(report_dir)
    lock_folder(report_dir, "--report-dir")  # one report at a time; creates the folder or says why not
    try:
        for leftover in report_dir.glob(RENDER_TEMP_PATTERN):  # from a process killed while rendering
            shutil.rmtree(leftover, ignore_errors=True)
        with tempfile.TemporaryDirectory(dir=report_dir, prefix=".render-", suffix=".tmp") as work:
            status, printer = _render_into(spec, runs_dir, Path(work))
            _replace_report(Path(work), report_dir)
    finally:
        release_folder(report_dir)
    pdf = f" and {report_dir / REPORT_PDF} (printed by {printer})" if printer else ""
    print(f"report: {report_dir / REPORT_HTML}{pdf}", flush=True)
    return status


def _render_into(spec: Profile, runs_dir: Path, work: Path) -> tuple[int, str | None]:
    """The report's files in ``work``: the executed notebook, the HTML and (when a printer works) the PDF."""
    from .render import render_html, render_pdf

    executed = work / REPORT_EXECUTED
    if not (runs_dir / spec.name).is_dir():
        print(f"report: no runs of profile '{spec.name}' in {runs_dir} yet (python -m labutils lab "
              f"--profile {spec.name} makes them); the report says so", file=sys.stderr)
    status = EXIT_OK
    print(f"report: executing {REPORT_NOTEBOOK.name} over {runs_dir / spec.name}", flush=True)
    try:
        _execute(REPORT_NOTEBOOK, executed, report_parameters(spec, runs_dir), echo=False)
    except Exception as error:
        if not executed.exists():
            raise LabError(f"the report notebook could not run: {one_line(error)}") from error
        print(f"report: the report notebook failed ({one_line(error)}); the report shows where", file=sys.stderr)
        status = EXIT_FAILED
    html = render_html(executed, work / REPORT_HTML)
    printer = render_pdf(html, work / REPORT_PDF, notebook=executed)
    return status, printer


def _replace_report(work: Path, report_dir: Path) -> None:
    """Move the report's files from ``work`` into ``report_dir``, the HTML last (it is what says the
    report is up to date); an older PDF goes when no new one was printed. A stop request waits
    for the few renames to finish."""
    with shielded():
        for name in REPORT_FILES:
            target = report_dir / name
            if (work / name).exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(work / name, target)
            else:
                target.unlink(missing_ok=True)
