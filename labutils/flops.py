"""What a model costs: FLOPs per image, and the device peak to compare a measured rate with.

FLOPs come from ``torch.utils.flop_counter.FlopCounterMode``, which counts a multiply-add as two
FLOPs (convolutions and matrix products only; ReLU, pooling, LRN and BatchNorm are not counted,
they are a few percent). The model is built on the ``meta`` device: shapes only, no memory and
no arithmetic, so counting GoogLeNet's training step costs milliseconds on any machine.
"""

from __future__ import annotations

import re

import torch
from torch.utils.flop_counter import FlopCounterMode

from . import models
from .config import default_of

IMAGE_SIZE = default_of("image_size")

# Dense (no sparsity) tensor-core peak in TFLOP/s at the precision the lab trains in on that GPU
# (bf16; fp16 where the GPU has no bf16), from NVIDIA's data sheets. First match wins, so the
# more specific names come first ("H100 PCIe" before "H100", "L40S" before "L40").
PEAK_TFLOPS: tuple[tuple[str, str, float], ...] = (
    (r"B200", "B200 dense bf16", 2250.0),
    (r"GH200", "GH200 dense bf16", 989.0),
    (r"H200 NVL", "H200 NVL dense bf16", 835.0),
    (r"H200", "H200 SXM dense bf16", 989.0),
    (r"H100.*PCIe", "H100 PCIe dense bf16", 756.0),
    (r"H100 NVL", "H100 NVL dense bf16", 835.0),
    (r"H100|H800", "H100 SXM dense bf16", 989.0),
    (r"A100|A800", "A100 dense bf16", 312.0),
    (r"L40S", "L40S dense bf16", 362.0),
    (r"L40\b", "L40 dense bf16", 181.0),
    (r"\bL4\b", "L4 dense bf16", 121.0),
    (r"RTX 4090", "RTX 4090 dense bf16 (fp32 accumulate)", 165.0),
    (r"\bT4\b", "T4 dense fp16 (no bf16)", 65.0),
    (r"V100", "V100 SXM2 dense fp16 (no bf16)", 125.0),
)


def device_peak(device: torch.device) -> tuple[float | None, str]:
    """(peak TFLOP/s, what that figure is) for a CUDA device; (None, "unknown peak ...") otherwise."""
    if device.type != "cuda":
        return None, f"unknown peak (no tensor-core peak table for {device.type})"
    return gpu_peak(torch.cuda.get_device_name(device))


def gpu_peak(name: str) -> tuple[float | None, str]:
    """(peak TFLOP/s, what that figure is) for a GPU by its CUDA name, e.g. "NVIDIA H100 80GB HBM3"."""
    for pattern, label, tflops in PEAK_TFLOPS:
        if re.search(pattern, name):
            return tflops, f"{label}: {tflops:g} TFLOP/s (NVIDIA data sheet)"
    return None, f"unknown peak ({name} is not in labutils.flops.PEAK_TFLOPS)"


def _meta_model(experiment: str) -> torch.nn.Module:
    with torch.device("meta"):
        return models.build_model(experiment, random_weights=True)


def forward_flops(experiment: str, image_size: int = IMAGE_SIZE) -> int:
    """FLOPs of one image through the network in eval mode (what evaluation costs)."""
    model = _meta_model(experiment).eval()
    with FlopCounterMode(display=False) as counter:
        model(torch.empty(1, 3, image_size, image_size, device="meta"))
    return counter.get_total_flops()


def training_flops(experiment: str, image_size: int = IMAGE_SIZE) -> int:
    """FLOPs of one image through a training step: forward in training mode (a GoogLeNet's
    side classifiers included) and backward. About 3x the forward pass, a little less because
    nothing needs the gradient of the input image.
    """
    model = _meta_model(experiment).train()
    batch = 2  # BatchNorm in training mode wants more than one value per channel
    with FlopCounterMode(display=False) as counter:
        outputs = model(torch.empty(batch, 3, image_size, image_size, device="meta"))
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        sum(o.float().sum() for o in outputs).backward()
    return counter.get_total_flops() // batch
