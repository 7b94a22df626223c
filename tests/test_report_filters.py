"""First-layer filters read from a run folder's ``best.pt`` (report/filters.py), and what the report says of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from labutils.report import details
from labutils.report.filters import (
    NOISE_ROUGHNESS,
    filter_mosaic,
    first_layer_filters,
    roughness,
)
from labutils.run_folder import RunFolder


def test_first_layer_filters_and_their_roughness(tmp_path: Path) -> None:
    torch.manual_seed(0)
    noise = torch.randn(64, 3, 11, 11)
    ramp = torch.linspace(0, 1, 11)
    smooth = (ramp.view(1, 1, 1, 11) * torch.randn(64, 3, 1, 1) + ramp.view(1, 1, 11, 1) * torch.randn(64, 3, 1, 1))
    RunFolder(tmp_path).save_checkpoint(tmp_path / "best.pt", {"model": {"features.0.weight": smooth,
                                                                         "features.0.bias": torch.zeros(64),
                                                                         "classifier.1.weight": torch.zeros(10, 4)}})
    loaded = first_layer_filters(tmp_path / "best.pt")
    assert loaded.shape == (64, 3, 11, 11) and np.allclose(loaded, smooth.numpy())
    assert first_layer_filters(tmp_path / "missing.pt") is None
    assert abs(roughness(noise.numpy()) - NOISE_ROUGHNESS) < 0.05 and roughness(loaded) < 0.3
    mosaic = filter_mosaic(loaded)
    assert mosaic.shape == (8 * 12 + 1, 8 * 12 + 1, 3) and 0 <= mosaic.min() and mosaic.max() <= 1

    values = {"alexnet": roughness(noise.numpy()), "alexnet_pretrained": roughness(loaded)}
    text = details.filters_finding(values, random_weights=False, missing=[], epochs=10)
    assert "Smooth, structured kernels (edges, colour blobs, as in Figure 3 of the AlexNet paper): " \
           "pretrained AlexNet" in text
    assert "Close to noise, no image structure yet: AlexNet." in text
    assert "10 epochs on CIFAR-10 do not form from scratch: pretrained AlexNet (AlexNet not)" in text
    random = details.filters_finding(values, random_weights=True, missing=["GoogLeNet"])
    assert "Pretraining brings" not in random and "started from random weights" in random
    assert "No checkpoint for: GoogLeNet" in random
