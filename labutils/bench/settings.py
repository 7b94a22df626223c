"""The bench's options: its command-line arguments and ``BenchSettings``, what they resolve to."""

from __future__ import annotations

import argparse
import dataclasses

import torch

from .. import models
from ..cli_types import positive_int
from ..config import PRECISIONS, default_of
from ..data import default_workers
from ..errors import LabError
from ..recipe import default_batch_size

HANDOUT_BATCH = 4
HANDOUT_WORKERS = 2  # what a student's DataLoader has (the PyTorch CIFAR-10 tutorial's value)
SCALING_MODELS = ("alexnet", "googlenet")
# --quick measures the two architectures only (the other three are their variants): five
# models at 224x224 take 2-4 minutes on 2 CPU cores, these two about one.
QUICK_MODELS = ("alexnet", "googlenet")
MIN_IMAGE_SIZE = 63  # the lab's networks' smallest input


@dataclasses.dataclass(frozen=True)
class BenchSettings:
    """Everything one bench run measures with; bench.json's ``settings`` (same keys, same order)."""

    models: tuple[str, ...]
    image_size: int
    batch_size: int  # our pipeline's
    lab_batch_size: int  # what the lab runs on this device
    steps: int
    warmup: int
    handout_steps: int
    handout_batch_size: int
    handout_workers: int
    repeats: int
    workers: int
    batch_sizes: tuple[int, ...]  # the scaling sweep's
    precision: str
    precision_sizes: tuple[int, ...]
    quick: bool
    torch_threads: int

    @classmethod
    def from_args(cls, args: argparse.Namespace, device: torch.device) -> BenchSettings:
        """The options as given, each one left out filled in for ``device`` (and ``--quick``)."""
        on_gpu, quick = device.type == "cuda", args.quick
        if args.image_size < MIN_IMAGE_SIZE:
            raise LabError(f"image size {args.image_size} is too small: the lab's networks need at least "
                           f"{MIN_IMAGE_SIZE} pixels")
        steps = args.steps or (2 if quick else 30 if on_gpu else 8)
        sweep = (32, 64, 128, 256, 512) if on_gpu else (8, 16) if quick else (16, 32)
        return cls(
            models=tuple(dict.fromkeys(args.models or (QUICK_MODELS if quick else models.LAB_EXPERIMENTS))),
            image_size=args.image_size,
            batch_size=args.batch_size or (8 if quick and not on_gpu else default_batch_size(device)),
            lab_batch_size=default_batch_size(device),
            steps=steps,
            warmup=args.warmup or (1 if quick else 10 if on_gpu else 2),
            handout_steps=args.handout_steps or 2 * steps,
            handout_batch_size=HANDOUT_BATCH,
            handout_workers=args.handout_workers,
            repeats=args.repeats or (1 if quick or on_gpu else 3),
            workers=default_workers() if args.workers is None else args.workers,
            batch_sizes=tuple(args.batch_sizes or sweep),
            precision=args.precision,
            precision_sizes=tuple(args.precision_sizes),
            quick=quick,
            torch_threads=torch.get_num_threads(),
        )

    @classmethod
    def from_dict(cls, values: dict) -> BenchSettings:
        """Back from bench.json's ``settings``."""
        return cls(**{field.name: values[field.name] for field in dataclasses.fields(cls)})

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Training and evaluation images/s of the lab's pipeline against the handout's "
                          "(batch 4, PIL transforms, fp32), FLOPs per image, a batch-size sweep and the "
                          "estimated time of the full profile. Writes bench.json.")
    parser.add_argument("--models", nargs="+", choices=list(models.EXPERIMENTS), metavar="NAME",
                        help=f"experiments to measure [the five of the lab: {' '.join(models.LAB_EXPERIMENTS)}; "
                             f"with --quick: {' '.join(QUICK_MODELS)}]")
    parser.add_argument("--batch-sizes", nargs="+", type=positive_int, metavar="N",
                        help="batch sizes of the scaling sweep (AlexNet and GoogLeNet), stopping at the first "
                             "that runs out of memory [32 64 128 256 512 on a GPU; 16 32 on a CPU; 8 16 with --quick]")
    parser.add_argument("--batch-size", type=positive_int,
                        help="our pipeline's batch size [the lab's: 128 on a GPU, 32 on a CPU; 8 with --quick on a CPU]")
    parser.add_argument("--steps", type=positive_int,
                        help="timed steps per measurement [30 on a GPU, 8 on a CPU, 2 with --quick]")
    parser.add_argument("--warmup", type=positive_int,
                        help="untimed steps before each measurement [10 on a GPU, 2 on a CPU, 1 with --quick]")
    parser.add_argument("--handout-steps", type=positive_int,
                        help=f"timed steps of the handout's pipeline (batch {HANDOUT_BATCH}) [2 x --steps]")
    parser.add_argument("--repeats", type=positive_int,
                        help="measure each pipeline this many times (ours and bare alternating) and report the "
                             "median: steadier figures on a shared machine [3 on a CPU; 1 on a GPU or with --quick]")
    parser.add_argument("--workers", type=int,
                        help="DataLoader workers of our pipeline on a CPU [the lab's: cores - 1, at most 4]")
    parser.add_argument("--handout-workers", type=int, default=HANDOUT_WORKERS,
                        help="DataLoader workers of the handout's pipeline [%(default)s]")
    parser.add_argument("--image-size", type=positive_int, default=default_of("image_size"),
                        help="input size in pixels [%(default)s]")
    parser.add_argument("--quick", action="store_true",
                        help=f"a short run for a CPU: {' and '.join(QUICK_MODELS)} only (unless --models), few steps, "
                             "small batches; checks that everything runs, its rates are rough")
    parser.add_argument("--device", help="cuda, mps or cpu [the best available]")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="our pipeline's precision, as train's --precision [%(default)s]")
    parser.add_argument("--precision-sizes", nargs="*", type=positive_int, default=[224, 64], metavar="N",
                        help="image sizes at which fp32 and --precision's choice are compared side by side "
                             "(AlexNet and GoogLeNet); none: skip [%(default)s]")
    parser.add_argument("--out", default="bench.json", help="where the figures go [%(default)s]")
