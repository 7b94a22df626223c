"""How a run uses its device: one decision per run, taken here and nowhere else.

A ``Runtime`` says which device trains, in which precision (fp32, or bf16/fp16 autocast), in
which memory format (channels-last or contiguous NCHW), where the images live (resident on the
device, batches indexed and augmented there; or prepared by DataLoader workers), and every how
many steps the host reads the loss (a read makes a GPU wait for its queue). ``train_model``,
``evaluate``, ``BatchLoader`` and the bench follow it instead of asking what the device is.

Every choice can be made on any device, so the path a GPU takes (resident data, bf16,
channels-last, a host read every N steps) also runs, and is tested, on a CPU.

``precision="auto"``: bf16 on CUDA GPUs that compute it natively (compute capability 8.0,
Ampere, or more), fp16 with loss scaling on older ones (T4, V100: bf16 emulated); on a CPU with
bf16 units, a short timed probe at the run's model, batch and image size (``probe_precision``)
keeps the fastest of fp32, bf16 and bf16 + channels-last, and fp32 unless another is clearly
faster; fp32 elsewhere.
"""

from __future__ import annotations

import contextlib
import copy
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from ..config import DATA_PLACEMENTS, MEMORY_FORMATS, check_options
from ..errors import LabError
from .device import cuda_capability, has_native_bf16, synchronize
from .host_memory import keep_freed_memory

AUTOCAST_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
# Host reads of the loss: a read stalls a GPU's queue, so there every 25 steps; on a CPU it costs
# nothing, so every step (Ctrl-C stops at once).
GPU_SYNC_EVERY = 25
CPU_SYNC_EVERY = 1
# The probe times one step of each candidate per round (a shared CPU's load hits all alike), for
# PROBE_ROUNDS to PROBE_MAX_ROUNDS rounds (more while under PROBE_MIN_SECONDS in all); a candidate
# PROBE_GIVE_UP times slower than fp32 after one step is dropped; another precision than fp32 is
# kept only when its median speed-up is PROBE_MARGIN or more (a tie goes to fp32, exact everywhere).
PROBE_ROUNDS = 4
PROBE_MAX_ROUNDS = 12
PROBE_MIN_SECONDS = 3.0
PROBE_GIVE_UP = 1.5
PROBE_MARGIN = 1.05
PROBE_MIN_RUN_STEPS = 300  # the probe costs about 15 steps: 5 % of a run this long; shorter ones train in fp32
CPU_CANDIDATES = (("fp32", False), ("bf16", False), ("bf16", True))


@dataclass(frozen=True)
class Runtime:
    """How one run uses its device (see the module docstring)."""

    device: torch.device
    precision: str = "fp32"  # fp32, bf16 or fp16 (never auto: that is resolved)
    channels_last: bool = False
    resident_data: bool = False  # the uint8 images on the device, batches made there
    sync_every: int = 1  # host reads of the loss (and checks for a stop request) every N steps
    choice: dict | None = field(default=None, compare=False)  # why auto chose what it chose

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return AUTOCAST_DTYPES[self.precision]

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    @property
    def loss_scaling(self) -> bool:
        """fp16 gradients underflow without it; bf16 has fp32's range and needs none."""
        return self.precision == "fp16"

    def autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def synchronize(self) -> None:
        synchronize(self.device)

    def options(self) -> dict:
        """The resolved choices under their RunConfig names (for config.json and metrics.json)."""
        return {"precision": self.precision, "memory_format": MEMORY_FORMATS[0 if self.channels_last else 1],
                "data_placement": DATA_PLACEMENTS[0 if self.resident_data else 1],
                "host_sync_every": self.sync_every}

    def describe(self) -> str:
        o = self.options()
        return f"{o['precision']}, {o['memory_format'].replace('_', '-')}, data {o['data_placement']}"


LossFunction = Callable[[object, torch.Tensor, nn.Module], torch.Tensor]  # (outputs, labels, criterion) -> loss


@dataclass
class ProbeTarget:
    """What ``auto`` measures on a CPU: the run's network and loss at its batch and image size.

    ``loss`` is the training loss of ``train_module`` (handed in: the runtime sits below it)."""

    model: nn.Module
    criterion: nn.Module
    loss: LossFunction
    batch_size: int
    image_size: int
    run_steps: int  # training steps of the whole run: a short run is not worth probing
    name: str = "model"


def cpu_supports(precision: str) -> bool:
    """Whether this CPU has units for ``precision`` (oneDNN's own check: AVX512-BF16/AMX, AVX512-FP16)."""
    if precision == "fp32":
        return True
    try:
        check = {"bf16": torch.ops.mkldnn._is_mkldnn_bf16_supported,
                 "fp16": torch.ops.mkldnn._is_mkldnn_fp16_supported}[precision]
        return bool(torch.backends.mkldnn.is_available() and check())
    except (AttributeError, RuntimeError):  # a build without oneDNN, or without the check
        return False


