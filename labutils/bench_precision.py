"""The bench's precision table: fp32 against what ``--precision`` (``auto``) chooses, side by side.

Per model (AlexNet and GoogLeNet) and image size (224 and 64 px by default): training images/s
of the lab's pipeline (``measure_ours``: loaders, ``train_model``, recipe) in fp32 and in the
runtime ``train --precision`` resolves to at the bench's batch size. fp32 and the choice
alternate, ``--repeats`` times, and each figure is the median, so that a change in a shared
machine's load hits both alike. When the choice is fp32 itself it is measured once.
"""

from __future__ import annotations

import statistics

import torch

from .bench import _attempt, _fmt, _say, _table, bench_runtime, measure_ours
from .runtime import precision_label, resolve_runtime

# ``auto`` counts as measurably slower than fp32 below this ratio (timing noise on a shared CPU
# is a few per cent).
NOT_SLOWER = 0.95


def precision_rows(experiment: str, device: torch.device, settings: dict) -> list[dict]:
    """One row per image size: fp32 and the chosen runtime's training images/s, and their ratio."""
    s = settings
    rows = []
    for size in s["precision_sizes"]:
        runtimes = {"fp32": resolve_runtime(device, "fp32"),
                    "chosen": bench_runtime(experiment, device, s["precision"], s["batch_size"], size)}
        names = ["fp32"] if runtimes["chosen"] == runtimes["fp32"] else ["fp32", "chosen"]
        rates: dict[str, list[float]] = {name: [] for name in names}
        status = "ok"
        for _, name in ((r, n) for r in range(s["repeats"]) for n in names):
            measured = _attempt(f"{experiment} {size}px {name}", lambda: measure_ours(
                experiment, runtimes[name], s["batch_size"], size, s["warmup"], s["steps"], 1, s["workers"],
                bare=False), device)
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
            _say(f"{experiment} {size}px: fp32 {row['fp32_images_per_s']:.1f} img/s, "
                 f"{_label(row)} {row['chosen_images_per_s']:.1f} img/s ({row['ratio']:.2f}x)")
        rows.append(row)
    return rows


def _label(row: dict) -> str:
    return precision_label(row["precision"], row["memory_format"] == "channels_last")


def precision_targets(table: dict[str, list[dict]], precision: str) -> list[dict]:
    """The issue's target: the chosen runtime is never measurably slower than fp32."""
    return [{"target": f"{name} {row['image_size']}px: --precision {precision} >= {NOT_SLOWER:g}x fp32",
             "value": row["ratio"], "met": None if row["ratio"] is None else row["ratio"] >= NOT_SLOWER}
            for name, rows in table.items() for row in rows]


def format_precision(table: dict[str, list[dict]], settings: dict) -> list[str]:
    """The table's lines for the printed report (none when nothing was compared)."""
    if not table:
        return []
    rows = []
    for name, entries in table.items():
        for row in entries:
            probe = (row.get("choice") or {}).get("images_per_s")
            rows.append([name, f"{row['image_size']}px", _fmt(row["fp32_images_per_s"]), _label(row),
                         _fmt(row["chosen_images_per_s"]),
                         _fmt(row["ratio"], ".2f") + ("x" if row["ratio"] else ""),
                         " / ".join(f"{k} {v:.1f}" for k, v in probe.items()) if probe
                         else (row.get("choice") or {}).get("reason", "explicit")])
    return ["", f"fp32 against --precision {settings['precision']} (training img/s of our pipeline, batch "
                f"{settings['batch_size']}, median of {settings['repeats']}; probe: the bare-step img/s it chose by, "
                "or why none ran)",
            _table(["model", "size", "fp32", "chosen", "chosen img/s", "vs fp32", "probe"], rows)]
