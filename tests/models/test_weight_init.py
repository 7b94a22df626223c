"""Initialisation (weight_init.py): the from-scratch networks learn, and keep their signal."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from model_helpers import images
from torch import nn

from labutils.models import (
    EXPERIMENTS,
    GoogLeNet,
    build_model,
    spec,
)
from labutils.recipe import recipe_for


def training_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy; a GoogLeNet's side classifiers add 0.3 of theirs each (Szegedy et al.)."""
    out = model(x)
    if isinstance(out, tuple):
        logits, *aux = out
        return F.cross_entropy(logits, y) + 0.3 * sum(F.cross_entropy(a, y) for a in aux)
    return F.cross_entropy(out, y)


def loss_without_dropout(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """The training loss with dropout off, so that it is deterministic. Not eval mode: after a
    few steps BatchNorm's running statistics are still mostly their initial values, while
    training mode normalises with the batch's own; side classifiers count as in training."""
    model.train()
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.eval()
    with torch.no_grad():
        return training_loss(model, x, y).item()


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_a_few_sgd_steps_lower_the_loss(name):
    torch.manual_seed(0)
    model = build_model(name, random_weights=True)
    x, y = images(4, 64, seed=1), torch.tensor([0, 1, 2, 3])
    # the lab's recipe, its learning rate scaled to this batch of 4 (x4: five steps must show)
    spec_ = spec(name)
    lr = recipe_for(name, spec_.family, spec_.pretrained).scaled_lr(len(y))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr * 4, momentum=0.9)
    before = loss_without_dropout(model, x, y)
    # The steps run with dropout off too: its masks come from a random stream that differs
    # between torch versions (2.4 and 2.14), and five steps on 4 images do not average them out.
    assert not any(m.training for m in model.modules() if isinstance(m, nn.Dropout))
    for step in range(5):
        optimizer.zero_grad()
        training_loss(model, x, y).backward()
        if step == 0:  # every layer, side classifiers included, takes part in training
            grads = [p.grad for p in model.parameters()]
            assert all(g is not None and torch.isfinite(g).all() for g in grads)
        optimizer.step()
    after = loss_without_dropout(model, x, y)
    # Deterministic (fixed seeds, dropout off). Slowest: torchvision's AlexNet
    # with random weights (PyTorch's default init), 2.311 -> 2.306; GoogLeNets drop by >25%.
    assert after < before - 1e-3, (before, after)


def test_paper_googlenet_keeps_its_signal_at_initialisation():
    """Without BN the initialisation decides whether the net trains (see weight_init.py)."""
    torch.manual_seed(0)
    model = GoogLeNet(batch_norm=False).eval()
    seen = {}
    model.inception5b.register_forward_hook(lambda m, i, o: seen.__setitem__("std", o.std().item()))
    with torch.no_grad():
        logits = model(images(8, 64))
    assert 0.2 < seen["std"] < 5
    assert F.cross_entropy(logits, torch.arange(8)).item() == pytest.approx(2.303, abs=0.3)
