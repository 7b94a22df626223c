"""``RunConfig``: every option of a training run, its default, its help text and its check.

This is the one home of a run's options, and the bottom of the package: it imports only the
error types, the option types and the experiments' names. The command line (``labutils/cli.py``),
the keys a lab profile may set (``PROFILE_KEYS``), the lab runner and the training notebook all
derive from the fields below, so a default is written once, here. ``validated()`` checks each
value on its own; what depends on the machine and the recipe (batch size, learning rate,
loader workers) is filled in by ``labutils/resolve.py``.
"""

from __future__ import annotations

import json
import re
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from .catalog import EXPERIMENTS
from .cli_types import fraction, nonnegative_int, positive_float, positive_int
from .errors import LabError, did_you_mean, quoted

MAX_IMAGE_SIZE = 1024  # 32-pixel CIFAR-10 images upsampled past this show nothing new, and cost memory
MAX_SEED = 2**32 - 1  # seeds are mixed into 64-bit generator seeds per batch (loader.batch_seed)
MAX_WORKERS = 64  # loader worker processes: past this a typo would start thousands
MAX_EPOCHS = 10_000
MAX_CONFIG_BYTES = 1_000_000  # a run's config.json is a few hundred bytes
MAX_BATCH_SIZE = 65_536  # far past any GPU's memory at 224 px; a typo beyond it fails here, not after training
DATASETS = ("cifar10", "fake", "imagefolder")
# Images in each dataset's training pool and test set, known without loading it.
DATASET_SIZES = {"cifar10": (50_000, 10_000), "fake": (1_000, 200)}
DEVICE_KINDS = ("cuda", "mps", "cpu")
DEVICE_PATTERN = re.compile(r"(cuda|mps|cpu)(:\d+)?")  # cpu, cuda, cuda:1
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
MEMORY_FORMATS = ("channels_last", "contiguous")
DATA_PLACEMENTS = ("resident", "workers")
# The options that define a run's result: two runs that agree on these (and on their data) are the same
# run, whatever else (device, progress bars, where the images live) differs.
RUN_KEYS = ("experiment", "dataset", "image_size", "epochs", "batch_size", "lr", "warmup_epochs", "seed",
            "val_fraction", "train_samples", "val_samples", "test_samples", "random_weights", "precision",
            "memory_format")


def option(default: Any, help: str, *, group: str = "training", parse: Any = None, shown: str | None = None,
           profile: str | None = None, flag: str | None = None, choices: tuple[str, ...] | None = None) -> Any:
    """A ``RunConfig`` field with what the command line and the profiles need to know about it.

    ``group``: "data" and "runtime" options are taken by ``train`` and ``test``, "training" ones by
    ``train`` only. ``choices``: the values the option accepts.
    ``parse``: the argparse type. ``shown``: how a ``None`` default reads in ``--help``.
    ``profile``: why a profile may not set this field (None: it may). ``flag``: the option's
    name when it differs from the field's (``--no-progress``).
    """
    metadata = {"help": help, "group": group, "parse": parse, "shown": shown, "profile": profile, "flag": flag,
                "choices": choices}
    return field(default=default, metadata=metadata)


