"""A run's options resolved against the machine and the recipe: what the run will really use.

``RunConfig`` leaves four values to the machine and the experiment (None): the batch size
follows the device, the learning rate and warm-up the experiment's recipe at that batch, the
loader workers the cores. ``resolve`` fills them in; the device itself stays as asked, so that
under torchrun each process still takes its own GPU. The lab's ``--dry-run`` shows the result,
and a run's ``config.json`` records it.
"""

from __future__ import annotations

import os
from dataclasses import replace

from .catalog import spec
from .config import RunConfig
from .recipe import default_batch_size, recipe_for
from .runtime.device import pick_device


def default_workers() -> int:
    """DataLoader workers for the workers path: leave at least one core to the model."""
    return max(0, min(4, (os.cpu_count() or 1) - 1))


def resolve(config: RunConfig) -> RunConfig:
    """A checked copy of ``config`` with the machine's and the recipe's defaults filled in."""
    config.validated()
    experiment = spec(config.experiment)
    batch_size = config.batch_size or default_batch_size(pick_device(config.device))
    recipe = recipe_for(config.experiment, experiment.family, experiment.pretrained)
    return replace(config, batch_size=batch_size, lr=config.lr or recipe.scaled_lr(batch_size),
                   warmup_epochs=config.warmup_epochs or recipe.warmup_epochs,
                   workers=default_workers() if config.workers is None else config.workers)
