"""The report's one rule for "is this a difference": every comparative sentence of the report goes
through it (``findings.py``, ``answers.py``), and ``tests/test_report_evidence.py`` feeds it pairs
inside and outside the noise, ties of two and of many, one seed and several.

**Accuracy.** Two accuracies ``p_a`` and ``p_b`` measured on ``n_a`` and ``n_b`` images differ by an
effect when the difference exceeds twice its standard error

    SE = sqrt(p_a (1 - p_a) / n_a + p_b (1 - p_b) / n_b)

(the binomial sampling error of the images each was measured on). When both sides have two or more
seeds, the seeds' spread counts too: SE is the larger of that and the Welch standard error of the
difference of the means, ``sqrt(s_a^2 / k_a + s_b^2 / k_b)`` (the seeds share one test set, so
averaging them does not remove its sampling error). Otherwise the difference is *within the noise*
and the sentence says so, with the numbers. The same rule ranks several items: the best (or the
lowest) and every item within noise of it are named together as tied.

**Timing.** A speed or time difference is an effect only when the two differ by more than
``TIMING_MARGIN`` (runs made at different times share the machine with other load) and, where each
side has repeated measurements (the per-epoch rates of ``history.csv``, or seeds), by more than twice
the Welch standard error of those. Runs made with a different precision, memory format, device,
batch or image size are not compared as networks: the sentence says what differed instead.

**Data.** Generated images or random "pretrained" weights make a pipeline check (:class:`Grounds`):
comparative findings are replaced by one line saying that they need real data.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .format import NBSP, fmt_pct, fmt_pp, fmt_rate
from .runs import LABELS, ExperimentResults, LabRuns, RunRecord

NOISE_FACTOR = 2  # an effect: more than this many standard errors
TIMING_MARGIN = 0.20  # an effect in time or speed: more than 20 % apart (and beyond the spread of repeats)
# The metrics field holding the number of images an accuracy was measured on.
IMAGES_OF = {"test_acc": "test_images", "val_acc": "val_images", "train_acc": "train_images"}
# What must be the same for two runs' speeds to compare the networks alone (metrics.json fields).
SPEED_SETTINGS = {"device": "device", "precision": "precision", "memory_format": "memory format",
                  "batch_size": "batch", "image_size": "image size"}

# The phrases a comparative sentence of this module is made of; a report of a pipeline check holds
# none of them (tests/test_report_evidence.py, tests/test_report_pdf.py).
WITHIN, BEYOND, TIED = "within the noise", "beyond the noise", "tied within the noise"
TIED_TIMING = "tied within the timing noise"
WITHIN_MARGIN = "within the timing noise"
COMPARATIVE_PHRASES = (WITHIN, BEYOND, "tied", WITHIN_MARGIN, "faster", "slower", "more accurate", "less accurate",
                       "ahead", "behind", "widest", "narrowest", "hardest", "easiest", "beat", "gains", "helps",
                       "improves", "lowers", "times as fast", "times as long", "overfit", "not like with like")

RULE = (f"**How differences are judged.** A difference of two accuracies $p_a$, $p_b$ measured on $n_a$ and $n_b$ "
        f"images counts as an effect only when it exceeds {NOISE_FACTOR} standard errors, "
        r"$SE = \sqrt{p_a(1-p_a)/n_a + p_b(1-p_b)/n_b}$"
        "; with two or more seeds on both sides, SE is the larger of that and the seeds' Welch standard error "
        r"$\sqrt{s_a^2/k_a + s_b^2/k_b}$. "
        f"Otherwise it is *{WITHIN}*, and items within noise of the best are named as tied. A time or speed "
        f"difference counts only beyond {TIMING_MARGIN:.0%} and beyond {NOISE_FACTOR} standard errors of repeated "
        "measurements (epochs, seeds), and only between runs with the same device, precision, memory format, batch "
        "and image size.")


SAMPLING, SEEDS = "the images' sampling", "the seeds' spread"  # what a Gap's standard error came from


# --- accuracies --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Estimate:
    """A measured proportion (an accuracy, or a gap between two) and what its noise is made of:
    ``sampling_var``, the binomial variance of the images it was measured on, and the per-seed values."""

    value: float
    sampling_var: float
    seeds: tuple[float, ...] = ()

    @property
    def k(self) -> int:
        return len(self.seeds)

    @property
    def seed_var(self) -> float | None:
        """Variance of the mean over seeds (s^2 / k); None with fewer than two."""
        return statistics.variance(self.seeds) / self.k if self.k >= 2 else None


def binomial_var(p: float, n: int) -> float:
    return max(p * (1 - p), 0.0) / max(n, 1)


def proportion(p: float, n: int) -> Estimate:
    """One accuracy ``p`` measured on ``n`` images, one seed."""
    return Estimate(p, binomial_var(p, n))


def accuracy(results: ExperimentResults, name: str = "test_acc") -> Estimate | None:
    """An experiment's accuracy (mean over its complete seeds) with its noise; None without a run."""
    seeds = tuple(results.values(name))
    if not seeds:
        return None
    p = statistics.fmean(seeds)
    return Estimate(p, binomial_var(p, int(results.first(IMAGES_OF[name]) or 0)), seeds)


