"""Local response normalisation (local_response_norm.py) against the paper's formula."""

from __future__ import annotations

import pytest
import torch
from model_helpers import on_meta
from torch import nn

from labutils.models import (
    HANDOUT_ALPHA,
    HANDOUT_LRN,
    AlexNet,
    paper_lrn,
)


def paper_formula(a: torch.Tensor, n=5, k=2.0, alpha=1e-4, beta=0.75) -> torch.Tensor:
    """Krizhevsky et al. 2012, Sec. 3.3, written out: a sum (not a mean) over n neighbours."""
    channels = a.shape[1]
    b = torch.empty_like(a)
    for i in range(channels):
        low, high = max(0, i - n // 2), min(channels - 1, i + n // 2)
        total = sum(a[:, j] ** 2 for j in range(low, high + 1))
        b[:, i] = a[:, i] / (k + alpha * total) ** beta
    return b


@pytest.fixture
def activations():
    # Large enough for alpha to matter: alpha * sum is about 0.4 next to k = 2.
    generator = torch.Generator().manual_seed(0)
    return torch.rand(2, 16, 5, 5, generator=generator, dtype=torch.float64) * 50


def test_paper_lrn_is_the_papers_formula(activations):
    expected = paper_formula(activations)
    torch.testing.assert_close(paper_lrn()(activations), expected)
    # Not vacuous: the normalisation differs clearly from a constant division by k^beta.
    assert not torch.allclose(expected, activations / 2.0**0.75, rtol=0.05)


def test_handouts_lrn_is_five_times_weaker_than_the_papers(activations):
    handout = nn.LocalResponseNorm(**HANDOUT_LRN)
    assert not torch.allclose(handout(activations), paper_formula(activations), rtol=1e-3)
    torch.testing.assert_close(handout(activations), paper_formula(activations, alpha=2e-5))
    torch.testing.assert_close(paper_lrn(HANDOUT_ALPHA)(activations), handout(activations))


def test_lrn_sits_after_relu_of_conv1_and_conv2_before_max_pooling():
    layers = list(on_meta(AlexNet, lrn=True).features)
    at = [i for i, layer in enumerate(layers) if isinstance(layer, nn.LocalResponseNorm)]
    convs = [i for i, layer in enumerate(layers) if isinstance(layer, nn.Conv2d)]
    assert len(at) == 2
    for i, conv in zip(at, convs[:2]):
        assert i == conv + 2
        assert isinstance(layers[i - 1], nn.ReLU)
        assert isinstance(layers[i + 1], nn.MaxPool2d)
        assert (layers[i].alpha, layers[i].size) == (5e-4, 5)
    def lrn_alphas(model):
        return [m.alpha for m in model.modules() if isinstance(m, nn.LocalResponseNorm)]

    assert lrn_alphas(on_meta(AlexNet, lrn=False)) == []
    assert lrn_alphas(on_meta(AlexNet, lrn=True, lrn_alpha=2e-5)) == pytest.approx([1e-4, 1e-4])


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_lrn_computes_what_torchs_does_forward_and_backward(memory_format):
    generator = torch.Generator().manual_seed(1)
    x = (torch.rand(2, 7, 6, 6, generator=generator) * 30).contiguous(memory_format=memory_format)
    ours, torchs = x.clone().requires_grad_(), x.clone().requires_grad_()
    layer = paper_lrn()
    reference = nn.LocalResponseNorm(layer.size, layer.alpha, layer.beta, layer.k)
    torch.testing.assert_close(layer(ours), reference(torchs))
    layer(ours).square().sum().backward()
    reference(torchs).square().sum().backward()
    torch.testing.assert_close(ours.grad, torchs.grad)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert layer(x.bfloat16()).dtype == torch.bfloat16  # the layer keeps its input's dtype
