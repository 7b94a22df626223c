"""The lab's command line: ``python -m labutils {train,test,lab,report,bench}``.

Mistakes in the input (an unknown name, a bad value, missing data) end with one line on stderr
saying what to do, and exit status 2. A stop request (Ctrl-C, SIGTERM), from the first line of
``main`` on, ends with one line and exit status 130, after recording it in the run folder.
Heavy modules (torch) are imported inside ``main``, where a stop request is already handled.
"""

from __future__ import annotations

import argparse
import sys

from .cli_types import positive_int
from .config import RunConfig, add_cli_options, config_from_args
from .errors import EXIT_INTERRUPTED, EXIT_USAGE, LabError
from .lab.profiles import profile_names
from .runtime.interrupt import raise_swallowed_stop, signal_name, stops_raise


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad option is one line (with a pointer to --help), not a usage dump."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from .models import EXPERIMENTS

    experiments = ", ".join(EXPERIMENTS)
    parser = _Parser(prog="python -m labutils", description="AlexNet vs. GoogLeNet on CIFAR-10.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    train = commands.add_parser("train", help="train, validate and test one experiment into a run folder",
                                description=f"Train one experiment. Experiments: {experiments}.")
    add_cli_options(train, ("data", "runtime", "training"))
    train.add_argument("--config", metavar="FILE",
                       help="take every option from this JSON file (a run's config.json; what torchrun's processes read)")

    test = commands.add_parser("test", help="score a checkpoint on the test set",
                               description=f"Score a checkpoint on the test images. Experiments: {experiments}.")
    add_cli_options(test, ("data", "runtime"))
    test.add_argument("--checkpoint", required=True, help="a best.pt or last.pt from a run folder")

    profiles = f"{', '.join(profile_names())} or a .yaml file"
    lab = commands.add_parser("lab", help="run every experiment of a profile, then render the report")
    lab.add_argument("--profile", default="full", help=f"{profiles} [%(default)s]")
    lab.add_argument("--dry-run", action="store_true",
                     help="print every run's resolved settings and the estimated time; train nothing")
    lab.add_argument("--force", action="store_true", help="retrain runs that are already complete")
    lab.add_argument("--yes", action="store_true", help="run the full profile even without a GPU (takes days)")
    lab.add_argument("--nproc-per-node", type=positive_int, default=1,
                     help="processes (GPUs) per run, through torchrun and DDP [%(default)s]")
    lab.add_argument("--runs", default="runs", help="where run folders go [%(default)s]")
    lab.add_argument("--report-dir", default="report", help="where the report goes [%(default)s]")

    report = commands.add_parser("report", help="render the report from existing run folders, without training")
    report.add_argument("--profile", default="full", help=f"whose runs to report: {profiles} [%(default)s]")
    report.add_argument("--runs", default="runs", help="where run folders are [%(default)s]")
    report.add_argument("--report-dir", default="report", help="where the report goes [%(default)s]")

    bench = commands.add_parser("bench", help="measure training speed against the handout's pipeline")
    from .bench import add_arguments
    add_arguments(bench)
    return parser


def _config(args: argparse.Namespace) -> RunConfig:
    """The RunConfig that a train or test command line describes (or its ``--config`` file)."""
    if getattr(args, "config", None):
        return RunConfig.from_json(args.config)
    if args.experiment is None:
        from .models import EXPERIMENTS

        raise LabError(f"--experiment is required: one of {', '.join(EXPERIMENTS)}")
    return config_from_args(args)


def _train(args: argparse.Namespace) -> int:
    from .experiment import run_experiment

    run_experiment(_config(args))
    return 0


def _test(args: argparse.Namespace) -> int:
    from .experiment import test_checkpoint

    test_checkpoint(_config(args), args.checkpoint)
    return 0


def main(argv: list[str] | None = None) -> int:
    with stops_raise():  # first: SIGTERM and Ctrl-C raise from here on, imports included
        try:
            return _run_command(argv)
        except KeyboardInterrupt as stop:
            print(f"error: stopped by {signal_name(stop)}; nothing was lost: rerun the same command to start "
                  "again", file=sys.stderr)
            return EXIT_INTERRUPTED


def _run_command(argv: list[str] | None) -> int:
    from .runtime import distributed

    args = build_parser().parse_args(argv)
    raise_swallowed_stop()  # a Ctrl-C while torch was being imported
    try:
        if args.command == "train":
            return _train(args)
        if args.command == "test":
            return _test(args)
        if args.command == "lab":
            from .lab.runner import run_lab
            return run_lab(args.profile, force=args.force, runs=args.runs, report_dir=args.report_dir, yes=args.yes,
                           nproc_per_node=args.nproc_per_node, dry_run=args.dry_run)
        if args.command == "report":
            from .lab.render import render_report
            return render_report(args.profile, runs=args.runs, report_dir=args.report_dir)
        if args.command == "bench":
            from .bench import run_bench
            return run_bench(args)
    except LabError as error:
        from .train_module import TrainingInterrupted

        if distributed.is_main():  # under torchrun every process has the same message
            print(f"error: {error}", file=sys.stderr)
        return EXIT_INTERRUPTED if isinstance(error, TrainingInterrupted) else EXIT_USAGE
    finally:
        distributed.teardown()
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
