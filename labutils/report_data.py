"""What the report shows: run folders read into tables, and the numbers it compares them with.

- :func:`read_lab` reads every run folder of a profile (``<runs>/<profile>/<experiment>/seed<k>``)
  and says which runs are missing or failed; :class:`ExperimentResults` averages an
  experiment's seeds (mean, sample standard deviation).
- :data:`REFERENCE_RESULTS` is the conclusion table of the lab handout's author;
  :data:`PAPER_TABLE1` the output sizes of GoogLeNet's Table 1 (Szegedy et al. 2015).
- :func:`markdown_table` turns rows into a table that renders in HTML and PDF alike.

Nothing here trains: the report's numbers come from the run folders only.
"""

from __future__ import annotations

import ast
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from .errors import LabError
from .results import COMPLETE, RunFolder

MISSING = "missing"
LAB_ORDER = ("alexnet", "alexnet_lrn", "googlenet", "alexnet_pretrained", "googlenet_pretrained")
LABELS = {
    "alexnet": "AlexNet",
    "alexnet_lrn": "AlexNet + LRN",
    "googlenet": "GoogLeNet",
    "alexnet_pretrained": "pretrained AlexNet",
    "googlenet_pretrained": "pretrained GoogLeNet",
    "googlenet_paper": "GoogLeNet (paper, no BN)",
}

# The handout author's conclusion table: 10 epochs at 224x224, batch 4, SGD lr 0.001, momentum
# 0.9, weight decay 5e-4, one seed. As printed there; its training log says 0.4255 for the
# train loss of AlexNet without LRN, and 26m 2s / 25m 5s / 117m 23s / 22m 39s / 91m 57s for
# the times.
REFERENCE_SETUP = "10 epochs at 224x224, batch 4, SGD lr 0.001 (momentum 0.9, weight decay 5e-4), one seed"
REFERENCE_RESULTS: dict[str, dict[str, float]] = {
    "alexnet": dict(train_loss=0.4225, train_acc=0.8528, val_loss=0.6705, val_acc=0.7764,
                    test_loss=0.6659, test_acc=0.7741, time_min=25.5),
    "alexnet_lrn": dict(train_loss=0.3815, train_acc=0.8657, val_loss=0.5868, val_acc=0.8014,
                        test_loss=0.6008, test_acc=0.8029, time_min=26.2),
    "googlenet": dict(train_loss=0.6107, train_acc=0.8964, val_loss=0.4725, val_acc=0.8507,
                      test_loss=0.4734, test_acc=0.8501, time_min=117.23),
    "alexnet_pretrained": dict(train_loss=0.3163, train_acc=0.8951, val_loss=0.6379, val_acc=0.7931,
                               test_loss=0.5410, test_acc=0.8301, time_min=22.39),
    "googlenet_pretrained": dict(train_loss=0.2292, train_acc=0.9775, val_loss=0.2488, val_acc=0.9299,
                                 test_loss=0.2375, test_acc=0.9316, time_min=91.57),
}


@dataclass(frozen=True)
class PaperRow:
    """One row of Table 1 of Szegedy et al. 2015, matched to our layer's attribute name."""

    layer: str  # our attribute name
    paper: str  # the row as the paper names it
    output: tuple[int, int, int] | None  # H, W, C at 224x224 input (None: not in Table 1)
    filters: tuple[int, ...] | None = None  # #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj


