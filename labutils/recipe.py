"""The training recipe of each model family: SGD, warm-up and cosine decay, label smoothing.

The table with every value's source: docs/papers.md, "The training recipe".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

REFERENCE_BATCH = 128  # the papers' batch; the lr scales linearly with the batch (Goyal et al. 2017)


@dataclass(frozen=True)
class Recipe:
    lr: float  # for a batch of REFERENCE_BATCH images
    weight_decay: float
    label_smoothing: float = 0.1  # Szegedy et al. 2016 (Inception-v3)
    momentum: float = 0.9  # Nesterov's, with SGD
    warmup_epochs: float = 1.0  # linear, then cosine to zero (Goyal et al. 2017; Loshchilov & Hutter 2017)

    def scaled_lr(self, batch_size: int) -> float:
        return self.lr * batch_size / REFERENCE_BATCH


RECIPES = {
    "alexnet": Recipe(lr=0.01, weight_decay=5e-4),  # Krizhevsky et al. 2012
    "googlenet": Recipe(lr=0.1, weight_decay=5e-4),  # BN networks on CIFAR-10 (He et al. 2016; kuangliu/pytorch-cifar)
    "googlenet_paper": Recipe(lr=0.01, weight_decay=2e-4),  # Szegedy et al. 2015's decay; BN-free, so AlexNet's lr
    "pretrained": Recipe(lr=0.01, weight_decay=5e-4),  # a tenth of the scratch lr (Kornblith et al. 2019)
}


def recipe_for(experiment: str, family: str, pretrained: bool) -> Recipe:
    if pretrained:
        return RECIPES["pretrained"]
    return RECIPES.get(experiment, RECIPES[family])


def default_batch_size(device: torch.device) -> int:
    """128 on a GPU (the papers' batch); 32 on a CPU, where a bigger batch only adds latency."""
    return REFERENCE_BATCH if device.type == "cuda" else 32


def make_optimizer(model: nn.Module, lr: float, recipe: Recipe) -> torch.optim.SGD:
    """SGD as the recipe says; the fused kernel where the device has one (docs/speed.md)."""
    device = next(model.parameters()).device
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=recipe.momentum, nesterov=True,
                           weight_decay=recipe.weight_decay, fused=device.type in ("cuda", "cpu"))


def make_scheduler(optimizer: torch.optim.Optimizer, steps_per_epoch: int, epochs: int,
                   warmup_epochs: float) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up, then cosine decay to zero; stepped after every batch.

    A run of a single epoch warms up over its first fifth, so that it still decays.
    """
    total = max(1, steps_per_epoch * epochs)
    warmup = max(1, min(round(warmup_epochs * steps_per_epoch), total // 5))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
