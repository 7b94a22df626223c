"""The smallest image each network takes (input_size.py), and AlexNet's outputs (alexnet.py)."""

from __future__ import annotations

import pytest
import torch
from model_helpers import images, on_meta

from labutils.errors import InputTooSmallError
from labutils.models import (
    AlexNet,
    GoogLeNet,
    pretrained_alexnet,
    pretrained_googlenet,
)


@pytest.mark.parametrize("size", [63, 64])
def test_googlenet_runs_at_its_minimum_size(size):
    model = GoogLeNet(batch_norm=True)
    model.train()
    assert all(o.shape == (2, 10) for o in model(images(2, size)))
    model.eval()
    with torch.no_grad():
        assert model(images(2, size)).shape == (2, 10)


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda: GoogLeNet(), "GoogLeNet"),
        (lambda: AlexNet(), "AlexNet"),
        (lambda: pretrained_googlenet(random_weights=True), "pretrained GoogLeNet"),
        (lambda: pretrained_alexnet(random_weights=True), "pretrained AlexNet"),
    ],
)
def test_too_small_images_are_refused_with_the_minimum(build, name):
    model = build().eval()
    assert model.min_image_size == 63
    with torch.no_grad():
        assert model(images(1, 63)).shape == (1, 10)
        with pytest.raises(InputTooSmallError) as caught:
            model(images(1, 62))
        with pytest.raises(ValueError):  # InputTooSmallError is a ValueError too
            model(torch.zeros(1, 3, 224, 62))
    assert str(caught.value) == (
        f"{name} needs images of at least 63x63 pixels, got 62x62; "
        "set the image size to 63 or more (--image-size, or image_size in a profile)"
    )


def test_alexnet_minimum_is_where_its_last_pooling_stops_fitting():
    model = on_meta(AlexNet).eval()  # meta tensors: shapes are computed, nothing else
    model.min_image_size = 1  # bypass the check: 62 really is too small
    assert model(torch.empty(1, 3, 63, 63, device="meta")).shape == (1, 10)
    with pytest.raises(RuntimeError, match="too small"):
        model(torch.empty(1, 3, 62, 62, device="meta"))


def test_alexnet_outputs():
    model = AlexNet(lrn=True)
    model.train()
    assert model(images(2, 224)).shape == (2, 10)
    model.eval()
    with torch.no_grad():
        assert model(images(2, 63)).shape == (2, 10)