@dataclass
class RunConfig:
    """Everything that defines one training run (the notebook's parameters, the CLI's options)."""

    experiment: str = option(MISSING, "the experiment to run", profile="list experiments under 'experiments'")
    dataset: str = option("cifar10", "cifar10 (downloaded into --data-root on first use), fake (generated, "
                          "offline), or imagefolder (--data-root holds train/<class>/ and test/<class>/)",
                          group="data", profile="set it at the top level of the profile", choices=DATASETS)
    data_root: str = option("data", "where the dataset lives", group="data")
    image_size: int = option(224, "network input size in pixels; the papers use 224", group="data",
                             parse=positive_int)
    batch_size: int | None = option(None, "images per batch (all processes together)", group="data",
                                    parse=positive_int, shown="128 on a GPU, 32 on a CPU")
    seed: int = option(0, "seed of the train/val split, initial weights and augmentation", group="data",
                       parse=nonnegative_int, profile="list seeds under 'seeds'")
    val_fraction: float = option(0.1, "share of the training images held out for validation", group="data",
                                 parse=fraction)
    train_samples: int | None = option(None, "use only this many training images (stratified)", group="data",
                                       parse=positive_int, shown="all")
    val_samples: int | None = option(None, "use only this many validation images", group="data",
                                     parse=positive_int, shown="all")
    test_samples: int | None = option(None, "use only this many test images", group="data",
                                      parse=positive_int, shown="all")
    device: str | None = option(None, "cuda, mps or cpu", group="data", shown="the best available")
    workers: int | None = option(None, "DataLoader workers, with --data-placement workers", group="data",
                                 parse=nonnegative_int, shown="cores - 1, at most 4")
    precision: str = option("auto", "auto: bf16 on CUDA GPUs of compute capability 8.0 or more, fp16 with loss "
                            "scaling on older ones; on a CPU with bf16 units the faster of fp32 and bf16 by a few "
                            "timed steps; else fp32", group="runtime", choices=PRECISIONS)
    memory_format: str | None = option(None, "memory format of the model and its inputs", group="runtime",
                                       choices=MEMORY_FORMATS,
                                       shown="channels_last on CUDA and with bf16 on a CPU; contiguous otherwise")
    data_placement: str | None = option(None, "resident: the images on the device, batches made there; workers: "
                                        "DataLoader workers", group="runtime", choices=DATA_PLACEMENTS,
                                        shown="resident")
    host_sync_every: int | None = option(None, "read the loss on the host (progress, stop requests) every N steps",
                                         group="runtime", parse=positive_int, shown="25 on CUDA, 1 elsewhere")
    random_weights: bool = option(False, "pretrained experiments: random weights instead of ImageNet's "
                                  "(offline smoke runs)", group="data")
    epochs: int = option(10, "epochs", parse=positive_int)
    lr: float | None = option(None, "peak learning rate", parse=positive_float,
                              shown="the experiment's recipe, scaled to the batch size")
    warmup_epochs: float | None = option(None, "epochs of linear learning-rate warm-up before the cosine decay",
                                         parse=positive_float, shown="the recipe's: 1")
    out: str | None = option(None, "run folder", shown="runs/manual/<experiment>/seed<seed>",
                             profile="the runner writes to <runs>/<profile>/<experiment>/seed<k>")
    resume: bool = option(False, "continue an unfinished run from its last checkpoint",
                          profile="the runner resumes unfinished runs by itself")
    force: bool = option(False, "start over, replacing a complete or unfinished run",
                         profile="pass --force to the lab command")
    progress: bool = option(True, "progress bars", flag="--no-progress")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        """A config from loose values (notebook parameters, a profile), naming any unknown key."""
        for key in values:
            if key not in FIELD_NAMES:
                raise LabError(f"unknown parameter '{key}'{did_you_mean(key, FIELD_NAMES)}; "
                               f"valid parameters: {', '.join(FIELD_NAMES)}")
        if "experiment" not in values:
            raise LabError("the parameter 'experiment' is required")
        return cls(**values).validated()

    @classmethod
    def from_json(cls, path: str | Path) -> RunConfig:
        """The config a ``config.json`` (or ``train --config FILE``) holds."""
        path = Path(path)
        if path.exists() and (not path.is_file() or path.stat().st_size > MAX_CONFIG_BYTES):
            raise LabError(f"{path} is not a run config (a JSON file of at most {MAX_CONFIG_BYTES:,} bytes): "
                           "pass a run's config.json")
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise LabError(f"cannot read the run config {path}: {error}") from error
        if not isinstance(values, dict):
            raise LabError(f"{path} must hold a JSON object of run options")
        return cls.from_dict(values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def validated(self) -> RunConfig:
        """Check each value on its own (type, range, choice); raise ``LabError`` naming the first bad one."""
        _check_types(self)
        if self.experiment not in EXPERIMENTS:
            raise LabError(f"unknown experiment '{str(self.experiment)[:60]}'"
                           f"{did_you_mean(self.experiment, EXPERIMENTS, cutoff=0.75)}; "
                           f"choose one of: {', '.join(EXPERIMENTS)}")
        if self.dataset not in DATASETS:
            raise LabError(f"unknown dataset '{self.dataset[:60]}'; choose one of: {', '.join(DATASETS)}")
        for name in ("epochs", "batch_size", "image_size", "train_samples", "val_samples", "test_samples"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise LabError(f"{name.replace('_', ' ')} must be a positive number, got {value}")
        if self.image_size > MAX_IMAGE_SIZE:
            raise LabError(f"image size {self.image_size} is too large: at most {MAX_IMAGE_SIZE} "
                           "(the papers use 224)")
        if self.batch_size is not None and self.batch_size > MAX_BATCH_SIZE:
            raise LabError(f"batch size {self.batch_size} is too large: at most {MAX_BATCH_SIZE:,} "
                           "(the papers use 128)")
        if not 0 <= self.seed <= MAX_SEED:
            raise LabError(f"seed must lie between 0 and {MAX_SEED}, got {self.seed}")
        for name in ("lr", "warmup_epochs"):
            value = getattr(self, name)
            if value is not None and not 0 < value < float("inf"):
                raise LabError(f"{name.replace('_', ' ')} must be a positive number, got {value}")
        if not 0 < self.val_fraction < 1:
            raise LabError(f"val fraction must lie strictly between 0 and 1, got {self.val_fraction}")
        if self.workers is not None and not 0 <= self.workers <= MAX_WORKERS:
            raise LabError(f"workers must lie between 0 and {MAX_WORKERS}, got {self.workers}")
        if self.epochs > MAX_EPOCHS:
            raise LabError(f"epochs {self.epochs} is too many: at most {MAX_EPOCHS:,} (the lab trains 10)")
        if self.device is not None and not DEVICE_PATTERN.fullmatch(self.device):
            raise LabError(f"unknown device '{self.device[:60]}'; choose one of: {', '.join(DEVICE_KINDS)} "
                           "(a GPU by number: cuda:1)")
        check_options(self.precision, self.memory_format, self.data_placement, self.host_sync_every)
        if self.out is not None and not self.out.strip():
            raise LabError("--out is empty: give the run folder's path, or leave --out out for the default")
        if self.resume and self.force:
            raise LabError("--resume continues a run and --force starts it over: pass only one")
        return self

    @property
    def run_dir(self) -> Path:
        return Path(self.out) if self.out else run_dir("runs", "manual", self.experiment, self.seed)


FIELD_NAMES = [f.name for f in fields(RunConfig)]
# What a profile may set under 'defaults' and 'overrides'; the others, and why not.
PROFILE_KEYS = [f.name for f in fields(RunConfig) if f.metadata["profile"] is None]
NOT_IN_PROFILE = {f.name: f.metadata["profile"] for f in fields(RunConfig) if f.metadata["profile"]}


def default_of(name: str) -> Any:
    """RunConfig's default for the field ``name``."""
    return RunConfig.__dataclass_fields__[name].default


def check_options(precision: str, memory_format: str | None, data_placement: str | None,
                  host_sync_every: int | None) -> None:
    """Raise ``LabError`` naming the first unknown or out-of-range runtime option."""
    for what, value, valid in (("precision", precision, PRECISIONS), ("memory format", memory_format, MEMORY_FORMATS),
                               ("data placement", data_placement, DATA_PLACEMENTS)):
        if value is not None and value not in valid:
            raise LabError(f"unknown {what} '{str(value)[:60]}'; choose one of: {', '.join(valid)}")
    if host_sync_every is not None and host_sync_every < 1:
        raise LabError(f"host sync every must be 1 or more steps, got {host_sync_every}")


def run_dir(runs: str | Path, profile: str, experiment: str, seed: int) -> Path:
    """Where one run of a profile lives: ``<runs>/<profile>/<experiment>/seed<k>``."""
    return Path(runs) / profile / experiment / f"seed{seed}"


def _check_types(config: RunConfig) -> None:
    hints = get_type_hints(RunConfig)
    for f in fields(config):
        value = getattr(config, f.name)
        allowed = list(getattr(hints[f.name], "__args__", None) or (hints[f.name],))
        if value is None and type(None) in allowed:
            continue
        if isinstance(value, bool) and bool not in allowed or not isinstance(value, tuple(allowed)):
            if float in allowed and isinstance(value, int) and not isinstance(value, bool):
                setattr(config, f.name, float(value))
                continue
            names = " or ".join("None" if t is type(None) else t.__name__ for t in allowed)
            raise LabError(f"parameter '{f.name}' must be {names}, got {quoted(value)} ({type(value).__name__})")


def notebook_config(run_config: dict[str, Any] | None, **knobs: Any) -> RunConfig:
    """The config ``02_train.ipynb`` trains: the lab's whole ``run_config`` when it hands one over
    (then the notebook's own values do not count), else the notebook's knobs over RunConfig's
    defaults, with data and run folders beside the notebooks folder (``../data``, ``../runs/notebook/``)."""
    if run_config is not None:
        return RunConfig.from_dict(run_config)
    folder = run_dir("../runs", "notebook", knobs.get("experiment", ""), knobs.get("seed", 0))
    return RunConfig.from_dict({"data_root": "../data", "out": str(folder), **knobs})


def validation_count(val_fraction: float, pool_size: int) -> int:
    """How many of ``pool_size`` images are held out for validation: at least one, and never all."""
    if not 0 < val_fraction < 1:
        raise LabError(f"val fraction must lie strictly between 0 and 1, got {val_fraction}")
    num_val = max(1, round(val_fraction * pool_size))
    if num_val >= pool_size:
        raise LabError(f"val fraction {val_fraction} holds out all {pool_size:,} training images for validation "
                       "and leaves none to train on: use a smaller val fraction (e.g. the default "
                       f"{default_of('val_fraction')})")
    return num_val


def split_sizes(dataset: str, val_fraction: float = default_of("val_fraction"), train_samples: int | None = None,
                val_samples: int | None = None, test_samples: int | None = None) -> tuple[int, int, int] | None:
    """(train, val, test) image counts ``make_splits`` gives, without loading the data
    (None for an image folder, whose size is unknown until read)."""
    if dataset not in DATASET_SIZES:
        return None
    pool, test = DATASET_SIZES[dataset]
    num_val = validation_count(val_fraction, pool)
    return (min(train_samples or pool, pool - num_val), min(val_samples or num_val, num_val),
            min(test_samples or test, test))
