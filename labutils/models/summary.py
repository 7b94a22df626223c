"""A layer-by-layer table of a model (output shape and parameters), for the report.

The report prints it next to Table 1 of Szegedy et al. 2015, so the row names are the
model's own attribute names and the shapes are measured by running an image through it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import nn


def _stages(model: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """Top-level layers; an ``nn.Sequential`` (AlexNet's ``features``) is opened one level."""
    for name, child in model.named_children():
        if isinstance(child, nn.Sequential):
            for sub_name, sub in child.named_children():
                yield f"{name}.{sub_name}", sub
        else:
            yield name, child


def layer_summary(model: nn.Module, image_size: int = 224) -> list[dict[str, Any]]:
    """One row per top-level layer, in the order the forward pass runs them.

    Each row is ``{"layer": qualified name, "type": class name, "output_shape": (C, H, W)
    or (features,), "params": int}``; the params of all rows add up to the model's.

    The shapes are measured by ``forward_once``: one image of zeros, every layer in eval mode
    but the model flagged as training, so that a GoogLeNet's side classifiers get shapes too.
    Layers that never run (none in the lab's models) come last with ``output_shape`` None.
    """
    rows: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    hooks = []

    def record(name: str):
        def hook(module: nn.Module, inputs: tuple, output: Any) -> None:
            if name in order:  # a layer used twice keeps its first shape
                return
            out = output[0] if isinstance(output, (tuple, list)) else output
            rows[name]["output_shape"] = tuple(out.shape[1:])
            order.append(name)

        return hook

    for name, module in _stages(model):
        rows[name] = {
            "layer": name,
            "type": type(module).__name__,
            "output_shape": None,
            "params": sum(p.numel() for p in module.parameters()),
        }
        hooks.append(module.register_forward_hook(record(name)))

    forward_once(model, image_size, hooks)
    return [rows[name] for name in order] + [row for name, row in rows.items() if name not in order]


def forward_once(model: nn.Module, image_size: int, hooks: list) -> None:
    """One 1 x 3 x ``image_size`` x ``image_size`` image of zeros through ``model`` (on its device,
    in its dtype) for the forward ``hooks`` to measure, then the hooks removed.

    Every layer runs in eval mode (no dropout, BatchNorm's running statistics, nothing updated),
    except that the model itself is flagged as training, so that a GoogLeNet also runs its side
    classifiers. Every module's mode is restored afterwards.
    """
    modes = {module: module.training for module in model.modules()}
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None else torch.float32
    try:
        model.eval()
        model.training = True  # only the top level: it decides whether side classifiers run
        with torch.no_grad():
            model(torch.zeros(1, 3, image_size, image_size, device=device, dtype=dtype))
    finally:
        for handle in hooks:
            handle.remove()
        for module, training in modes.items():
            module.training = training
