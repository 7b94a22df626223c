"""Datasets for the lab: CIFAR-10, a generated stand-in, or any folder of class sub-folders.

Every dataset is held in memory as one uint8 tensor (N x 3 x H x W, 150 MB for CIFAR-10), so
that a batch is a single indexing operation and, on a GPU, the whole set lives on the device.
Augmentation happens per batch (see ``augment.py``), not per image through PIL.

The 50,000 CIFAR-10 training images are split into train and validation once per seed,
stratified by class; the test images are only ever handed to ``test_model``.
"""

from __future__ import annotations

import hashlib
import os
import stat
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.datasets import CIFAR10
from torchvision.transforms.functional import center_crop, pil_to_tensor, resize

from .config import DATASET_SIZES, DATASETS, default_of, validation_count
from .errors import DataUnavailableError, LabError, one_line
from .handout import HANDOUT_RESIZE

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
VAL_FRACTION = default_of("val_fraction")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm"}
# An image may declare at most this many pixels: 200 MB decoded (a 24-megapixel photo is a third of it).
MAX_IMAGE_SIDE = 8192
MAX_IMAGE_PIXELS = MAX_IMAGE_SIDE ** 2
STORE_SIZE = HANDOUT_RESIZE  # images of mixed sizes are stored at this side: the handout's, before its crop
# An image folder is held in memory, as uint8: at most this share of the machine's memory (the rest
# is the model's, the batches' and the system's).
MAX_MEMORY_SHARE = 0.5


@dataclass
class ImageSet:
    """Images as uint8 (N, 3, H, W) with int64 labels; ``classes`` names the label values."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices: torch.Tensor) -> ImageSet:
        return ImageSet(self.images[indices], self.labels[indices], self.classes)

    def class_counts(self) -> list[int]:
        return torch.bincount(self.labels, minlength=len(self.classes)).tolist()


@dataclass
class DataSplits:
    train: ImageSet
    val: ImageSet
    test: ImageSet
    dataset: str

    @property
    def classes(self) -> tuple[str, ...]:
        return self.train.classes


# --- loading -----------------------------------------------------------------------------

def load_cifar10(root: str | Path, download: bool = True) -> tuple[ImageSet, ImageSet]:
    """CIFAR-10's training and test images, downloading into ``root`` when needed."""
    root = Path(root)
    if root.is_symlink() and not root.exists():
        raise DataUnavailableError(f"the data root {root} is a link that cannot be followed (a loop, or to nothing): "
                                   "point it at a folder, or remove it")
    archive = root / CIFAR10_ARCHIVE
    # abspath, not resolve(): resolving a symbolic link loop raises
    where = f"put {CIFAR10_ARCHIVE} ({CIFAR10_URL}) into {os.path.abspath(root)}/ and rerun"
    try:
        sets = [CIFAR10(root, train=train, download=download) for train in (True, False)]
    except (OSError, RuntimeError, EOFError, ValueError) as error:  # URLError is an OSError
        if archive.exists() and not _cifar10_archive_ok(archive):
            raise DataUnavailableError(
                f"{archive} is corrupted (checksum mismatch): delete it and rerun, or {where}"
            ) from error
        if (root / "cifar-10-batches-py").exists():
            raise DataUnavailableError(
                f"{root / 'cifar-10-batches-py'} is incomplete or corrupted: delete it and rerun, or {where}"
            ) from error
        raise DataUnavailableError(f"CIFAR-10 is not in {root}/ and could not be downloaded: {where}") from error
    except Exception as error:  # a truncated pickle inside the batches folder
        raise DataUnavailableError(f"CIFAR-10 in {root}/ is unreadable ({error}): delete it and rerun") from error
    train, test = (
        ImageSet(torch.from_numpy(s.data).permute(0, 3, 1, 2).contiguous(),
                 torch.tensor(s.targets, dtype=torch.int64), CIFAR10_CLASSES)
        for s in sets
    )
    return train, test


def _cifar10_archive_ok(archive: Path) -> bool:
    return hashlib.md5(archive.read_bytes()).hexdigest() == CIFAR10.tgz_md5


