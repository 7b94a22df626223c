"""Datasets, the train/val split, the batch transforms and the loader."""

import hashlib
from contextlib import nullcontext

import pytest
import torch
from PIL import Image

from labutils import data
from labutils.data import (
    STORE_SIZE,
    load_cifar10,
    load_image_folder,
    make_fake_dataset,
    make_splits,
    split_train_val,
)
from labutils.errors import DataUnavailableError, LabError
from labutils.runtime.runtime import default_runtime

CPU = default_runtime(torch.device("cpu"))


def test_split_is_stratified_disjoint_and_seeded():
    pool, _ = make_fake_dataset(num_train=1000)
    train, val = split_train_val(pool, 0.1, seed=3)
    assert len(train) == 900 and len(val) == 100
    assert set(train.tolist()).isdisjoint(val.tolist())
    assert sorted(train.tolist() + val.tolist()) == list(range(1000))
    assert torch.bincount(pool.labels[val], minlength=10).tolist() == [10] * 10
    again, _ = split_train_val(pool, 0.1, seed=3)
    other, _ = split_train_val(pool, 0.1, seed=4)
    assert torch.equal(train, again)
    assert not torch.equal(train, other)


def test_cifar_sized_split_is_45000_5000():
    labels = torch.arange(50_000) % 10
    pool = make_fake_dataset(num_train=10)[0]
    pool.labels = labels  # only the labels matter to the split
    train, val = split_train_val(pool, 0.1, seed=0)
    assert (len(train), len(val)) == (45_000, 5_000)
    assert torch.bincount(labels[val]).tolist() == [500] * 10


def test_sample_counts_take_stratified_subsets_without_moving_images():
    full = make_splits("fake", seed=1)
    small = make_splits("fake", seed=1, train_samples=100, val_samples=20, test_samples=30)
    assert (len(small.train), len(small.val), len(small.test)) == (100, 20, 30)
    assert small.train.class_counts() == [10] * 10
    # the subsets come from the same split: no training image becomes a validation image
    as_set = lambda s: {hashlib.md5(img.numpy().tobytes()).hexdigest() for img in s.images}
    assert as_set(small.train) <= as_set(full.train)
    assert as_set(small.val) <= as_set(full.val)
    assert as_set(small.train).isdisjoint(as_set(full.val) | as_set(full.test))


def test_asking_for_more_images_than_the_data_holds_says_so_and_uses_them_all():
    with pytest.warns(UserWarning, match=r"5,000 train images asked for, the data holds 900"):
        splits = make_splits("fake", seed=0, train_samples=5000, val_samples=50)
    assert (len(splits.train), len(splits.val)) == (900, 50)


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.2, 1.5])
def test_val_fraction_outside_zero_one_is_refused(bad):
    with pytest.raises(LabError, match="between 0 and 1"):
        make_splits("fake", val_fraction=bad)


def test_unknown_dataset_is_refused():
    with pytest.raises(LabError, match="cifar10, fake, imagefolder"):
        make_splits("cifar100")


def test_missing_cifar10_offline_says_where_to_put_the_archive(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr("torchvision.datasets.utils.download_url", offline)
    with pytest.raises(DataUnavailableError, match=r"cifar-10-python\.tar\.gz.*" + str(tmp_path)):
        load_cifar10(tmp_path)


def test_corrupted_cifar10_archive_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr("torchvision.datasets.utils.download_url", lambda *a, **k: (_ for _ in ()).throw(OSError()))
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"not a tarball")
    with pytest.raises(DataUnavailableError, match="corrupted"):
        load_cifar10(tmp_path)


def _write_folder(root, classes, per_class=3, size=(20, 24)):
    for part in ("train", "test"):
        for c, name in enumerate(classes):
            (root / part / name).mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                Image.new("RGB", size, (40 * c, 10 * i, 100)).save(root / part / name / f"{i}.png")


def test_image_folder_loads_classes_and_pixels(tmp_path):
    _write_folder(tmp_path, ["cat", "dog"])
    train, test = load_image_folder(tmp_path)
    assert train.classes == ("cat", "dog") and len(train) == 6 and len(test) == 6
    assert train.images.shape == (6, 3, 24, 20) and train.images.dtype == torch.uint8
    assert train.images[3, 0, 0, 0] == 40  # first dog image, red channel


