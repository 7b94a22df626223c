"""torchvision's ImageNet-trained AlexNet and GoogLeNet with new heads for fine-tuning.

Loaded through torchvision's weights API (not ``torch.hub.load('pytorch/vision:v0.6.0',
...)`` as in the handout). torchvision first looks for the weights file in
``$TORCH_HOME/hub/checkpoints`` (see :func:`torch.hub.get_dir`) and downloads it only when
it is missing. When neither works, :class:`WeightsUnavailableError` says in one line which
file to put where, or to pass ``--random-weights`` for an offline smoke run.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from urllib.parse import urlparse

import torch
import torchvision
from torch import nn
from torchvision.models import AlexNet_Weights, GoogLeNet_Weights, WeightsEnum

from labutils.errors import WeightsUnavailableError, one_line
from labutils.models.input_size import MinimumImageSize

PRETRAINED_SOURCE = "ImageNet (IMAGENET1K_V1)"
RANDOM_SOURCE = "random (offline smoke run)"


def weights_file(weights: WeightsEnum) -> str:
    """Where torchvision caches ``weights``: ``<torch.hub.get_dir()>/checkpoints/<file>``."""
    filename = os.path.basename(urlparse(weights.url).path)
    return os.path.join(torch.hub.get_dir(), "checkpoints", filename)


def _load(builder: Callable[..., nn.Module], weights: WeightsEnum, **kwargs: object) -> nn.Module:
    """``builder(weights=weights, **kwargs)``, with failures turned into WeightsUnavailableError."""
    path = weights_file(weights)
    filename, cache_dir = os.path.basename(path), os.path.dirname(path)
    was_cached = os.path.exists(path)
    try:
        return builder(weights=weights, progress=True, **kwargs)
    except Exception as error:  # the download, torch.load or load_state_dict: all mean "no weights"
        if was_cached:
            message = (
                f"the cached weights file {path} is corrupt or not torchvision's {filename} "
                f"({one_line(error, 200)}); delete it to download it again from {weights.url}, "
                f"or pass --random-weights for an offline smoke run"
            )
        else:
            message = (
                f"pretrained weights {filename} are not in the cache folder {cache_dir} and "
                f"downloading {weights.url} failed ({one_line(error, 200)}); put the file there "
                f"by hand, or pass --random-weights for an offline smoke run"
            )
        raise WeightsUnavailableError(message) from error


def _finish(model: nn.Module, name: str, min_size: int, random_weights: bool) -> nn.Module:
    model.min_image_size = min_size
    model.weights_source = RANDOM_SOURCE if random_weights else PRETRAINED_SOURCE
    model.register_forward_pre_hook(MinimumImageSize(min_size, name))
    return model


def pretrained_alexnet(num_classes: int = 10, random_weights: bool = False) -> nn.Module:
    """torchvision's AlexNet with ImageNet weights (``AlexNet_Weights.IMAGENET1K_V1``,
    file ``alexnet-owt-7be5be79.pth``, 233 MB) and a new last layer ``classifier[6]``
    with ``num_classes`` outputs.

    The architecture is the handout's :class:`~labutils.models.alexnet.AlexNet` without LRN,
    so it also needs images of at least 63x63. ``random_weights=True`` builds the same
    network with random weights and downloads nothing (offline smoke runs only).
    """
    if random_weights:
        model = torchvision.models.alexnet(weights=None)
    else:
        model = _load(torchvision.models.alexnet, AlexNet_Weights.IMAGENET1K_V1)
    model.classifier[6] = nn.Linear(model.classifier[6].in_features, num_classes)
    return _finish(model, "pretrained AlexNet", 63, random_weights)


def pretrained_googlenet(num_classes: int = 10, random_weights: bool = False) -> nn.Module:
    """torchvision's GoogLeNet with ImageNet weights (``GoogLeNet_Weights.IMAGENET1K_V1``,
    file ``googlenet-1378be20.pth``, 50 MB) and new heads ``fc``, ``aux1.fc2`` and
    ``aux2.fc2`` with ``num_classes`` outputs.

    torchvision's network is not the paper's: BatchNorm after every convolution, no LRN, a
    3x3 convolution in the "5x5" branch, a 2x2 last max-pool, side classifiers with adaptive
    4x4 pooling. The file holds side classifiers, but they were not trained (torchvision warns
    so; the warning is silenced here, this docstring says it once); they are kept so that
    fine-tuning uses the paper's ``main + 0.3 * (aux1 + aux2)`` loss. In training mode the
    model returns torchvision's ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``: a
    tuple, main logits first.

    ``transform_input=True`` on purpose: the weights expect each channel scaled to [-1, 1]
    (TensorFlow's preprocessing); with it the model takes input normalised with the ImageNet
    mean and standard deviation, like every other model of the lab, and re-maps it itself.

    torchvision's GoogLeNet runs on inputs down to 15x15, but below 63x63 (same stem as
    :class:`~labutils.models.googlenet.GoogLeNet`) Inception 4a's map is under the 4x4 that
    the side classifiers pool to, so they would repeat pixels: 63 is the minimum here too.
    ``random_weights=True`` builds the same network with random weights and downloads
    nothing (offline smoke runs only).
    """
    options = {"aux_logits": True, "transform_input": True}
    if random_weights:
        model = torchvision.models.googlenet(weights=None, init_weights=True, **options)
    else:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="auxiliary heads in the pretrained googlenet")
            model = _load(torchvision.models.googlenet, GoogLeNet_Weights.IMAGENET1K_V1, **options)
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    model.aux1.fc2 = nn.Linear(model.aux1.fc2.in_features, num_classes)
    model.aux2.fc2 = nn.Linear(model.aux2.fc2.in_features, num_classes)
    return _finish(model, "pretrained GoogLeNet", 63, random_weights)
