"""The command line's options: ``python -m labutils {train,test,lab,report,bench}``.

Building the parser imports no torch and none of the commands: every option of a run comes from
``RunConfig``'s fields (``config.py``), the experiments' names from the catalog, the profiles'
from their folder. ``__main__`` runs the command the user chose.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
from typing import Any

from .catalog import EXPERIMENTS, FAMILIES, LAB_EXPERIMENTS
from .cli_types import positive_int
from .config import FIELD_NAMES, PRECISIONS, RunConfig, default_of
from .errors import EXIT_USAGE, did_you_mean
from .handout import HANDOUT_BATCH, HANDOUT_WORKERS
from .lab.profiles import profile_names

LAB_EXAMPLES = """examples:
  python -m labutils lab --profile smoke                      offline pipeline check, minutes on a CPU
  python -m labutils lab --profile quick --experiments alexnet,googlenet --set epochs=3
  python -m labutils lab --profile full --dry-run             every run's settings and the estimated time
"""


class Parser(argparse.ArgumentParser):
    """argparse, but a bad option is one line (with a pointer to --help), not a usage dump."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    experiments = ", ".join(EXPERIMENTS)
    parser = Parser(prog="python -m labutils", description="AlexNet vs. GoogLeNet on CIFAR-10.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)

    train = commands.add_parser("train", help="train, validate and test one experiment into a run folder",
                                description=f"Train one experiment. Experiments: {experiments}.")
    which = train.add_mutually_exclusive_group(required=True)
    which.add_argument("--experiment", metavar="NAME", help=f"one of: {experiments}")
    which.add_argument("--config", metavar="FILE",
                       help="every option from this JSON file (a run's config.json; what torchrun's processes "
                            "read); options given as well replace the file's")
    add_run_options(train, ("data", "runtime", "training"))

    test = commands.add_parser("test", help="score a checkpoint on the test set",
                               description=f"Score a checkpoint on the test images. Experiments: {experiments}.")
    test.add_argument("--experiment", metavar="NAME", required=True, help=f"one of: {experiments}")
    test.add_argument("--checkpoint", required=True, help="a best.pt or last.pt from a run folder")
    add_run_options(test, ("data", "runtime"))

    add_lab_arguments(commands)
    profiles = f"{', '.join(profile_names())} or a .yaml file"
    report = commands.add_parser("report", help="render the report from existing run folders, without training")
    report.add_argument("--profile", default="full", help=f"whose runs to report: {profiles} [%(default)s]")
    report.add_argument("--runs", default="runs", help="where run folders are [%(default)s]")
    report.add_argument("--report-dir", default="report", help="where the report goes [%(default)s]")

    add_bench_arguments(commands.add_parser("bench", help="measure training speed against the handout's pipeline"))
    return parser


def add_run_options(parser: argparse.ArgumentParser, groups: tuple[str, ...]) -> None:
    """One option per RunConfig field of ``groups``, with the field's help and default.

    Defaults are not filled in by argparse (``SUPPRESS``): what is given can then be told from
    what is not, so that options given with ``--config FILE`` replace the file's values."""
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
                arguments.add_argument(name, dest=f.name, action=action, default=argparse.SUPPRESS, help=text)
            else:
                arguments.add_argument(name, dest=f.name, type=meta["parse"], default=argparse.SUPPRESS,
                                       choices=meta["choices"], help=f"{meta['help']} {default}".replace("%", "%%"))


def run_config(args: argparse.Namespace) -> RunConfig:
    """The RunConfig a train or test command line describes: its ``--config`` file (if any), then
    every option given on the command line over it; the rest RunConfig's defaults."""
    given = {name: value for name, value in vars(args).items() if name in FIELD_NAMES and value is not None}
    base: dict[str, Any] = RunConfig.from_json(args.config).to_dict() if getattr(args, "config", None) else {}
    return RunConfig.from_dict({**base, **given})


def add_lab_arguments(commands) -> None:
    profiles = f"{', '.join(profile_names())} or a .yaml file"
    lab = commands.add_parser(
        "lab", help="run every experiment of a profile, then render the report",
        description="Train every run of a profile (its experiments x seeds) through notebooks/02_train.ipynb, "
                    "each into runs/<profile>/<experiment>/seed<k>/, then render the report. Complete runs of "
                    "the same settings are kept, unfinished ones resume; a complete run whose settings differ "
                    "from the profile's is stale: the lab names it and retrains it only with --retrain-stale "
                    "(or --force, which retrains every run).",
        epilog=LAB_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    lab.add_argument("--profile", default="full", help=f"{profiles} [%(default)s]")
    lab.add_argument("--experiments", type=experiment_list, metavar="A,B",
                     help=f"only these of the profile's experiments, comma-separated (e.g. {','.join(FAMILIES)})")
    lab.add_argument("--set", dest="overrides", action="append", type=key_value, default=[], metavar="KEY=VALUE",
                     help="set a profile key for every run, e.g. --set epochs=3 --set image_size=64 (repeatable)")
    lab.add_argument("--dry-run", action="store_true",
                     help="print every run's resolved settings, its state and the estimated time; train nothing")
    lab.add_argument("--retrain-stale", action="store_true",
                     help="retrain the complete runs whose recorded settings differ from the profile's")
    lab.add_argument("--force", action="store_true", help="retrain every run, complete or not")
    lab.add_argument("--yes", action="store_true", help="run the full profile even without a GPU (takes days)")
    lab.add_argument("--nproc-per-node", type=positive_int, default=1,
                     help="processes (GPUs) per run, through torchrun and DDP [%(default)s]")
    lab.add_argument("--runs", default="runs", help="where run folders go [%(default)s]")
    lab.add_argument("--report-dir", default="report", help="where the report goes [%(default)s]")


def experiment_list(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    for name in names:
        if name not in EXPERIMENTS:
            raise argparse.ArgumentTypeError(f"unknown experiment '{name[:60]}'{did_you_mean(name, EXPERIMENTS)}; "
                                             f"choose from: {', '.join(EXPERIMENTS)}")
    if not names:
        raise argparse.ArgumentTypeError("name at least one experiment, e.g. alexnet,googlenet")
    return names


def key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. epochs=3), got '{text[:60]}'")
    return key.strip(), value.strip()


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Training and evaluation images/s of the lab's pipeline against the handout's "
                          f"(batch {HANDOUT_BATCH}, PIL transforms, fp32), FLOPs per image, a batch-size sweep and "
                          "the estimated time of the full profile. Writes bench.json.")
    quick = " and ".join(FAMILIES)
    parser.add_argument("--models", nargs="+", choices=list(EXPERIMENTS), metavar="NAME",
                        help=f"experiments to measure [the five of the lab: {' '.join(LAB_EXPERIMENTS)}; "
                             f"with --quick: {quick}]")
    parser.add_argument("--batch-sizes", nargs="+", type=positive_int, metavar="N",
                        help=f"batch sizes of the scaling sweep ({quick}), stopping at the first that runs out of "
                             "memory [32 64 128 256 512 on a GPU; 16 32 on a CPU; 8 16 with --quick]")
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
                        help=f"a short run for a CPU: {quick} only (unless --models), few steps, small batches; "
                             "checks that everything runs, its rates are rough")
    parser.add_argument("--device", help="cuda, mps or cpu [the best available]")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="our pipeline's precision, as train's --precision [%(default)s]")
    parser.add_argument("--precision-sizes", nargs="*", type=positive_int, default=[224, 64], metavar="N",
                        help="image sizes at which fp32 and --precision's choice are compared side by side "
                             f"({quick}); none: skip [%(default)s]")
    parser.add_argument("--out", default="bench.json", help="where the figures go [%(default)s]")
