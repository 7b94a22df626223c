import platform
import subprocess
import sys

import pytest

from labutils.runtime.host_memory import keep_freed_memory

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# In a fresh process: allocate and touch 256 MB in one block, free it, and print how much of it
# is still resident (from /proc/self/statm, in MB).
FREED_BUT_RESIDENT = """
import os, sys, torch
from labutils.runtime.host_memory import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
def resident_mb():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
before = resident_mb()
block = torch.ones(64 * 2**20)  # 256 MB
del block
print(round(resident_mb() - before))
"""


def _still_resident_mb(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", FREED_BUT_RESIDENT, mode], capture_output=True, text=True,
                          check=True, timeout=120)
    return int(done.stdout.strip())


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_freed_memory_stays_in_the_process_for_reuse():
    assert _still_resident_mb("default") < 64  # glibc gives a large block back to the kernel at once
    assert _still_resident_mb("keep") >= 250  # kept: the next step reuses it without page faults


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_a_cpu_runtime_keeps_freed_memory(monkeypatch):
    import labutils.runtime.runtime as runtime_module

    calls = []
    monkeypatch.setattr(runtime_module, "keep_freed_memory", lambda: calls.append(1) or True)
    runtime_module.resolve_runtime(runtime_module.torch.device("cpu"), "fp32")
    assert calls == [1]


@pytest.mark.skipif(GLIBC, reason="only elsewhere than glibc")
def test_without_glibc_nothing_is_changed():
    assert keep_freed_memory() is False
