"""What the data notebook shows (data_tour), on the generated stand-in: no download."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from labutils.data import CIFAR10_ARCHIVE, DATASET_SIZES
from labutils.report import data_tour


@pytest.fixture(scope="module")
def stand_in() -> tuple:
    return data_tour.load_splits("fake", "unused", download=False, val_fraction=0.1, seed=0)


def test_the_stand_in_is_split_as_the_lab_splits_it(stand_in: tuple) -> None:
    dataset, splits, note = stand_in
    pool, test = DATASET_SIZES["fake"]
    assert dataset == "fake" and note is None
    assert [len(splits[name]) for name in ("train", "validation", "test")] == [pool * 9 // 10, pool // 10, test]
    assert data_tour.splits_summary(dataset, splits, 0.1, 0) == (
        f"**fake**: {pool:,} training images (split 90% / 10% into train and validation, stratified, seed 0) and "
        f"{test:,} test images of 32x32 pixels in 10 classes.")


def test_cifar10_missing_shows_the_stand_in_and_says_how_to_get_it(tmp_path: Path) -> None:
    dataset, splits, note = data_tour.load_splits("cifar10", tmp_path, download=False, val_fraction=0.1, seed=0)
    assert dataset == data_tour.STAND_IN and len(splits["test"]) == DATASET_SIZES["fake"][1]
    assert note.startswith(f"> **Note: CIFAR-10 is not in `{tmp_path}`")
    assert f"put `{CIFAR10_ARCHIVE}` into `{tmp_path}/`" in note
    assert not list(tmp_path.iterdir())  # nothing downloaded


def test_class_samples_put_each_class_in_its_column(stand_in: tuple) -> None:
    train = stand_in[1]["train"]
    images, titles = data_tour.class_samples(train, per_class=2)
    classes = list(train.classes)
    assert images.shape == (2 * len(classes), 3, 32, 32) and images.dtype == torch.uint8
    assert titles == classes + classes  # row by row: one image of every class, then the next


def test_class_counts_table_has_a_row_per_class_and_the_totals(stand_in: tuple) -> None:
    splits = stand_in[1]
    lines = data_tour.class_counts_table(splits).splitlines()
    assert lines[0] == "| class | train | validation | test |" and lines[1] == "|:--|--:|--:|--:|"
    assert len(lines) == 2 + len(splits["train"].classes) + 1
    assert lines[-1] == "| **total** | " + " | ".join(f"**{len(s):,}**" for s in splits.values()) + " |"


def test_transform_views_are_seeded_crops_and_the_centre() -> None:
    image = torch.randint(0, 256, (1, 3, 32, 32), dtype=torch.uint8)
    views = data_tour.transform_views(image, 24, seed=0)
    assert list(views) == ["training crop 1", "training crop 2", "training crop 3", "evaluation (centre)"]
    assert all(view.shape == (1, 3, 24, 24) and view.dtype == torch.float32 for view in views.values())
    again = data_tour.transform_views(image, 24, seed=0)
    assert all(torch.equal(views[name], again[name]) for name in views)  # the same seed, the same crops
    assert not torch.equal(views["training crop 1"], data_tour.transform_views(image, 24, seed=1)["training crop 1"])
    text = data_tour.input_summary(views["evaluation (centre)"])
    assert text.startswith("The network receives a float tensor of shape (3, 24, 24) per image.")


def test_as_picture_undoes_the_normalisation() -> None:
    grey = torch.full((1, 3, 32, 32), 100, dtype=torch.uint8)
    centre = data_tour.transform_views(grey, 32, seed=0)["evaluation (centre)"]
    assert centre.abs().max() > 0.1  # normalised: no longer the pixel values
    assert torch.equal(data_tour.as_picture(centre), grey)


def test_the_input_summary_says_what_the_normalisation_does_to_the_data_shown() -> None:
    x = torch.zeros(1, 3, 8, 8)
    assert "over all of CIFAR-10 the values then have mean 0" in data_tour.input_summary(x, "cifar10")
    generated = data_tour.input_summary(x, "fake")
    assert "These are not the statistics of the generated stand-in (coloured patterns, not CIFAR-10)" in generated
    assert "over all of CIFAR-10" not in generated