def make_fake_dataset(num_train: int = DATASET_SIZES["fake"][0], num_test: int = DATASET_SIZES["fake"][1],
                      num_classes: int = 10, size: int = 32, seed: int = 0) -> tuple[ImageSet, ImageSet]:
    """A generated, learnable stand-in for CIFAR-10 (for tests and offline smoke runs).

    Each class has a fixed low-frequency colour pattern; an image is its class pattern under
    random brightness and pixel noise. The class is visible, so a network that
    trains correctly gets well above chance within a few epochs, and one that does not, does not.
    The content depends only on ``seed`` (not on the run's seed), like a real dataset.
    """
    g = torch.Generator().manual_seed(seed)
    patterns = torch.rand(num_classes, 3, 4, 4, generator=g)
    patterns = torch.nn.functional.interpolate(patterns, size=(size, size), mode="bilinear",
                                               align_corners=False)

    def draw(n: int) -> ImageSet:
        labels = torch.arange(n) % num_classes
        labels = labels[torch.randperm(n, generator=g)]
        images = patterns[labels] * (0.6 + 0.4 * torch.rand(n, 1, 1, 1, generator=g))
        images = images + 0.15 * torch.randn(n, 3, size, size, generator=g)
        images = (images.clamp(0, 1) * 255).round().to(torch.uint8)
        return ImageSet(images, labels, tuple(f"class{c}" for c in range(num_classes)))

    return draw(num_train), draw(num_test)


def load_image_folder(root: str | Path, store_size: int | None = None) -> tuple[ImageSet, ImageSet]:
    """``root/train/<class>/*`` and ``root/test/<class>/*`` as images in memory.

    Images keep their size when all share one (e.g. CIFAR-10 exported as PNGs); otherwise each
    is resized (shorter side) and centre-cropped to ``store_size`` pixels (default ``STORE_SIZE``) as
    it is read. Every header is read first: a folder that would take more than ``MAX_MEMORY_SHARE``
    of this machine's memory is refused before anything is decoded. Hidden files and folders
    (``.ipynb_checkpoints``, ``.DS_Store``) are skipped, and so are files without an image suffix;
    an empty class folder, a folder inside a class folder, an image name that is not a regular file
    (a named pipe), a link that cannot be followed, a folder that cannot be read and an image of
    more than ``MAX_IMAGE_PIXELS`` pixels are errors that name them.
    """
    root = Path(root)
    parts = [_class_files(root / part) for part in ("train", "test")]
    (train_classes, train_files), (test_classes, test_files) = parts
    if train_classes != test_classes:
        raise DataUnavailableError(
            f"{root}/train and {root}/test have different class folders: {train_classes} vs {test_classes}"
        )
    shapes = [_stored_shapes(files, store_size) for files in (train_files, test_files)]
    _check_memory(root, sum(len(f) * 3 * h * w for f, (h, w) in zip((train_files, test_files), shapes)))
    return (_read_images(train_files, train_classes, shapes[0]),
            _read_images(test_files, train_classes, shapes[1]))


def _visible(folder: Path) -> list[tuple[Path, str]]:
    """The entries of ``folder`` that are not hidden (Jupyter's checkpoints, macOS's .DS_Store), sorted,
    each with what it is (``_kind``)."""
    try:
        entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    except OSError as error:  # no permission (mode 000), or the folder went away
        raise DataUnavailableError(f"cannot read the folder {folder} ({error.strerror or error}): "
                                   "make it readable (chmod u+rx) or remove it") from None
    return [(p, _kind(p)) for p in entries]


_KINDS = {stat.S_IFDIR: "folder", stat.S_IFREG: "file", stat.S_IFIFO: "named pipe", stat.S_IFSOCK: "socket",
          stat.S_IFCHR: "device", stat.S_IFBLK: "device"}


def _kind(path: Path) -> str:
    """'folder', 'file' (a regular one) or what else ``path`` is, following links; told from its
    status alone, so that nothing is opened (opening a named pipe waits for a writer forever)."""
    try:
        mode = path.stat().st_mode
    except OSError as error:
        what = "a link that cannot be followed" if path.is_symlink() else "unreadable"
        raise DataUnavailableError(f"{path} is {what} ({error.strerror or error}): remove it or "
                                   "replace it with the file it stands for") from None
    return _KINDS.get(stat.S_IFMT(mode), "special file")


