"""One experiment end to end: data, model, recipe, ``train_model``, ``test_model``, run folder.

``run_experiment(RunConfig(...))`` is what ``python -m labutils train`` and the training notebook
call. The config is checked before anything is loaded, so a typo costs a second, not an epoch.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from . import models
from .augment import BatchTransform, normalization
from .config import RunConfig
from .data import DataSplits, fingerprint, make_splits
from .errors import LabError, TrainingInterrupted, one_line, one_line_warning
from .inference import measure_inference
from .loader import BatchLoader
from .models.input_size import check_image_size
from .recipe import Recipe, make_optimizer, make_scheduler, recipe_for
from .resolve import resolve
from .run_folder import RunFolder, atomic_write_json, load_checkpoint, load_weights
from .run_folder.guard import prepare_run, record_stop
from .run_folder.identity import DATA_KEY
from .run_folder.lock import release_folder
from .runtime import distributed
from .runtime.device import (
    device_name,
    is_out_of_memory,
    peak_memory_mb,
    pick_device,
    reset_peak_memory,
)
from .runtime.environment import environment
from .runtime.interrupt import shielded, signal_name
from .runtime.runtime import ProbeTarget, Runtime, resolve_runtime
from .test_module import test_model
from .train_module import train_model, training_loss


def check_input_size(model: nn.Module, config: RunConfig) -> None:
    """The run's image size against the network's smallest input, before any data is loaded."""
    check_image_size(config.image_size, config.image_size, getattr(model, "min_image_size", 1),
                     models.spec(config.experiment).label)


def make_loaders(config: RunConfig, splits, pretrained: bool, runtime: Runtime) -> dict[str, BatchLoader]:
    """Train (augmented, shuffled), val and test (centre crop) batches, as the handout's transforms."""
    mean, std = normalization(pretrained)
    return {
        split: BatchLoader(getattr(splits, split), config.batch_size,
                           BatchTransform(config.image_size, mean, std, train=split == "train",
                                          channels_last=runtime.channels_last),
                           shuffle=split == "train", runtime=runtime, seed=config.seed, workers=config.workers,
                           rank=distributed.rank(), world_size=distributed.world_size())
        for split in ("train", "val", "test")
    }


def test_checkpoint(config: RunConfig, checkpoint: str | Path) -> dict:
    """Score a saved checkpoint of ``config.experiment`` on the test images."""
    config = resolve(config)
    spec = models.spec(config.experiment)
    state = load_checkpoint(checkpoint)  # a wrong path or file is told before the data is loaded
    warn_image_size(state, checkpoint, config.image_size)
    device = pick_device(config.device)
    splits = make_splits(config.dataset, config.data_root, seed=config.seed, val_fraction=config.val_fraction,
                         test_samples=config.test_samples)
    # The weights come from the checkpoint: no need to fetch ImageNet's for a pretrained experiment.
    model = models.build_model(config.experiment, num_classes=len(splits.classes), random_weights=True)
    check_input_size(model, config)
    load_weights(model, state, checkpoint, config.experiment)
    runtime = resolve_runtime(device, config.precision, config.memory_format, config.data_placement,
                              config.host_sync_every)
    loaders = make_loaders(config, splits, spec.pretrained, runtime)
    model = model.to(device, memory_format=runtime.memory_format)
    return test_model(model, loaders, nn.CrossEntropyLoss(), runtime=runtime)


def warn_image_size(state: dict, checkpoint: str | Path, image_size: int) -> None:
    """One line on stderr when a checkpoint is tested at another size than it was trained at: the
    network runs, but its accuracy says little about the run."""
    saved = state.get("config")  # the run's config, in every checkpoint train writes
    trained = saved.get("image_size") if isinstance(saved, dict) else None
    if type(trained) is int and trained != image_size:
        print(f"warning: {checkpoint} was trained at {trained}px and is tested at {image_size}px, which "
              f"changes its accuracy: pass --image-size {trained} to score it as trained", file=sys.stderr, flush=True)


