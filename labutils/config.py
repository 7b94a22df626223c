"""``RunConfig``: every option of a training run, its default, its help text and its check.

This is the one home of a run's options. The command line (``python -m labutils train`` and
``test``), the keys a lab profile may set, the lab runner and the training notebook all derive
from the fields below, so a default is written once, here:

- ``add_cli_options`` turns each field into a command-line option with its help and default;
- ``PROFILE_KEYS`` are the fields a profile's ``defaults`` and ``overrides`` may set;
- ``RunConfig.resolved()`` fills in what depends on the machine (batch size, learning rate,
  loader workers), which is what the lab runner passes to the notebook and ``--dry-run`` shows.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

from .cli_types import fraction, nonnegative_int, positive_float, positive_int
from .errors import LabError, did_you_mean, quoted

MAX_IMAGE_SIZE = 1024  # 32-pixel CIFAR-10 images upsampled past this show nothing new, and cost memory
MAX_SEED = 2**32 - 1  # seeds are mixed into 64-bit generator seeds per batch (loader.batch_seed)
DEVICE_KINDS = ("cuda", "mps", "cpu")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
MEMORY_FORMATS = ("channels_last", "contiguous")
DATA_PLACEMENTS = ("resident", "workers")
# Options that must match for a run to be resumed from its checkpoint.
RESUME_KEYS = ("experiment", "dataset", "image_size", "epochs", "batch_size", "lr", "warmup_epochs", "seed",
               "val_fraction", "train_samples", "val_samples")


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
                          group="data", profile="set it at the top level of the profile")
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
    precision: str = option("auto", "auto: bf16 on CUDA (fp16 without bf16); on a CPU with bf16 units the faster of "
                            "fp32 and bf16 by a few timed steps; else fp32", group="runtime", choices=PRECISIONS)
    memory_format: str | None = option(None, "memory format of the model and its inputs", group="runtime",
                                       choices=MEMORY_FORMATS,
                                       shown="channels_last on CUDA and with bf16 on a CPU; contiguous otherwise")
    data_placement: str | None = option(None, "resident: the images on the device, batches made there; workers: "
                                        "DataLoader workers", group="runtime", choices=DATA_PLACEMENTS,
                                        shown="resident: faster on CUDA, and on a 2-core CPU by 10 % in fp32 "
                                        "and 25 % in bf16")
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
        try:
            values = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise LabError(f"cannot read the run config {path}: {error}") from error
        if not isinstance(values, dict):
            raise LabError(f"{path} must hold a JSON object of run options")
        return cls.from_dict(values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def validated(self) -> RunConfig:
        """Check types and ranges; raise ``LabError`` naming the first bad value."""
        _check_types(self)
        from . import models
        from .data import DATASETS

        models.spec(self.experiment)  # unknown experiment: lists the valid ones
        if self.dataset not in DATASETS:
            raise LabError(f"unknown dataset '{self.dataset}'; choose one of: {', '.join(DATASETS)}")
        for name in ("epochs", "batch_size", "image_size", "train_samples", "val_samples", "test_samples"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise LabError(f"{name.replace('_', ' ')} must be a positive number, got {value}")
        if self.image_size > MAX_IMAGE_SIZE:
            raise LabError(f"image size {self.image_size} is too large: at most {MAX_IMAGE_SIZE} "
                           "(the papers use 224)")
        if not 0 <= self.seed <= MAX_SEED:
            raise LabError(f"seed must lie between 0 and {MAX_SEED}, got {self.seed}")
        for name in ("lr", "warmup_epochs"):
            value = getattr(self, name)
            if value is not None and not 0 < value < float("inf"):
                raise LabError(f"{name.replace('_', ' ')} must be a positive number, got {value}")
        if not 0 < self.val_fraction < 1:
            raise LabError(f"val fraction must lie strictly between 0 and 1, got {self.val_fraction}")
        if self.workers is not None and self.workers < 0:
            raise LabError(f"workers must be 0 or more, got {self.workers}")
        if self.device is not None and self.device.split(":")[0] not in DEVICE_KINDS:
            raise LabError(f"unknown device '{self.device}'; choose one of: {', '.join(DEVICE_KINDS)}")
        from .runtime.runtime import check_options

        check_options(self.precision, self.memory_format, self.data_placement, self.host_sync_every)
        if self.resume and self.force:
            raise LabError("--resume continues a run and --force starts it over: pass only one")
        return self

    def resolved(self) -> RunConfig:
        """A copy with the machine-dependent defaults filled in: what the run will really use.

        The batch size follows the device, the learning rate the experiment's recipe at that
        batch, the loader workers the cores. The device itself stays as asked, so that under
        torchrun each process still takes its own GPU.
        """
        from . import models
        from .data import default_workers
        from .recipe import default_batch_size, recipe_for
        from .runtime.device import pick_device

        self.validated()
        spec = models.spec(self.experiment)
        batch_size = self.batch_size or default_batch_size(pick_device(self.device))
        recipe = recipe_for(self.experiment, spec.family, spec.pretrained)
        return replace(self, batch_size=batch_size, lr=self.lr or recipe.scaled_lr(batch_size),
                       warmup_epochs=self.warmup_epochs or recipe.warmup_epochs,
                       workers=default_workers() if self.workers is None else self.workers)

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


# --- the command line ------------------------------------------------------------------------

def add_cli_options(parser: argparse.ArgumentParser, groups: tuple[str, ...]) -> None:
    """One option per field of ``groups``, with the field's help and default."""
    from .data import DATASETS
    from .models import EXPERIMENTS

    parser.add_argument("--experiment", help=f"one of: {', '.join(EXPERIMENTS)} (required)")
    for group in groups:
        arguments = parser.add_argument_group(group)
        for f in fields(RunConfig):
            if f.metadata["group"] != group or f.name == "experiment":
                continue
            meta, name = f.metadata, f.metadata["flag"] or "--" + f.name.replace("_", "-")
            default = f"[{meta['shown'] or f.default}]"
            if isinstance(f.default, bool):
                action = "store_false" if f.default else "store_true"
                text = f"no {meta['help']}" if f.default else meta["help"]
                arguments.add_argument(name, dest=f.name, action=action, help=text)
            else:
                choices = DATASETS if f.name == "dataset" else meta["choices"]
                arguments.add_argument(name, dest=f.name, type=meta["parse"], default=f.default, choices=choices,
                                       help=f"{meta['help']} {default}".replace("%", "%%"))


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """The RunConfig that a ``train`` or ``test`` command line describes."""
    return RunConfig(**{name: value for name, value in vars(args).items() if name in FIELD_NAMES})