def accuracy_gap(results: ExperimentResults, high: str, low: str) -> Estimate | None:
    """``high`` minus ``low`` accuracy (e.g. "train", "val"; mean over seeds), with the sampling noise of both."""
    runs = results.complete
    if not runs:
        return None
    gaps = tuple(r.metrics[f"{high}_acc"] - r.metrics[f"{low}_acc"] for r in runs)
    noise = sum(binomial_var(results.mean(f"{split}_acc"), int(results.first(f"{split}_images")))
                for split in (high, low))
    return Estimate(statistics.fmean(gaps), noise, gaps)


def generalisation_gap(results: ExperimentResults) -> Estimate | None:
    """Training minus validation accuracy: how far a network fits its training images beyond new ones."""
    return accuracy_gap(results, "train", "val")


def selection_gap(results: ExperimentResults) -> Estimate | None:
    """Validation minus test accuracy: what choosing the best epoch on the validation set may have fitted to it."""
    return accuracy_gap(results, "val", "test")


@dataclass(frozen=True)
class Gap:
    """``a - b`` of two estimates, its standard error, and what the standard error came from."""

    a: float
    b: float
    se: float
    basis: str  # "the images' sampling" or "the seeds' spread"

    @property
    def diff(self) -> float:
        return self.a - self.b

    @property
    def effect(self) -> bool:
        return abs(self.diff) > NOISE_FACTOR * self.se

    @property
    def verdict(self) -> str:
        return BEYOND if self.effect else WITHIN

    def noise(self) -> str:
        """'2 SE = 1.2 pp' (and, when the seeds' spread set it, so)."""
        basis = " from the seeds" if self.basis == SEEDS else ""
        return f"{NOISE_FACTOR} SE = {NOISE_FACTOR * self.se * 100:.1f}{NBSP}pp{basis}"

    def judged(self, digits: int = 1) -> str:
        """'+1.1 pp, within the noise: 2 SE = 1.2 pp'."""
        return f"{fmt_pp(self.diff, digits)}, {self.verdict}: {self.noise()}"


def compare(a: Estimate, b: Estimate) -> Gap:
    """The rule: the sampling error of the difference, or the seeds' Welch error when both sides
    have two or more seeds and it is the larger."""
    se, basis = math.sqrt(a.sampling_var + b.sampling_var), SAMPLING
    if a.seed_var is not None and b.seed_var is not None:
        welch = math.sqrt(a.seed_var + b.seed_var)
        if welch > se:
            se, basis = welch, SEEDS
    return Gap(a.value, b.value, se, basis)


def compare_accuracy(a: ExperimentResults, b: ExperimentResults, name: str = "test_acc") -> Gap | None:
    """``a``'s accuracy against ``b``'s; None when either has no complete run."""
    ea, eb = accuracy(a, name), accuracy(b, name)
    return None if ea is None or eb is None else compare(ea, eb)


@dataclass(frozen=True)
class Ranking:
    """Items ordered by an estimate: ``first`` is the highest (or lowest) and ``tied`` every item
    within noise of it, ``first`` included, in order."""

    first: str
    tied: tuple[str, ...]
    values: Mapping[str, float] = field(default_factory=dict)

    @property
    def alone(self) -> bool:
        return len(self.tied) == 1

    def named(self, fmt=fmt_pct, tie: str = TIED) -> str:
        """'AlexNet (80.1 %)' or 'AlexNet (80.1 %), tied within the noise with AlexNet + LRN (79.8 %) and ...'."""
        head = f"{self.first} ({fmt(self.values[self.first])})"
        if self.alone:
            return head
        others = [f"{item} ({fmt(self.values[item])})" for item in self.tied[1:]]
        return f"{head}, {tie} with {join(others)}"


def rank(items: Mapping[str, Estimate], lowest: bool = False) -> Ranking | None:
    """The highest item (``lowest``: the lowest) and every item within noise of it."""
    if not items:
        return None
    order = sorted(items, key=lambda name: items[name].value, reverse=not lowest)
    first = order[0]
    tied = tuple(name for name in order if name == first or not compare(items[first], items[name]).effect)
    return Ranking(first, tied, {name: items[name].value for name in items})