def run_experiment(config: RunConfig) -> dict:
    """Train, validate and test one experiment; write and return its ``metrics.json``.

    Under ``torchrun`` every process runs this; rank 0 alone writes the run folder, which it
    holds locked from the first check to the last write. A stop request (Ctrl-C, SIGTERM) at
    any point ends in ``TrainingInterrupted``, with the status recorded in the run folder.
    """
    try:
        with warnings.catch_warnings():  # in a notebook too, a warning is one line among the epochs'
            warnings.showwarning = one_line_warning
            return _train_and_test(config)
    except KeyboardInterrupt as stop:  # also interrupt.Stopped (SIGTERM) outside the training loop
        raise record_stop(RunFolder(config.run_dir), signal_name(stop)) from None
    finally:
        release_folder(config.run_dir)


@dataclass
class TrainingSetup:
    """What ``_train_and_test`` trains and tests, built from the config before the first step."""

    run: RunFolder | None  # the run folder, on rank 0 only
    resume: dict | None  # the ``last.pt`` state to continue from
    splits: DataSplits
    recipe: Recipe
    network: nn.Module  # the bare model: what is described, tested and timed
    model: nn.Module  # the network on its device, DDP-wrapped under torchrun: what is trained
    runtime: Runtime
    loaders: dict[str, BatchLoader]
    criterion: nn.Module  # the training loss (with the recipe's label smoothing)
    eval_criterion: nn.Module  # the validation and test loss
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler


def _train_and_test(config: RunConfig) -> dict:
    """``run_experiment``'s work, once the stop handling is in place."""
    device = distributed.setup(config.device) or pick_device(config.device)
    config = resolve(config)
    setup = set_up_training(config, device)
    # What the run really used: a rerun with these options computes the same (auto resolved).
    saved_config = {**config.to_dict(), **setup.runtime.options(), "resume": False, "force": False}
    described = describe_run(config, setup, device)
    identity = {"experiment": config.experiment, "config": saved_config, DATA_KEY: described[DATA_KEY]}
    if setup.run is not None:
        _start_run_folder(setup.run, config, saved_config, described, setup.runtime)

    reset_peak_memory(device)
    started = time.perf_counter()
    with _status_on_failure(setup.run, config.batch_size, device):
        _, history = train_model(
            setup.model, setup.loaders, setup.criterion, setup.optimizer, config.epochs, scheduler=setup.scheduler,
            eval_criterion=setup.eval_criterion, run=setup.run, resume=setup.resume,
            checkpoint_extra=identity,
            progress=config.progress, runtime=setup.runtime)
        test = test_model(setup.network, setup.loaders, setup.eval_criterion, runtime=setup.runtime,
                          predictions_file=RunFolder(config.run_dir).predictions)
    # Results first: a measurement after testing that fails is recorded as that, the run stays complete.
    speed = inference_speed(setup, config) if distributed.is_main() else {}
    metrics = final_metrics(described, history, {**test, **speed}, started, device)
    if setup.run is not None:
        _finish_run_folder(setup.run, config.experiment, metrics)
    return metrics


def set_up_training(config: RunConfig, device: torch.device) -> TrainingSetup:
    """The run folder (checked, or the state to resume), data, model, runtime, loaders and recipe."""
    spec = models.spec(config.experiment)
    recipe = recipe_for(config.experiment, spec.family, spec.pretrained)
    run, resume, splits = _open_run_and_data(config)
    torch.manual_seed(config.seed)
    network = models.build_model(config.experiment, num_classes=len(splits.classes),
                                 random_weights=config.random_weights)
    check_input_size(network, config)
    criterion = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    eval_criterion = nn.CrossEntropyLoss()
    runtime = run_runtime(config, device, network, criterion, len(splits.train), resume)
    model = place_model(network, runtime)
    loaders = make_loaders(config, splits, spec.pretrained, runtime)
    optimizer = make_optimizer(model, config.lr, recipe)
    scheduler = make_scheduler(optimizer, len(loaders["train"]), config.epochs, config.warmup_epochs)
    return TrainingSetup(run=run, resume=resume, splits=splits, recipe=recipe, network=network, model=model,
                         runtime=runtime, loaders=loaders, criterion=criterion, eval_criterion=eval_criterion,
                         optimizer=optimizer, scheduler=scheduler)


