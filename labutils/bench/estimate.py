"""The wall time of a profile, estimated from the measured rates, and the issue's speed targets."""

from __future__ import annotations

import torch

from .. import models
from ..config import RunConfig, split_sizes
from ..errors import LabError
from ..lab.profiles import load_profile
from ..resolve import resolve

# Targets of the issue (figures to compare with, not assertions).
GPU_MIN_SPEEDUP = 20.0
GPU_MAX_FULL_PROFILE_S = 15 * 60
CPU_MIN_SPEEDUP = 1.0
CPU_MAX_DATA_OVERHEAD_PCT = 10.0


def read_full_profile(name: str = "full") -> dict:
    """What the profile runs, per experiment: epochs and image counts, as the lab resolves them
    (``Profile.config``); RunConfig's defaults for the lab's five experiments when it cannot be read."""
    try:
        profile = load_profile(name)
        seeds, source = len(profile.seeds), str(profile.path)
        configs = [resolve(profile.config(e, profile.seeds[0])) for e in profile.experiments]
    except (LabError, OSError) as error:
        seeds, source = 1, f"defaults ({error})"
        configs = [resolve(RunConfig(experiment=e)) for e in models.LAB_EXPERIMENTS]
    runs = {}
    for config in configs:
        train, val, test = split_sizes("cifar10", config.val_fraction, config.train_samples, config.val_samples,
                                       config.test_samples)
        runs[config.experiment] = {
            "epochs": config.epochs, "image_size": config.image_size, "batch_size": config.batch_size,
            "train_images": train, "val_images": val, "test_images": test,
        }
    return {"profile": name, "source": source, "seeds": seeds, "experiments": runs}


def full_profile_estimate(profile: dict, results: dict) -> dict:
    """Seconds per experiment: seeds x (epochs x (train + validation) + one test pass), at the
    measured training and evaluation rates."""
    seconds, missing = {}, []
    for experiment, run in profile["experiments"].items():
        figures = results.get(experiment, {})
        train_rate, eval_rate = figures.get("ours", {}).get("images_per_s"), figures.get("eval_images_per_s")
        if not train_rate or not eval_rate:
            missing.append(experiment)
            continue
        epoch = run["train_images"] / train_rate + run["val_images"] / eval_rate
        seconds[experiment] = profile["seeds"] * (run["epochs"] * epoch + run["test_images"] / eval_rate)
    return {**profile, "seconds": seconds, "not_measured": missing,
            "total_s": sum(seconds.values()) if seconds else None}


def check_targets(device: torch.device, results: dict, estimate: dict) -> list[dict]:
    """The issue's targets, each with the measured value and whether it was met (None: not measured)."""
    measured = {name: r for name, r in results.items() if r["speedup"] is not None}
    targets = []
    if device.type == "cuda":
        for name, r in measured.items():
            targets.append({"target": f"{name}: ours >= {GPU_MIN_SPEEDUP:g}x handout", "value": r["speedup"],
                            "met": r["speedup"] >= GPU_MIN_SPEEDUP})
        complete = not estimate["not_measured"] and estimate["total_s"] is not None
        targets.append({"target": f"full profile < {GPU_MAX_FULL_PROFILE_S / 60:g} min", "value": estimate["total_s"],
                        "met": estimate["total_s"] < GPU_MAX_FULL_PROFILE_S if complete else None})
    else:
        for name, r in measured.items():
            targets.append({"target": f"{name}: ours >= handout per image", "value": r["speedup"],
                            "met": r["speedup"] >= CPU_MIN_SPEEDUP})
        for name, r in results.items():
            if r["data_overhead_pct"] is not None:
                targets.append({"target": f"{name}: data pipeline <= {CPU_MAX_DATA_OVERHEAD_PCT:g}% of the bare step",
                                "value": r["data_overhead_pct"], "met": r["data_overhead_pct"] <= CPU_MAX_DATA_OVERHEAD_PCT})
    return targets
