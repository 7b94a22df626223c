"""What the report shows: run folders read into tables, and the numbers it compares them with.

- :func:`read_lab` reads the run folders a profile lists (``<runs>/<profile>/<experiment>/seed<k>``
  for its experiments and seeds), says which runs are missing or failed, and names every other
  folder it found there and did not use (another seed, another experiment, a run folder whose
  ``metrics.json`` is another experiment's run); :class:`ExperimentResults` averages an
  experiment's seeds (mean, sample standard deviation).
- :func:`conclusion_rows` and :func:`reference_rows` build the handout's conclusion table for
  these runs and beside the handout author's (``paper_tables.py``); ``format.py``
  prints the numbers.

Nothing here trains: the report's numbers come from the run folders only.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..catalog import EXPERIMENTS, LAB_EXPERIMENTS
from ..errors import LabError
from ..lab.profiles import Profile, load_profile
from ..run_folder import COMPLETE, RunFileError, RunFolder
from ..run_folder.identity import differences
from .format import fmt_count, fmt_duration, fmt_pct, fmt_pp, fmt_rate
from .paper_tables import REFERENCE_RESULTS

MISSING = "missing"
UNREADABLE = "unreadable"
NOT_USED = "not used"  # a run folder that holds another run than its place says
UNREADABLE_FIX = "restore the file, or train the run again with --force"
# What the report reads from a complete run's metrics.json, beyond its status.
REPORT_NUMBERS = ("params", "epochs", "image_size", "batch_size", "train_images", "val_images", "test_images",
                  "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "train_time_s",
                  "images_per_s")
REPORT_TEXTS = ("dataset", "device")
LABELS = {name: spec.label for name, spec in EXPERIMENTS.items()}  # table names, from the registry

# --- reading run folders ---------------------------------------------------------------

@dataclass
class RunRecord:
    """One run folder as the report sees it."""

    experiment: str
    seed: int
    path: Path
    status: str  # complete, missing, running, interrupted: ..., failed: ...
    metrics: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.status == COMPLETE

    @property
    def label(self) -> str:
        return f"{LABELS.get(self.experiment, self.experiment)} (seed {self.seed})"


@dataclass
class LabRuns:
    """The runs of one profile: those it asks for (from its YAML), and the folders on disk it does not."""

    profile: str
    runs_dir: Path
    records: list[RunRecord]
    description: str = ""
    problem: str | None = None  # why the profile's own list could not be read
    ignored: list[tuple[Path, str]] = field(default_factory=list)  # folders found and not used, and why

    @property
    def complete(self) -> list[RunRecord]:
        return [r for r in self.records if r.complete]

    @property
    def incomplete(self) -> list[RunRecord]:
        return [r for r in self.records if not r.complete]

    @property
    def experiments(self) -> list[str]:
        return list(dict.fromkeys(r.experiment for r in self.records))

    def results(self, experiment: str) -> ExperimentResults:
        return ExperimentResults(experiment, [r for r in self.records if r.experiment == experiment])

    def all_results(self) -> list[ExperimentResults]:
        return [self.results(e) for e in self.experiments]

    def results_by_experiment(self) -> dict[str, ExperimentResults]:
        """Every experiment of the registry, in its order, then any other of this lab: each with
        its runs (none for an experiment outside the profile)."""
        return {e: self.results(e) for e in (*LABELS, *self.experiments)}


def read_run(path: Path, experiment: str, seed: int, asked: dict | None = None) -> RunRecord:
    """One run folder; a damaged file makes the run ``unreadable: <file> ...`` rather than an error,
    and a folder holding another run than ``<experiment>/seed<k>``, or (given ``asked``, the
    profile's settings for it) a run made with other settings, ``not used: ...``."""
    folder = RunFolder(path)
    try:
        history = folder.read_history()
        problem = folder.metrics_problem()
    except RunFileError as error:
        history, problem = [], str(error)
    metrics = folder.read_metrics()
    if problem is None and metrics is not None and metrics.get("status") == COMPLETE:
        problem = report_fields_problem(metrics, folder.metrics)
    if problem is not None:
        return RunRecord(experiment, seed, path, f"{UNREADABLE}: {problem} ({UNREADABLE_FIX})")
    foreign = foreign_run(metrics, experiment, seed) if metrics else None
    if foreign:
        return RunRecord(experiment, seed, path, f"{NOT_USED}: {folder.metrics} {foreign}", {}, [])
    changed = differences(folder.recorded_run(), asked) if metrics and asked else []
    if changed:  # a stale run: made with other settings than the profile asks now
        return RunRecord(experiment, seed, path, f"{NOT_USED}: made with other settings than the profile asks "
                                                 f"({'; '.join(changed)})", {}, [])
    if metrics is None:
        status = MISSING if not folder.history.exists() else "interrupted: no metrics.json"
        return RunRecord(experiment, seed, path, status, {}, history)
    return RunRecord(experiment, seed, path, str(metrics["status"]), metrics, history)


def foreign_run(metrics: dict, experiment: str, seed: int) -> str | None:
    """How a run folder's ``metrics.json`` says it holds another run than its place
    (``<experiment>/seed<k>``), or None."""
    named, named_seed = metrics.get("experiment"), metrics.get("seed")
    if named is not None and named != experiment:
        return f"is a run of experiment '{named}', not '{experiment}'"
    if isinstance(named_seed, int) and not isinstance(named_seed, bool) and named_seed != seed:
        return f"is a run of seed {named_seed}, not seed {seed}"
    return None


def report_fields_problem(metrics: dict, path: Path) -> str | None:
    """What a complete run's ``metrics.json`` lacks of what the report reads (None: nothing)."""
    lacking = [name for name in REPORT_NUMBERS
               if not isinstance(metrics.get(name), (int, float)) or isinstance(metrics.get(name), bool)]
    lacking += [name for name in REPORT_TEXTS if not isinstance(metrics.get(name), str)]
    classes, confusion = metrics.get("classes"), metrics.get("confusion_matrix")
    if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
        lacking.append("classes")
    elif not (isinstance(confusion, list) and len(confusion) == len(classes) and all(
            isinstance(row, list) and len(row) == len(classes) and all(type(n) is int for n in row)
            for row in confusion)):
        lacking.append("confusion_matrix")
    return f"{path} lacks or garbles {', '.join(lacking)}" if lacking else None


def read_lab(runs_dir: str | Path, profile: str) -> LabRuns:
    """The runs of ``profile`` (a name or a .yaml path) under ``runs_dir``; never raises for
    missing or broken folders."""
    runs_dir = Path(runs_dir)
    try:
        spec = load_profile(profile)
        name, experiments, seeds, description, problem = (spec.name, list(spec.experiments), list(spec.seeds),
                                                          spec.description, None)
    except LabError as error:  # an unknown or broken profile: report what is on disk
        name = Path(profile).stem if str(profile).endswith((".yaml", ".yml")) else str(profile)
        root = runs_dir / name
        experiments = [e for e in LAB_EXPERIMENTS if (root / e).is_dir()] + sorted(
            d.name for d in root.glob("*") if d.is_dir() and d.name not in LAB_EXPERIMENTS)
        seeds, description, problem = [], "", str(error)
    root = runs_dir / name
    on_disk = {e: sorted(int(d.name[4:]) for d in (root / e).glob("seed*") if d.name[4:].isdigit())
               for e in experiments}
    if problem is not None:  # no list of seeds to keep to: every seed on disk
        seeds = sorted({seed for found in on_disk.values() for seed in found})
    records = [read_run(root / experiment / f"seed{seed}", experiment, seed,
                        None if problem else asked_of(spec, experiment, seed, runs_dir))
               for experiment in experiments for seed in seeds]
    return LabRuns(name, runs_dir, records, description, problem, ignored_folders(root, experiments, seeds))


def asked_of(spec: Profile, experiment: str, seed: int, runs_dir: Path) -> dict | None:
    """What the profile asks of one run (before the machine's defaults: what it leaves to the machine
    matches whatever the run recorded); None when it cannot be resolved (the run is then not checked)."""
    try:
        return spec.config(experiment, seed, runs_dir).to_dict()
    except (LabError, ValueError):
        return None


def ignored_folders(root: Path, experiments: list[str], seeds: list[int]) -> list[tuple[Path, str]]:
    """The folders under a profile's run folder that are not among its runs, each with why."""
    if not root.is_dir():
        return []
    listed = ", ".join(map(str, seeds)) or "none"
    ignored = []
    for folder in sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")):
        if folder.name not in experiments:
            ignored.append((folder, f"experiment '{folder.name}' is not in the profile"))
            continue
        for run in sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".")):
            seed = run.name[4:]
            if not (run.name.startswith("seed") and seed.isdigit()):
                ignored.append((run, "not a run folder (seed<k>)"))
            elif int(seed) not in seeds:
                ignored.append((run, f"seed {int(seed)} is not among the profile's seeds ({listed})"))
    return ignored


