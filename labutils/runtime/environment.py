"""Where a run ran: the hardware's name and the versions of the software, for ``metrics.json``."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch
import torchvision


def cpu_name() -> str:
    """The processor's model name (Linux's /proc/cpuinfo), else what the platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def environment(device: torch.device) -> dict:
    """The ``environment`` entry of ``metrics.json``: hardware, CPU cores and software versions.

    ``cuda`` and ``cudnn`` are the versions the run used on a GPU (None on a CPU).
    """
    cuda = device.type == "cuda"
    hardware = torch.cuda.get_device_name(device) if cuda else cpu_name()
    return {
        "hardware": hardware,
        "cpu": cpu_name(),
        "cpu_cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "cuda": torch.version.cuda if cuda else None,
        "cudnn": torch.backends.cudnn.version() if cuda else None,
        "platform": platform.platform(terse=True),
    }