PAPER_TABLE1: tuple[PaperRow, ...] = (
    PaperRow("conv1", "convolution 7x7/2", (112, 112, 64)),
    PaperRow("maxpool1", "max pool 3x3/2", (56, 56, 64)),
    PaperRow("lrn1", "LocalRespNorm (Figure 3)", None),
    PaperRow("conv2", "convolution 3x3/1: its 1x1 reduce (64)", None),
    PaperRow("conv3", "convolution 3x3/1", (56, 56, 192)),
    PaperRow("lrn2", "LocalRespNorm (Figure 3)", None),
    PaperRow("maxpool2", "max pool 3x3/2", (28, 28, 192)),
    PaperRow("inception3a", "inception (3a)", (28, 28, 256), (64, 96, 128, 16, 32, 32)),
    PaperRow("inception3b", "inception (3b)", (28, 28, 480), (128, 128, 192, 32, 96, 64)),
    PaperRow("maxpool3", "max pool 3x3/2", (14, 14, 480)),
    PaperRow("inception4a", "inception (4a)", (14, 14, 512), (192, 96, 208, 16, 48, 64)),
    PaperRow("aux1", "side classifier on 4a (Section 5)", None),
    PaperRow("inception4b", "inception (4b)", (14, 14, 512), (160, 112, 224, 24, 64, 64)),
    PaperRow("inception4c", "inception (4c)", (14, 14, 512), (128, 128, 256, 24, 64, 64)),
    PaperRow("inception4d", "inception (4d)", (14, 14, 528), (112, 144, 288, 32, 64, 64)),
    PaperRow("aux2", "side classifier on 4d (Section 5)", None),
    PaperRow("inception4e", "inception (4e)", (14, 14, 832), (256, 160, 320, 32, 128, 128)),
    PaperRow("maxpool4", "max pool 3x3/2", (7, 7, 832)),
    PaperRow("inception5a", "inception (5a)", (7, 7, 832), (256, 160, 320, 32, 128, 128)),
    PaperRow("inception5b", "inception (5b)", (7, 7, 1024), (384, 192, 384, 48, 128, 128)),
    PaperRow("avgpool", "avg pool 7x7/1", (1, 1, 1024)),
    PaperRow("dropout", "dropout (40%)", (1, 1, 1024)),
    PaperRow("fc", "linear (1000 ImageNet classes)", (1, 1, 1000)),
)

# Section 5 of the paper: each side classifier, on the 14x14 output of 4a (512) or 4d (528).
PAPER_SIDE_CLASSIFIER = (
    ("pool", "average pooling 5x5/3", "4x4x512 (4a), 4x4x528 (4d)"),
    ("conv", "1x1 convolution, 128 filters, ReLU", "4x4x128"),
    ("fc1", "fully connected, 1024 units, ReLU", "1024"),
    ("dropout", "dropout, 70% of the outputs", "1024"),
    ("fc2", "linear + softmax (1000 classes)", "1000"),
)


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
    """The runs of one profile: those it asks for (from its YAML) plus any other seeds on disk."""

    profile: str
    runs_dir: Path
    records: list[RunRecord]
    description: str = ""
    problem: str | None = None  # why the profile's own list could not be read

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


def read_run(path: Path, experiment: str, seed: int) -> RunRecord:
    folder = RunFolder(path)
    metrics = folder.read_metrics()
    if metrics is None:
        status = MISSING if not folder.history.exists() else "interrupted: no metrics.json"
        return RunRecord(experiment, seed, path, status, {}, folder.read_history())
    return RunRecord(experiment, seed, path, str(metrics.get("status") or "unknown"), metrics, folder.read_history())


def read_lab(runs_dir: str | Path, profile: str) -> LabRuns:
    """The runs of ``profile`` under ``runs_dir``; never raises for missing or broken folders."""
    from .profiles import load_profile

    runs_dir = Path(runs_dir)
    root = runs_dir / profile
    try:
        spec = load_profile(profile)
        experiments, seeds, description, problem = list(spec.experiments), list(spec.seeds), spec.description, None
    except LabError as error:  # an unknown or broken profile: report what is on disk
        experiments = [e for e in LAB_ORDER if (root / e).is_dir()] + sorted(
            d.name for d in root.glob("*") if d.is_dir() and d.name not in LAB_ORDER)
        seeds, description, problem = [], "", str(error)
    on_disk = {e: sorted(int(d.name[4:]) for d in (root / e).glob("seed*") if d.name[4:].isdigit())
               for e in experiments}
    records = []
    for experiment in experiments:
        for seed in sorted(set(seeds) | set(on_disk[experiment])):
            records.append(read_run(root / experiment / f"seed{seed}", experiment, seed))
    return LabRuns(profile, runs_dir, records, description, problem)


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


