"""What ``notebooks/02_train.ipynb`` says about the run it trained, from its ``metrics.json``: the
loss and accuracy of the best epoch and of the test, and one paragraph on how it was trained.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .format import markdown_table


def scores_table(metrics: Mapping[str, Any]) -> str:
    """Loss and accuracy of the best epoch (training and validation) and on the test images."""
    rows = [[name, f"{metrics[f'{key}_loss']:.4f}", f"{metrics[f'{key}_acc']:.2%}"]
            for name, key in (("train (best epoch)", "train"), ("validation (best epoch)", "val"), ("test", "test"))]
    return markdown_table(["", "loss", "accuracy"], rows, align="lrr")


def _precision(metrics: Mapping[str, Any]) -> str:
    """' in bf16 (channels-last)', or nothing for a run folder older than the runtime."""
    if "precision" not in metrics:
        return ""
    return f" in {metrics['precision']} ({str(metrics.get('memory_format', '?')).replace('_', '-')})"


def run_paragraph(metrics: Mapping[str, Any], run_dir: str | Path) -> str:
    """The network's size and weights, the best epoch, the data and hardware, and the time taken."""
    return (f"{metrics['params']:,} parameters, weights: {metrics['weights']}. Best epoch {metrics['best_epoch']} "
            f"of {metrics['epochs']}; {metrics['train_images']:,} training images at {metrics['image_size']}x"
            f"{metrics['image_size']}, batch {metrics['batch_size']}, on {metrics['device']}{_precision(metrics)}: "
            f"{metrics['train_time_s']:.1f} s for training and validation ({metrics['images_per_s']:.0f} "
            f"training images/s). Run folder: `{run_dir}`.")
