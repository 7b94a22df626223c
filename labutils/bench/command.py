"""``python -m labutils bench``: measure every table, write bench.json as it goes, print the report."""

from __future__ import annotations

import argparse
import datetime
import math
import os
import time
from pathlib import Path

import torch
import torchvision

from .. import flops
from ..run_folder import atomic_write_json
from ..runtime.device import device_name, pick_device
from .estimate import check_targets, full_profile_estimate, read_full_profile
from .measure import bench_model, scaling_sweep
from .precision import precision_rows, precision_targets
from .report import format_report
from .settings import SCALING_MODELS, BenchSettings
from .timing import augmentation_ms_per_image, say


def run_bench(args: argparse.Namespace) -> int:
    device = pick_device(args.device)
    settings = BenchSettings.from_args(args, device)
    say(f"{device_name(device)}, torch {torch.__version__}; models: {' '.join(settings.models)}")
    started = time.perf_counter()
    out = Path(args.out)
    report = report_header(device, settings)
    report["augmentation_ms_per_image"] = augmentation_ms_per_image(device, settings.batch_size, settings.image_size)
    measure_tables(report, device, settings, out)
    estimate = full_profile_estimate(read_full_profile(), report["models"])
    targets = (check_targets(device, report["models"], estimate)
               + precision_targets(report["precision"], settings.precision))
    report.update(full_profile=estimate, full_profile_estimate_s=estimate["total_s"], targets=targets, complete=True,
                  bench_seconds=time.perf_counter() - started)
    load = report["load_average_at_start"]
    if device.type != "cuda" and load is not None and load > (os.cpu_count() or 1):
        report["warning"] = (f"the load average was {load:.1f} on {os.cpu_count()} cores when the benchmark "
                             "started: other processes shared the CPU, so the rates are low and noisy")
    print()
    print(format_report(report))
    atomic_write_json(out, _finite(report))
    print(f"\nwrote {out} ({report['bench_seconds']:.0f} s)", flush=True)
    return 0


def measure_tables(report: dict, device: torch.device, settings: BenchSettings, out: Path) -> None:
    """The models, the batch-size sweep and the precision table, into ``report``; written after
    every model too, so that a run cut short (a timeout) keeps what it measured."""
    swept = [m for m in SCALING_MODELS if m in settings.models]
    for experiment in settings.models:
        report["models"][experiment] = bench_model(experiment, device, settings, report["peak_tflops"])
        atomic_write_json(out, _finite(report))
    for experiment in swept:
        report["scaling"][experiment] = scaling_sweep(experiment, device, settings,
                                                      report["models"][experiment]["ours"])
        atomic_write_json(out, _finite(report))
    for experiment in swept if settings.precision_sizes else ():
        report["precision"][experiment] = precision_rows(experiment, device, settings)
        atomic_write_json(out, _finite(report))


def report_header(device: torch.device, settings: BenchSettings) -> dict:
    """bench.json before anything is measured: the machine, the versions, the settings."""
    peak_tflops, peak_source = flops.device_peak(device)
    on_cuda = device.type == "cuda"
    return {
        "device": device_name(device),
        "device_type": device.type,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "cuda": torch.version.cuda if on_cuda else None,
        "cudnn": torch.backends.cudnn.version() if on_cuda else None,
        "cpu_count": os.cpu_count(),
        "load_average_at_start": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "settings": settings.as_dict(),
        "peak_tflops": peak_tflops,
        "peak_source": peak_source,
        "models": {},
        "scaling": {},
        "precision": {},
        "complete": False,
    }


def _finite(value):
    """``value`` with NaN and infinity as None: JSON has no spelling for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
