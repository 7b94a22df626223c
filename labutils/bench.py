"""``python -m labutils bench``: how fast the lab trains, against the handout's pipeline.

For each model, in one process and after warm-up steps:

- **ours**: the lab's own code path - ``make_loaders`` (uint8 images in memory, whole-batch
  augmentation with ``grid_sample``; on a GPU the data lives there), ``train_model`` with the
  experiment's recipe, in the runtime ``--precision`` resolves to (``auto``: bf16,
  channels_last and cuDNN autotuning on CUDA; on a CPU with bf16 units what its probe picks) -
  at the lab's batch size. Evaluation is ``evaluate`` (what validation and testing run).
- **bare**: the same ``train_model`` on pre-made input tensors, so ours/bare is what the data
  pipeline adds to a step.
- **handout**: torchvision transforms on PIL images in a ``DataLoader`` (Resize(256),
  RandomCrop(224), RandomHorizontalFlip, ToTensor, Normalize), batch 4, fp32, SGD(lr 0.001,
  momentum 0.9, weight decay 5e-4), the loss read with ``.item()`` every step.

Timing wraps the loader that ``train_model`` / ``evaluate`` iterate: the clock starts when the
first timed batch is asked for and stops when the last step is done, with the device
synchronised at both ends, so it covers data loading and every step in between (the steady
state: starting and stopping DataLoader workers, once per epoch, stays outside). With
``--repeats`` each figure is the median of several epochs, ours and bare alternating, which
keeps a shared machine's load changes from deciding the data-overhead figure.

Then FLOPs per image (``labutils.flops``), a batch-size sweep for AlexNet and GoogLeNet, fp32
against ``--precision``'s choice for them at 224 and 64 px (``bench_precision.py``), and the
wall time of the ``full`` profile estimated from the measured rates. Prints tables and writes
``bench.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import gc
import io
import itertools
import math
import os
import statistics
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from . import flops, models
from .augment import IMAGENET_MEAN, IMAGENET_STD
from .cli_types import positive_int
from .config import default_of
from .data import DataSplits, ImageSet, default_workers, make_fake_dataset, split_sizes
from .device import device_name, is_out_of_memory, peak_memory_mb, pick_device, reset_peak_memory, synchronize
from .errors import LabError
from .experiment import RunConfig, make_loaders, place_model
from .recipe import default_batch_size, make_optimizer, make_scheduler, recipe_for
from .results import atomic_write_json
from .runtime import (PRECISIONS, PROBE_MIN_RUN_STEPS, ProbeTarget, Runtime, default_runtime, precision_label,
                      resolve_runtime)
from .test_module import main_logits
from .train_module import NonFiniteLossError, train_model, training_loss

HANDOUT_BATCH = 4
HANDOUT_WORKERS = 2  # what a student's DataLoader has (the PyTorch CIFAR-10 tutorial's value)
SCALING_MODELS = ("alexnet", "googlenet")
# --quick measures the two architectures only (the other three are their variants): five
# models at 224x224 take 2-4 minutes on 2 CPU cores, these two about one.
QUICK_MODELS = ("alexnet", "googlenet")
OUT_OF_MEMORY = "out of memory"
# Targets of the issue (figures to compare with, not assertions).
GPU_MIN_SPEEDUP = 20.0
GPU_MAX_FULL_PROFILE_S = 15 * 60
CPU_MIN_SPEEDUP = 1.0
CPU_MAX_DATA_OVERHEAD_PCT = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Training and evaluation images/s of the lab's pipeline against the handout's "
                          "(batch 4, PIL transforms, fp32), FLOPs per image, a batch-size sweep and the "
                          "estimated time of the full profile. Writes bench.json.")
    parser.add_argument("--models", nargs="+", choices=list(models.EXPERIMENTS), metavar="NAME",
                        help=f"experiments to measure [the five of the lab: {' '.join(models.LAB_EXPERIMENTS)}; "
                             f"with --quick: {' '.join(QUICK_MODELS)}]")
    parser.add_argument("--batch-sizes", nargs="+", type=positive_int, metavar="N",
                        help="batch sizes of the scaling sweep (AlexNet and GoogLeNet), stopping at the first "
                             "that runs out of memory [32 64 128 256 512 on a GPU; 16 32 on a CPU; 8 16 with --quick]")
    parser.add_argument("--batch-size", type=positive_int,
                        help="our pipeline's batch size [the lab's: 128 on a GPU, 32 on a CPU; 8 with --quick on a CPU]")
    parser.add_argument("--steps", type=positive_int,
                        help="timed steps per measurement [30 on a GPU, 8 on a CPU, 2 with --quick]")
    parser.add_argument("--warmup", type=positive_int,
                        help="untimed steps before each measurement [10 on a GPU, 2 on a CPU, 1 with --quick]")
    parser.add_argument("--handout-steps", type=positive_int,
                        help=f"timed steps of the handout's pipeline (batch {HANDOUT_BATCH}) [2 x --steps]")
    parser.add_argument("--repeats", type=positive_int,
                        help="measure each pipeline this many times (ours and bare alternating) and report the "
                             "median: steadier figures on a shared machine [3 on a CPU; 1 on a GPU or with --quick]")
    parser.add_argument("--workers", type=int,
                        help="DataLoader workers of our pipeline on a CPU [the lab's: cores - 1, at most 4]")
    parser.add_argument("--handout-workers", type=int, default=HANDOUT_WORKERS,
                        help="DataLoader workers of the handout's pipeline [%(default)s]")
    parser.add_argument("--image-size", type=positive_int, default=default_of("image_size"),
                        help="input size in pixels [%(default)s]")
    parser.add_argument("--quick", action="store_true",
                        help=f"a short run for a CPU: {' and '.join(QUICK_MODELS)} only (unless --models), few steps, "
                             "small batches; checks that everything runs, its rates are rough")
    parser.add_argument("--device", help="cuda, mps or cpu [the best available]")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="our pipeline's precision, as train's --precision [%(default)s]")
    parser.add_argument("--precision-sizes", nargs="*", type=positive_int, default=[224, 64], metavar="N",
                        help="image sizes at which fp32 and --precision's choice are compared side by side "
                             "(AlexNet and GoogLeNet); none: skip [%(default)s]")
    parser.add_argument("--out", default="bench.json", help="where the figures go [%(default)s]")


# --- timing ----------------------------------------------------------------------------------

class TimedBatches:
    """A loader that times the batches after its first ``warmup`` ones.

    The clock starts when batch ``warmup`` is asked for (the steps before it finished, the device
    synchronised) and stops when the batch after the last is asked for (the last step finished,
    synchronised), so it covers ``len - warmup`` batches of loading plus as many steps of
    whatever consumes them: the steady state. Starting a DataLoader's workers and shutting them
    down (once per epoch, a second or so) stay outside. ``set_epoch`` and ``len`` pass through,
    so ``train_model`` takes it like a BatchLoader.
    """

    def __init__(self, loader, warmup: int, device: torch.device) -> None:
        self.loader, self.warmup, self.device = loader, warmup, device
        self.images, self.seconds = 0, None

    def __len__(self) -> int:
        return len(self.loader)

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.loader.set_epoch(epoch, start_batch)

    @property
    def images_per_s(self) -> float:
        if not self.seconds or not self.images:
            raise RuntimeError("the loader ran out before any batch was timed: more batches than warm-up ones needed")
        return self.images / self.seconds

    def __iter__(self):
        self.images, self.seconds, start = 0, None, None
        total = len(self.loader)
        batches = iter(self.loader)
        for index in itertools.count():
            if index == self.warmup:
                synchronize(self.device)
                start = time.perf_counter()
            if index == total and start is not None:
                self._stop(start)
            try:
                inputs, labels = next(batches)
            except StopIteration:
                break
            if start is not None:
                self.images += len(labels)
            yield inputs, labels
        if start is not None and self.seconds is None:
            self._stop(start)

    def _stop(self, start: float) -> None:
        synchronize(self.device)
        self.seconds = time.perf_counter() - start


class PremadeBatches:
    """``count`` batches cycling over a few ready-made input tensors: a step without data loading."""

    def __init__(self, batches: list[tuple[torch.Tensor, torch.Tensor]], count: int) -> None:
        self.batches, self.count = batches, count

    def __len__(self) -> int:
        return self.count

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        pass

    def __iter__(self):
        for index in range(self.count):
            yield self.batches[index % len(self.batches)]


def _free_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    reset_peak_memory(device)


# --- our pipeline ------------------------------------------------------------------------------

def lab_model(experiment: str, runtime: Runtime) -> nn.Module:
    """The network placed on the device as ``run_experiment`` does it."""
    return place_model(models.build_model(experiment, random_weights=True), runtime)


@functools.cache
def bench_runtime(experiment: str, device: torch.device, precision: str, batch_size: int,
                  image_size: int) -> Runtime:
    """The runtime ``train --precision`` resolves to for this model, batch and size (``auto``
    probes on a CPU with bf16 units, once per combination)."""
    spec = models.spec(experiment)
    smoothing = recipe_for(experiment, spec.family, spec.pretrained).label_smoothing
    network = models.build_model(experiment, random_weights=True)
    probe = ProbeTarget(network, nn.CrossEntropyLoss(label_smoothing=smoothing), batch_size, image_size,
                        PROBE_MIN_RUN_STEPS, experiment)
    return resolve_runtime(device, precision, probe=probe)


def lab_loaders(experiment: str, runtime: Runtime, batch_size: int, image_size: int,
                train_batches: int, val_batches: int, workers: int | None) -> dict:
    """The lab's own loaders (``make_loaders``) over generated CIFAR-sized (32x32 uint8) images."""
    train, val = make_fake_dataset(num_train=batch_size * train_batches, num_test=batch_size * val_batches)
    splits = DataSplits(train=train, val=val, test=val, dataset="fake")
    config = RunConfig(experiment=experiment, dataset="fake", image_size=image_size, batch_size=batch_size,
                       workers=workers)
    return make_loaders(config, splits, models.spec(experiment).pretrained, runtime)


