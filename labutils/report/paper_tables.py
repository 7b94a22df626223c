"""The published numbers the report compares this lab with.

- :data:`REFERENCE_RESULTS`: the conclusion table of the lab handout's author;
- :data:`HANDOUT_QUESTIONS`: what the handout's five exercises ask, in its words;
- :data:`PAPER_TABLE1`: GoogLeNet's Table 1 (Szegedy et al. 2015), output sizes and filters,
  and :func:`table1_rows` / :func:`side_classifier_shapes` to set our network beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..models.summary import forward_once

# The handout author's conclusion table: 10 epochs at 224x224, batch 4, SGD lr 0.001, momentum
# 0.9, weight decay 5e-4, one seed. As printed there; its training log says 0.4255 for the
# train loss of AlexNet without LRN, and 26m 2s / 25m 5s / 117m 23s / 22m 39s / 91m 57s for
# the times.
# Table 1 and the handout alike give sizes at 224x224 input.
PAPER_IMAGE_SIZE = 224
# The metrics.json fields a run must share with the handout author's runs for his numbers to
# compare (besides training on all of CIFAR-10's training split: setup.handout_comparable).
REFERENCE_RUN = {"dataset": "cifar10", "image_size": PAPER_IMAGE_SIZE, "epochs": 10}
REFERENCE_SETUP = (f"{REFERENCE_RUN['epochs']} epochs at {PAPER_IMAGE_SIZE}x{PAPER_IMAGE_SIZE}, batch 4, SGD lr 0.001 "
                   "(momentum 0.9, weight decay 5e-4), one seed")
REFERENCE_RESULTS: dict[str, dict[str, float]] = {
    "alexnet": {"train_loss": 0.4225, "train_acc": 0.8528, "val_loss": 0.6705, "val_acc": 0.7764,
                "test_loss": 0.6659, "test_acc": 0.7741, "time_min": 25.5},
    "alexnet_lrn": {"train_loss": 0.3815, "train_acc": 0.8657, "val_loss": 0.5868, "val_acc": 0.8014,
                    "test_loss": 0.6008, "test_acc": 0.8029, "time_min": 26.2},
    "googlenet": {"train_loss": 0.6107, "train_acc": 0.8964, "val_loss": 0.4725, "val_acc": 0.8507,
                  "test_loss": 0.4734, "test_acc": 0.8501, "time_min": 117.23},
    "alexnet_pretrained": {"train_loss": 0.3163, "train_acc": 0.8951, "val_loss": 0.6379, "val_acc": 0.7931,
                           "test_loss": 0.5410, "test_acc": 0.8301, "time_min": 22.39},
    "googlenet_pretrained": {"train_loss": 0.2292, "train_acc": 0.9775, "val_loss": 0.2488, "val_acc": 0.9299,
                             "test_loss": 0.2375, "test_acc": 0.9316, "time_min": 91.57},
}


# His test accuracies are on all of CIFAR-10's test images: their sampling error (evidence.py).
REFERENCE_TEST_IMAGES = 10_000

# The handout's exercises (shared/seed/lab02-handout.txt), as it words them; each section of the report
# ends with its question and the answer computed from the runs.
HANDOUT_QUESTIONS = {
    1: "Create VSCode projects for each of these three networks. Be sure to properly define your Python classes, "
       "with one class per file and a main module that sets up your objects, runs the training process, and saves "
       "the necessary data.",
    2: "Incorporate [LRN] into your AlexNet implementation as it is described in the paper. Compare your test set "
       "results with and without LRN.",
    3: "Modify the architecture to A. use the same backbone (input image size, convolutions, etc.) before the first "
       "Inception module; B. add the two side classifiers.",
    4: "Compare your GoogLeNet and AlexNet implementations on CIFAR-10. Comment on the number of parameters, speed "
       "of training, and accuracy of the two models on this dataset when trained from scratch.",
    5: "Experiment with the pretrained GoogLeNet from the torchvision repository. Does it give better results on "
       "CIFAR-10 similar to what we found with AlexNet last week? Comment on what we can glean from the results "
       "about the capacity and generalization ability of these two models.",
}


@dataclass(frozen=True)
class PaperRow:
    """One row of Table 1 of Szegedy et al. 2015, matched to our layer's attribute name."""

    layer: str  # our attribute name
    paper: str  # the row as the paper names it
    output: tuple[int, int, int] | None  # H, W, C at 224x224 input (None: not in Table 1)
    filters: tuple[int, ...] | None = None  # #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj


