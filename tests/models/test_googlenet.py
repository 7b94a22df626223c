"""GoogLeNet (googlenet.py, inception.py, inception_aux.py): outputs, Table 1's shapes, side classifiers."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from model_helpers import images, on_meta
from torch import nn

from labutils.models import (
    GoogLeNet,
)


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