def _open_run_and_data(config: RunConfig) -> tuple[RunFolder | None, dict | None, DataSplits]:
    """Rank 0 checks (or clears) the run folder and loads (downloads) the data before the other
    processes read the state to resume and the data."""
    main = distributed.is_main()
    run, resume = prepare_run(config) if main else (None, None)
    distributed.barrier()  # rank 0 has checked (or cleared) the folder
    if not main:
        if config.resume and RunFolder(config.run_dir).last.exists():
            resume = load_checkpoint(RunFolder(config.run_dir).last)
        distributed.barrier()  # and rank 0 loads (downloads) the data first
    splits = make_splits(config.dataset, config.data_root, seed=config.seed, val_fraction=config.val_fraction,
                         train_samples=config.train_samples, val_samples=config.val_samples,
                         test_samples=config.test_samples)
    if main:
        distributed.barrier()
    return run, resume, splits


def inference_speed(setup: TrainingSetup, config: RunConfig) -> dict:
    """``measure_inference``'s figures, or why it could not measure them (out of memory, ...)."""
    try:
        return measure_inference(setup.network, min(config.batch_size, len(setup.splits.test)), config.image_size,
                                 setup.runtime)
    except (RuntimeError, MemoryError) as error:
        print(f"{config.experiment}: inference speed not measured ({one_line(error, 120)})", flush=True)
        return {"inference_error": one_line(error)}


def describe_run(config: RunConfig, setup: TrainingSetup, device: torch.device) -> dict:
    """What the run is (model, data, recipe, device, runtime, environment): the head of ``metrics.json``."""
    network, splits, recipe, runtime = setup.network, setup.splits, setup.recipe, setup.runtime
    world = distributed.world_size()
    return {
        "experiment": config.experiment, "model": type(network).__name__, "params": models.count_parameters(network),
        "weights": getattr(network, "weights_source", "none (trained from scratch)"),
        "dataset": config.dataset, "image_size": config.image_size, "epochs": config.epochs,
        "batch_size": config.batch_size, "lr": config.lr, "warmup_epochs": config.warmup_epochs,
        "weight_decay": recipe.weight_decay,
        "label_smoothing": recipe.label_smoothing, "seed": config.seed,
        "device": device_name(device) + (f" x {world} processes" if world > 1 else ""), "processes": world,
        **runtime.options(), "precision_choice": runtime.choice,
        "train_images": len(splits.train), "val_images": len(splits.val), "test_images": len(splits.test),
        "classes": list(splits.classes), "environment": environment(device),
        DATA_KEY: fingerprint(config.dataset, config.data_root),
    }


def _start_run_folder(run: RunFolder, config: RunConfig, saved_config: dict, described: dict,
                      runtime: Runtime) -> None:
    """Write the run's config, mark it running and say so."""
    atomic_write_json(run.config, saved_config)
    run.mark("running", **described)
    print(f"{config.experiment}: {described['params']:,} parameters, {described['train_images']} train / "
          f"{described['val_images']} val / {described['test_images']} test images at {config.image_size}px, "
          f"batch {config.batch_size}, lr {config.lr:.3g}, on {described['device']} ({runtime.describe()}) "
          f"-> {run.path}", flush=True)


def final_metrics(described: dict, history: list[dict], scores: dict, started: float,
                  device: torch.device) -> dict:
    """``metrics.json``: the run's description, its best epoch, ``scores`` (test and inference
    speed) and the time it took."""
    best = max(history, key=lambda row: row["val_acc"])
    train_seconds = sum(row["train_seconds"] for row in history)
    eval_seconds = sum(row["eval_seconds"] for row in history)
    return {
        **described,
        "best_epoch": best["epoch"],
        "train_loss": best["train_loss"], "train_acc": best["train_acc"],
        "val_loss": best["val_loss"], "val_acc": best["val_acc"],
        **scores,
        # Like the handout's "Training complete in ...": training plus validation, all epochs.
        "train_time_s": train_seconds + eval_seconds,
        "train_loop_s": train_seconds, "eval_time_s": eval_seconds,
        "images_per_s": sum(row["train_seconds"] * row["images_per_s"] for row in history) / train_seconds,
        "wall_time_s": time.perf_counter() - started,
        "peak_memory_mb": peak_memory_mb(device),
        "status": "complete",
    }