@dataclass(frozen=True)
class Difference:
    """``a - b`` of one field's seed means, and whether it stands out of the seed-to-seed noise."""

    a: float
    b: float
    diff: float
    n_a: int
    n_b: int
    std_a: float | None
    std_b: float | None

    @property
    def standard_error(self) -> float | None:
        """Of the difference of the means (Welch); needs two seeds on each side."""
        if self.std_a is None or self.std_b is None:
            return None
        return math.sqrt(self.std_a**2 / self.n_a + self.std_b**2 / self.n_b)

    @property
    def beyond_noise(self) -> bool | None:
        """|diff| > 2 standard errors (about a 95% two-sided test); None when it cannot be told."""
        se = self.standard_error
        if se is None:
            return None
        return abs(self.diff) > 2 * se


def difference(a: ExperimentResults, b: ExperimentResults, name: str) -> Difference | None:
    mean_a, mean_b = a.mean(name), b.mean(name)
    if mean_a is None or mean_b is None:
        return None
    return Difference(mean_a, mean_b, mean_a - mean_b, len(a.values(name)), len(b.values(name)),
                      a.std(name), b.std(name))


def sampling_error(accuracy: float, test_images: int) -> float:
    """Binomial standard error of an accuracy measured on ``test_images`` images."""
    return math.sqrt(max(accuracy * (1 - accuracy), 0.0) / max(test_images, 1))


# --- formatting ----------------------------------------------------------------------------

NBSP = "\u00a0"  # keeps "80.29 %" and "12.3 min" on one line in a narrow table column


def fmt_pct(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value * 100:.{digits}f}{NBSP}%"


def fmt_pp(value: float | None, digits: int = 1) -> str:
    """A difference of two accuracies, in percentage points, with its sign."""
    return "n/a" if value is None else f"{value * 100:+.{digits}f}{NBSP}pp"


def _time_unit(seconds: float) -> tuple[float, str]:
    if seconds < 90:
        return 1, "s"
    if seconds < 3 * 3600:  # the handout gives times up to two hours in minutes
        return 60, "min"
    return 3600, "h"


def fmt_duration(seconds: float | None, unit_of: float | None = None) -> str:
    """12.3 s, 25.5 min, 41.5 h; in the unit that suits ``unit_of`` when given (for a spread)."""
    if seconds is None:
        return "n/a"
    divisor, unit = _time_unit(seconds if unit_of is None else unit_of)
    return f"{seconds / divisor:.1f}{NBSP}{unit}"


def fmt_count(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def fmt_rate(value: float | None) -> str:
    """Images per second: three significant digits below 100, whole numbers above."""
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def fmt_sci(value: float) -> str:
    """1e-4 rather than 0.0001, 2e-5 rather than 2e-05."""
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def fmt_latex_sci(value: float) -> str:
    """10^{-4}, 2 \\times 10^{-5}: a small constant as a formula."""
    mantissa, exponent = f"{value:.0e}".split("e")
    power = f"10^{{{int(exponent)}}}"
    return power if mantissa == "1" else f"{mantissa} \\times {power}"


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


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], align: str | None = None) -> str:
    """A GitHub-style markdown table; ``align`` has one of l, r, c per column (default: left)."""
    align = align or "l" * len(headers)
    marks = {"l": ":--", "r": "--:", "c": ":-:"}

    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |",
             "|" + "|".join(marks[a] for a in align) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


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


# --- exercise 1: the project's structure -------------------------------------------------

def docstring_summary(path: Path) -> dict[str, Any]:
    """A Python file's docstring first line, its public classes, and which of them are
    ``nn.Module`` subclasses (read, not imported)."""
    try:
        tree = ast.parse(path.read_text())
    except (OSError, SyntaxError):
        return {"summary": "", "classes": [], "modules": []}
    doc = (ast.get_docstring(tree) or "").strip().splitlines()
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and not n.name.startswith("_")]
    modules = [n.name for n in classes if any(ast.unparse(b) in ("nn.Module", "Module") for b in n.bases)]
    return {"summary": doc[0] if doc else "", "classes": [n.name for n in classes], "modules": modules}