def join(names: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# --- timing ------------------------------------------------------------------------------------

def timing_samples(results: ExperimentResults, name: str) -> tuple[float, ...]:
    """Repeated measurements of a speed or time: per epoch (history.csv) for the training rate and
    the time per epoch, else one per seed."""
    samples: list[float] = []
    for run in results.complete:
        if name == "images_per_s" and run.history:
            samples += [float(row["images_per_s"]) for row in run.history if row.get("images_per_s")]
        elif name == "time_per_epoch_s" and run.history:
            samples += [float(row["train_seconds"]) + float(row["eval_seconds"]) for row in run.history
                        if row.get("train_seconds") is not None and row.get("eval_seconds") is not None]
        else:
            value = run.metrics.get(name) if name != "time_per_epoch_s" else None
            if isinstance(value, (int, float)) and math.isfinite(value):
                samples.append(float(value))
    return tuple(samples)


def speed_settings(run: RunRecord) -> dict[str, str]:
    return {key: str(run.metrics.get(key, "not recorded")).replace("_", "-") for key in SPEED_SETTINGS}


def settings_difference(a: ExperimentResults, b: ExperimentResults) -> str | None:
    """What differed between two experiments' runs that changes speed by itself (precision, memory
    format, device, batch, image size): 'precision: AlexNet fp32, GoogLeNet bf16', or None."""
    differs = []
    for key, what in SPEED_SETTINGS.items():
        values_a = sorted({speed_settings(r)[key] for r in a.complete})
        values_b = sorted({speed_settings(r)[key] for r in b.complete})
        if values_a != values_b:
            differs.append(f"{what}: {a.label} {', '.join(values_a)}, {b.label} {', '.join(values_b)}")
    return "; ".join(differs) or None


@dataclass(frozen=True)
class SpeedGap:
    """Two experiments' speeds (or times): the figures shown, their repeats and what differed."""

    a: float
    b: float
    samples_a: tuple[float, ...]
    samples_b: tuple[float, ...]
    mismatch: str | None  # settings that differed between the runs (settings_difference)

    @property
    def ratio(self) -> float:
        """The larger over the smaller (>= 1)."""
        low, high = sorted((self.a, self.b))
        return high / low if low > 0 else math.inf

    @property
    def se(self) -> float | None:
        """Welch standard error of the difference from the repeats; None without two on each side."""
        if len(self.samples_a) < 2 or len(self.samples_b) < 2:
            return None
        return math.sqrt(statistics.variance(self.samples_a) / len(self.samples_a)
                         + statistics.variance(self.samples_b) / len(self.samples_b))

    @property
    def beyond_noise(self) -> bool:
        """Apart by more than the margin and, where there are repeats, beyond their spread."""
        se = self.se
        return self.ratio > 1 + TIMING_MARGIN and (se is None or abs(self.a - self.b) > NOISE_FACTOR * se)

    @property
    def effect(self) -> bool:
        """A difference the networks make: beyond the noise, between runs of the same settings."""
        return self.mismatch is None and self.beyond_noise

    def noise(self, fmt=fmt_rate, unit: str = "") -> str:
        """'margin 20 %, 2 SE of the repeats 3.1 images/s' (or that there were no repeats)."""
        spread = self.se
        repeats = (f", {NOISE_FACTOR} SE of the repeats {fmt(NOISE_FACTOR * spread)}{unit}" if spread is not None
                   else ", no repeated measurements")
        return f"margin {TIMING_MARGIN:.0%}{repeats}"


def compare_speed(a: ExperimentResults, b: ExperimentResults, name: str) -> SpeedGap | None:
    """``a`` against ``b`` in ``name`` (images_per_s, time_per_epoch_s, inference_images_per_s,
    latency_ms); None when either lacks it."""
    mean_a, mean_b = a.mean(name), b.mean(name)
    if mean_a is None or mean_b is None:
        return None
    return SpeedGap(mean_a, mean_b, timing_samples(a, name), timing_samples(b, name), settings_difference(a, b))


def speed_sentence(gap: SpeedGap, label_a: str, label_b: str, fmt, unit: str = "",
                   higher_is_faster: bool = True, short: bool = False) -> str:
    """'GoogLeNet 300 images/s, AlexNet 900 images/s: AlexNet is 3.0 times as fast (beyond the timing
    noise: margin 20 %, ...)', or within the timing noise, or not like with like (and what differed).
    ``short``: without the noise's figures."""
    figures = f"{label_a} {fmt(gap.a)}{unit}, {label_b} {fmt(gap.b)}{unit}"
    noise = "" if short else f": {gap.noise(fmt, unit)}"
    if gap.mismatch:
        return f"{figures}: not like with like ({gap.mismatch}), so this does not compare the networks alone"
    if not gap.beyond_noise:
        return f"{figures}: {gap.ratio:.2f}x apart, {WITHIN_MARGIN}" + (f" ({noise[2:]})" if noise else "")
    a_faster = (gap.a > gap.b) == higher_is_faster
    fast, slow = (label_a, label_b) if a_faster else (label_b, label_a)
    return f"{figures}: {fast} is {gap.ratio:.1f} times as fast as {slow} (beyond the timing noise{noise})"


def accuracy_sentence(gap: Gap, label_a: str, label_b: str, what: str = "test accuracy", digits: int = 1) -> str:
    """'GoogLeNet is more accurate: 85.0 % against AlexNet's 77.4 % test accuracy (+7.6 pp, beyond the noise:
    2 SE = 1.2 pp)', or 'GoogLeNet 77.5 %, AlexNet 77.4 % test accuracy (+0.1 pp, within the noise: ...)'."""
    if gap.effect:
        better = "more accurate" if gap.diff > 0 else "less accurate"
        return (f"{label_a} is {better}: {fmt_pct(gap.a, digits)} against {label_b}'s {fmt_pct(gap.b, digits)} {what} "
                f"({gap.judged(digits)})")
    return f"{label_a} {fmt_pct(gap.a, digits)}, {label_b} {fmt_pct(gap.b, digits)} {what} ({gap.judged(digits)})"


def rank_speed(items: Mapping[str, ExperimentResults], name: str = "images_per_s",
               higher_is_faster: bool = True) -> tuple[Ranking | None, str | None]:
    """The fastest item and every item within the timing noise of it, when all runs share their
    settings; else (None, what differed)."""
    items = {label: r for label, r in items.items() if r.mean(name) is not None}
    if not items:
        return None, None
    labels = list(items)
    for other in labels[1:]:
        mismatch = settings_difference(items[labels[0]], items[other])
        if mismatch:
            return None, mismatch
    order = sorted(labels, key=lambda label: items[label].mean(name), reverse=higher_is_faster)
    first = order[0]
    tied = tuple(label for label in order
                 if label == first or not compare_speed(items[first], items[label], name).beyond_noise)
    return Ranking(first, tied, {label: items[label].mean(name) for label in labels}), None


# --- what the runs can show ----------------------------------------------------------------------

@dataclass(frozen=True)
class Grounds:
    """What the complete runs can support: generated images (``dataset: fake``) support no finding,
    random "pretrained" weights none about pretraining. Either makes the report a pipeline check."""

    generated: bool
    random_weights: tuple[str, ...]  # labels of the pretrained experiments that started from random weights

    @property
    def pipeline_check(self) -> bool:
        return self.generated or bool(self.random_weights)

    def can_compare(self, pretraining: bool = False) -> bool:
        """Whether comparative findings may be stated (``pretraining``: about ImageNet's weights)."""
        return not self.generated and not (pretraining and self.random_weights)

    def why(self) -> str:
        parts = ["generated images, not CIFAR-10"] if self.generated else []
        if self.random_weights:
            parts.append("random weights in place of ImageNet's")
        return "; ".join(parts)

    def needs_real_data(self, pretraining: bool = False) -> str:
        """The one line that stands in for a section's comparative findings."""
        if self.generated:
            return ("*Comparative findings need real data: these runs trained on generated images (a pipeline "
                    "check), so the numbers show that the pipeline produced them, not how the networks compare.*")
        return ("*Findings about pretraining need ImageNet's weights: these pretrained runs started from random "
                "weights (a pipeline check).*")

    def banner(self) -> str | None:
        """The line each section opens with in a pipeline check; None for real results."""
        if not self.pipeline_check:
            return None
        return f"*Pipeline check ({self.why()}): the numbers test the pipeline, not the networks.*"


def grounds_of(runs: Iterable[RunRecord]) -> Grounds:
    """What these complete runs can support."""
    runs = [r for r in runs if r.complete]
    random = sorted({LABELS.get(r.experiment, r.experiment) for r in runs
                     if str(r.metrics.get("weights", "")).startswith("random")})
    return Grounds(any(r.metrics.get("dataset") == "fake" for r in runs), tuple(random))


def grounds(lab: LabRuns) -> Grounds:
    """What the lab's complete runs can support."""
    return grounds_of(lab.complete)


def grounds_for(*results: ExperimentResults) -> Grounds:
    """What the runs of these experiments can support (a finding checks its own inputs)."""
    return grounds_of(run for r in results for run in r.complete)
