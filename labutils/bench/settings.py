"""The bench's options: its command-line arguments and ``BenchSettings``, what they resolve to."""

from __future__ import annotations

import argparse
import dataclasses

import torch

from .. import models
from ..catalog import FAMILIES
from ..errors import LabError
from ..handout import HANDOUT_BATCH
from ..recipe import default_batch_size
from ..resolve import default_workers

SCALING_MODELS = FAMILIES  # the batch-size sweep
QUICK_MODELS = FAMILIES  # --quick: the two architectures only (the other three are their variants)
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