def lab_epoch(model: nn.Module, experiment: str, train_loader, val_loader, batch_size: int,
              runtime: Runtime) -> None:
    """One epoch of ``train_model`` set up as ``run_experiment`` sets it up: recipe, loss, schedule."""
    spec = models.spec(experiment)
    recipe = recipe_for(experiment, spec.family, spec.pretrained)
    optimizer = make_optimizer(model, recipe.scaled_lr(batch_size), recipe)
    scheduler = make_scheduler(optimizer, len(train_loader), 1, recipe.warmup_epochs)
    with contextlib.redirect_stdout(io.StringIO()):  # train_model's per-epoch line
        train_model(model, {"train": train_loader, "val": val_loader},
                    nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing), optimizer, 1,
                    scheduler=scheduler, eval_criterion=nn.CrossEntropyLoss(), runtime=runtime, progress=False)


def measure_ours(experiment: str, runtime: Runtime, batch_size: int, image_size: int, warmup: int,
                 steps: int, eval_steps: int, workers: int | None, bare: bool, repeats: int = 1) -> dict:
    """Training and evaluation images/s of the lab's pipeline, its peak memory, and (``bare``)
    the same training step on pre-made tensors; the median of ``repeats`` epochs of each."""
    device = runtime.device
    _free_memory(device)
    model = lab_model(experiment, runtime)
    loaders = lab_loaders(experiment, runtime, batch_size, image_size, warmup + steps, warmup + eval_steps, workers)
    rates: dict[str, list[float]] = {"images_per_s": [], "eval_images_per_s": [], "bare_images_per_s": []}
    premade, peak = None, None
    for _ in range(repeats):
        # Ours and bare alternate, so that a change in the machine's load hits both alike.
        train = TimedBatches(loaders["train"], warmup, device)
        val = TimedBatches(loaders["val"], warmup, device)
        lab_epoch(model, experiment, train, val, batch_size, runtime)
        rates["images_per_s"].append(train.images_per_s)
        rates["eval_images_per_s"].append(val.images_per_s)
        if peak is None:
            peak = peak_memory_mb(device)
        if bare:
            if premade is None:
                # A few real batches of our pipeline, reused: the same step, without the loading.
                premade = [batch for _, batch in zip(range(min(4, warmup + steps)), loaders["train"])]
            bare_train = TimedBatches(PremadeBatches(premade, warmup + steps), warmup, device)
            lab_epoch(model, experiment, bare_train, PremadeBatches(premade[:1], 1), batch_size, runtime)
            rates["bare_images_per_s"].append(bare_train.images_per_s)
    result = {"batch_size": batch_size, "peak_memory_mb": peak, **runtime.options()}
    result.update({key: statistics.median(values) for key, values in rates.items() if values})
    if repeats > 1:
        result["all_repeats"] = {key: values for key, values in rates.items() if values}
    return result


