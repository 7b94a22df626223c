"""Pretrained networks (pretrained.py): ImageNet weights loaded offline through torchvision's API."""

from __future__ import annotations

import io
import os
from urllib.error import URLError

import pytest
import torch
import torchvision
from model_helpers import images

from labutils.errors import InputTooSmallError, WeightsUnavailableError
from labutils.models import (
    build_model,
    count_parameters,
    pretrained_alexnet,
    pretrained_googlenet,
)

GOOGLENET_FILE = "googlenet-1378be20.pth"
ALEXNET_FILE = "alexnet-owt-7be5be79.pth"



@pytest.fixture(scope="module")
def torch_home(tmp_path_factory):
    """A TORCH_HOME whose cache holds random 1000-class weights under torchvision's names."""
    home = tmp_path_factory.mktemp("torch_home")
    checkpoints = home / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.manual_seed(0)
    googlenet = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=False)
    torch.save(googlenet.state_dict(), checkpoints / GOOGLENET_FILE)
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), checkpoints / ALEXNET_FILE)
    return home


@pytest.fixture
def offline(monkeypatch):
    """Every download fails, as on a machine without internet."""

    def no_network(url, *args, **kwargs):
        raise URLError("no network in tests")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)


def test_pretrained_googlenet_loads_the_cached_file(torch_home, offline, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    saved = torch.load(torch_home / "hub" / "checkpoints" / GOOGLENET_FILE, weights_only=True)
    model = pretrained_googlenet()
    assert model.weights_source == "ImageNet (IMAGENET1K_V1)"
    assert model.transform_input and model.aux_logits
    assert count_parameters(model) == 9_960_638
    keys = ["conv1.conv.weight", "inception4a.branch2.1.conv.weight", "aux1.conv.conv.weight",
            "inception5b.branch4.1.bn.running_var"]
    for key in keys:
        assert torch.equal(model.state_dict()[key], saved[key]), key
    model.train()
    out = model(images(2, 64))
    assert isinstance(out, tuple) and len(out) == 3 and all(o.shape == (2, 10) for o in out)
    model.eval()
    with torch.no_grad():
        assert model(images(2, 64)).shape == (2, 10)


def test_pretrained_alexnet_loads_the_cached_file(torch_home, offline, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    saved = torch.load(torch_home / "hub" / "checkpoints" / ALEXNET_FILE, weights_only=True)
    model = pretrained_alexnet(num_classes=7)
    assert model.weights_source == "ImageNet (IMAGENET1K_V1)"
    for key in ["features.0.weight", "classifier.4.weight"]:
        assert torch.equal(model.state_dict()[key], saved[key]), key
    model.eval()
    with torch.no_grad():
        assert model(images(2, 64)).shape == (2, 7)


@pytest.mark.parametrize(
    "build, filename", [(pretrained_googlenet, GOOGLENET_FILE), (pretrained_alexnet, ALEXNET_FILE)]
)
def test_missing_weights_offline_say_what_to_do(build, filename, tmp_path, offline, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(WeightsUnavailableError) as caught:
        build()
    message = str(caught.value)
    assert filename in message
    assert os.path.join(str(tmp_path), "hub", "checkpoints") in message
    assert f"https://download.pytorch.org/models/{filename}" in message
    assert "--random-weights" in message and "URLError" in message
    assert "\n" not in message


def test_corrupt_cached_weights_say_so(tmp_path, offline, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / GOOGLENET_FILE).write_bytes(b"<html>not a checkpoint</html>")
    with pytest.raises(WeightsUnavailableError, match="corrupt") as caught:
        pretrained_googlenet()
    assert str(checkpoints / GOOGLENET_FILE) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_random_weights_download_nothing(tmp_path, offline, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    model = build_model("googlenet_pretrained", random_weights=True)
    assert model.transform_input and model.aux_logits
    assert model.weights_source == "random (offline smoke run)"
    # The size check travels with a model saved whole.
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    restored = torch.load(buffer, weights_only=False).eval()
    with pytest.raises(InputTooSmallError):
        restored(images(1, 32))
