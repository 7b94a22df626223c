"""The training loop: ``train_model``, the handout's function, for AlexNet and GoogLeNet alike.

Read it top to bottom: ``train_model`` restores a checkpoint if given one (``restore``), then for
each epoch calls ``train_one_epoch`` and ``end_of_epoch``. Per batch: forward (in the runtime's
precision: bf16 autocast on a GPU), loss (a GoogLeNet in training mode adds its two side
classifiers at weight 0.3, as in the paper), backward, optimizer and schedule step. The loss and
accuracy are summed on the device and read by the host every ``runtime.sync_every`` steps only.
Per epoch: validation, one history row, the best weights kept, and, given a run folder, a
resumable checkpoint. Ctrl-C / SIGTERM stop at the next host read (the next step on a CPU, at
most 25 steps on a GPU) with the state saved.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import dataclass, field, replace

import torch
from torch import nn
from tqdm import tqdm

from .config import default_of
from .errors import NonFiniteLossError, TrainingInterrupted
from .run_folder import RunFolder, load_checkpoint
from .runtime.distributed import all_reduce, is_main, unwrap
from .runtime.interrupt import StopRequest
from .runtime.runtime import Runtime, default_runtime
from .test_module import evaluate, main_logits

AUX_WEIGHT = 0.3  # Szegedy et al. 2015: "their loss is added to the total loss with a discount weight 0.3"


def progress_interval_s() -> float:
    """Seconds between progress-bar refreshes: papermill stores every refresh, so rarely off a terminal."""
    return 0.5 if sys.stderr.isatty() else 30.0


def training_loss(outputs: torch.Tensor | tuple[torch.Tensor, ...], labels: torch.Tensor,
                  criterion: nn.Module, aux_weight: float = AUX_WEIGHT) -> torch.Tensor:
    """The loss that is minimised: main classifier, plus ``aux_weight`` x each side classifier."""
    if not isinstance(outputs, tuple):
        return criterion(outputs, labels)
    logits, *aux = outputs
    return criterion(logits, labels) + aux_weight * sum(criterion(a, labels) for a in aux)


@dataclass
class TrainingState:
    """Where training is and what it has measured: what ``last.pt`` holds besides the weights,
    optimizer, schedule, scaler and random state."""

    epoch: int = 0  # the epoch to run (0-based); == num_epochs when done
    batch: int = 0  # the first batch of ``epoch`` still to run
    partial: dict | None = None  # sums of the batches of ``epoch`` already run, over all processes
    history: list[dict] = field(default_factory=list)  # one row per finished epoch
    best_acc: float = -1.0
    best_epoch: int = 0
    best_weights: dict | None = field(default=None, repr=False)  # kept in best.pt, not in last.pt

    def to_checkpoint(self) -> dict:
        return {"epoch": self.epoch, "batch": self.batch, "partial": self.partial, "history": self.history,
                "best_acc": self.best_acc, "best_epoch": self.best_epoch}

    @classmethod
    def from_checkpoint(cls, checkpoint: dict) -> TrainingState:
        return cls(epoch=checkpoint["epoch"], batch=checkpoint["batch"], partial=checkpoint.get("partial"),
                   history=list(checkpoint["history"]), best_acc=checkpoint["best_acc"],
                   best_epoch=checkpoint["best_epoch"])


@dataclass
class Trainer:
    """What one call of ``train_model`` works with, fixed from start to end."""

    model: nn.Module  # what is called (DDP-wrapped under torchrun)
    network: nn.Module  # what checkpoints hold, without DDP's "module." prefix
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler | None
    scaler: torch.amp.GradScaler
    criterion: nn.Module
    eval_criterion: nn.Module
    aux_weight: float
    runtime: Runtime
    num_epochs: int
    run: RunFolder | None
    checkpoint_extra: dict | None
    progress: bool

    @property
    def device(self) -> torch.device:
        return self.runtime.device

    def checkpoint(self, state: TrainingState) -> dict:
        """Everything needed to continue from ``state`` (the contents of ``last.pt``)."""
        return {
            **(self.checkpoint_extra or {}),
            "model": self.network.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            **state.to_checkpoint(), "rng": _rng_state(self.device),
        }


@dataclass
class EpochTotals:
    """One epoch's training sums over all processes, as ``train_one_epoch`` returns them."""

    loss_sum: float
    correct: int
    seen: int
    seconds: float
    lr: float  # the mean learning rate of the epoch's steps
    stopping: bool  # the last host read found a stop request (on any process)


