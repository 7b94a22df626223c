"""A network's first-layer filters, read from a run folder's ``best.pt`` (the AlexNet paper's Figure 3).

The first convolution sees the RGB image directly, so its kernels can be shown as small colour
images: trained on natural images they become smooth edge, frequency and colour-blob detectors,
while untrained ones are noise. :func:`roughness` puts a number on that.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

# E|X - Y| / sigma for independent normal X, Y: the roughness of filters that are pure noise.
NOISE_ROUGHNESS = 2 / np.sqrt(np.pi)


def first_layer_filters(checkpoint: str | Path) -> np.ndarray | None:
    """The first convolution's kernels (out, 3, k, k) in a checkpoint of this lab, or None when the
    file is missing, unreadable or holds no convolution over three channels.

    The file is memory-mapped, so only these few weights are read from a checkpoint of 200+ MB.
    """
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 (missing, truncated, not a checkpoint: the report says the filters are not available)
        return None
    weights = state.get("model", {}) if isinstance(state, dict) else {}
    for tensor in weights.values():
        if isinstance(tensor, torch.Tensor) and tensor.dim() == 4 and tensor.shape[1] == 3:
            return tensor.float().numpy().copy()
    return None


def roughness(filters: np.ndarray) -> float:
    """Mean absolute difference of neighbouring weights (across and down) over each filter's own
    standard deviation, averaged over filters: about 1.13 for noise, lower for smooth filters."""
    w = filters - filters.mean(axis=(1, 2, 3), keepdims=True)
    std = w.std(axis=(1, 2, 3)) + 1e-12
    across = np.abs(np.diff(w, axis=3)).mean(axis=(1, 2, 3))
    down = np.abs(np.diff(w, axis=2)).mean(axis=(1, 2, 3))
    return float(np.mean((across + down) / 2 / std))


def filter_mosaic(filters: np.ndarray, columns: int = 8, pad: int = 1) -> np.ndarray:
    """The kernels as one RGB image (H, W, 3) in [0, 1]: a grid of ``columns``, each kernel
    scaled to its own minimum and maximum, white lines between them."""
    count, _, height, width = filters.shape
    rows = -(-count // columns)
    mosaic = np.ones((rows * (height + pad) + pad, columns * (width + pad) + pad, 3))
    for i, kernel in enumerate(filters):
        low, high = kernel.min(), kernel.max()
        image = (kernel - low) / (high - low) if high > low else np.full_like(kernel, 0.5)
        top, left = pad + (i // columns) * (height + pad), pad + (i % columns) * (width + pad)
        mosaic[top:top + height, left:left + width] = image.transpose(1, 2, 0)
    return mosaic
