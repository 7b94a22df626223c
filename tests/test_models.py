"""Tests of labutils.models: the papers' numbers, shapes, LRN, loading weights offline, training."""

from __future__ import annotations

import io
import os
from urllib.error import URLError

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from labutils.errors import InputTooSmallError, LabError, WeightsUnavailableError
from labutils.models import (
    EXPERIMENTS,
    HANDOUT_ALPHA,
    HANDOUT_LRN,
    LAB_EXPERIMENTS,
    AlexNet,
    GoogLeNet,
    build_model,
    count_parameters,
    layer_summary,
    paper_lrn,
    pretrained_alexnet,
    pretrained_googlenet,
    spec,
)
from labutils.recipe import recipe_for

GOOGLENET_FILE = "googlenet-1378be20.pth"
ALEXNET_FILE = "alexnet-owt-7be5be79.pth"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One intra-op thread: these small models gain little from two, and on a busy 2-core
    machine two spinning OpenMP threads per process make the tests up to 10x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def images(n: int, size: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def on_meta(build, *args, **kwargs) -> nn.Module:
    """Build a model without allocating or initialising its weights: for structure-only tests."""
    with torch.device("meta"):
        return build(*args, **kwargs)


# --- parameter counts --------------------------------------------------------------------


@pytest.mark.parametrize("lrn", [False, True])
def test_alexnet_has_the_handouts_parameter_count(lrn):
    assert count_parameters(on_meta(AlexNet, lrn=lrn)) == 57_044_810


def test_googlenet_has_the_papers_parameter_count():
    assert count_parameters(on_meta(GoogLeNet, batch_norm=False)) == 10_334_030
    assert count_parameters(on_meta(GoogLeNet, batch_norm=False, aux_logits=False)) == 5_983_802


def test_every_experiment_builds_with_its_parameter_count_and_attributes():
    expected = {
        "alexnet": 57_044_810,
        "alexnet_lrn": 57_044_810,
        "googlenet": 10_341_566,  # with BatchNorm
        "googlenet_paper": 10_334_030,
        "alexnet_pretrained": 57_044_810,
        "googlenet_pretrained": 9_960_638,  # torchvision's
    }
    assert set(expected) == set(EXPERIMENTS)
    for name, count in expected.items():
        model = on_meta(build_model, name, random_weights=True)
        assert count_parameters(model) == count, name
        assert model.min_image_size == 63, name
        assert model.weights_source == (
            "random (offline smoke run)" if spec(name).pretrained else "none (trained from scratch)"
        )
    hundred_classes = on_meta(build_model, "alexnet", num_classes=100)
    assert count_parameters(hundred_classes) == 57_044_810 + 90 * 4097


def test_registry():
    assert LAB_EXPERIMENTS == (
        "alexnet", "alexnet_lrn", "googlenet", "alexnet_pretrained", "googlenet_pretrained"
    )
    assert "googlenet_paper" not in LAB_EXPERIMENTS
    assert {name: spec(name).family for name in EXPERIMENTS} == {
        "alexnet": "alexnet",
        "alexnet_lrn": "alexnet",
        "googlenet": "googlenet",
        "alexnet_pretrained": "alexnet",
        "googlenet_pretrained": "googlenet",
        "googlenet_paper": "googlenet",
    }
    pretrained = [name for name in EXPERIMENTS if spec(name).pretrained]
    assert pretrained == ["alexnet_pretrained", "googlenet_pretrained"]
    lab_googlenet = on_meta(build_model, "googlenet")
    assert lab_googlenet.batch_norm and lab_googlenet.aux_logits
    assert not on_meta(build_model, "googlenet_paper").batch_norm


@pytest.mark.parametrize("lookup", [build_model, spec])
def test_unknown_experiment_lists_the_names_and_suggests_the_close_one(lookup):
    with pytest.raises(LabError) as caught:
        lookup("alexnet_lrm")
    message = str(caught.value)
    assert "unknown experiment 'alexnet_lrm'" in message
    assert "did you mean 'alexnet_lrn'?" in message
    assert all(name in message for name in EXPERIMENTS)
    assert "\n" not in message
    with pytest.raises(LabError, match="choose one of") as caught:
        lookup("vgg16")
    assert "did you mean" not in str(caught.value)


# --- GoogLeNet: outputs, shapes, side classifiers -----------------------------------------


@pytest.fixture(scope="module")
def googlenet_at_224():
    """One forward pass at 224x224 in training mode and one in eval mode, recorded by hooks."""
    torch.manual_seed(0)
    model = GoogLeNet(batch_norm=False)
    record = {"shapes": {}, "aux_runs": 0}
    for name in ["maxpool1", "maxpool2", "inception3b", "maxpool3", "inception4a", "inception4e",
                 "maxpool4", "inception5b"]:
        getattr(model, name).register_forward_hook(
            lambda m, i, o, name=name: record["shapes"].__setitem__(name, tuple(o.shape[1:]))
        )

    def count_aux_run(*args):
        record["aux_runs"] += 1

    def keep_input(key):
        return lambda module, args: record.__setitem__(key, args[0].clone())

    model.aux1.register_forward_hook(count_aux_run)
    model.aux2.register_forward_hook(count_aux_run)
    model.aux1.register_forward_pre_hook(keep_input("aux_in"))
    model.aux1.conv.register_forward_pre_hook(keep_input("aux_pooled"))
    x = images(2, 224)
    with torch.no_grad():
        record["train_out"] = model.train()(x)
        record["train_aux_runs"] = record["aux_runs"]
        record["eval_out"] = model.eval()(x)
    return record


def test_googlenet_returns_three_logits_in_training_and_one_in_eval(googlenet_at_224):
    out = googlenet_at_224["train_out"]
    assert isinstance(out, tuple) and len(out) == 3
    assert all(o.shape == (2, 10) for o in out)
    assert torch.equal(out.logits, out[0])
    assert googlenet_at_224["train_aux_runs"] == 2
    out = googlenet_at_224["eval_out"]
    assert isinstance(out, torch.Tensor) and out.shape == (2, 10)
    assert googlenet_at_224["aux_runs"] == 2  # the side classifiers did not run at inference


def test_googlenet_stage_shapes_at_224_are_table_1s(googlenet_at_224):
    assert googlenet_at_224["shapes"] == {
        "maxpool1": (64, 56, 56),
        "maxpool2": (192, 28, 28),  # after the stem
        "inception3b": (480, 28, 28),
        "maxpool3": (480, 14, 14),
        "inception4a": (512, 14, 14),
        "inception4e": (832, 14, 14),
        "maxpool4": (832, 7, 7),
        "inception5b": (1024, 7, 7),
    }


def test_side_classifier_pools_5x5_stride_3_at_224(googlenet_at_224):
    aux_in, pooled = googlenet_at_224["aux_in"], googlenet_at_224["aux_pooled"]
    assert aux_in.shape[1:] == (512, 14, 14)
    assert pooled.shape[1:] == (512, 4, 4)
    torch.testing.assert_close(pooled, F.avg_pool2d(aux_in, kernel_size=5, stride=3))
    # Not vacuous: adaptive pooling of 14x14 to 4x4 uses other windows.
    assert not torch.allclose(pooled, F.adaptive_avg_pool2d(aux_in, 4))


def test_googlenet_without_side_classifiers_returns_logits_in_training():
    model = GoogLeNet(aux_logits=False).train()
    assert model.aux1 is None and model.aux2 is None
    out = model(images(2, 64))
    assert isinstance(out, torch.Tensor) and out.shape == (2, 10)


def test_googlenet_has_true_5x5_branches_and_paper_lrn():
    model = on_meta(GoogLeNet)
    assert model.inception3a.branch_5x5[1].conv.kernel_size == (5, 5)
    assert model.inception3a.branch_5x5[1].conv.padding == (2, 2)
    for lrn in (model.lrn1, model.lrn2):
        assert (lrn.size, lrn.alpha, lrn.beta, lrn.k) == (5, 5e-4, 0.75, 2.0)
    assert isinstance(on_meta(GoogLeNet, batch_norm=True).inception4a.branch_1x1.bn, nn.BatchNorm2d)


def _aux_pooling(model: GoogLeNet, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(input of aux1, input of its 1x1 convolution) for two images of ``size`` pixels."""
    seen = {}
    model.aux1.register_forward_pre_hook(lambda m, args: seen.__setitem__("aux", args[0].clone()))
    model.aux1.conv.register_forward_pre_hook(
        lambda m, args: seen.__setitem__("conv", args[0].clone())
    )
    model.train()
    with torch.no_grad():
        model(images(2, size))
    return seen["aux"], seen["conv"]


@pytest.mark.parametrize("size, aux_map", [(64, 4), (96, 6)])
def test_side_classifier_pools_adaptively_for_small_images(size, aux_map):
    aux_in, pooled = _aux_pooling(GoogLeNet(), size)
    assert aux_in.shape[-2:] == (aux_map, aux_map)
    torch.testing.assert_close(pooled, F.adaptive_avg_pool2d(aux_in, 4))


# --- image sizes ---------------------------------------------------------------------------


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
        f"{name} needs images of at least 63x63 pixels, got 62x62; use --image-size 63 or more"
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


# --- local response normalisation ----------------------------------------------------------


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


# --- pretrained weights, offline -----------------------------------------------------------


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
    saved = torch.load(torch_home / "hub" / "checkpoints" / GOOGLENET_FILE)
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
    saved = torch.load(torch_home / "hub" / "checkpoints" / ALEXNET_FILE)
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


# --- layer summary -------------------------------------------------------------------------


def test_layer_summary_of_googlenet_at_224():
    model = build_model("googlenet")
    model.train()
    running_mean = model.conv1.bn.running_mean.clone()
    rows = layer_summary(model, 224)
    shapes = {row["layer"]: row["output_shape"] for row in rows}
    assert shapes["maxpool2"] == (192, 28, 28)
    assert shapes["inception3b"] == (480, 28, 28)
    assert shapes["inception4e"] == (832, 14, 14)
    assert shapes["inception5b"] == (1024, 7, 7)
    assert shapes["aux1"] == shapes["aux2"] == shapes["fc"] == (10,)
    assert [row["layer"] for row in rows][:8] == [
        "conv1", "maxpool1", "lrn1", "conv2", "conv3", "lrn2", "maxpool2", "inception3a"
    ]
    types = {row["type"] for row in rows}
    assert types >= {"BasicConv2d", "Inception", "InceptionAux", "LocalResponseNorm", "Linear"}
    assert sum(row["params"] for row in rows) == count_parameters(model)
    # Nothing changed: modes restored, BatchNorm statistics untouched.
    assert all(m.training for m in model.modules())
    assert torch.equal(model.conv1.bn.running_mean, running_mean)


def test_layer_summary_of_alexnet_and_pretrained_googlenet():
    rows = layer_summary(AlexNet(lrn=True), 224)
    assert rows[0] == {
        "layer": "features.0", "type": "Conv2d", "output_shape": (64, 55, 55), "params": 23296
    }
    assert rows[-1]["layer"] == "classifier.6" and rows[-1]["output_shape"] == (10,)
    assert sum(row["params"] for row in rows) == 57_044_810
    model = pretrained_googlenet(random_weights=True).eval()
    rows = layer_summary(model, 64)
    assert {"aux1", "aux2"} <= {row["layer"] for row in rows if row["output_shape"] == (10,)}
    assert sum(row["params"] for row in rows) == 9_960_638
    assert not model.training


# --- training ------------------------------------------------------------------------------


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
    model.train()
    for step in range(5):
        optimizer.zero_grad()
        training_loss(model, x, y).backward()
        if step == 0:  # every layer, side classifiers included, takes part in training
            grads = [p.grad for p in model.parameters()]
            assert all(g is not None and torch.isfinite(g).all() for g in grads)
        optimizer.step()
    after = loss_without_dropout(model, x, y)
    # Deterministic (fixed seeds, dropout off for measuring). Slowest: torchvision's AlexNet
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