# --- averaging seeds ---------------------------------------------------------------------

@dataclass
class ExperimentResults:
    """One experiment's runs (all seeds); statistics over the complete ones."""

    experiment: str
    runs: list[RunRecord]

    @property
    def label(self) -> str:
        return LABELS.get(self.experiment, self.experiment)

    @property
    def complete(self) -> list[RunRecord]:
        return [r for r in self.runs if r.complete]

    @property
    def n(self) -> int:
        return len(self.complete)

    def values(self, name: str) -> list[float]:
        """``name`` from every complete run; also ``time_per_epoch_s`` and ``train_time_min``."""
        out = []
        for run in self.complete:
            value = derived(run.metrics, name)
            if isinstance(value, (int, float)) and math.isfinite(value):
                out.append(float(value))
        return out

    def mean(self, name: str) -> float | None:
        values = self.values(name)
        return statistics.fmean(values) if values else None

    def std(self, name: str) -> float | None:
        """Sample standard deviation across seeds; None with fewer than two."""
        values = self.values(name)
        return statistics.stdev(values) if len(values) >= 2 else None

    def first(self, name: str) -> Any:
        """A field that is the same for every seed (params, device, dataset, ...)."""
        return self.complete[0].metrics.get(name) if self.complete else None

    def status_text(self) -> str:
        """'complete', or what is wrong, e.g. 'seed 0: failed: ...; seed 1: missing'."""
        if not self.runs:
            return "not in this profile"
        problems = [f"seed {r.seed}: {r.status}" for r in self.runs if not r.complete]
        if not problems:
            return COMPLETE
        if self.complete:
            return f"{self.n} of {len(self.runs)} seeds complete; " + "; ".join(problems)
        return "; ".join(problems)