PAPER_TABLE1: tuple[PaperRow, ...] = (
    PaperRow("conv1", "convolution 7x7/2", (112, 112, 64)),
    PaperRow("maxpool1", "max pool 3x3/2", (56, 56, 64)),
    PaperRow("lrn1", "LocalRespNorm (Figure 3)", None),
    PaperRow("conv2", "convolution 3x3/1: its 1x1 reduce (64)", None),
    PaperRow("conv3", "convolution 3x3/1", (56, 56, 192)),
    PaperRow("lrn2", "LocalRespNorm (Figure 3)", None),
    PaperRow("maxpool2", "max pool 3x3/2", (28, 28, 192)),
    PaperRow("inception3a", "inception (3a)", (28, 28, 256), (64, 96, 128, 16, 32, 32)),
    PaperRow("inception3b", "inception (3b)", (28, 28, 480), (128, 128, 192, 32, 96, 64)),
    PaperRow("maxpool3", "max pool 3x3/2", (14, 14, 480)),
    PaperRow("inception4a", "inception (4a)", (14, 14, 512), (192, 96, 208, 16, 48, 64)),
    PaperRow("aux1", "side classifier on 4a (Section 5)", None),
    PaperRow("inception4b", "inception (4b)", (14, 14, 512), (160, 112, 224, 24, 64, 64)),
    PaperRow("inception4c", "inception (4c)", (14, 14, 512), (128, 128, 256, 24, 64, 64)),
    PaperRow("inception4d", "inception (4d)", (14, 14, 528), (112, 144, 288, 32, 64, 64)),
    PaperRow("aux2", "side classifier on 4d (Section 5)", None),
    PaperRow("inception4e", "inception (4e)", (14, 14, 832), (256, 160, 320, 32, 128, 128)),
    PaperRow("maxpool4", "max pool 3x3/2", (7, 7, 832)),
    PaperRow("inception5a", "inception (5a)", (7, 7, 832), (256, 160, 320, 32, 128, 128)),
    PaperRow("inception5b", "inception (5b)", (7, 7, 1024), (384, 192, 384, 48, 128, 128)),
    PaperRow("avgpool", "avg pool 7x7/1", (1, 1, 1024)),
    PaperRow("dropout", "dropout (40%)", (1, 1, 1024)),
    PaperRow("fc", "linear (1000 ImageNet classes)", (1, 1, 1000)),
)

# Section 5 of the paper: each side classifier, on the 14x14 output of 4a (512) or 4d (528).
PAPER_SIDE_CLASSIFIER = (
    ("pool", "average pooling 5x5/3", "4x4x512 (4a), 4x4x528 (4d)"),
    ("conv", "1x1 convolution, 128 filters, ReLU", "4x4x128"),
    ("fc1", "fully connected, 1024 units, ReLU", "1024"),
    ("dropout", "dropout, 70% of the outputs", "1024"),
    ("fc2", "linear + softmax (1000 classes)", "1000"),
)


# --- exercise 3: our GoogLeNet against Table 1 ---------------------------------------------

def hwc(shape: Sequence[int] | None) -> tuple[int, int, int] | None:
    """A layer_summary shape, (C, H, W) or (C,), as Table 1 writes it: (H, W, C)."""
    if shape is None:
        return None
    if len(shape) == 1:
        return (1, 1, shape[0])
    channels, height, width = shape
    return (height, width, channels)




def inception_filters(module: Any) -> tuple[int, ...] | None:
    """An Inception module's Table 1 columns: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj."""
    try:
        return (module.branch_1x1.conv.out_channels,
                module.branch_3x3[0].conv.out_channels, module.branch_3x3[1].conv.out_channels,
                module.branch_5x5[0].conv.out_channels, module.branch_5x5[1].conv.out_channels,
                module.branch_pool[1].conv.out_channels)
    except (AttributeError, IndexError, TypeError):
        return None


def table1_rows(model: Any, summary: list[dict[str, Any]], num_classes: int) -> list[dict[str, Any]]:
    """Our GoogLeNet's layers (``layer_summary`` at 224x224) beside Table 1's rows.

    ``match`` is True when output size (and filters, for Inception modules) agree with the
    paper; for the last layer, when only the number of classes differs (1000 vs ours).
    """
    paper = {row.layer: row for row in PAPER_TABLE1}
    rows = []
    for layer in summary:
        name = layer["layer"]
        ours = hwc(layer["output_shape"])
        ref = paper.get(name)
        filters = inception_filters(getattr(model, name, None)) if ref and ref.filters else None
        if ref is None or ref.output is None:
            match = None
        elif name == "fc":
            match = ours == (1, 1, num_classes)
        else:
            match = ours == ref.output and (ref.filters is None or filters == ref.filters)
        rows.append({"layer": name, "type": layer["type"], "paper": ref.paper if ref else "-",
                     "ours": ours, "paper_output": ref.output if ref else None,
                     "filters": filters, "paper_filters": ref.filters if ref else None,
                     "params": layer["params"], "match": match})
    return rows


def side_classifier_shapes(model: Any, image_size: int = PAPER_IMAGE_SIZE) -> dict[str, dict[str, tuple[int, ...]]]:
    """Output size (H, W, C) of each layer of both side classifiers, measured on one image
    (``forward_once``, which runs them)."""
    shapes: dict[str, dict[str, tuple[int, ...]]] = {}
    hooks = []
    for aux in ("aux1", "aux2"):
        shapes[aux] = {}
        for name, child in getattr(model, aux).named_children():
            def hook(module, inputs, output, aux=aux, name=name):
                shapes[aux][name] = hwc(tuple(output.shape[1:]))
            hooks.append(child.register_forward_hook(hook))
    forward_once(model, image_size, hooks)
    return shapes