def test_images_of_mixed_sizes_are_stored_square_as_they_are_read(tmp_path):
    _write_folder(tmp_path, ["cat", "dog"], size=(300, 200))
    Image.new("RGB", (600, 400), (200, 0, 0)).save(tmp_path / "train" / "cat" / "big.png")
    train, test = load_image_folder(tmp_path)
    assert train.images.shape == (7, 3, STORE_SIZE, STORE_SIZE)  # mixed: each resized and centre-cropped
    assert train.images[3].float().mean(dim=(1, 2)).round().tolist() == [200, 0, 0]  # the big one (sorted 4th)
    assert test.images.shape == (6, 3, 200, 300)  # one size: kept
    assert load_image_folder(tmp_path, store_size=64)[1].images.shape == (6, 3, 64, 64)


def test_a_folder_too_large_for_memory_is_refused_from_its_headers(tmp_path, monkeypatch):
    _write_folder(tmp_path, ["cat", "dog"], size=(64, 64))  # 12 images of 3 x 64 x 64 bytes: 147,456
    monkeypatch.setattr(data, "physical_memory", lambda: 200_000)
    monkeypatch.setattr(data, "_read_image", lambda path: pytest.fail("an image was decoded"))
    with pytest.raises(DataUnavailableError) as refused:
        load_image_folder(tmp_path)
    assert str(refused.value) == (f"the images of {tmp_path} take 0.0 GiB in memory, more than 50% of this machine's "
                                  "0.0 GiB: use a folder of fewer or smaller images")
    monkeypatch.undo()
    monkeypatch.setattr(data, "physical_memory", lambda: 300_000)  # 147,456 bytes: under half of it
    assert len(load_image_folder(tmp_path)[0]) == 6


@pytest.mark.parametrize("classes, message", [(["only"], "only one class"), ([], "no images")])
def test_image_folder_needs_two_classes_with_images(tmp_path, classes, message):
    _write_folder(tmp_path, classes)
    (tmp_path / "train").mkdir(exist_ok=True)
    (tmp_path / "test").mkdir(exist_ok=True)
    with pytest.raises(DataUnavailableError, match=message):
        load_image_folder(tmp_path)


def test_image_folder_with_unreadable_image_names_it(tmp_path):
    _write_folder(tmp_path, ["a", "b"])
    (tmp_path / "train" / "a" / "broken.png").write_bytes(b"garbage")
    with pytest.raises(DataUnavailableError, match="broken.png"):
        load_image_folder(tmp_path)


def test_image_folder_skips_hidden_folders_and_files(tmp_path):
    _write_folder(tmp_path, ["cat", "dog"])
    for part in ("train", "test"):  # what Jupyter and macOS leave behind
        (tmp_path / part / ".ipynb_checkpoints").mkdir()
        Image.new("RGB", (20, 24)).save(tmp_path / part / ".ipynb_checkpoints" / "0-checkpoint.png")
        (tmp_path / part / "cat" / ".ipynb_checkpoints").mkdir()
        (tmp_path / part / "cat" / ".DS_Store").write_bytes(b"\0")
        Image.new("RGB", (20, 24)).save(tmp_path / part / "dog" / ".hidden.png")
    train, test = load_image_folder(tmp_path)
    assert train.classes == test.classes == ("cat", "dog")
    assert len(train) == len(test) == 6


@pytest.mark.parametrize("make, message", [
    (lambda root: (root / "test" / "bird").mkdir(), "class folder .*test/bird holds no images"),
    (lambda root: (root / "train" / "bird").mkdir(), "class folder .*train/bird holds no images"),
    (lambda root: (root / "train" / "cat" / "more").mkdir(), "more is a folder inside the class folder"),
    (lambda root: Image.new("RGB", (8, 8)).save(root / "test" / "x.png"), "x.png is not in a class folder"),
], ids=["empty test class", "empty train class", "nested folder", "loose image"])
def test_image_folder_reports_what_it_would_otherwise_ignore(tmp_path, make, message):
    _write_folder(tmp_path, ["cat", "dog"])
    make(tmp_path)
    with pytest.raises(DataUnavailableError, match=message):
        load_image_folder(tmp_path)


@pytest.mark.parametrize("counts", [{}, {"train_samples": 100, "val_samples": 20, "test_samples": 30},
                                    {"val_fraction": 0.25, "train_samples": 5000}])
def test_split_sizes_predicts_make_splits_without_loading(counts):
    from labutils.config import split_sizes

    more_than_held = counts.get("train_samples", 0) > 750  # 1,000 generated images, a quarter held out
    with pytest.warns(UserWarning, match="5,000 train images asked for") if more_than_held else nullcontext():
        splits = make_splits("fake", **counts)
    assert split_sizes("fake", **counts) == (len(splits.train), len(splits.val), len(splits.test))
    assert split_sizes("cifar10") == (45_000, 5_000, 10_000)
    assert split_sizes("imagefolder") is None
