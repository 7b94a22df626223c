"""Which device to train on, and what it supports."""

from __future__ import annotations

import contextlib

import torch

from ..errors import LabError

DEVICES = ("cuda", "mps", "cpu")


def pick_device(name: str | None = None) -> torch.device:
    """The requested device, or the best available one: CUDA, then Apple's MPS, then the CPU."""
    if name is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind = name.split(":")[0]
    if kind not in DEVICES:
        raise LabError(f"unknown device '{name}'; choose one of: {', '.join(DEVICES)}")
    if kind == "cuda" and not torch.cuda.is_available():
        raise LabError("--device cuda was asked for but no CUDA GPU is visible; leave --device out or use --device cpu")
    if kind == "mps" and not torch.backends.mps.is_available():
        raise LabError("--device mps was asked for but MPS is not available; leave --device out or use --device cpu")
    return torch.device(name)


# Ampere (8.0) and later have bf16 tensor cores. Before it (T4 7.5, V100 7.0) bf16 is emulated,
# several times slower than fp16, although torch.cuda.is_bf16_supported() says yes.
NATIVE_BF16_CAPABILITY = (8, 0)


def cuda_capability(device: torch.device) -> tuple[int, int]:
    return tuple(torch.cuda.get_device_capability(device))


def has_native_bf16(device: torch.device) -> bool:
    """Whether the CUDA GPU ``device`` computes bf16 in hardware (compute capability 8.0 or more)."""
    return cuda_capability(device) >= NATIVE_BF16_CAPABILITY


@contextlib.contextmanager
def cudnn_autotuning(device: torch.device, enabled: bool):
    """cuDNN's autotuning (``cudnn.benchmark``) on or off inside the block, as it was after it; a
    no-op off CUDA. It times every convolution algorithm for each new input shape: worth it for the
    shape every step repeats, not for one seen once (a last partial batch, a single image)."""
    if device.type != "cuda":
        yield
        return
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = enabled
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = before


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work, so that a clock reading means something."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mb(device: torch.device) -> float | None:
    """Peak memory allocated by tensors since the last reset (CUDA only; None elsewhere)."""
    if device.type != "cuda":
        return None
    return torch.cuda.max_memory_allocated(device) / 2**20


def is_out_of_memory(error: BaseException) -> bool:
    return isinstance(error, torch.OutOfMemoryError) or "out of memory" in str(error).lower()