def augmentation_ms_per_image(device: torch.device, batch_size: int, image_size: int) -> float:
    """Milliseconds per image of the lab's training augmentation (``BatchTransform``), best of 5;
    on a CPU in one thread, as a loader worker runs it: the CPU time a batch costs the machine."""
    from .augment import CIFAR10_MEAN, CIFAR10_STD, BatchTransform

    transform = BatchTransform(image_size, CIFAR10_MEAN, CIFAR10_STD, train=True,
                               channels_last=default_runtime(device).channels_last)
    images = make_fake_dataset(num_train=batch_size, num_test=1)[0].images.to(device)
    threads = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        transform(images)
        times = []
        for _ in range(5):
            synchronize(device)
            start = time.perf_counter()
            transform(images)
            synchronize(device)
            times.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    return 1000 * min(times) / batch_size


# --- the handout's pipeline ---------------------------------------------------------------------

class HandoutImages(Dataset):
    """The handout's data path: one image at a time, uint8 HWC array -> PIL -> torchvision transforms
    (what ``torchvision.datasets.CIFAR10`` with ``transform=`` does)."""

    def __init__(self, data: ImageSet, transform) -> None:
        self.images = data.images.permute(0, 2, 3, 1).numpy()  # CIFAR10.data's layout
        self.labels = data.labels.tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        from PIL import Image

        return self.transform(Image.fromarray(self.images[index])), self.labels[index]


