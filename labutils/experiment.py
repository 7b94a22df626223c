"""One experiment end to end: data, model, recipe, ``train_model``, ``test_model``, run folder.

``run_experiment(RunConfig(...))`` is what ``python -m labutils train`` and the training notebook
call. The config is checked before anything is loaded, so a typo costs a second, not an epoch.
"""

from __future__ import annotations

import difflib
import math
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, get_type_hints

import torch
from torch import nn

from . import distributed, models
from .augment import BatchTransform, normalization
from .data import DATASETS, default_workers, make_splits
from .device import device_name, is_out_of_memory, peak_memory_mb, pick_device, reset_peak_memory
from .errors import LabError
from .loader import BatchLoader
from .recipe import default_batch_size, make_optimizer, make_scheduler, recipe_for
from .results import RunFolder, atomic_write_json, load_checkpoint, load_weights
from .runtime import ProbeTarget, Runtime, check_options, resolve_runtime
from .test_module import test_model
from .train_module import NonFiniteLossError, TrainingInterrupted, train_model

# Options that must match for a run to be resumed from its checkpoint.
RESUME_KEYS = ("experiment", "dataset", "image_size", "epochs", "batch_size", "lr", "seed",
               "val_fraction", "train_samples", "val_samples")


@dataclass
class RunConfig:
    """Everything that defines one training run (the notebook's parameters, the CLI's options)."""

    experiment: str
    dataset: str = "cifar10"
    data_root: str = "data"
    image_size: int = 224
    epochs: int = 10
    batch_size: int | None = None  # None: 128 on a GPU, 32 on a CPU
    lr: float | None = None  # None: the experiment's recipe, scaled to the batch size
    seed: int = 0
    val_fraction: float = 0.1
    train_samples: int | None = None  # None: the whole split
    val_samples: int | None = None
    test_samples: int | None = None
    device: str | None = None  # None: cuda, then mps, then cpu
    precision: str = "auto"  # auto, fp32, bf16, fp16 (auto: bf16 on CUDA, measured on a CPU with bf16 units)
    memory_format: str | None = None  # channels_last, contiguous; None: with the precision (runtime.py)
    data_placement: str | None = None  # resident (on the device), workers; None: resident on CUDA only
    host_sync_every: int | None = None  # read the loss on the host every N steps; None: 25 on CUDA, 1 elsewhere
    workers: int | None = None  # DataLoader workers on the CPU path; None: cores - 1
    out: str | None = None  # None: runs/manual/<experiment>/seed<seed>
    resume: bool = False
    force: bool = False
    random_weights: bool = False  # pretrained experiments without downloading (offline smoke runs)
    progress: bool = True

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        """A config from loose values (notebook parameters, a profile), naming any unknown key."""
        valid = [f.name for f in fields(cls)]
        for key in values:
            if key not in valid:
                close = difflib.get_close_matches(key, valid, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise LabError(f"unknown parameter '{key}'{hint}; valid parameters: {', '.join(valid)}")
        if "experiment" not in values:
            raise LabError("the parameter 'experiment' is required")
        return cls(**values).validated()

    def validated(self) -> RunConfig:
        """Check types and ranges; raise ``LabError`` naming the first bad value."""
        hints = get_type_hints(type(self))
        for f in fields(self):
            value = getattr(self, f.name)
            allowed = _allowed_types(hints[f.name])
            if value is None and type(None) in allowed:
                continue
            if isinstance(value, bool) and bool not in allowed or not isinstance(value, tuple(allowed)):
                if float in allowed and isinstance(value, int) and not isinstance(value, bool):
                    setattr(self, f.name, float(value))
                    continue
                names = " or ".join("None" if t is type(None) else t.__name__ for t in allowed)
                raise LabError(f"parameter '{f.name}' must be {names}, got {value!r} ({type(value).__name__})")
        models.spec(self.experiment)  # unknown experiment: lists the valid ones
        if self.dataset not in DATASETS:
            raise LabError(f"unknown dataset '{self.dataset}'; choose one of: {', '.join(DATASETS)}")
        for name in ("epochs", "batch_size", "image_size", "train_samples", "val_samples", "test_samples"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise LabError(f"{name.replace('_', ' ')} must be a positive number, got {value}")
        if self.lr is not None and not self.lr > 0:
            raise LabError(f"learning rate must be positive, got {self.lr}")
        if not 0 < self.val_fraction < 1:
            raise LabError(f"val fraction must lie strictly between 0 and 1, got {self.val_fraction}")
        if self.workers is not None and self.workers < 0:
            raise LabError(f"workers must be 0 or more, got {self.workers}")
        check_options(self.precision, self.memory_format, self.data_placement, self.host_sync_every)
        if self.resume and self.force:
            raise LabError("--resume continues a run and --force starts it over: pass only one")
        return self

    @property
    def run_dir(self) -> Path:
        return Path(self.out) if self.out else Path("runs") / "manual" / self.experiment / f"seed{self.seed}"


def _allowed_types(hint: Any) -> list[type]:
    return list(getattr(hint, "__args__", None) or (hint,))


def check_image_size(model: nn.Module, experiment: str, image_size: int) -> None:
    minimum = getattr(model, "min_image_size", 1)
    if image_size < minimum:
        raise LabError(f"image size {image_size} is too small for {experiment}: "
                       f"it needs at least {minimum}x{minimum} pixels (--image-size {minimum} or more)")


def prepare_run(config: RunConfig) -> tuple[RunFolder, dict | None]:
    """The run folder, made ready for this config; with the state to resume from, if any.

    A complete run is never overwritten without ``force``; an unfinished one is continued only
    when asked (``resume``) or started over with ``force``.
    """
    run = RunFolder(config.run_dir)
    status = run.status()
    if config.force:
        run.clear()
        return run, None
    if status == "complete":
        acc = (run.read_metrics() or {}).get("test_acc")
        raise LabError(f"{run.path} already holds a complete run (test accuracy {acc:.2%}); "
                       "pass --force to train it again, or --out to write elsewhere")
    if run.last.exists():
        if not config.resume:
            raise LabError(f"{run.path} holds an unfinished run ({status or 'no status'}); "
                           "pass --resume to continue it or --force to start over")
        state = load_checkpoint(run.last)
        saved = state.get("config", {})
        for key in RESUME_KEYS:
            if key in saved and saved[key] != getattr(config, key):
                raise LabError(f"cannot resume {run.path}: it was started with {key}={saved[key]!r}, "
                               f"this run asks {key}={getattr(config, key)!r}; use the same options or --force")
        return run, state
    if status is not None or run.history.exists():
        run.clear()  # a run killed before its first checkpoint: nothing to keep
    return run, None


def make_loaders(config: RunConfig, splits, pretrained: bool, runtime: Runtime) -> dict[str, BatchLoader]:
    """Train (augmented, shuffled), val and test (centre crop) batches, as the handout's transforms."""
    mean, std = normalization(pretrained)
    workers = default_workers() if config.workers is None else config.workers
    return {
        split: BatchLoader(getattr(splits, split), config.batch_size,
                           BatchTransform(config.image_size, mean, std, train=split == "train",
                                          channels_last=runtime.channels_last),
                           shuffle=split == "train", runtime=runtime, seed=config.seed, workers=workers,
                           rank=distributed.rank(), world_size=distributed.world_size())
        for split in ("train", "val", "test")
    }


def test_checkpoint(config: RunConfig, checkpoint: str | Path) -> dict:
    """Score a saved checkpoint of ``config.experiment`` on the test images."""
    config.validated()
    spec = models.spec(config.experiment)
    device = pick_device(config.device)
    splits = make_splits(config.dataset, config.data_root, seed=config.seed, val_fraction=config.val_fraction,
                         test_samples=config.test_samples)
    # The weights come from the checkpoint: no need to fetch ImageNet's for a pretrained experiment.
    model = models.build_model(config.experiment, num_classes=len(splits.classes), random_weights=True)
    check_image_size(model, config.experiment, config.image_size)
    load_weights(model, load_checkpoint(checkpoint), checkpoint, config.experiment)
    config.batch_size = config.batch_size or default_batch_size(device)
    runtime = resolve_runtime(device, config.precision, config.memory_format, config.data_placement,
                              config.host_sync_every)
    loaders = make_loaders(config, splits, spec.pretrained, runtime)
    model = model.to(device, memory_format=runtime.memory_format)
    return test_model(model, loaders, nn.CrossEntropyLoss(), runtime=runtime)


def run_experiment(config: RunConfig) -> dict:
    """Train, validate and test one experiment; write and return its ``metrics.json``.

    Under ``torchrun`` every process runs this; rank 0 alone writes the run folder.
    """
    config.validated()
    spec = models.spec(config.experiment)
    device = distributed.setup(config.device) or pick_device(config.device)
    recipe = recipe_for(config.experiment, spec.family, spec.pretrained)
    config.batch_size = config.batch_size or default_batch_size(device)
    config.lr = config.lr or recipe.scaled_lr(config.batch_size)
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

    torch.manual_seed(config.seed)
    model = models.build_model(config.experiment, num_classes=len(splits.classes),
                               random_weights=config.random_weights)
    check_image_size(model, config.experiment, config.image_size)
    network = model
    criterion = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    eval_criterion = nn.CrossEntropyLoss()
    runtime = run_runtime(config, device, network, criterion, len(splits.train), resume)
    model = place_model(model, runtime)
    loaders = make_loaders(config, splits, spec.pretrained, runtime)
    optimizer = make_optimizer(model, config.lr, recipe)
    scheduler = make_scheduler(optimizer, len(loaders["train"]), config.epochs, recipe.warmup_epochs)

    # What the run really used: a rerun with these options computes the same (auto resolved).
    saved_config = {**asdict(config), **runtime.options(), "resume": False, "force": False}
    world = distributed.world_size()
    described = {
        "experiment": config.experiment, "model": type(network).__name__, "params": models.count_parameters(network),
        "weights": getattr(network, "weights_source", "none (trained from scratch)"),
        "dataset": config.dataset, "image_size": config.image_size, "epochs": config.epochs,
        "batch_size": config.batch_size, "lr": config.lr, "weight_decay": recipe.weight_decay,
        "label_smoothing": recipe.label_smoothing, "seed": config.seed,
        "device": device_name(device) + (f" x {world} processes" if world > 1 else ""), "processes": world,
        **runtime.options(), "precision_choice": runtime.choice,
        "train_images": len(splits.train), "val_images": len(splits.val), "test_images": len(splits.test),
        "classes": list(splits.classes),
    }
    if run is not None:
        atomic_write_json(run.config, saved_config)
        run.mark("running", **described)
        print(f"{config.experiment}: {described['params']:,} parameters, {len(splits.train)} train / "
              f"{len(splits.val)} val / {len(splits.test)} test images at {config.image_size}px, "
              f"batch {config.batch_size}, lr {config.lr:.3g}, on {described['device']} ({runtime.describe()}) "
              f"-> {run.path}", flush=True)

    reset_peak_memory(device)
    started = time.perf_counter()
    with _status_on_failure(run, config.batch_size, device):
        model, history = train_model(
            model, loaders, criterion, optimizer, config.epochs, scheduler=scheduler,
            eval_criterion=eval_criterion, run=run, resume=resume,
            checkpoint_extra={"experiment": config.experiment, "config": saved_config},
            progress=config.progress, runtime=runtime)
        test = test_model(network, loaders, eval_criterion, runtime=runtime)

    best = max(history, key=lambda row: row["val_acc"])
    train_seconds = sum(row["train_seconds"] for row in history)
    eval_seconds = sum(row["eval_seconds"] for row in history)
    metrics = {
        **described,
        "best_epoch": best["epoch"],
        "train_loss": best["train_loss"], "train_acc": best["train_acc"],
        "val_loss": best["val_loss"], "val_acc": best["val_acc"],
        **test,
        # Like the handout's "Training complete in ...": training plus validation, all epochs.
        "train_time_s": train_seconds + eval_seconds,
        "train_loop_s": train_seconds, "eval_time_s": eval_seconds,
        "images_per_s": sum(row["train_seconds"] * row["images_per_s"] for row in history) / train_seconds,
        "wall_time_s": time.perf_counter() - started,
        "peak_memory_mb": peak_memory_mb(device),
        "status": "complete",
    }
    if run is not None:
        run.write_metrics(metrics)
        run.last.unlink(missing_ok=True)  # complete: nothing to resume, and it is the largest file
        print(f"{config.experiment}: complete, best epoch {best['epoch']}, test accuracy {test['test_acc']:.2%} "
              f"-> {run.metrics}", flush=True)
    return metrics


def run_runtime(config: RunConfig, device: torch.device, model: nn.Module, criterion: nn.Module,
                train_images: int, resume: dict | None) -> Runtime:
    """The run's runtime: its options resolved on ``device`` (``auto`` may time ``model`` on a CPU);
    a resumed run keeps the precision and memory format it started with."""
    steps = math.ceil(train_images / config.batch_size) * config.epochs
    probe = ProbeTarget(model, criterion, config.batch_size, config.image_size, steps, config.experiment)
    return resolve_runtime(device, config.precision, config.memory_format, config.data_placement,
                           config.host_sync_every, probe=probe, saved=(resume or {}).get("config"),
                           world_size=distributed.world_size())


def place_model(model: nn.Module, runtime: Runtime) -> nn.Module:
    """Move ``model`` to the runtime's device in its memory format; wrap it in DDP under torchrun."""
    device = runtime.device
    if device.type == "cuda":
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
    mark = run.mark if run is not None else lambda status: None
    try:
        yield
    except TrainingInterrupted as error:
        mark(f"interrupted: {error}")
        raise
    except NonFiniteLossError as error:
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

    Starts ``torchrun --standalone`` on the command line that ``config`` describes, streams its
    output, and returns the metrics rank 0 wrote.
    """
    import subprocess
    import sys

    if nproc_per_node <= 1:
        return run_experiment(config)
    config.validated()
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc_per_node}",
               "-m", "labutils", "train", *command_line(config)]
    print(" ".join(command[2:]), flush=True)
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1) as proc:
        lines = []
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line)
    if proc.returncode != 0:
        errors = [line.strip() for line in lines if line.startswith("error: ")]
        raise LabError(errors[-1][len("error: "):] if errors else
                       f"torchrun exited with status {proc.returncode}; its output is above")
    return RunFolder(config.run_dir).read_metrics()


def command_line(config: RunConfig) -> list[str]:
    """The ``python -m labutils train`` options that describe ``config``."""
    options = []
    for f in fields(config):
        value = getattr(config, f.name)
        if value == f.default:
            continue
        if f.name == "progress":
            options.append("--no-progress")
        elif isinstance(value, bool):
            options.append(f"--{f.name.replace('_', '-')}")
        else:
            options += [f"--{f.name.replace('_', '-')}", str(value)]
    return options