def _class_files(folder: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    """The class names of ``folder`` (its sub-folders) and its images with their class index."""
    if not folder.is_dir():
        raise DataUnavailableError(
            f"{folder} does not exist: an imagefolder root needs train/<class>/ and test/<class>/ sub-folders"
        )
    entries = _visible(folder)
    classes = [p.name for p, kind in entries if kind == "folder"]
    loose = [p for p, kind in entries if kind == "file" and p.suffix.lower() in IMAGE_SUFFIXES]
    if loose:
        raise DataUnavailableError(f"{loose[0]} is not in a class folder: images go into {folder}/<class>/")
    files = []
    for index, name in enumerate(classes):
        entries = _visible(folder / name)
        nested = [p for p, kind in entries if kind == "folder"]
        if nested:
            raise DataUnavailableError(f"{nested[0]} is a folder inside the class folder {folder / name}: images "
                                       "must sit directly in their class folder; move them up or remove it")
        named = [(p, kind) for p, kind in entries if p.suffix.lower() in IMAGE_SUFFIXES]
        special = [(p, kind) for p, kind in named if kind != "file"]
        if special:
            path, kind = special[0]
            raise DataUnavailableError(f"{path} is a {kind}, not an image file: remove it from {folder / name}")
        images = [(p, index) for p, _ in named]
        if not images:
            raise DataUnavailableError(f"the class folder {folder / name} holds no images (.png, .jpg, ...): "
                                       "add its images or remove the class from both train/ and test/")
        files += images
    if not files:
        raise DataUnavailableError(f"{folder} holds no images (.png, .jpg, ...) in class sub-folders")
    if len(classes) < 2:
        raise DataUnavailableError(f"{folder} has images of only one class: a classifier needs at least two")
    return classes, files


def _stored_shapes(files: list[tuple[Path, int]], store_size: int | None) -> tuple[int, int]:
    """(height, width) the images of ``files`` are stored at, from their headers: their own when they
    share one and no ``store_size`` is asked, else ``store_size`` (or ``STORE_SIZE``) square."""
    declared = set()
    for path, _ in files:
        with _image_file(path) as image:
            declared.add((image.height, image.width))
    if store_size is None and len(declared) == 1:
        return declared.pop()
    return (store_size or STORE_SIZE,) * 2


def physical_memory() -> int:
    """Bytes of memory this machine has."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _check_memory(root: Path, needed: int) -> None:
    total = physical_memory()
    if needed > MAX_MEMORY_SHARE * total:
        raise DataUnavailableError(
            f"the images of {root} take {needed / 2**30:.1f} GiB in memory, more than "
            f"{MAX_MEMORY_SHARE:.0%} of this machine's {total / 2**30:.1f} GiB: use a folder of fewer "
            "or smaller images")


def _read_images(files: list[tuple[Path, int]], classes: list[str], shape: tuple[int, int]) -> ImageSet:
    """The images of ``files``, each resized and cropped to ``shape`` as it is read when it is not that size."""
    images = torch.empty(len(files), 3, *shape, dtype=torch.uint8)
    for i, (path, _) in enumerate(files):
        image = _read_image(path)
        if tuple(image.shape[1:]) != shape:
            image = center_crop(resize(image, min(shape), antialias=True), list(shape))
        images[i] = image
    labels = torch.tensor([c for _, c in files], dtype=torch.int64)
    return ImageSet(images, labels, tuple(classes))


@contextmanager
def _image_file(path: Path):
    """``path`` opened as a PIL image, its header read and nothing decoded yet; ``DataUnavailableError``
    naming it when it is not a readable image (now or as it is decoded), or declares more than
    ``MAX_IMAGE_PIXELS`` pixels."""
    too_large = (f"more than the {MAX_IMAGE_PIXELS:,} ({MAX_IMAGE_SIDE}x{MAX_IMAGE_SIDE}) the lab decodes: "
                 "shrink the image or remove it")
    try:
        with _open_regular(path) as file, warnings.catch_warnings():
            # PIL warns (3 lines) past its own limit and refuses past twice that: ours is below both. Its
            # other warnings (palette transparency, damaged EXIF) do not stop an image from being read.
            warnings.simplefilter("ignore")
            with Image.open(file) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise DataUnavailableError(f"{path} declares {width}x{height} pixels, {too_large}")
                yield image
    except Image.DecompressionBombError:
        raise DataUnavailableError(f"{path} declares over {2 * Image.MAX_IMAGE_PIXELS:,} pixels, {too_large}") from None
    except DataUnavailableError:
        raise
    except Exception as error:  # noqa: BLE001 (whatever a decoder raises on a damaged file: OSError, ValueError...)
        raise DataUnavailableError(f"{path} is not a readable image ({one_line(error, 120)}): "
                                   "remove or replace it") from None


def _read_image(path: Path) -> torch.Tensor:
    """One image file as uint8 (3, H, W) (errors: ``_image_file``)."""
    with _image_file(path) as image:
        return pil_to_tensor(image.convert("RGB"))


def _open_regular(path: Path):
    """``path`` opened for reading in binary, refused unless it is a regular file; never waits on a
    named pipe (one may take an image's place after the folder was listed)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise DataUnavailableError(f"{path} is not a regular file: remove it from its class folder")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def load_dataset(name: str, root: str | Path = "data", download: bool = True) -> tuple[ImageSet, ImageSet]:
    """The training pool and the test set of a dataset by name."""
    if name == "cifar10":
        return load_cifar10(root, download=download)
    if name == "fake":
        return make_fake_dataset()
    if name == "imagefolder":
        return load_image_folder(root)
    raise LabError(f"unknown dataset '{name}'; choose one of: {', '.join(DATASETS)}")


def fingerprint(name: str, root: str | Path = "data") -> str | None:
    """Which images a dataset holds, in a short string that changes when they do (None: unknown).

    CIFAR-10 is one fixed set (torchvision checks the archive's checksum) and the generated set
    depends on nothing, so their names are their fingerprints; an image folder's is a hash of its
    files' names and bytes (no image is decoded).
    """
    if name != "imagefolder":
        return name
    digest = hashlib.sha1()
    try:
        for part in ("train", "test"):
            classes, files = _class_files(Path(root) / part)
            for path, label in files:
                digest.update(f"{part}/{classes[label]}/{path.name}\n".encode())
                digest.update(path.read_bytes())
    except (LabError, OSError):
        return None
    return f"imagefolder:{digest.hexdigest()[:16]}"


# --- splitting ---------------------------------------------------------------------------

def stratified_order(labels: torch.Tensor, seed: int) -> torch.Tensor:
    """A seeded permutation of ``range(len(labels))`` in which every prefix is stratified.

    Each sample's key is its rank within a random permutation of its class, divided by the
    class size; sorting by that key interleaves the classes in proportion, so taking the first
    n indices gives n samples with (almost exactly) the class proportions of the whole.
    """
    g = torch.Generator().manual_seed(seed)
    keys = torch.empty(len(labels), dtype=torch.float64)
    jitter = torch.rand(len(labels), generator=g, dtype=torch.float64)
    for c in labels.unique():
        members = (labels == c).nonzero().squeeze(1)
        ranks = torch.randperm(len(members), generator=g).to(torch.float64)
        keys[members] = (ranks + jitter[members]) / len(members)
    return torch.argsort(keys, stable=True)


def split_train_val(pool: ImageSet, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Stratified (train, val) indices into ``pool``; the same seed always gives the same split."""
    num_val = validation_count(val_fraction, len(pool))
    order = stratified_order(pool.labels, seed)
    return order[num_val:], order[:num_val]


def _take(images: ImageSet, count: int | None, seed: int, what: str) -> ImageSet:
    """A stratified subset of ``count`` images (all of them when count is None)."""
    if count is not None and count > len(images):
        warnings.warn(f"{count:,} {what} images asked for, the data holds {len(images):,}: using all of them",
                      stacklevel=2)
    if count is None or count >= len(images):
        return images
    if count <= 0:
        raise LabError(f"{what} samples must be a positive number, got {count}")
    return images.subset(torch.sort(stratified_order(images.labels, seed)[:count]).values)


def make_splits(dataset: str = "cifar10", root: str | Path = "data", seed: int = 0,
                val_fraction: float = VAL_FRACTION, train_samples: int | None = None,
                val_samples: int | None = None, test_samples: int | None = None,
                download: bool = True) -> DataSplits:
    """Train, validation and test sets for one run.

    The validation split depends only on the dataset and ``seed``; the sample counts take
    stratified subsets of each split afterwards, so a smaller run never moves an image between
    train and validation, and never touches the test set for training.
    """
    pool, test = load_dataset(dataset, root, download=download)
    train_idx, val_idx = split_train_val(pool, val_fraction, seed)
    return DataSplits(
        train=_take(pool.subset(train_idx), train_samples, seed, "train"),
        val=_take(pool.subset(val_idx), val_samples, seed, "val"),
        test=_take(test, test_samples, seed, "test"),
        dataset=dataset,
    )


def as_numpy_grid(images: torch.Tensor) -> np.ndarray:
    """uint8 (N, 3, H, W) -> (N, H, W, 3), what matplotlib's imshow takes."""
    return images.permute(0, 2, 3, 1).cpu().numpy()
