"""The registry (labutils/models/__init__.py): parameter counts, names, lookups."""

from __future__ import annotations

import pytest
from model_helpers import on_meta

from labutils.errors import LabError
from labutils.models import (
    EXPERIMENTS,
    LAB_EXPERIMENTS,
    AlexNet,
    GoogLeNet,
    build_model,
    count_parameters,
    spec,
)


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
