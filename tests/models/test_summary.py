"""Layer summaries (summary.py)."""

from __future__ import annotations

import torch

from labutils.models import (
    AlexNet,
    build_model,
    count_parameters,
    layer_summary,
    pretrained_googlenet,
)


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
