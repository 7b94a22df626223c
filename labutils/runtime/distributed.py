"""Several processes, one run: DistributedDataParallel under ``torchrun``.

``torchrun --nproc_per_node=N -m labutils train ...`` starts N copies of the command with
RANK, WORLD_SIZE and LOCAL_RANK set. Each process takes an equal share of every global batch
(``--batch-size`` is the global batch, so the recipe's learning rate is unchanged), gradients
are averaged across processes by DDP, validation and test sums are added up across them, and
only rank 0 writes the run folder, progress bars and logs.

Without those variables everything here is a no-op: one process, world size 1.
"""

from __future__ import annotations

import os
from datetime import timedelta

import torch
import torch.distributed as dist


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device_type: str | None) -> torch.device | None:
    """Join the process group torchrun describes; return this process's device (None: not distributed).

    NCCL on GPUs (one GPU per process, by LOCAL_RANK), gloo on CPUs.
    """
    if not launched_by_torchrun():
        return None
    cuda = device_type in (None, "cuda") and torch.cuda.is_available()
    if cuda:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo", timeout=timedelta(minutes=30))
    return device


def teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    return rank() == 0


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def all_reduce(tensor: torch.Tensor, op: dist.ReduceOp = dist.ReduceOp.SUM) -> torch.Tensor:
    """Reduce ``tensor`` in place across processes (nothing to do in a single process)."""
    if dist.is_initialized():
        dist.all_reduce(tensor, op=op)
    return tensor


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The network inside a DDP wrapper (its state dict has no ``module.`` prefix)."""
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model