def train_model(model: nn.Module, dataloaders: dict, criterion: nn.Module, optimizer: torch.optim.Optimizer,
                num_epochs: int = default_of("epochs"), *, scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
                eval_criterion: nn.Module | None = None, device: torch.device | None = None,
                aux_weight: float = AUX_WEIGHT, run: RunFolder | None = None, resume: dict | None = None,
                checkpoint_extra: dict | None = None, progress: bool = True,
                runtime: Runtime | None = None) -> tuple[nn.Module, list[dict]]:
    """Train ``model`` on ``dataloaders['train']``, validating on ``dataloaders['val']`` each epoch.

    Returns the model holding its best-validation weights and the history (one dict per epoch).
    ``scheduler`` is stepped after every batch. ``eval_criterion`` scores validation (default:
    ``criterion``). With ``run``, every epoch rewrites ``history.csv`` and ``last.pt`` (and
    ``best.pt`` on a new best); ``resume`` is a ``last.pt`` state to continue from.
    ``checkpoint_extra`` is stored in every checkpoint (e.g. the experiment name).

    ``runtime`` says how to use the device (precision, host reads; see ``runtime/runtime.py``); without
    it, the defaults of ``device``. A stop request (Ctrl-C, SIGTERM) is acted on at the next
    host read: the saved state holds every step done up to it.

    Under DDP (``model`` wrapped, loaders sharded) the epoch's sums are added up across
    processes and only rank 0 shows progress; pass ``run`` on rank 0 only.
    """
    runtime = runtime or default_runtime(device or next(model.parameters()).device)
    trainer = Trainer(model=model, network=unwrap(model), optimizer=optimizer, scheduler=scheduler,
                      scaler=torch.amp.GradScaler(runtime.device.type, enabled=runtime.loss_scaling),
                      criterion=criterion, eval_criterion=eval_criterion or criterion, aux_weight=aux_weight,
                      runtime=runtime, num_epochs=num_epochs, run=run, checkpoint_extra=checkpoint_extra,
                      progress=progress and is_main())
    state = restore(trainer, resume) if resume is not None else TrainingState()
    with StopRequest() as stop:
        while state.epoch < num_epochs:
            totals = train_one_epoch(trainer, dataloaders["train"], state, stop)
            is_best = end_of_epoch(trainer, dataloaders["val"], state, totals)
            # A request that came during validation or on the epoch's last batch stops here; decided
            # before the epoch's line is printed, so that one made on seeing it stops in the next epoch.
            stopping = state.epoch < num_epochs and _agreed(totals.stopping or bool(stop.requested), runtime.device)
            if is_main():  # printed once the epoch is safe on disk
                _print_epoch(state.history[-1], num_epochs, is_best)
            if stopping:
                raise TrainingInterrupted(f"stopped by {stop.requested or 'another process'} after epoch "
                                          f"{state.epoch}; {_where_saved(run)}")
    # After the last epoch, checked once the handler is gone (a later request raises where the
    # program is): the test waits for --resume rather than running after a stop.
    if _agreed(bool(stop.requested), runtime.device):
        raise TrainingInterrupted(f"stopped by {stop.requested or 'another process'} after the last epoch "
                                  f"({num_epochs}/{num_epochs}), before testing; {_where_saved(run)}")
    if state.best_weights is not None:
        trainer.network.load_state_dict(state.best_weights)
    return model, state.history


def restore(trainer: Trainer, checkpoint: dict) -> TrainingState:
    """Load a ``last.pt`` state into the network, optimizer, schedule, scaler and random number
    generators; return the training state to continue from (with the best weights of ``best.pt``)."""
    trainer.network.load_state_dict(checkpoint["model"])
    trainer.optimizer.load_state_dict(checkpoint["optimizer"])
    if trainer.scheduler is not None and checkpoint.get("scheduler") is not None:
        trainer.scheduler.load_state_dict(checkpoint["scheduler"])
    if checkpoint.get("scaler"):
        trainer.scaler.load_state_dict(checkpoint["scaler"])
    state = TrainingState.from_checkpoint(checkpoint)
    _set_rng_state(checkpoint["rng"], trainer.device)
    if trainer.run is not None and trainer.run.best.exists():
        state.best_weights = load_checkpoint(trainer.run.best, trainer.device)["model"]
    return state


