"""Every input boundary bounded (issue 23): image folders, splits, profile shapes, echoed values,
``test --checkpoint`` and ``predictions.npz``. Each bad input ends, from the command line, with one
line and exit status 2: no traceback, no hang, no megabytes of message."""

from __future__ import annotations

import os
import re
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from cli import run_cli
from PIL import Image

from labutils import models
from labutils.data import load_cifar10, load_image_folder
from labutils.errors import DataUnavailableError, LabError, quoted
from labutils.lab.profiles import load_profile
from labutils.predictions import make_predictions, predictions_problem, read_predictions, save_predictions
from labutils.run_folder import load_checkpoint

CLI_TIMEOUT = 180  # a hang (a named pipe opened for reading) fails the test instead of the suite


def one_error_line(result) -> str:
    """The single stderr line of a refused command line (asserting that it is one, with status 2)."""
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-2000:]
    return lines[0]


def write_folder(root: Path) -> Path:
    """A valid image folder: train/ and test/, two classes of small PNGs."""
    for part, count in (("train", 6), ("test", 2)):
        for c, name in enumerate(("cat", "dog")):
            (root / part / name).mkdir(parents=True)
            for i in range(count):
                Image.new("RGB", (32, 32), (100 * c, 20 * i, 50)).save(root / part / name / f"{i}.png")
    return root


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` pixels in a few dozen bytes (no pixel data to speak of)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


def train_on(root: Path, tmp_path: Path, *options: str):
    return run_cli("train", "--experiment", "alexnet", "--dataset", "imagefolder", "--data-root", str(root),
                   "--image-size", "64", "--epochs", "1", "--device", "cpu", "--no-progress",
                   "--out", str(tmp_path / "run"), *options, timeout=CLI_TIMEOUT)


# --- image folders -------------------------------------------------------------------------------

def _named_pipe(cat: Path) -> None:
    os.mkfifo(cat / "pipe.png")


def _link_loop(cat: Path) -> None:
    os.symlink("loop2.png", cat / "loop1.png")
    os.symlink("loop1.png", cat / "loop2.png")


def _dangling_link(cat: Path) -> None:
    os.symlink(cat / "gone.png", cat / "link.png")


def _bomb(cat: Path) -> None:  # PIL's decompression-bomb error (over twice its limit)
    (cat / "bomb.png").write_bytes(png_header(20000, 20000))


def _warned_size(cat: Path) -> None:  # between PIL's warning and its error: PIL would print 3 lines
    (cat / "huge.png").write_bytes(png_header(10000, 10000))


@pytest.mark.parametrize("spoil, message", [
    (_named_pipe, r"train/cat/pipe.png is a named pipe, not an image file: remove it"),
    (_link_loop, r"train/cat/loop1.png is a link that cannot be followed \(Too many levels of symbolic links\)"),
    (_dangling_link, r"train/cat/link.png is a link that cannot be followed"),
    (_bomb, r"train/cat/bomb.png declares over 178,956,970 pixels, more than the 67,108,864 \(8192x8192\)"),
    (_warned_size, r"train/cat/huge.png declares 10000x10000 pixels, more than the 67,108,864"),
], ids=["named pipe", "link loop", "dangling link", "decompression bomb", "past PIL's warning"])
def test_a_spoilt_image_folder_is_one_line_from_the_command_line(tmp_path: Path, spoil, message: str) -> None:
    root = write_folder(tmp_path / "images")
    spoil(root / "train" / "cat")
    line = one_error_line(train_on(root, tmp_path))
    assert re.search(message, line), line


def test_an_unreadable_class_folder_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Mode 000 as root reads anyway: the refusal the operating system gives others is simulated.
    root = write_folder(tmp_path / "images")
    locked = root / "train" / "dog"
    iterdir = Path.iterdir

    def refuse(path: Path):
        if path == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return iterdir(path)

    monkeypatch.setattr(Path, "iterdir", refuse)
    with pytest.raises(DataUnavailableError, match=r"cannot read the folder .*train/dog \(Permission denied\): "
                                                   r"make it readable"):
        load_image_folder(root)


def test_an_image_past_the_limit_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "images")
    # Only its header: decoding it would fail with "not a readable image".
    (root / "test" / "cat" / "big.png").write_bytes(png_header(8193, 8192))
    with pytest.raises(DataUnavailableError, match=r"test/cat/big.png declares 8193x8192 pixels"):
        load_image_folder(root)


def test_a_named_pipe_without_an_image_suffix_is_left_alone(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "images")
    os.mkfifo(root / "train" / "cat" / "notes")
    train, _ = load_image_folder(root)  # returns at all: the pipe was never opened
    assert len(train) == 12


def test_a_data_root_that_loops_is_named(tmp_path: Path) -> None:
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    with pytest.raises(DataUnavailableError, match=r"the data root .*/a is a link that cannot be followed"):
        load_cifar10(tmp_path / "a", download=False)
    profile = tmp_path / "looped.yaml"
    profile.write_text(f"dataset: fake\nexperiments: [alexnet]\ndefaults: {{data_root: {tmp_path / 'a'}}}\n")
    with pytest.raises(LabError, match=r"profile looped.yaml: data_root '.*/a' cannot be followed"):
        load_profile(str(profile)).config("alexnet", 0, tmp_path / "runs")


# --- splits --------------------------------------------------------------------------------------

def test_a_val_fraction_that_leaves_no_training_image_is_one_line(tmp_path: Path) -> None:
    result = run_cli("train", "--experiment", "alexnet", "--dataset", "fake", "--image-size", "64", "--epochs", "1",
                     "--val-fraction", "0.9999", "--device", "cpu", "--out", str(tmp_path / "run"),
                     timeout=CLI_TIMEOUT)
    assert "holds out all 1,000 training images for validation and leaves none to train on" in one_error_line(result)


def test_an_image_folder_too_small_to_split_is_one_line(tmp_path: Path) -> None:
    line = one_error_line(train_on(write_folder(tmp_path / "images"), tmp_path, "--val-fraction", "0.97"))
    assert "holds out all 12 training images" in line


def test_a_profile_whose_split_leaves_no_training_image_fails_when_loaded(tmp_path: Path) -> None:
    profile = tmp_path / "empty.yaml"
    profile.write_text("dataset: fake\nexperiments: [alexnet]\ndefaults: {val_fraction: 0.9999}\n")
    with pytest.raises(LabError, match="empty.yaml, alexnet: val fraction 0.9999 holds out all 1,000"):
        load_profile(str(profile))


# --- profiles ------------------------------------------------------------------------------------

def alias_bomb(levels: int = 9) -> str:
    """'Billion laughs': 9 lists of 9 aliases of the list before, 9**9 strings once expanded."""
    rows = ["  - &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    rows += [f"  - &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(rows) + "\n"


PROFILE_SHAPES = {  # a profile's YAML -> what its one line says
    "experiments nested": ("dataset: fake\nexperiments: [[alexnet], googlenet]\n",
                           r"'experiments' must be a non-empty list of names, .*got \[\['alexnet'\], 'googlenet'\]"),
    "experiments a mapping": ("dataset: fake\nexperiments: {alexnet: 1}\n",
                              r"'experiments' must be a non-empty list of names, .*got \{'alexnet': 1\}"),
    "experiments 4,000 deep": (f"dataset: fake\nexperiments: {'[' * 4000}alexnet{']' * 4000}\n",
                               r"mine.yaml: line 2 nests lists or mappings more than 16 deep"),
    "seeds 4,000 deep": (f"dataset: fake\nexperiments: [alexnet]\nseeds: {'[' * 4000}0{']' * 4000}\n",
                         r"mine.yaml: line 3 nests lists or mappings more than 16 deep"),
    "seeds nested": ("dataset: fake\nexperiments: [alexnet]\nseeds: [[0], 1]\n",
                     r"'seeds' must be a list of whole numbers, e.g. \[0, 1, 2\], got \[\[0\], 1\]"),
    "defaults a list": ("dataset: fake\nexperiments: [alexnet]\ndefaults: [epochs]\n",
                        r"'defaults' must be a mapping \(key: value lines\), got \['epochs'\]"),
    "seeds an alias bomb": ("dataset: fake\nexperiments: [alexnet]\nseeds:\n" + alias_bomb(),
                            r"'seeds' must be a list of whole numbers, .*got \[\['lol', "),
    "a value an alias bomb": ("dataset: fake\nexperiments: [alexnet]\ndefaults:\n  epochs:\n"
                              + alias_bomb().replace("  - ", "    - "),
                              r"alexnet: parameter 'epochs' must be int, got \[\['lol', .*\.\.\. \(list\)"),
    "dataset an alias bomb": ("experiments: [alexnet]\ndataset:\n" + alias_bomb(),
                              r"alexnet: parameter 'dataset' must be str, got \[\['lol', .*\.\.\. \(list\)"),
    "description an alias bomb": ("dataset: fake\nexperiments: [alexnet]\ndescription:\n" + alias_bomb(),
                                  r"'description' must be text, got \[\['lol', "),
    "overrides nested": ("dataset: fake\nexperiments: [alexnet]\noverrides: {alexnet: [[[epochs]]]}\n",
                         r"overrides of alexnet must be a mapping \(key: value lines\), got \[\[\['epochs'\]\]\]"),
    "an integer of 5,000 digits": (f"dataset: fake\nexperiments: [alexnet]\ndefaults: {{epochs: {'9' * 5000}}}\n",
                                   r"not valid YAML: Exceeds the limit \(4300 digits\)"),
    "a key of 100,000 characters": (f"dataset: fake\nexperiments: [alexnet]\ndefaults:\n  ? {'e' * 100_000}\n  : 1\n",
                            r"unknown key 'eeeee.*\.\.\.; valid keys"),
}


@pytest.mark.parametrize("shape", PROFILE_SHAPES)
def test_a_profile_of_the_wrong_shape_is_one_short_line_at_once(tmp_path: Path, shape: str) -> None:
    text, message = PROFILE_SHAPES[shape]
    profile = tmp_path / "mine.yaml"
    profile.write_text(text)
    started = time.perf_counter()
    with pytest.raises(LabError, match=message) as refused:
        load_profile(str(profile))
    assert time.perf_counter() - started < 2.0
    # Only a short prefix of the value: the longest fixed text (the list of valid keys) is about 250 characters.
    assert len(str(refused.value)) < 400 and "\n" not in str(refused.value)


@pytest.mark.parametrize("shape", ["experiments nested", "experiments 4,000 deep", "seeds an alias bomb"])
def test_a_profile_of_the_wrong_shape_is_one_line_from_the_command_line(tmp_path: Path, shape: str) -> None:
    profile = tmp_path / "mine.yaml"
    profile.write_text(PROFILE_SHAPES[shape][0])
    result = run_cli("lab", "--profile", str(profile), "--dry-run", timeout=CLI_TIMEOUT)
    line = one_error_line(result)
    assert len(line) < 300 and "mine.yaml" in line


def test_a_profile_too_large_to_be_one_is_refused_unread(tmp_path: Path) -> None:
    profile = tmp_path / "large.yaml"
    profile.write_text("# padding\n" * 200_000)
    with pytest.raises(LabError, match=r"large.yaml is 2,000,000 bytes: a profile is a short YAML file"):
        load_profile(str(profile))


def test_a_named_pipe_for_a_profile_is_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    with pytest.raises(LabError, match=r"pipe.yaml is not a file: give a path to a .yaml file"):
        load_profile(str(tmp_path / "pipe.yaml"))


def test_quoted_is_a_short_prefix_of_any_value() -> None:
    deep: list = ["x"]
    for _ in range(4000):
        deep = [deep]
    assert quoted(deep) == "[[[[...]]]]"
    assert quoted("a" * 10**6) == "'" + "a" * 56 + "..."
    assert quoted({"epochs": 2}) == "{'epochs': 2}" and quoted(3) == "3"


# --- test --checkpoint ---------------------------------------------------------------------------

def saved_checkpoint(path: Path, image_size: int, spoil=None) -> Path:
    """A checkpoint as train writes it (the run's config under "config"), of an untrained AlexNet."""
    weights = models.build_model("alexnet", num_classes=10, random_weights=True).state_dict()
    if spoil is not None:
        spoil(weights)
    torch.save({"model": weights, "experiment": "alexnet", "epoch": 1, "config": {"image_size": image_size}}, path)
    return path


def test_checkpoint(checkpoint: Path, image_size: int):
    return run_cli("test", "--experiment", "alexnet", "--dataset", "fake", "--test-samples", "20", "--device", "cpu",
                   "--image-size", str(image_size), "--checkpoint", str(checkpoint), timeout=CLI_TIMEOUT)


test_checkpoint.__test__ = False  # a helper, not a test


def test_testing_at_another_image_size_than_trained_warns_in_one_line(tmp_path: Path) -> None:
    checkpoint = saved_checkpoint(tmp_path / "best.pt", image_size=64)
    result = test_checkpoint(checkpoint, image_size=72)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.strip().splitlines() == [
        f"warning: {checkpoint} was trained at 64px and is tested at 72px, which changes its accuracy: "
        "pass --image-size 64 to score it as trained"]
    assert "acc" in result.stdout
    assert test_checkpoint(checkpoint, image_size=64).stderr == ""


def test_a_checkpoint_with_nan_weights_is_refused_in_one_line(tmp_path: Path) -> None:
    def poison(weights: dict) -> None:
        next(v for v in weights.values() if v.is_floating_point()).view(-1)[3] = float("nan")

    checkpoint = saved_checkpoint(tmp_path / "best.pt", image_size=64, spoil=poison)
    line = one_error_line(test_checkpoint(checkpoint, image_size=64))
    assert f"checkpoint {checkpoint} holds weights that are not finite (NaN or infinity in features.0.weight)" in line


def test_a_named_pipe_for_a_checkpoint_is_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "best.pt")
    with pytest.raises(LabError, match=r"best.pt is not a regular file: pass a best.pt or last.pt"):
        load_checkpoint(tmp_path / "best.pt")


# --- predictions.npz -----------------------------------------------------------------------------

def written_predictions(path: Path, **changes) -> Path:
    """A consistent predictions.npz of 6 test images (3 mistakes), with ``changes`` to its arrays."""
    labels, predicted = np.array([0, 1, 2, 1, 0, 2]), np.array([0, 2, 2, 0, 0, 1])
    predictions = make_predictions(labels, predicted, np.linspace(0.9, 0.4, 6),
                                   torch.zeros(6, 3, 32, 32, dtype=torch.uint8))
    for name, value in changes.items():
        setattr(predictions, name, value)
    save_predictions(path, predictions)
    return path


def test_consistent_predictions_are_read(tmp_path: Path) -> None:
    path = written_predictions(tmp_path / "predictions.npz")
    predictions = read_predictions(path, num_classes=3)
    assert [m["index"] for m in predictions.mistakes()] == [1, 3, 5]
    assert predictions_problem(path, num_classes=3) is None
    assert predictions_problem(tmp_path / "none.npz") is None and read_predictions(tmp_path / "none.npz") is None


@pytest.mark.parametrize("changes, problem", [
    ({"mistake_index": np.array([1, 60, 5], np.int32)}, "names a mistake outside its 6 test images"),
    ({"mistake_index": np.array([-1], np.int32), "mistake_images": np.zeros((1, 32, 32, 3), np.uint8)},
     "names a mistake outside its 6 test images"),
    ({"predictions": np.array([0, 2, 2], np.uint8)}, "holds labels, predictions and confidences of different shapes"),
    ({"confidences": np.full(6, np.nan, np.float16)}, "holds confidences that are not probabilities"),
    ({"mistake_images": np.zeros((2, 32, 32, 3), np.uint8)}, "holds mistake images that do not match its mistakes"),
    ({"labels": np.array([0, 1, 9, 1, 0, 2], np.uint8)}, "holds class numbers outside the run's classes"),
])
def test_inconsistent_predictions_are_not_used(tmp_path: Path, changes: dict, problem: str) -> None:
    path = written_predictions(tmp_path / "predictions.npz", **changes)
    assert read_predictions(path, num_classes=3) is None
    assert predictions_problem(path, num_classes=3) == problem


def test_a_named_pipe_for_predictions_is_not_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "predictions.npz")
    assert read_predictions(tmp_path / "predictions.npz") is None
    assert predictions_problem(tmp_path / "predictions.npz") == "is not a regular file"
