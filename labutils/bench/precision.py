"""The bench's precision table: fp32 against what ``--precision`` (``auto``) chooses, side by side.

Per model (AlexNet and GoogLeNet) and image size (224 and 64 px by default): training images/s
of the lab's pipeline (``measure_ours``: loaders, ``train_model``, recipe) in fp32 and in the
runtime ``train --precision`` resolves to at the bench's batch size. fp32 and the choice
alternate, ``--repeats`` times, and each figure is the median, so that a change in a shared
machine's load hits both alike. When the choice is fp32 itself it is measured once.
"""

from __future__ import annotations

import functools
import statistics

import torch

from ..runtime.runtime import resolve_runtime
from .report import runtime_label
from .settings import BenchSettings
from .timing import attempt, bench_runtime, measure_ours, say

# ``auto`` counts as measurably slower than fp32 below this ratio (timing noise on a shared CPU
# is a few per cent).
NOT_SLOWER = 0.95


def precision_rows(experiment: str, device: torch.device, s: BenchSettings) -> list[dict]:
    """One row per image size: fp32 and the chosen runtime's training images/s, and their ratio."""
    rows = []
    for size in s.precision_sizes:
        runtimes = {"fp32": resolve_runtime(device, "fp32"),
                    "chosen": bench_runtime(experiment, device, s.precision, s.batch_size, size)}
        names = ["fp32"] if runtimes["chosen"] == runtimes["fp32"] else ["fp32", "chosen"]
        rates: dict[str, list[float]] = {name: [] for name in names}
        status = "ok"
        for _, name in ((r, n) for r in range(s.repeats) for n in names):
            measure = functools.partial(measure_ours, experiment, runtimes[name], s.batch_size, size, s.warmup,
                                        s.steps, 1, s.workers, bare=False)
            measured = attempt(f"{experiment} {size}px {name}", measure, device)
            if measured["status"] != "ok":
                status = measured["status"]
                break
            rates[name].append(measured["images_per_s"])
        chosen = runtimes["chosen"]
        row = {"image_size": size, "status": status, **chosen.options(), "choice": chosen.choice,
               "fp32_images_per_s": None, "chosen_images_per_s": None, "ratio": None}
        if status == "ok":
            row["fp32_images_per_s"] = statistics.median(rates["fp32"])
            row["chosen_images_per_s"] = statistics.median(rates[names[-1]])
            row["ratio"] = row["chosen_images_per_s"] / row["fp32_images_per_s"]
            say(f"{experiment} {size}px: fp32 {row['fp32_images_per_s']:.1f} img/s, "
                f"{runtime_label(row)} {row['chosen_images_per_s']:.1f} img/s ({row['ratio']:.2f}x)")
        rows.append(row)
    return rows


def precision_targets(table: dict[str, list[dict]], precision: str) -> list[dict]:
    """The issue's target: the chosen runtime is never measurably slower than fp32."""
    return [{"target": f"{name} {row['image_size']}px: --precision {precision} >= {NOT_SLOWER:g}x fp32",
             "value": row["ratio"], "met": None if row["ratio"] is None else row["ratio"] >= NOT_SLOWER}
            for name, rows in table.items() for row in rows]