def train_one_epoch(trainer: Trainer, loader, state: TrainingState, stop: StopRequest) -> EpochTotals:
    """Train on the batches of epoch ``state.epoch`` from batch ``state.batch``; return the sums.

    Every ``sync_every`` steps (reading the loss on the host makes a GPU wait) the running loss is
    checked and the processes agree on stopping: a stop request saves the state (with the sums
    so far) and raises ``TrainingInterrupted``; a non-finite loss raises ``NonFiniteLossError``.
    """
    trainer.model.train()
    loader.set_epoch(state.epoch, state.batch)
    steps = len(loader)
    bar = tqdm(total=steps, initial=state.batch, desc=f"epoch {state.epoch + 1}/{trainer.num_epochs}",
               unit="batch", disable=not trainer.progress, mininterval=progress_interval_s(), file=sys.stderr,
               dynamic_ncols=True)
    sums = RunningSums.start(trainer.device, state.partial)  # starts the epoch's clock
    stopping = False
    for step, (inputs, labels) in enumerate(loader, start=state.batch):
        sums.add_lr(trainer.optimizer.param_groups[0]["lr"])  # the rate this step trains with
        outputs, loss = _train_step(trainer, inputs, labels)
        sums.add(outputs, loss, labels)
        bar.update(1)
        if (step + 1) % trainer.runtime.sync_every == 0 or step + 1 == steps:
            stopping = _read_on_host(trainer, sums, stop, bar, f"epoch {state.epoch + 1}, step {step + 1}")
            if stopping and step + 1 < steps:
                bar.close()
                raise _save_and_stop(trainer, replace(state, batch=step + 1, partial=sums.totals()),
                                     stop, steps)
    bar.close()
    trainer.runtime.synchronize()
    seconds = sums.seconds()
    loss_sum, correct, seen = sums.summed()
    return EpochTotals(loss_sum, correct, seen, seconds, sums.mean_lr(), stopping)


def end_of_epoch(trainer: Trainer, val_loader, state: TrainingState, totals: EpochTotals) -> bool:
    """Validate, add the epoch's history row, keep the best weights and, given a run folder, write
    ``best.pt`` (on a new best), ``history.csv`` and ``last.pt``; ``state`` moves to the next epoch.
    Returns whether the epoch is the best so far."""
    network = trainer.network
    val = evaluate(network, val_loader, trainer.eval_criterion, trainer.runtime)
    row = _history_row(state.epoch, totals, val)
    state.history.append(row)
    is_best = row["val_acc"] > state.best_acc
    if is_best:
        state.best_acc, state.best_epoch = row["val_acc"], row["epoch"]
        state.best_weights = copy.deepcopy(network.state_dict())
    state.epoch, state.batch, state.partial = state.epoch + 1, 0, None
    run = trainer.run
    if run is not None:
        if is_best:
            run.save_checkpoint(run.best, {**(trainer.checkpoint_extra or {}), "model": state.best_weights,
                                           "epoch": state.best_epoch, "val_acc": state.best_acc})
        # History before the resumable state: a kill in between only repeats this epoch.
        run.write_history(state.history)
        run.save_checkpoint(run.last, trainer.checkpoint(state))
    return is_best


def _print_epoch(row: dict, num_epochs: int, is_best: bool) -> None:
    print(f"epoch {row['epoch']}/{num_epochs}  train loss {row['train_loss']:.4f} "
          f"acc {row['train_acc']:.2%}  val loss {row['val_loss']:.4f} acc {row['val_acc']:.2%}  "
          f"lr {row['lr']:.2g}  {row['train_seconds']:.1f}s + {row['eval_seconds']:.1f}s eval "
          f"({row['images_per_s']:.0f} img/s){'  *best*' if is_best else ''}", flush=True)


def _history_row(epoch: int, totals: EpochTotals, val: dict) -> dict:
    """One epoch's row of ``history.csv`` (``epoch`` 0-based, written 1-based)."""
    return {
        "epoch": epoch + 1,
        "train_loss": totals.loss_sum / totals.seen,
        "train_acc": totals.correct / totals.seen,
        "val_loss": val["loss"],
        "val_acc": val["acc"],
        "lr": totals.lr,
        "train_seconds": totals.seconds,
        "eval_seconds": val["seconds"],
        "images_per_s": totals.seen / totals.seconds,
    }


def _train_step(trainer: Trainer, inputs: torch.Tensor, labels: torch.Tensor):
    """One optimisation step; returns the outputs and the loss (still on the device)."""
    with trainer.runtime.autocast():
        outputs = trainer.model(inputs)
        loss = training_loss(outputs, labels, trainer.criterion, trainer.aux_weight)
    trainer.optimizer.zero_grad(set_to_none=True)
    trainer.scaler.scale(loss).backward()
    trainer.scaler.step(trainer.optimizer)
    trainer.scaler.update()
    if trainer.scheduler is not None:
        trainer.scheduler.step()
    return outputs, loss


