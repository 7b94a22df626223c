"""The training loop: ``train_model``, the handout's function, for AlexNet and GoogLeNet alike.

One plain loop. Per batch: forward (in the runtime's precision: bf16 autocast on a GPU), loss
(a GoogLeNet in training mode adds its two side classifiers at weight 0.3, as in the paper),
backward, optimizer and schedule step. The loss and accuracy are summed on the device and read
by the host every ``runtime.sync_every`` steps only. Per epoch: validation, one history row, the
best weights kept, and, given a run folder, a resumable checkpoint. Ctrl-C / SIGTERM stop at the
next host read (the next step on a CPU, at most 25 steps on a GPU) with the state saved.
"""

from __future__ import annotations

import copy
import math
import sys
import time

import torch
from torch import nn
from tqdm import tqdm

from .config import default_of
from .distributed import all_reduce, is_main, unwrap
from .errors import LabError
from .interrupt import StopRequest
from .results import RunFolder, load_checkpoint
from .runtime import Runtime, default_runtime
from .test_module import evaluate, main_logits

AUX_WEIGHT = 0.3  # Szegedy et al. 2015: "their loss is added to the total loss with a discount weight 0.3"


class TrainingInterrupted(LabError):
    """Training stopped on request (Ctrl-C, SIGTERM) with its state saved."""


class NonFiniteLossError(LabError):
    """The loss became NaN or infinite."""