def resolve_runtime(device: torch.device, precision: str = "auto", memory_format: str | None = None,
                    data_placement: str | None = None, host_sync_every: int | None = None, *,
                    probe: ProbeTarget | None = None, saved: dict | None = None,
                    world_size: int = 1) -> Runtime:
    """The runtime for ``device`` with these options (None or "auto": the device's default).

    ``probe`` lets ``auto`` measure on a CPU with bf16 units. ``saved`` is the resolved options
    of the run being resumed: ``auto`` takes its precision and memory format again (a resumed run
    computes exactly what the interrupted one did), and an explicit other value is refused.
    """
    check_options(precision, memory_format, data_placement, host_sync_every)
    if device.type == "cpu":
        keep_freed_memory()  # before the probe times anything: a CPU step is up to 2x faster with it
    choice = None
    if saved:
        if precision == "auto" and "precision" in saved:
            choice = {"requested": "auto", "reason": f"resumed: {saved['precision']}, as the run started"}
        precision = _same_as_saved("precision", precision, "auto", saved)
        memory_format = _same_as_saved("memory_format", memory_format, None, saved)
    cuda = device.type == "cuda"
    if precision == "auto":
        precision, memory_probed, choice = _auto_precision(device, probe, world_size)
        memory_format = memory_format or memory_probed
    else:
        _check_supported(device, precision)
    if memory_format is None:
        # Channels-last suits convolutions in reduced precision (tensor cores, oneDNN's bf16
        # kernels); oneDNN's fp32 convolutions are as fast or faster in NCHW.
        memory_format = "channels_last" if cuda or precision == "bf16" and device.type == "cpu" else "contiguous"
    # Resident by default everywhere: on a small CPU a worker process takes a core from the model (docs/speed.md).
    resident = data_placement != "workers"
    sync_every = host_sync_every or (GPU_SYNC_EVERY if cuda else CPU_SYNC_EVERY)
    return Runtime(device, precision, memory_format == "channels_last", resident, sync_every, choice)


def _same_as_saved(name: str, value, default, saved: dict):
    if name not in saved:
        return value
    if value in (default, saved[name]):
        return saved[name]
    flag = "--" + name.replace("_", "-")
    raise LabError(f"cannot resume: the run was started with {flag} {saved[name]}, this run asks {value}; "
                   f"leave {flag} out (or pass {saved[name]}) to continue it, or --force to start over")


def _check_supported(device: torch.device, precision: str) -> None:
    """Refuse a precision the device cannot compute; warn (one line) for bf16 emulated on a GPU
    before Ampere: slow, but the same numbers (a run started on a newer GPU can resume there)."""
    if device.type == "cuda" and precision == "bf16":
        if not torch.cuda.is_bf16_supported():
            raise LabError(f"{torch.cuda.get_device_name(device)} has no bf16 support: "
                           "use --precision fp16 (with loss scaling) or auto")
        if not has_native_bf16(device):
            major, minor = cuda_capability(device)
            print(f"warning: {torch.cuda.get_device_name(device)} (compute capability {major}.{minor}) emulates bf16, "
                  "several times slower than fp16: --precision fp16 or auto trains in fp16 with loss scaling",
                  file=sys.stderr, flush=True)
    if device.type == "cpu" and precision == "fp16" and not cpu_supports("fp16"):
        raise LabError("this CPU has no fp16 units (AVX512-FP16/AMX-FP16): use --precision bf16, fp32 or auto")


def _auto_precision(device: torch.device, probe: ProbeTarget | None,
                    world_size: int) -> tuple[str, str | None, dict]:
    """(precision, memory format or None, why) for ``auto`` on ``device``."""
    if device.type == "cuda":
        major, minor = cuda_capability(device)
        if has_native_bf16(device):
            return "bf16", None, {"requested": "auto", "reason": f"CUDA compute capability {major}.{minor}: bf16"}
        return "fp16", None, {"requested": "auto", "reason": f"CUDA compute capability {major}.{minor}, "
                                                             "no native bf16: fp16 with loss scaling"}
    reason = None
    if device.type != "cpu":
        reason = f"{device.type}: fp32"
    elif not cpu_supports("bf16"):
        reason = "no bf16 units on this CPU: fp32"
    elif probe is None:
        reason = "nothing to measure: fp32"
    elif world_size > 1:
        reason = "several processes share the CPU, a probe would not measure one: fp32"
    elif probe.run_steps < PROBE_MIN_RUN_STEPS:
        reason = f"a short run ({probe.run_steps} steps < {PROBE_MIN_RUN_STEPS}) is not worth probing: fp32"
    if reason is not None:
        return "fp32", None, {"requested": "auto", "reason": reason}
    result = probe_precision(probe, device)
    return result["precision"], result["memory_format"], {"requested": "auto", **result}


