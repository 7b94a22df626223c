"""The rows of the bench's main tables: one model against the handout, and the batch-size sweep."""

from __future__ import annotations

import functools

import torch

from .. import flops, models
from .handout import measure_handout
from .settings import BenchSettings
from .timing import OUT_OF_MEMORY, attempt, bench_runtime, measure_ours, say


def bench_model(experiment: str, device: torch.device, s: BenchSettings, peak_tflops: float | None) -> dict:
    """One model: ours (with its bare step) and the handout's images/s, FLOPs, and the figures
    derived from them (speed-up, data overhead, fraction of the device's peak)."""
    forward = flops.forward_flops(experiment, s.image_size)
    train_step = flops.training_flops(experiment, s.image_size)
    with torch.device("meta"):
        params = models.count_parameters(models.build_model(experiment, random_weights=True))
    runtime = bench_runtime(experiment, device, s.precision, s.batch_size, s.image_size)
    ours = attempt(f"{experiment} ours", lambda: measure_ours(
        experiment, runtime, s.batch_size, s.image_size, s.warmup, s.steps, s.steps,
        s.workers, bare=True, repeats=s.repeats), device)
    if ours["status"] == "ok":
        say(f"{experiment}: ours (batch {ours['batch_size']}, {runtime.describe()}) "
            f"{ours['images_per_s']:.1f} img/s training, "
            f"{ours['eval_images_per_s']:.1f} img/s evaluation, bare step {ours['bare_images_per_s']:.1f} img/s")
    handout = attempt(f"{experiment} handout", lambda: measure_handout(
        experiment, device, s.image_size, s.warmup, s.handout_steps, s.handout_workers,
        repeats=s.repeats), device)
    if handout["status"] == "ok":
        say(f"{experiment}: handout (batch {handout['batch_size']}, {handout['workers']} PIL workers) "
            f"{handout['images_per_s']:.1f} img/s training")

    result = {"params": params, "forward_gflops_per_image": forward / 1e9,
              "training_gflops_per_image": train_step / 1e9, "ours": ours, "handout": handout,
              "precision_choice": runtime.choice,
              "speedup": None, "eval_images_per_s": None, "bare_step_images_per_s": None,
              "data_overhead_pct": None, "fraction_of_peak": None}
    if ours["status"] == "ok":
        result["eval_images_per_s"] = ours["eval_images_per_s"]
        result["bare_step_images_per_s"] = ours["bare_images_per_s"]
        # Extra time per image that loading and augmenting adds to the bare step.
        result["data_overhead_pct"] = 100 * (ours["bare_images_per_s"] / ours["images_per_s"] - 1)
        if peak_tflops:
            result["fraction_of_peak"] = ours["images_per_s"] * train_step / (peak_tflops * 1e12)
            if handout["status"] == "ok":
                result["handout_fraction_of_peak"] = handout["images_per_s"] * train_step / (peak_tflops * 1e12)
        if handout["status"] == "ok":
            result["speedup"] = ours["images_per_s"] / handout["images_per_s"]
    return result


def scaling_sweep(experiment: str, device: torch.device, s: BenchSettings, measured: dict) -> list[dict]:
    """Our training images/s at growing batch sizes, up to the first that runs out of memory."""
    # The main table's runtime: no probe per batch size.
    runtime = bench_runtime(experiment, device, s.precision, s.batch_size, s.image_size)
    rows = []
    for batch_size in sorted(s.batch_sizes):
        if measured.get("status") == "ok" and measured["batch_size"] == batch_size:
            row = {"batch_size": batch_size, "status": "ok", "images_per_s": measured["images_per_s"],
                   "peak_memory_mb": measured["peak_memory_mb"]}
        else:
            measure = functools.partial(measure_ours, experiment, runtime, batch_size, s.image_size, s.warmup,
                                        s.steps, 1, s.workers, bare=False)
            row = {"batch_size": batch_size, **attempt(f"{experiment} batch {batch_size}", measure, device)}
            row.pop("eval_images_per_s", None)  # one evaluation batch: not a figure
        if row["status"] == "ok":
            say(f"{experiment}: batch {batch_size} {row['images_per_s']:.1f} img/s")
        rows.append(row)
        if row["status"] == OUT_OF_MEMORY:
            break  # a bigger batch will not fit either
    return rows
