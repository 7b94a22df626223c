"""What a lab will run, and how long it takes.

Each run of a profile resolved (``resolve_plan``), the ``--dry-run`` table, the estimated time on
a 2-core CPU (``--yes`` asked for before hours of it), and the progress line between runs.
"""

from __future__ import annotations

import functools
import math
import sys
import time
from pathlib import Path

from torch import nn

from .. import models
from ..catalog import spec
from ..config import RunConfig, split_sizes
from ..data import fingerprint
from ..flops import training_flops
from ..resolve import resolve
from ..run_folder import COMPLETE, RunFolder
from ..run_folder.identity import DATA_KEY, differences
from ..runtime.device import pick_device
from ..runtime.runtime import PROBE_MIN_RUN_STEPS, ProbeTarget, Runtime, cpu_supports, step_seconds
from ..train_module import training_loss
from .profiles import Profile

# The guard before hours on a CPU (--yes) uses these rates, a slow 2-core CPU's at 224x224, batch 16,
# scaled by FLOPs per image to other sizes; --dry-run measures this machine instead (measured_cpu_rates).
CPU_RATES_IMAGE_SIZE = 224
CPU_TRAIN_IMAGES_PER_S = {"alexnet": 22.0, "googlenet": 11.0}
CPU_EVAL_SPEEDUP = 3.0
# Starting a kernel, importing torch and loading data: about this much per run, whatever it trains.
CPU_RUN_OVERHEAD_S = 15.0
MEASURED_BATCH = 32  # --dry-run times steps at most this large (a CPU's default batch), so that it takes seconds
PROBE_STEPS = 15  # what --precision auto's probe costs a long run on a CPU with bf16 units
# Longer than this on a CPU, and the lab asks for --yes first.
LONG_CPU_LAB_S = 3 * 3600


def fmt_clock(seconds: float) -> str:
    """1m23s, 12m, 2h05m: a clock reading for progress lines (the report uses report/format.py's fmt_duration)."""
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


@functools.cache
def _training_flops(experiment: str, image_size: int) -> int:
    return training_flops(experiment, image_size)


def estimate_cpu_seconds(config: RunConfig, measured: bool = False) -> float | None:
    """How long one run takes on a CPU (None when the dataset's size is unknown): at the rates of
    a slow 2-core CPU, or with ``measured``, at this machine's (``measured_cpu_rates``)."""
    sizes = split_sizes(config.dataset, config.val_fraction, config.train_samples, config.val_samples,
                        config.test_samples)
    if sizes is None:
        return None
    train, val, test = sizes
    steps = math.ceil(train / config.batch_size) * config.epochs
    probing = measured and config.precision == "auto" and steps >= PROBE_MIN_RUN_STEPS and cpu_supports("bf16")
    if measured:
        rate, eval_rate = measured_cpu_rates(config.experiment, config.image_size, config.batch_size,
                                             config.precision, probing)
    else:  # time per image follows the arithmetic per image, which depends on the image size
        scale = _training_flops(config.experiment, CPU_RATES_IMAGE_SIZE) / _training_flops(config.experiment,
                                                                                             config.image_size)
        rate = CPU_TRAIN_IMAGES_PER_S[spec(config.experiment).family] * scale
        eval_rate = rate * CPU_EVAL_SPEEDUP
    probe = PROBE_STEPS * config.batch_size / rate if probing else 0.0
    return CPU_RUN_OVERHEAD_S + probe + config.epochs * (train / rate + val / eval_rate) + test / eval_rate


@functools.cache
def measured_cpu_rates(experiment: str, image_size: int, batch_size: int, precision: str,
                       probing: bool) -> tuple[float, float]:
    """(training, evaluation) images/s of ``experiment``'s network on this CPU, from a few timed steps
    in the precision the run will use (with ``probing``, the faster of fp32 and bf16, as auto's probe)."""
    candidates = {"fp32": [("fp32", False)], "bf16": [("bf16", True)], "fp16": [("fp16", False)]}.get(
        precision, [("fp32", False), ("bf16", True)] if probing else [("fp32", False)])
    batch = min(batch_size, MEASURED_BATCH)
    network = models.build_model(experiment, random_weights=True)
    probe = ProbeTarget(network, nn.CrossEntropyLoss(), training_loss, batch, image_size, 0, experiment)
    seconds = min(step_seconds(probe, Runtime(pick_device("cpu"), p, cl)) for p, cl in candidates)
    return batch / seconds, batch / seconds * CPU_EVAL_SPEEDUP


def _trains_on_cpu(config: RunConfig) -> bool:
    return pick_device(config.device).type == "cpu"


class Progress:
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


def check_duration(profile: Profile, plan: dict[tuple[str, int], RunConfig], yes: bool) -> bool:
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


# A run's state before the lab trains: complete (kept), resume (an unfinished run of these settings),
# train (nothing there yet), or "stale: what differs" (made with other settings: kept only if asked).
RESUME, TRAIN, STALE = "resume", "train", "stale"


def run_state(config: RunConfig) -> str:
    """What the lab will do with ``config``'s run folder (see the states above); ``config`` is what the
    profile asks (before the machine's defaults: a value it leaves to the machine matches any)."""
    folder = RunFolder(config.run_dir)
    complete = folder.is_complete()
    if not complete and not folder.last.exists():
        return TRAIN
    asked = {**config.to_dict(), DATA_KEY: _fingerprint(config.dataset, config.data_root)}
    changed = differences(folder.recorded_run(), asked)
    if changed:
        return f"{STALE}: {'; '.join(changed)}"
    return COMPLETE if complete else RESUME


@functools.cache
def _fingerprint(dataset: str, data_root: str) -> str | None:
    return fingerprint(dataset, data_root)


def resolve_plan(profile: Profile, runs_dir: Path) -> dict[tuple[str, int], RunConfig]:
    """Every run of ``profile``, resolved completely (what each run will really use)."""
    return {(e, s): resolve(profile.config(e, s, runs_dir)) for e, s in profile.runs()}


def print_plan(profile: Profile, plan: dict[tuple[str, int], RunConfig], states: dict[tuple[str, int], str]) -> None:
    """``lab --dry-run``: each run's resolved settings, state and estimated time; trains nothing."""
    print(f"lab: profile '{profile.name}' ({_shown(profile.path)}): {profile.description}")
    headers = ["run", "dataset", "train / val / test", "size", "epochs", "batch", "lr", "device", "CPU estimate",
               "run folder", "state"]
    rows = []
    for (experiment, seed), config in plan.items():
        sizes = split_sizes(config.dataset, config.val_fraction, config.train_samples, config.val_samples,
                            config.test_samples)
        counts = " / ".join(f"{n:,}" for n in sizes) if sizes else "read at start"
        estimate = estimate_cpu_seconds(config, measured=True) if _trains_on_cpu(config) else None
        rows.append([f"{experiment} seed {seed}", config.dataset, counts, f"{config.image_size}px",
                     str(config.epochs), str(config.batch_size), f"{config.lr:.3g}",
                     pick_device(config.device).type, fmt_clock(estimate) if estimate is not None else "?",
                     _shown(config.out), states[(experiment, seed)]])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    for row in [headers, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    estimates = [estimate_cpu_seconds(c, measured=True) for c in plan.values() if _trains_on_cpu(c)]
    if estimates and None not in estimates:
        print(f"lab: about {fmt_clock(sum(estimates))} on this CPU in all (from a few timed training steps of each "
              "network; a GPU takes a fraction)")
    print("lab: dry run: nothing trained")


def _shown(path: str | Path) -> str:
    """``path`` relative to the working folder when it lies below it (shorter to read)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
