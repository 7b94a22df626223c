"""Freed host memory stays in the process, so a CPU training step does not fault it back in.

glibc's ``malloc`` serves large blocks with ``mmap`` and hands them back to the kernel when they
are freed, so every training step on a CPU has its activations and gradients (AlexNet's
gradients alone: 228 MB) mapped and zero-filled anew. Serving every block from the heap and never trimming it
keeps that memory for reuse: what jemalloc or tcmalloc do, which PyTorch's CPU performance
tuning guide recommends, without a library to install. The cost: a process keeps its peak
memory until it exits. What it gains: docs/speed.md.
"""

from __future__ import annotations

import ctypes
import platform

# mallopt(3) parameters, from glibc's malloc.h.
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
NEVER_TRIM = 2**31 - 1  # the largest value mallopt takes: bytes free at the heap's top before trimming


def keep_freed_memory() -> bool:
    """Under glibc: no ``mmap`` for ``malloc`` and no trimming, for the rest of this process
    (and the DataLoader workers it forks). Returns whether it applied; elsewhere it does nothing."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, NEVER_TRIM))
