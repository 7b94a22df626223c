"""Inference speed of a trained network, measured on the run's own device after testing.

Two numbers go into ``metrics.json`` (exercise 4 asks about speed in training *and* inference):

- ``inference_images_per_s``: images per second in evaluation mode at the lab's batch size;
- ``latency_ms``: the time for one image alone (batch of one), what a single request waits.

Each is the median over repeated runs after a warm-up (the first calls allocate memory and, on a
GPU, pick the convolution algorithms), with the same precision and memory format as testing.
The inputs are random: the time a network takes does not depend on what the pixels show, and
loading data is not part of it. On a CPU the repeats stop after a time budget, so a smoke run
spends a few seconds here, not minutes.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from .runtime.device import cudnn_autotuning, synchronize
from .runtime.runtime import Runtime

# Runs before the clock starts. Testing has just run the batch shape, which warms a CPU up; a GPU
# may still pick convolution algorithms for it (cudnn.benchmark), so it gets a few.
WARMUP_RUNS = {"cuda": 5, "cpu": 0}
MAX_REPEATS = {"batch": 20, "single": 30}
MIN_REPEATS = 3
BUDGET_S = 1.5  # per measurement: enough repeats on a GPU, a few on a 2-core CPU


def median_seconds(step: Callable[[], object], device: torch.device, max_repeats: int,
                   budget_s: float = BUDGET_S, warmup: int = 0) -> tuple[float, int]:
    """Median wall time of ``step()`` over at least ``MIN_REPEATS`` and at most ``max_repeats``
    runs (fewer once ``budget_s`` is spent), after ``warmup`` untimed runs; and how many were timed."""
    for _ in range(warmup):
        step()
    synchronize(device)
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < max_repeats and (len(times) < MIN_REPEATS or time.perf_counter() - started < budget_s):
        start = time.perf_counter()
        step()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times), len(times)


@torch.inference_mode()
def measure_inference(model: nn.Module, batch_size: int, image_size: int, runtime: Runtime,
                      budget_s: float = BUDGET_S) -> dict:
    """Images/s at ``batch_size`` and single-image latency of ``model`` (in eval mode) on the
    runtime's device, in its precision and memory format (the run's own, as testing used).

    Returns the ``metrics.json`` fields ``inference_images_per_s``, ``latency_ms``,
    ``inference_batch_size`` and ``inference_repeats`` (runs timed for the batch and the single image).
    """
    model.eval()
    device = runtime.device
    batch = torch.randn(batch_size, 3, image_size, image_size, device=device)
    batch = batch.contiguous(memory_format=runtime.memory_format)
    single = batch[:1].clone()

    def forward(inputs: torch.Tensor) -> Callable[[], object]:
        def step() -> object:
            with runtime.autocast():
                return model(inputs)
        return step

    warmup = WARMUP_RUNS["cuda" if device.type == "cuda" else "cpu"]
    # cuDNN autotuning for the lab's batch (testing has tuned it), not for the single image: a
    # shape seen only here would be timed with every algorithm first.
    with cudnn_autotuning(device, True):
        batch_s, batch_runs = median_seconds(forward(batch), device, MAX_REPEATS["batch"], budget_s, warmup)
    with cudnn_autotuning(device, False):
        # A batch of one is a new shape: one more untimed run everywhere.
        single_s, single_runs = median_seconds(forward(single), device, MAX_REPEATS["single"], budget_s,
                                               warmup + 1)
    return {"inference_images_per_s": batch_size / batch_s, "latency_ms": single_s * 1000,
            "inference_batch_size": batch_size, "inference_repeats": [batch_runs, single_runs]}
