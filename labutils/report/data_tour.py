"""What ``notebooks/01_data.ipynb`` shows of the data: the splits the lab makes (or the generated
stand-in when CIFAR-10 is not there), a few images of each class, the images per class and split,
and what the training transform makes of one image; each said of the data set it really shows.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..augment import BatchTransform, normalization
from ..data import CIFAR10_ARCHIVE, ImageSet, load_dataset, split_train_val
from ..errors import DataUnavailableError
from .format import markdown_table

STAND_IN = "fake"  # the generated images the tests and the smoke profile train on
SAMPLES_PER_CLASS = 4
TRAINING_CROPS = 3  # random crops shown beside the evaluation crop
# The networks trained here normalise with CIFAR-10's statistics (augment.normalization).
MEAN, STD = normalization(pretrained=False)


def load_splits(dataset: str, data_root: str | Path, download: bool, val_fraction: float,
                seed: int) -> tuple[str, dict[str, ImageSet], str | None]:
    """The data set shown, its ``train``, ``validation`` and ``test`` splits as the lab makes them,
    and a note when CIFAR-10 is not in ``data_root``: then the stand-in is shown instead."""
    note = None
    try:
        pool, test = load_dataset(dataset, data_root, download=download)
    except DataUnavailableError:
        note = (f"> **Note: CIFAR-10 is not in `{data_root}`, so this notebook shows the generated stand-in "
                f"instead** (coloured patterns, one per class; what the tests and the smoke profile train on). "
                f"To see CIFAR-10, put `{CIFAR10_ARCHIVE}` into `{data_root}/` or set `download = True` above "
                f"and run again.")
        dataset = STAND_IN
        pool, test = load_dataset(dataset, data_root)
    train_idx, val_idx = split_train_val(pool, val_fraction, seed)
    return dataset, {"train": pool.subset(train_idx), "validation": pool.subset(val_idx), "test": test}, note


def splits_summary(dataset: str, splits: dict[str, ImageSet], val_fraction: float, seed: int) -> str:
    """One sentence: how many images of which size in how many classes, and how they are split."""
    train, test = splits["train"], splits["test"]
    height, width = train.images.shape[2:]
    return (f"**{dataset}**: {len(train) + len(splits['validation']):,} training images (split "
            f"{1 - val_fraction:.0%} / {val_fraction:.0%} into train and validation, stratified, seed {seed}) and "
            f"{len(test):,} test images of {height}x{width} pixels in {len(train.classes)} classes.")


def class_samples(images: ImageSet, per_class: int = SAMPLES_PER_CLASS) -> tuple[torch.Tensor, list[str]]:
    """The first ``per_class`` images of each class, ordered so that a grid with one column per
    class shows each class in its column; and their class names."""
    picked = torch.cat([(images.labels == c).nonzero().squeeze(1)[:per_class] for c in range(len(images.classes))])
    order = picked.view(len(images.classes), -1).t().reshape(-1)
    return images.images[order], [images.classes[int(label)] for label in images.labels[order]]


def class_counts_table(splits: dict[str, ImageSet]) -> str:
    """Images per class (rows) and split (columns), with the totals."""
    classes = next(iter(splits.values())).classes
    counts = {name: split.class_counts() for name, split in splits.items()}
    rows = [[classes[c], *(f"{counts[s][c]:,}" for s in splits)] for c in range(len(classes))]
    rows.append(["**total**", *(f"**{len(split):,}**" for split in splits.values())])
    return markdown_table(["class", *splits], rows, align="l" + "r" * len(splits))


def transform_views(image: torch.Tensor, image_size: int, seed: int) -> dict[str, torch.Tensor]:
    """What the network receives for ``image`` (uint8, 1x3xHxW): a few training crops (random,
    seeded) and the evaluation crop, normalised, by title."""
    train_view = BatchTransform(image_size, MEAN, STD, train=True)
    eval_view = BatchTransform(image_size, MEAN, STD, train=False)
    generator = torch.Generator().manual_seed(seed)
    views = {f"training crop {k + 1}": train_view(image, generator) for k in range(TRAINING_CROPS)}
    return {**views, "evaluation (centre)": eval_view(image)}


def as_picture(x: torch.Tensor) -> torch.Tensor:
    """A normalised network input, back to uint8 pixels."""
    pixels = x * torch.tensor(STD).view(1, 3, 1, 1) + torch.tensor(MEAN).view(1, 3, 1, 1)
    return (pixels.clamp(0, 1) * 255).round().to(torch.uint8)


DATA_SHOWN = {"cifar10": "CIFAR-10", STAND_IN: "the generated stand-in (coloured patterns, not CIFAR-10)",
              "imagefolder": "the image folder"}


def shown(dataset: str) -> str:
    """What the notebook shows, in words: 'CIFAR-10' or 'the generated stand-in (..., not CIFAR-10)'."""
    return DATA_SHOWN.get(dataset, dataset)


def input_summary(x: torch.Tensor, dataset: str | None = None) -> str:
    """The shape the network receives per image, what it is normalised with, and this input's mean
    and spread after normalising; what the normalisation does to ``dataset``'s images as a whole
    (CIFAR-10's statistics make CIFAR-10, and only CIFAR-10, mean 0 and standard deviation 1)."""
    text = (f"The network receives a float tensor of shape {tuple(x.shape[1:])} per image. It is normalised with "
            "CIFAR-10's per-channel mean and standard deviation (the statistics of every network trained from "
            "scratch here, whatever its images)")
    if dataset == "cifar10":
        text += ": over all of CIFAR-10 the values then have mean 0 and standard deviation 1"
    elif dataset is not None:
        text += (f". These are not the statistics of {shown(dataset)}, so over its images the values need not "
                 "have mean 0 and standard deviation 1")
    return text + f"; this one image has mean {x.mean():.2f} and standard deviation {x.std():.2f}."