def derived(metrics: dict, name: str) -> Any:
    """A metrics.json field, or one computed from them."""
    if name == "time_per_epoch_s":
        epochs = metrics.get("epochs")
        return metrics["train_time_s"] / epochs if epochs and "train_time_s" in metrics else None
    if name == "train_time_min":
        return metrics["train_time_s"] / 60 if "train_time_s" in metrics else None
    return metrics.get(name)


# --- formatting results -------------------------------------------------------------------
def fmt_mean_std(results: ExperimentResults, name: str, kind: str) -> str:
    """``mean ± std`` of a field over seeds (only the mean with one seed), formatted by ``kind``:
    ``pct`` (fractions as percent), ``loss``, ``time`` (seconds, shown in s, min or h),
    ``rate`` (images/s)."""
    mean, std = results.mean(name), results.std(name)
    if mean is None:
        return "-"
    if kind == "pct":
        text, spread = fmt_pct(mean), (f"{std * 100:.2f}" if std is not None else None)
    elif kind == "loss":
        text, spread = f"{mean:.4f}", (f"{std:.4f}" if std is not None else None)
    elif kind == "time":
        text, spread = fmt_duration(mean), (fmt_duration(std, unit_of=mean) if std is not None else None)
    elif kind == "rate":
        text, spread = fmt_rate(mean), (fmt_rate(std) if std is not None else None)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return text if spread is None else f"{text} ± {spread}"


# --- the conclusion table ------------------------------------------------------------------

CONCLUSION_HEADERS = ("Model", "Train loss", "Train acc", "Val loss", "Val acc", "Test loss", "Test acc",
                      "Time", "Parameters", "Images/s")
CONCLUSION_ALIGN = "lrrrrrrrrr"
REFERENCE_HEADERS = ("Model", "Train loss", "Train acc", "Val loss", "Val acc", "Test loss", "Test acc", "Time",
                     "Our test acc, difference")
REFERENCE_ALIGN = "lrrrrrrrr"


def conclusion_rows(lab: LabRuns) -> list[list[str]]:
    """The handout's conclusion table for this lab's runs (mean ± std over seeds), one row per
    experiment; an experiment without a complete run says why in its row."""
    rows = []
    for results in lab.all_results():
        if results.n == 0:
            rows.append([results.label, f"**{results.status_text()}**", *[""] * (len(CONCLUSION_HEADERS) - 2)])
            continue
        rows.append([
            results.label + (f" ({results.n} seeds)" if results.n > 1 else ""),
            fmt_mean_std(results, "train_loss", "loss"), fmt_mean_std(results, "train_acc", "pct"),
            fmt_mean_std(results, "val_loss", "loss"), fmt_mean_std(results, "val_acc", "pct"),
            fmt_mean_std(results, "test_loss", "loss"), fmt_mean_std(results, "test_acc", "pct"),
            fmt_mean_std(results, "train_time_s", "time"),
            fmt_count(results.first("params")), fmt_mean_std(results, "images_per_s", "rate"),
        ])
    return rows


def reference_rows(lab: LabRuns) -> list[list[str]]:
    """The handout author's conclusion table, with this lab's test accuracy beside each row."""
    rows = []
    for experiment, ref in REFERENCE_RESULTS.items():
        ours = lab.results(experiment).mean("test_acc")
        versus = "-" if ours is None else f"{fmt_pct(ours)}, {fmt_pp(ours - ref['test_acc'])}"
        rows.append([LABELS[experiment], f"{ref['train_loss']:.4f}", fmt_pct(ref["train_acc"]),
                     f"{ref['val_loss']:.4f}", fmt_pct(ref["val_acc"]), f"{ref['test_loss']:.4f}",
                     fmt_pct(ref["test_acc"]), fmt_duration(ref["time_min"] * 60), versus])
    return rows