def handout_transform(image_size: int):
    from torchvision import transforms

    return transforms.Compose([
        transforms.Resize(round(image_size * 256 / 224)),  # 256 at 224
        transforms.RandomCrop(image_size),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD),
    ])


def measure_handout(experiment: str, device: torch.device, image_size: int, warmup: int, steps: int,
                    workers: int, batch_size: int = HANDOUT_BATCH, repeats: int = 1) -> dict:
    """Training images/s and peak memory of the handout's loop: fp32, contiguous tensors, no cuDNN
    autotuning, the loss read on the host every step; the median of ``repeats`` epochs."""
    _free_memory(device)
    torch.backends.cudnn.benchmark = False  # the handout never turns it on
    model = models.build_model(experiment, random_weights=True).to(device)
    data, _ = make_fake_dataset(num_train=batch_size * (warmup + steps), num_test=1)
    loader = DataLoader(HandoutImages(data, handout_transform(image_size)), batch_size=batch_size,
                        shuffle=True, num_workers=workers)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9, weight_decay=5e-4)
    model.train()
    rates = []
    for _ in range(repeats):
        timed = TimedBatches(loader, warmup, device)
        running_loss, running_corrects = 0.0, 0
        for inputs, labels in timed:
            inputs, labels = inputs.to(device), labels.to(device)
            optimizer.zero_grad()
            outputs = model(inputs)
            loss = training_loss(outputs, labels, criterion)  # main + 0.3 x each side classifier, as the handout
            preds = main_logits(outputs).argmax(1)
            loss.backward()
            optimizer.step()
            running_loss += loss.item() * inputs.size(0)
            running_corrects += torch.sum(preds == labels)
        rates.append(timed.images_per_s)
    result = {"batch_size": batch_size, "workers": workers, "images_per_s": statistics.median(rates),
              "peak_memory_mb": peak_memory_mb(device)}
    if repeats > 1:
        result["all_repeats"] = rates
    return result


# --- one model ------------------------------------------------------------------------------------

def _attempt(what: str, measure, device: torch.device) -> dict:
    """``measure()``, or ``{"status": why not}`` when the device ran out of memory or the loss
    diverged (random weights at a scaled-up learning rate): one figure missing, not the whole run."""
    try:
        return {"status": "ok", **measure()}
    except NonFiniteLossError:
        status = "loss diverged"
    except Exception as error:
        if not is_out_of_memory(error):
            raise
        status = OUT_OF_MEMORY
    _free_memory(device)  # outside the handler: the traceback no longer holds the tensors
    _say(f"{what}: {status}")
    return {"status": status}