class RunningSums:
    """An epoch's loss, correct answers and images so far, summed on the device, and its clock."""

    def __init__(self, device: torch.device, seen: int = 0, seconds_before: float = 0.0,
                 lr_sum: float = 0.0, steps: int = 0) -> None:
        self.loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        self.correct = torch.zeros((), dtype=torch.int64, device=device)
        self.seen = self.seen_at_start = seen
        self.seconds_before = seconds_before  # trained in this epoch before a resume
        self.lr_sum, self.steps = lr_sum, steps  # on the host: the schedule is the same on every process
        self.started = time.perf_counter()

    @classmethod
    def start(cls, device: torch.device, partial: dict | None) -> RunningSums:
        """New sums, or, resuming inside an epoch, the saved ones (sums of all processes: rank 0 holds them)."""
        if partial is None:
            return cls(device)
        schedule = {"lr_sum": partial.get("lr_sum", 0.0), "steps": partial.get("steps", 0)}
        if not is_main():
            return cls(device, seconds_before=partial["seconds"], **schedule)
        sums = cls(device, seen=partial["seen"], seconds_before=partial["seconds"], **schedule)
        sums.loss_sum += partial["loss_sum"]
        sums.correct += partial["correct"]
        return sums

    def add(self, outputs, loss: torch.Tensor, labels: torch.Tensor) -> None:
        self.loss_sum += loss.detach().double() * len(labels)
        self.correct += (main_logits(outputs).argmax(1) == labels).sum()
        self.seen += len(labels)

    def add_lr(self, lr: float) -> None:
        self.lr_sum += lr
        self.steps += 1

    def mean_lr(self) -> float:
        return self.lr_sum / max(self.steps, 1)

    def seconds(self) -> float:
        return self.seconds_before + time.perf_counter() - self.started

    def images_per_s(self) -> float:
        return (self.seen - self.seen_at_start) / max(time.perf_counter() - self.started, 1e-9)

    def summed(self) -> tuple[float, int, int]:
        """The sums added up over all processes: loss sum, correct answers, images."""
        sums = torch.stack([self.loss_sum, self.correct.double(),
                            torch.tensor(float(self.seen), dtype=torch.float64, device=self.loss_sum.device)])
        loss, right, count = all_reduce(sums).tolist()
        return loss, int(right), int(count)

    def totals(self) -> dict:
        """The sums over all processes as a checkpoint's ``partial`` holds them."""
        loss_sum, correct, seen = self.summed()
        return {"loss_sum": loss_sum, "correct": correct, "seen": seen, "seconds": self.seconds(),
                "lr_sum": self.lr_sum, "steps": self.steps}


def _read_on_host(trainer: Trainer, sums: RunningSums, stop: StopRequest, bar: tqdm, where: str) -> bool:
    """Read the running loss on the host: raise on a non-finite one, show it; return True when any
    process was asked to stop (one decision for all processes)."""
    running_loss = float(sums.loss_sum) / max(sums.seen, 1)
    flags = torch.tensor([float(not math.isfinite(running_loss)), float(bool(stop.requested))],
                         device=trainer.device)
    nonfinite, stopping = all_reduce(flags, torch.distributed.ReduceOp.MAX).tolist()
    if nonfinite:
        bar.close()
        run = trainer.run
        raise NonFiniteLossError(
            f"the training loss became {running_loss:g} in {where}; "
            f"{'the last good state is kept in ' + str(run.last) if run else 'nothing was saved'}: "
            "lower the learning rate (--lr) and rerun with --force"
        )
    bar.set_postfix(loss=f"{running_loss:.3f}", acc=f"{float(sums.correct) / sums.seen:.1%}",
                    img_s=f"{sums.images_per_s():.0f}", refresh=False)
    return bool(stopping)


def _save_and_stop(trainer: Trainer, state: TrainingState, stop: StopRequest, steps: int) -> TrainingInterrupted:
    """Save ``state`` (stopped inside an epoch) in ``last.pt``; the error that tells where it is."""
    where = "nothing was saved (no run folder)"
    if trainer.run is not None:
        trainer.run.save_checkpoint(trainer.run.last, trainer.checkpoint(state))
        where = f"the state is saved in {trainer.run.last}: rerun the same command with --resume"
    return TrainingInterrupted(f"stopped by {stop.requested or 'another process'} in epoch "
                               f"{state.epoch + 1} after batch {state.batch}/{steps}; {where}")


def _where_saved(run: RunFolder | None) -> str:
    return "rerun the same command with --resume" if run is not None else "nothing was saved"


def _agreed(flag: bool, device: torch.device) -> bool:
    """True on every process when ``flag`` is true on any of them."""
    return bool(all_reduce(torch.tensor([float(flag)], device=device), torch.distributed.ReduceOp.MAX).item())


def _rng_state(device: torch.device) -> dict:
    """The random states a resume restores: the CPU's and, on CUDA, this process's GPU's only (not
    every visible GPU's, which a machine with fewer GPUs could not take back)."""
    return {"cpu": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None}


def _set_rng_state(rng: dict, device: torch.device) -> None:
    torch.set_rng_state(rng["cpu"])
    state = rng.get("cuda") if device.type == "cuda" else None
    if isinstance(state, (list, tuple)):  # a checkpoint written before: one state per visible GPU
        index = device.index if device.index is not None else torch.cuda.current_device()
        state = state[index] if index < len(state) else None  # a GPU that machine did not have: left as is
    if state is not None:
        torch.cuda.set_rng_state(state, device)