def project_structure(root: Path) -> list[dict[str, Any]]:
    """Each module of ``labutils`` (and its models), notebook and profile: ``path``, ``summary``
    (what it is for), ``classes`` and ``modules`` (the classes that are ``nn.Module``s)."""
    import json

    import yaml

    rows = []
    for folder in (root / "labutils", root / "labutils" / "models"):
        for path in sorted(folder.glob("*.py")):
            rows.append({"path": path.relative_to(root).as_posix(), **docstring_summary(path)})
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        try:
            cells = json.loads(path.read_text())["cells"]
            heading = next(("".join(c["source"]).strip().splitlines()[0].lstrip("# ")
                            for c in cells if c["cell_type"] == "markdown"), "")
        except (OSError, ValueError, KeyError, IndexError):
            heading = ""
        rows.append({"path": path.relative_to(root).as_posix(), "summary": heading, "classes": [], "modules": []})
    for path in sorted((root / "notebooks" / "profiles").glob("*.yaml")):
        try:
            description = " ".join(str(yaml.safe_load(path.read_text()).get("description", "")).split())
        except (OSError, yaml.YAMLError, AttributeError):
            description = ""
        rows.append({"path": path.relative_to(root).as_posix(), "summary": description.split(". ")[0],
                     "classes": [], "modules": []})
    return rows


# --- exercise 3: our GoogLeNet against Table 1 ---------------------------------------------

def hwc(shape: Sequence[int] | None) -> tuple[int, int, int] | None:
    """A layer_summary shape, (C, H, W) or (C,), as Table 1 writes it: (H, W, C)."""
    if shape is None:
        return None
    if len(shape) == 1:
        return (1, 1, shape[0])
    channels, height, width = shape
    return (height, width, channels)


def fmt_size(size: tuple[int, ...] | None) -> str:
    return "-" if size is None else "x".join(str(s) for s in size)


def inception_filters(module: Any) -> tuple[int, ...] | None:
    """An Inception module's Table 1 columns: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj."""
    try:
        return (module.branch_1x1.conv.out_channels,
                module.branch_3x3[0].conv.out_channels, module.branch_3x3[1].conv.out_channels,
                module.branch_5x5[0].conv.out_channels, module.branch_5x5[1].conv.out_channels,
                module.branch_pool[1].conv.out_channels)
    except (AttributeError, IndexError, TypeError):
        return None


def table1_rows(model: Any, summary: list[dict[str, Any]], num_classes: int) -> list[dict[str, Any]]:
    """Our GoogLeNet's layers (``layer_summary`` at 224x224) beside Table 1's rows.

    ``match`` is True when output size (and filters, for Inception modules) agree with the
    paper; for the last layer, when only the number of classes differs (1000 vs ours).
    """
    paper = {row.layer: row for row in PAPER_TABLE1}
    rows = []
    for layer in summary:
        name = layer["layer"]
        ours = hwc(layer["output_shape"])
        ref = paper.get(name)
        filters = inception_filters(getattr(model, name, None)) if ref and ref.filters else None
        if ref is None or ref.output is None:
            match = None
        elif name == "fc":
            match = ours == (1, 1, num_classes)
        else:
            match = ours == ref.output and (ref.filters is None or filters == ref.filters)
        rows.append({"layer": name, "type": layer["type"], "paper": ref.paper if ref else "-",
                     "ours": ours, "paper_output": ref.output if ref else None,
                     "filters": filters, "paper_filters": ref.filters if ref else None,
                     "params": layer["params"], "match": match})
    return rows


def side_classifier_shapes(model: Any, image_size: int = 224) -> dict[str, dict[str, tuple[int, ...]]]:
    """Output size (H, W, C) of each layer of both side classifiers, measured on one image.

    Like ``layer_summary``: every layer in eval mode, but the model itself flagged as
    training so that it runs its side classifiers. Modes are restored afterwards.
    """
    import torch

    shapes: dict[str, dict[str, tuple[int, ...]]] = {}
    hooks = []
    for aux in ("aux1", "aux2"):
        shapes[aux] = {}
        for name, child in getattr(model, aux).named_children():
            def hook(module, inputs, output, aux=aux, name=name):
                shapes[aux][name] = hwc(tuple(output.shape[1:]))
            hooks.append(child.register_forward_hook(hook))
    modes = {module: module.training for module in model.modules()}
    try:
        model.eval()
        model.training = True
        with torch.no_grad():
            model(torch.zeros(1, 3, image_size, image_size))
    finally:
        for handle in hooks:
            handle.remove()
        for module, training in modes.items():
            module.training = training
    return shapes