def probe_precision(probe: ProbeTarget, device: torch.device, candidates=CPU_CANDIDATES) -> dict:
    """Time training steps of a copy of ``probe.model`` in each candidate (precision, channels-last),
    interleaved round by round, and keep the fastest when it is clearly faster than fp32 (the
    first candidate).

    Prints one line with the figures. The model, and every random state, are left as they were.
    Returns ``precision``, ``memory_format``, per candidate ``images_per_s`` (median step) and
    ``speedup`` (median over rounds of fp32's step time / the candidate's), ``chosen``, ``seconds``.
    """
    started = time.perf_counter()
    batch_size, image_size = probe.batch_size, probe.image_size
    rng = torch.get_rng_state()
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(batch_size, 3, image_size, image_size, generator=generator).to(device)
    labels = torch.randint(0, _num_classes(probe.model), (batch_size,), generator=generator).to(device)
    try:
        steps = {precision_label(*c): _ProbeStep(probe, inputs, labels, Runtime(device, *c)) for c in candidates}
        seconds = _interleaved_seconds(steps)
    finally:
        torch.set_rng_state(rng)
    fp32 = precision_label(*candidates[0])
    rates = {label: batch_size / statistics.median(s) for label, s in seconds.items()}
    speedup = {label: statistics.median(a / b for a, b in zip(seconds[fp32], s)) for label, s in seconds.items()}
    best = max(speedup, key=speedup.get)
    if speedup[best] < PROBE_MARGIN:
        best = fp32
    precision, channels_last = next(c for c in candidates if precision_label(*c) == best)
    seconds = time.perf_counter() - started
    figures = ", ".join(f"{label} {rate:.1f}" for label, rate in rates.items())
    print(f"precision auto: {figures} img/s ({probe.name}, batch {batch_size}, {image_size}px, a {seconds:.0f} s probe) "
          f"-> {best}", flush=True)
    return {"precision": precision, "memory_format": MEMORY_FORMATS[0 if channels_last else 1],
            "images_per_s": rates, "speedup": speedup, "chosen": best, "seconds": seconds}


def _interleaved_seconds(steps: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    """Seconds of each timed step per candidate, one step of each per round (the first is fp32)."""
    for step in steps.values():
        step()  # the first step builds kernels and caches
    seconds = {label: [] for label in steps}
    fp32 = next(iter(steps))
    measured = list(steps)
    for round_ in range(PROBE_MAX_ROUNDS):
        for label in measured:
            seconds[label].append(steps[label]())
        if round_ == 0:  # clearly slower than fp32 after one step: no need to know by how much exactly
            measured = [label for label in measured if seconds[label][0] <= PROBE_GIVE_UP * seconds[fp32][0]]
        if round_ + 1 >= PROBE_ROUNDS and sum(map(sum, seconds.values())) >= PROBE_MIN_SECONDS:
            break
    return seconds


class _ProbeStep:
    """One training step of a copy of a model in one runtime, timed: ``step()`` -> seconds."""

    def __init__(self, probe: ProbeTarget, inputs: torch.Tensor, labels: torch.Tensor, runtime: Runtime):
        self.runtime, self.criterion, self.loss, self.labels = runtime, probe.criterion, probe.loss, labels
        self.network = copy.deepcopy(probe.model).to(runtime.device, memory_format=runtime.memory_format).train()
        self.optimizer = torch.optim.SGD(self.network.parameters(), lr=0.0, momentum=0.9,
                                         fused=runtime.device.type in ("cpu", "cuda"))
        self.inputs = inputs.contiguous(memory_format=runtime.memory_format)

    def __call__(self) -> float:
        start = time.perf_counter()
        with self.runtime.autocast():
            loss = self.loss(self.network(self.inputs), self.labels, self.criterion)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.runtime.synchronize()
        return time.perf_counter() - start


def step_seconds(probe: ProbeTarget, runtime: Runtime, steps: int = 2) -> float:
    """Seconds of one training step of ``probe``'s network in ``runtime``: the median of ``steps``
    timed steps after one untimed one (the model and the random state left as they were), with the
    host's memory kept as a run keeps it (``resolve_runtime``)."""
    if runtime.device.type == "cpu":
        keep_freed_memory()  # without it a CPU step takes up to twice as long as a run's
    rng = torch.get_rng_state()
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(probe.batch_size, 3, probe.image_size, probe.image_size, generator=generator)
    labels = torch.randint(0, _num_classes(probe.model), (probe.batch_size,), generator=generator)
    try:
        step = _ProbeStep(probe, inputs.to(runtime.device), labels.to(runtime.device), runtime)
        step()
        return statistics.median(step() for _ in range(steps))
    finally:
        torch.set_rng_state(rng)


def precision_label(precision: str, channels_last: bool) -> str:
    """fp32, bf16, bf16+channels_last...: a precision and memory format in one word."""
    return precision + ("+channels_last" if channels_last else "")


def _num_classes(model: nn.Module) -> int:
    last = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return last[-1].out_features if last else 10


def default_runtime(device: torch.device) -> Runtime:
    """The device's defaults (``auto`` without a probe): what ``train_model`` uses when given none."""
    return resolve_runtime(device)
