"""Small helpers of the model tests: random images, structure-only models."""

from __future__ import annotations

import torch
from torch import nn


def images(n: int, size: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def on_meta(build, *args, **kwargs) -> nn.Module:
    """Build a model without allocating or initialising its weights: for structure-only tests."""
    with torch.device("meta"):
        return build(*args, **kwargs)
