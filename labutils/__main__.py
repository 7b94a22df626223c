"""The lab's command line: ``python -m labutils {train,test,lab,report,bench}``.

Mistakes in the input (an unknown name, a bad value, missing data) end with one line on stderr
saying what to do, and exit status 2. An interrupted run exits with 130 after saving its state.
"""

from __future__ import annotations

import argparse
import sys

from . import distributed
from .cli_types import fraction, nonnegative_int, positive_float, positive_int
from .errors import LabError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad option is one line (with a pointer to --help), not a usage dump."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_data_options(p: argparse.ArgumentParser) -> None:
    from .data import DATASETS
    from .runtime import DATA_PLACEMENTS, MEMORY_FORMATS, PRECISIONS

    g = p.add_argument_group("data")
    g.add_argument("--dataset", default="cifar10", choices=DATASETS,
                   help="cifar10 (downloaded into --data-root on first use), fake (generated, offline), "
                        "or imagefolder (--data-root holds train/<class>/ and test/<class>/) [%(default)s]")
    g.add_argument("--data-root", default="data", help="where the dataset lives [%(default)s]")
    g.add_argument("--image-size", type=positive_int, default=224,
                   help="network input size in pixels; the papers use 224 [%(default)s]")
    g.add_argument("--batch-size", type=positive_int, help="images per batch [128 on a GPU, 32 on a CPU]")
    g.add_argument("--seed", type=int, default=0, help="seed of the train/val split, init and augmentation [%(default)s]")
    g.add_argument("--val-fraction", type=fraction, default=0.1,
                   help="share of the training images held out for validation [%(default)s]")
    g.add_argument("--train-samples", type=positive_int, help="use only this many training images (stratified)")
    g.add_argument("--val-samples", type=positive_int, help="use only this many validation images")
    g.add_argument("--test-samples", type=positive_int, help="use only this many test images")
    g.add_argument("--device", help="cuda, mps or cpu [the best available]")
    g.add_argument("--workers", type=nonnegative_int, help="DataLoader workers on a CPU [cores - 1]")
    g.add_argument("--random-weights", action="store_true",
                   help="pretrained experiments: random weights instead of ImageNet's (offline smoke runs)")
    g = p.add_argument_group("runtime (how the device is used; see labutils/runtime.py)")
    g.add_argument("--precision", default="auto", choices=PRECISIONS,
                   help="auto: bf16 on CUDA (fp16 without bf16), on a CPU with bf16 units the faster of fp32 and "
                        "bf16 by a few timed steps, else fp32 [%(default)s]")
    g.add_argument("--memory-format", choices=MEMORY_FORMATS,
                   help="[channels_last on CUDA and with bf16 on a CPU; contiguous otherwise]")
    g.add_argument("--data-placement", choices=DATA_PLACEMENTS,
                   help="resident: the images on the device, batches made there; workers: DataLoader workers "
                        "[resident on CUDA, workers elsewhere]")


def build_parser() -> argparse.ArgumentParser:
    from .models import EXPERIMENTS

    experiments = ", ".join(EXPERIMENTS)
    parser = _Parser(prog="python -m labutils", description="AlexNet vs. GoogLeNet on CIFAR-10.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    train = commands.add_parser("train", help="train, validate and test one experiment into a run folder",
                                description=f"Train one experiment. Experiments: {experiments}.")
    train.add_argument("--experiment", required=True, help=f"one of: {experiments}")
    _add_data_options(train)
    g = train.add_argument_group("training")
    g.add_argument("--epochs", type=positive_int, default=10, help="epochs [%(default)s]")
    g.add_argument("--lr", type=positive_float, help="peak learning rate [the experiment's recipe]")
    g.add_argument("--out", help="run folder [runs/manual/<experiment>/seed<seed>]")
    g.add_argument("--resume", action="store_true", help="continue an unfinished run from its last checkpoint")
    g.add_argument("--force", action="store_true", help="start over, replacing a complete or unfinished run")
    g.add_argument("--no-progress", action="store_true", help="no progress bars (one line per epoch only)")
    g.add_argument("--host-sync-every", type=positive_int, metavar="N",
                   help="read the loss on the host (progress, stop requests) every N steps [25 on CUDA, 1 elsewhere]")

    test = commands.add_parser("test", help="score a checkpoint on the test set",
                               description=f"Score a checkpoint on the test images. Experiments: {experiments}.")
    test.add_argument("--experiment", required=True, help=f"one of: {experiments}")
    test.add_argument("--checkpoint", required=True, help="a best.pt or last.pt from a run folder")
    _add_data_options(test)

    lab = commands.add_parser("lab", help="run every experiment of a profile, then render the report")
    lab.add_argument("--profile", default="full", help="smoke, quick or full [%(default)s]")
    lab.add_argument("--force", action="store_true", help="retrain runs that are already complete")
    lab.add_argument("--yes", action="store_true", help="run the full profile even without a GPU (takes days)")
    lab.add_argument("--nproc-per-node", type=positive_int, default=1,
                     help="processes (GPUs) per run, through torchrun and DDP [%(default)s]")
    lab.add_argument("--runs", default="runs", help="where run folders go [%(default)s]")
    lab.add_argument("--report-dir", default="report", help="where the report goes [%(default)s]")

    report = commands.add_parser("report", help="render the report from existing run folders, without training")
    report.add_argument("--profile", default="full", help="which profile's runs to report [%(default)s]")
    report.add_argument("--runs", default="runs", help="where run folders are [%(default)s]")
    report.add_argument("--report-dir", default="report", help="where the report goes [%(default)s]")

    bench = commands.add_parser("bench", help="measure training speed against the handout's pipeline")
    from .bench import add_arguments
    add_arguments(bench)
    return parser


def _config(args: argparse.Namespace):
    """The RunConfig that a train or test command line describes."""
    from .experiment import RunConfig

    options = {name: value for name, value in vars(args).items() if name in RunConfig.__dataclass_fields__}
    if "no_progress" in vars(args):
        options["progress"] = not args.no_progress
    return RunConfig(**options)


def _train(args: argparse.Namespace) -> int:
    from .experiment import run_experiment

    run_experiment(_config(args))
    return 0


def _test(args: argparse.Namespace) -> int:
    from .experiment import test_checkpoint

    test_checkpoint(_config(args), args.checkpoint)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "train":
            return _train(args)
        if args.command == "test":
            return _test(args)
        if args.command == "lab":
            from .pipeline import run_lab
            return run_lab(args.profile, force=args.force, runs=args.runs, report_dir=args.report_dir, yes=args.yes,
                           nproc_per_node=args.nproc_per_node)
        if args.command == "report":
            from .pipeline import render_report
            return render_report(args.profile, runs=args.runs, report_dir=args.report_dir)
        if args.command == "bench":
            from .bench import run_bench
            return run_bench(args)
    except LabError as error:
        from .train_module import TrainingInterrupted

        if distributed.is_main():  # under torchrun every process has the same message
            print(f"error: {error}", file=sys.stderr)
        return EXIT_INTERRUPTED if isinstance(error, TrainingInterrupted) else EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        distributed.teardown()
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