def training_loss(outputs: torch.Tensor | tuple[torch.Tensor, ...], labels: torch.Tensor,
                  criterion: nn.Module, aux_weight: float = AUX_WEIGHT) -> torch.Tensor:
    """The loss that is minimised: main classifier, plus ``aux_weight`` x each side classifier."""
    if not isinstance(outputs, tuple):
        return criterion(outputs, labels)
    logits, *aux = outputs
    return criterion(logits, labels) + aux_weight * sum(criterion(a, labels) for a in aux)


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

    ``runtime`` says how to use the device (precision, host reads; see ``runtime.py``); without
    it, the defaults of ``device``. A stop request (Ctrl-C, SIGTERM) is acted on at the next
    host read: the saved state holds every step done up to it.

    Under DDP (``model`` wrapped, loaders sharded) the epoch's sums are added up across
    processes and only rank 0 shows progress; pass ``run`` on rank 0 only.
    """
    runtime = runtime or default_runtime(device or next(model.parameters()).device)
    device = runtime.device
    network = unwrap(model)  # what checkpoints hold, without DDP's "module." prefix
    progress = progress and is_main()
    eval_criterion = eval_criterion or criterion
    scaler = torch.amp.GradScaler(device.type, enabled=runtime.loss_scaling)
    train_loader = dataloaders["train"]
    steps_per_epoch = len(train_loader)
    # Reading the loss on the host makes a GPU wait: read it (and agree across processes on
    # stopping) every few steps only.
    sync_every = runtime.sync_every
    log_interval = 0.5 if sys.stderr.isatty() else 30.0  # papermill stores every refresh

    history: list[dict] = []
    best_acc, best_epoch, best_weights = -1.0, 0, None
    start_epoch, start_batch, partial = 0, 0, None
    if resume is not None:
        network.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        if scheduler is not None and resume.get("scheduler") is not None:
            scheduler.load_state_dict(resume["scheduler"])
        if resume.get("scaler"):
            scaler.load_state_dict(resume["scaler"])
        history = list(resume["history"])
        best_acc, best_epoch = resume["best_acc"], resume["best_epoch"]
        start_epoch, start_batch, partial = resume["epoch"], resume["batch"], resume.get("partial")
        _set_rng_state(resume["rng"], device)
        if run is not None and run.best.exists():
            best_weights = load_checkpoint(run.best, device)["model"]

    def state(epoch: int, batch: int, sums: dict | None) -> dict:
        """Everything needed to continue at batch ``batch`` of epoch ``epoch``."""
        return {
            **(checkpoint_extra or {}),
            "model": network.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "scaler": scaler.state_dict() if scaler.is_enabled() else None,
            "epoch": epoch, "batch": batch, "partial": sums, "history": history,
            "best_acc": best_acc, "best_epoch": best_epoch, "rng": _rng_state(device),
        }

    stopping = False
    where_saved = "rerun the same command with --resume" if run is not None else "nothing was saved"
    with StopRequest() as stop:
        for epoch in range(start_epoch, num_epochs):
            model.train()
            train_loader.set_epoch(epoch, start_batch)
            loss_sum = torch.zeros((), dtype=torch.float64, device=device)
            correct = torch.zeros((), dtype=torch.int64, device=device)
            seen, seconds_before = 0, 0.0
            if partial is not None and is_main():  # resuming inside this epoch (sums of all processes)
                loss_sum += partial["loss_sum"]
                correct += partial["correct"]
                seen = partial["seen"]
            if partial is not None:
                seconds_before = partial["seconds"]
            seen_at_start = seen
            bar = tqdm(total=steps_per_epoch, initial=start_batch, desc=f"epoch {epoch + 1}/{num_epochs}",
                       unit="batch", disable=not progress, mininterval=log_interval, file=sys.stderr,
                       dynamic_ncols=True)
            start = time.perf_counter()
            for step, (inputs, labels) in enumerate(train_loader, start=start_batch):
                with runtime.autocast():
                    outputs = model(inputs)
                    loss = training_loss(outputs, labels, criterion, aux_weight)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                if scheduler is not None:
                    scheduler.step()
                loss_sum += loss.detach().double() * len(labels)
                correct += (main_logits(outputs).argmax(1) == labels).sum()
                seen += len(labels)
                bar.update(1)
                if (step + 1) % sync_every == 0 or step + 1 == steps_per_epoch:
                    running_loss = float(loss_sum) / max(seen, 1)
                    # One decision for all processes: any non-finite loss, any stop request.
                    flags = torch.tensor([float(not math.isfinite(running_loss)), float(bool(stop.requested))],
                                         device=device)
                    nonfinite, stopping = all_reduce(flags, torch.distributed.ReduceOp.MAX).tolist()
                    if nonfinite:
                        bar.close()
                        raise NonFiniteLossError(
                            f"the training loss became {running_loss:g} in epoch {epoch + 1}, step {step + 1}; "
                            f"{'the last good state is kept in ' + str(run.last) if run else 'nothing was saved'}: "
                            "lower the learning rate (--lr) and rerun with --force"
                        )
                    rate = (seen - seen_at_start) / max(time.perf_counter() - start, 1e-9)
                    bar.set_postfix(loss=f"{running_loss:.3f}", acc=f"{float(correct) / seen:.1%}",
                                    img_s=f"{rate:.0f}", refresh=False)
                    if stopping and step + 1 < steps_per_epoch:
                        bar.close()
                        total_loss, total_correct, total_seen = _summed(loss_sum, correct, seen)
                        sums = {"loss_sum": total_loss, "correct": total_correct, "seen": total_seen,
                                "seconds": seconds_before + time.perf_counter() - start}
                        where = "nothing was saved (no run folder)"
                        if run is not None:
                            run.save_checkpoint(run.last, state(epoch, step + 1, sums))
                            where = f"the state is saved in {run.last}: rerun the same command with --resume"
                        raise TrainingInterrupted(f"stopped by {stop.requested or 'another process'} in epoch "
                                                  f"{epoch + 1} after batch {step + 1}/{steps_per_epoch}; {where}")
            bar.close()
            runtime.synchronize()
            train_seconds = seconds_before + time.perf_counter() - start
            partial, start_batch = None, 0
            loss_sum, correct, seen = _summed(loss_sum, correct, seen)

            val = evaluate(network, dataloaders["val"], eval_criterion, runtime)
            row = {
                "epoch": epoch + 1,
                "train_loss": loss_sum / seen,
                "train_acc": correct / seen,
                "val_loss": val["loss"],
                "val_acc": val["acc"],
                "lr": optimizer.param_groups[0]["lr"],
                "train_seconds": train_seconds,
                "eval_seconds": val["seconds"],
                "images_per_s": seen / train_seconds,
            }
            history.append(row)
            is_best = row["val_acc"] > best_acc
            if is_best:
                best_acc, best_epoch = row["val_acc"], row["epoch"]
                best_weights = copy.deepcopy(network.state_dict())
            if run is not None:
                if is_best:
                    run.save_checkpoint(run.best, {**(checkpoint_extra or {}), "model": best_weights,
                                                   "epoch": best_epoch, "val_acc": best_acc})
                # History before the resumable state: a kill in between only repeats this epoch.
                run.write_history(history)
                run.save_checkpoint(run.last, state(epoch + 1, 0, None))
            # Printed once the epoch is safe on disk.
            if is_main():
                print(f"epoch {epoch + 1}/{num_epochs}  train loss {row['train_loss']:.4f} acc {row['train_acc']:.2%}  "
                      f"val loss {row['val_loss']:.4f} acc {row['val_acc']:.2%}  lr {row['lr']:.2g}  "
                      f"{train_seconds:.1f}s + {val['seconds']:.1f}s eval ({row['images_per_s']:.0f} img/s)"
                      f"{'  *best*' if is_best else ''}", flush=True)
            # A request that came during validation or on the epoch's last batch stops here.
            if epoch + 1 < num_epochs and _agreed(stopping or bool(stop.requested), device):
                raise TrainingInterrupted(f"stopped by {stop.requested or 'another process'} after epoch "
                                          f"{epoch + 1}; {where_saved}")
    # After the last epoch, checked once the handler is gone (a later request raises where the
    # program is): the test waits for --resume rather than running after a stop.
    if _agreed(bool(stop.requested), device):
        raise TrainingInterrupted(f"stopped by {stop.requested or 'another process'} after the last epoch "
                                  f"({num_epochs}/{num_epochs}), before testing; {where_saved}")

    if best_weights is not None:
        network.load_state_dict(best_weights)
    return model, history


def _agreed(flag: bool, device: torch.device) -> bool:
    """True on every process when ``flag`` is true on any of them."""
    return bool(all_reduce(torch.tensor([float(flag)], device=device), torch.distributed.ReduceOp.MAX).item())


def _summed(loss_sum: torch.Tensor, correct: torch.Tensor, seen: int) -> tuple[float, int, int]:
    """The epoch's running sums added up over all processes."""
    sums = torch.stack([loss_sum, correct.double(), torch.tensor(float(seen), dtype=torch.float64,
                                                                 device=loss_sum.device)])
    loss, right, count = all_reduce(sums).tolist()
    return loss, int(right), int(count)


def _rng_state(device: torch.device) -> dict:
    return {"cpu": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if device.type == "cuda" else None}


def _set_rng_state(rng: dict, device: torch.device) -> None:
    torch.set_rng_state(rng["cpu"])
    if device.type == "cuda" and rng.get("cuda") is not None:
        torch.cuda.set_rng_state_all(rng["cuda"])