def _say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def bench_model(experiment: str, device: torch.device, settings: dict, peak_tflops: float | None) -> dict:
    s = settings
    forward = flops.forward_flops(experiment, s["image_size"])
    train_step = flops.training_flops(experiment, s["image_size"])
    with torch.device("meta"):
        params = models.count_parameters(models.build_model(experiment, random_weights=True))
    runtime = bench_runtime(experiment, device, s["precision"], s["batch_size"], s["image_size"])
    ours = _attempt(f"{experiment} ours", lambda: measure_ours(
        experiment, runtime, s["batch_size"], s["image_size"], s["warmup"], s["steps"], s["steps"],
        s["workers"], bare=True, repeats=s["repeats"]), device)
    if ours["status"] == "ok":
        _say(f"{experiment}: ours (batch {ours['batch_size']}, {runtime.describe()}) "
             f"{ours['images_per_s']:.1f} img/s training, "
             f"{ours['eval_images_per_s']:.1f} img/s evaluation, bare step {ours['bare_images_per_s']:.1f} img/s")
    handout = _attempt(f"{experiment} handout", lambda: measure_handout(
        experiment, device, s["image_size"], s["warmup"], s["handout_steps"], s["handout_workers"],
        repeats=s["repeats"]), device)
    if handout["status"] == "ok":
        _say(f"{experiment}: handout (batch {handout['batch_size']}, {handout['workers']} PIL workers) "
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


def scaling_sweep(experiment: str, device: torch.device, settings: dict, measured: dict) -> list[dict]:
    """Our training images/s at growing batch sizes, up to the first that runs out of memory."""
    rows = []
    for batch_size in sorted(settings["batch_sizes"]):
        if measured.get("status") == "ok" and measured["batch_size"] == batch_size:
            row = {"batch_size": batch_size, "status": "ok", "images_per_s": measured["images_per_s"],
                   "peak_memory_mb": measured["peak_memory_mb"]}
        else:
            runtime = bench_runtime(experiment, device, settings["precision"], settings["batch_size"],
                                    settings["image_size"])  # the main table's: no probe per batch size
            row = {"batch_size": batch_size, **_attempt(f"{experiment} batch {batch_size}", lambda: measure_ours(
                experiment, runtime, batch_size, settings["image_size"], settings["warmup"], settings["steps"], 1,
                settings["workers"], bare=False), device)}
            row.pop("eval_images_per_s", None)  # one evaluation batch: not a figure
        if row["status"] == "ok":
            _say(f"{experiment}: batch {batch_size} {row['images_per_s']:.1f} img/s")
        rows.append(row)
        if row["status"] == OUT_OF_MEMORY:
            break  # a bigger batch will not fit either
    return rows


# --- the full profile -----------------------------------------------------------------------------

def read_full_profile(name: str = "full") -> dict:
    """What the profile runs, per experiment: epochs and image counts, as the lab resolves them
    (``Profile.config``); RunConfig's defaults for the lab's five experiments when it cannot be read."""
    from .config import RunConfig

    try:
        from .profiles import load_profile  # needs PyYAML

        profile = load_profile(name)
        seeds, source = len(profile.seeds), str(profile.path)
        configs = [profile.config(e, profile.seeds[0]) for e in profile.experiments]
    except (LabError, OSError, ImportError) as error:
        seeds, source = 1, f"defaults ({error})"
        configs = [RunConfig(experiment=e).resolved() for e in models.LAB_EXPERIMENTS]
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


# --- settings, tables, targets ----------------------------------------------------------------------

def resolve_settings(args: argparse.Namespace, device: torch.device) -> dict:
    on_gpu = device.type == "cuda"
    quick = args.quick
    steps = args.steps or (2 if quick else 30 if on_gpu else 8)
    if on_gpu:
        batch_sizes = (32, 64, 128, 256, 512)
    else:
        batch_sizes = (8, 16) if quick else (16, 32)
    return {
        "models": list(dict.fromkeys(args.models or (QUICK_MODELS if quick else models.LAB_EXPERIMENTS))),
        "image_size": args.image_size,
        "batch_size": args.batch_size or (8 if quick and not on_gpu else default_batch_size(device)),
        "lab_batch_size": default_batch_size(device),
        "steps": steps,
        "warmup": args.warmup or (1 if quick else 10 if on_gpu else 2),
        "handout_steps": args.handout_steps or 2 * steps,
        "handout_batch_size": HANDOUT_BATCH,
        "handout_workers": args.handout_workers,
        "repeats": args.repeats or (1 if quick or on_gpu else 3),
        "workers": default_workers() if args.workers is None else args.workers,
        "batch_sizes": list(args.batch_sizes or batch_sizes),
        "precision": args.precision,
        "precision_sizes": list(args.precision_sizes),
        "quick": quick,
        "torch_threads": torch.get_num_threads(),
    }


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


def _fmt(value, spec: str = ".1f", missing: str = "n/a") -> str:
    if value is None:
        return missing
    if isinstance(value, str):
        return value
    return format(value, spec)


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    lines = [header, ["-" * w for w in widths], *rows]
    return "\n".join("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                               for i, (c, w) in enumerate(zip(line, widths))) for line in lines)


def _rate(entry: dict, key: str = "images_per_s") -> str:
    return _fmt(entry.get(key)) if entry.get("status") == "ok" else entry.get("status", "n/a")


def format_report(report: dict) -> str:
    s = report["settings"]
    header = ["model", "params", "GFLOPs/img", "runtime", "ours img/s", "handout img/s", "speed-up", "eval img/s",
              "peak MB ours/handout", "data overhead %"]
    if report["peak_tflops"]:
        header.append("% of peak")
    rows = []
    for name, r in report["models"].items():
        memory = f"{_fmt(r['ours'].get('peak_memory_mb'), '.0f')}/{_fmt(r['handout'].get('peak_memory_mb'), '.0f')}"
        ours = r["ours"]
        runtime = (precision_label(ours["precision"], ours["memory_format"] == "channels_last")
                   if ours["status"] == "ok" else "n/a")
        row = [name, f"{r['params'] / 1e6:.1f}M", f"{r['forward_gflops_per_image']:.2f}", runtime, _rate(ours),
               _rate(r["handout"]), _fmt(r["speedup"], ".1f") + ("x" if r["speedup"] else ""),
               _fmt(r["eval_images_per_s"]), memory, _fmt(r["data_overhead_pct"], "+.1f")]
        if report["peak_tflops"]:
            row.append(_fmt(r["fraction_of_peak"] and 100 * r["fraction_of_peak"], ".1f"))
        rows.append(row)
    out = [f"device {report['device']}, torch {report['torch']}, {s['image_size']}x{s['image_size']}, "
           f"ours: batch {s['batch_size']}, --precision {s['precision']} (per model: 'runtime' column), "
           f"{s['workers']} loader workers on CPU paths; handout: batch {s['handout_batch_size']}, fp32, "
           f"{s['handout_workers']} PIL workers; {s['steps']} timed steps ({s['handout_steps']} handout) "
           f"after {s['warmup']} warm-up" + (f", median of {s['repeats']} runs (ours and bare alternating)"
                                            if s["repeats"] > 1 else ""),
           "", _table(header, rows), "",
           "GFLOPs/img: forward pass (torch.utils.flop_counter; a training step is about 3x); "
           "data overhead: ours vs. the same step on pre-made tensors.",
           f"our augmentation alone: {report['augmentation_ms_per_image']:.3f} ms per image"
           f"{' on one core (what a loader worker spends)' if report['device_type'] == 'cpu' else ''}; "
           f"bare step: " + ", ".join(f"{name} {1000 / r['bare_step_images_per_s']:.1f}"
                                     for name, r in report["models"].items() if r["bare_step_images_per_s"])
           + " ms per image",
           f"peak: {report['peak_source']}"]
    if report["scaling"]:
        sizes = sorted({row["batch_size"] for rows in report["scaling"].values() for row in rows})
        rows = []
        for size in sizes:
            row = [str(size)]
            for name, entries in report["scaling"].items():
                entry = next((e for e in entries if e["batch_size"] == size), None)
                if entry is None:
                    row.append("-")
                elif entry["status"] != "ok":
                    row.append(entry["status"])
                else:
                    row.append(f"{entry['images_per_s']:.1f}"
                               + (f" ({entry['peak_memory_mb']:.0f} MB)" if entry["peak_memory_mb"] else ""))
            rows.append(row)
        out += ["", "our training img/s by batch size", _table(["batch", *report["scaling"]], rows)]
    from .bench_precision import format_precision

    out += format_precision(report["precision"], s)
    est = report["full_profile"]
    out += ["", f"'{est['profile']}' profile ({est['source']}, {est['seeds']} seed(s)) at the rates above "
                f"(batch {s['batch_size']}, {s['image_size']}px): epochs x (train + val) + test"]
    for name, seconds in est["seconds"].items():
        run = est["experiments"][name]
        out.append(f"  {name:<22} {seconds / 60:8.1f} min   {run['epochs']} x ({run['train_images']} + "
                   f"{run['val_images']}) + {run['test_images']} images at {run['image_size']}px")
    if est["not_measured"]:
        out.append(f"  not measured (left out of the total): {', '.join(est['not_measured'])}")
    if est["total_s"] is not None:
        out.append(f"  {'total':<22} {est['total_s'] / 60:8.1f} min ({est['total_s'] / 3600:.2f} h)")
    if s["batch_size"] != s["lab_batch_size"]:
        out.append(f"  (the lab runs batch {s['lab_batch_size']} on this device; these rates are at batch {s['batch_size']})")
    if any(run["image_size"] != s["image_size"] for run in est["experiments"].values()):
        out.append(f"  (the profile's image size differs from the {s['image_size']}px measured here: "
                   "the estimate does not apply to it)")
    out += ["", "targets:"]
    for t in report["targets"]:
        verdict = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        out.append(f"  {t['target']:<58} {_fmt(t['value'], '.1f'):>10}  {verdict}")
    if report.get("warning"):
        out += ["", f"warning: {report['warning']}"]
    return "\n".join(out)


# --- the command ------------------------------------------------------------------------------------

def run_bench(args: argparse.Namespace) -> int:
    device = pick_device(args.device)
    settings = resolve_settings(args, device)
    if settings["image_size"] < 63:
        raise LabError(f"image size {settings['image_size']} is too small: the lab's networks need at least 63 pixels")
    peak_tflops, peak_source = flops.device_peak(device)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    _say(f"{device_name(device)}, torch {torch.__version__}; models: {' '.join(settings['models'])}")

    started = time.perf_counter()
    out = Path(args.out)
    results, scaling, precision = {}, {}, {}
    report = {
        "device": device_name(device),
        "device_type": device.type,
        "torch": torch.__version__,
        "torchvision": _torchvision_version(),
        "cuda": torch.version.cuda if device.type == "cuda" else None,
        "cudnn": torch.backends.cudnn.version() if device.type == "cuda" else None,
        "cpu_count": os.cpu_count(),
        "load_average_at_start": load,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "settings": settings,
        "peak_tflops": peak_tflops,
        "peak_source": peak_source,
        "models": results,
        "scaling": scaling,
        "precision": precision,
        "complete": False,
    }
    report["augmentation_ms_per_image"] = augmentation_ms_per_image(device, settings["batch_size"],
                                                                    settings["image_size"])
    # Written after every model too, so that a run cut short (a timeout) keeps what it measured.
    for experiment in settings["models"]:
        results[experiment] = bench_model(experiment, device, settings, peak_tflops)
        atomic_write_json(out, _finite(report))
    for experiment in (m for m in SCALING_MODELS if m in settings["models"]):
        scaling[experiment] = scaling_sweep(experiment, device, settings, results[experiment]["ours"])
        atomic_write_json(out, _finite(report))
    from .bench_precision import precision_rows, precision_targets

    for experiment in (m for m in SCALING_MODELS if m in settings["models"] and settings["precision_sizes"]):
        precision[experiment] = precision_rows(experiment, device, settings)
        atomic_write_json(out, _finite(report))
    estimate = full_profile_estimate(read_full_profile(), results)
    targets = check_targets(device, results, estimate) + precision_targets(precision, settings["precision"])
    report.update(full_profile=estimate, full_profile_estimate_s=estimate["total_s"], targets=targets, complete=True,
                  bench_seconds=time.perf_counter() - started)
    if device.type != "cuda" and load is not None and load > (os.cpu_count() or 1):
        report["warning"] = (f"the load average was {load:.1f} on {os.cpu_count()} cores when the benchmark "
                             "started: other processes shared the CPU, so the rates are low and noisy")
    print()
    print(format_report(report))
    atomic_write_json(out, _finite(report))
    print(f"\nwrote {out} ({report['bench_seconds']:.0f} s)", flush=True)
    return 0


def _torchvision_version() -> str | None:
    try:
        import torchvision
    except ImportError:
        return None
    return torchvision.__version__


def _finite(value):
    """``value`` with NaN and infinity as None: JSON has no spelling for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
