"""Timed training and evaluation of the lab's own pipeline, and the loaders that do the timing.

Timing wraps the loader that ``train_model`` / ``evaluate`` iterate: the clock starts when the
first timed batch is asked for and stops when the last step is done, with the device
synchronised at both ends, so it covers data loading and every step in between (the steady
state: starting and stopping DataLoader workers, once per epoch, stays outside). With
``repeats`` each figure is the median of several epochs, ours and bare alternating, which keeps
a shared machine's load changes from deciding the data-overhead figure.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import io
import itertools
import statistics
import time

import torch
from torch import nn

from .. import models
from ..augment import CIFAR10_MEAN, CIFAR10_STD, BatchTransform
from ..config import RunConfig
from ..data import DataSplits, make_fake_dataset
from ..errors import NonFiniteLossError
from ..experiment import make_loaders, place_model
from ..recipe import make_optimizer, make_scheduler, recipe_for
from ..runtime.device import (
    is_out_of_memory,
    peak_memory_mb,
    reset_peak_memory,
    synchronize,
)
from ..runtime.runtime import (
    PROBE_MIN_RUN_STEPS,
    ProbeTarget,
    Runtime,
    default_runtime,
    resolve_runtime,
)
from ..train_module import train_model, training_loss

OUT_OF_MEMORY = "out of memory"


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


def free_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    reset_peak_memory(device)


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def attempt(what: str, measure, device: torch.device) -> dict:
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
    free_memory(device)  # outside the handler: the traceback no longer holds the tensors
    say(f"{what}: {status}")
    return {"status": status}


# --- our pipeline ------------------------------------------------------------------------------

@functools.cache
def bench_runtime(experiment: str, device: torch.device, precision: str, batch_size: int,
                  image_size: int) -> Runtime:
    """The runtime ``train --precision`` resolves to for this model, batch and size (``auto``
    probes on a CPU with bf16 units, once per combination)."""
    spec = models.spec(experiment)
    smoothing = recipe_for(experiment, spec.family, spec.pretrained).label_smoothing
    network = models.build_model(experiment, random_weights=True)
    probe = ProbeTarget(network, nn.CrossEntropyLoss(label_smoothing=smoothing), training_loss, batch_size, image_size,
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
    free_memory(device)
    # The network placed on the device as ``run_experiment`` does it.
    model = place_model(models.build_model(experiment, random_weights=True), runtime)
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