def _finish_run_folder(run: RunFolder, experiment: str, metrics: dict) -> None:
    """Write ``metrics.json`` (status complete) and remove ``last.pt``, then say so."""
    with shielded():  # the status and the removal of last.pt together
        run.write_metrics(metrics)
        run.last.unlink(missing_ok=True)  # complete: nothing to resume, and it is the largest file
    print(f"{experiment}: complete, best epoch {metrics['best_epoch']}, test accuracy {metrics['test_acc']:.2%} "
          f"-> {run.metrics}", flush=True)


def run_runtime(config: RunConfig, device: torch.device, model: nn.Module, criterion: nn.Module,
                train_images: int, resume: dict | None) -> Runtime:
    """The run's runtime: its options resolved on ``device`` (``auto`` may time ``model`` on a CPU);
    a resumed run keeps the precision and memory format it started with."""
    steps = math.ceil(train_images / config.batch_size) * config.epochs
    probe = ProbeTarget(model, criterion, training_loss, config.batch_size, config.image_size, steps, config.experiment)
    return resolve_runtime(device, config.precision, config.memory_format, config.data_placement,
                           config.host_sync_every, probe=probe, saved=(resume or {}).get("config"),
                           world_size=distributed.world_size())


def place_model(model: nn.Module, runtime: Runtime) -> nn.Module:
    """Move ``model`` to the runtime's device in its memory format; wrap it in DDP under torchrun."""
    device = runtime.device
    if device.type == "cuda":
        # cuDNN autotuning for the shape every training step repeats; a split's last partial batch
        # and the single-image latency turn it off while they run (loader.py, inference.py).
        torch.backends.cudnn.benchmark = True
    model = model.to(device, memory_format=runtime.memory_format)
    if distributed.world_size() > 1:
        if device.type == "cuda":  # BatchNorm statistics over the global batch, as in one process
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    return model


@contextmanager
def _status_on_failure(run: RunFolder | None, batch_size: int, device: torch.device):
    """Record in the run folder why a run stopped, so it never looks complete or still running."""
    def mark(status: str) -> None:
        if run is not None:
            try:
                run.mark(status)
            except LabError:
                pass  # the disk is full: the error raised below says so

    try:
        yield
    except TrainingInterrupted as error:
        mark(f"interrupted: {error}")
        raise
    except LabError as error:  # a loss that became NaN, a checkpoint that could not be written, ...
        mark(f"failed: {error}")
        raise
    except Exception as error:
        if is_out_of_memory(error):
            message = (f"{device.type.upper()} ran out of memory at batch size {batch_size}: rerun with "
                       f"--batch-size {max(1, batch_size // 2)} --force (or --resume to keep finished epochs)")
            mark(f"failed: {message}")
            raise LabError(message) from error
        mark(f"failed: {type(error).__name__}: {error}")
        raise


def run_experiment_with_torchrun(config: RunConfig, nproc_per_node: int) -> dict:
    """``run_experiment`` in ``nproc_per_node`` processes on this machine (DDP), from a notebook or the lab.

    Every process reads ``config`` itself from one JSON file (``train --config FILE``), so what
    they run is exactly this config, not a round trip through command-line flags. Streams
    torchrun's output and returns the metrics rank 0 wrote.
    """
    if nproc_per_node <= 1:
        return run_experiment(config)
    config.validated()
    fd, config_file = tempfile.mkstemp(prefix="labutils-run-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(config.to_dict(), f)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc_per_node}",
               "-m", "labutils", "train", "--config", config_file]
    print(f"torchrun --nproc_per_node={nproc_per_node} -m labutils train: {config.experiment} -> {config.run_dir}",
          flush=True)
    try:
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              bufsize=1) as proc:
            lines = []
            for line in proc.stdout:
                print(line, end="", flush=True)
                lines.append(line)
    finally:
        Path(config_file).unlink(missing_ok=True)
    if proc.returncode != 0:
        errors = [line.strip() for line in lines if line.startswith("error: ")]
        raise LabError(errors[-1][len("error: "):] if errors else
                       f"torchrun exited with status {proc.returncode}; its output is above")
    return RunFolder(config.run_dir).read_metrics()
