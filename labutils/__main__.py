"""The lab's command line: ``python -m labutils {train,test,lab,report,bench}`` (options: ``cli.py``).

A stop request (Ctrl-C, SIGTERM) is handled from the first line of ``main`` on, before anything
but the standard library is imported: it ends with one line and exit status 130, after the run
folder records it.
Mistakes in the input end with one line on stderr saying what to do, and exit status 2. Each
command's module is imported only when that command runs, so ``--help`` needs no torch and
``train`` loads only what training needs.
"""

import importlib
import os
import sys
import warnings

from .errors import EXIT_INTERRUPTED, EXIT_USAGE, LabError, TrainingInterrupted, one_line_warning
from .runtime.interrupt import shielded, signal_name, stops_raise

EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a Unix tool's status is when its reader goes away (| head)

def load(name: str):
    """A module, imported once the stop handler is in place (the options, each command's own module).
    A stop during the import is raised once it is done: an exception raised inside an import's C and
    C++ code is swallowed (torch 2.4's import of numpy) or aborts the process (pybind11's terminate)."""
    with shielded():
        return importlib.import_module(name)


def _train(args) -> int:
    load("labutils.experiment").run_experiment(load("labutils.cli").run_config(args))
    return 0


def _test(args) -> int:
    load("labutils.experiment").test_checkpoint(load("labutils.cli").run_config(args), args.checkpoint)
    return 0


def _lab(args) -> int:
    return load("labutils.lab.runner").run_lab(
        args.profile, force=args.force, runs=args.runs, report_dir=args.report_dir, yes=args.yes,
        nproc_per_node=args.nproc_per_node, dry_run=args.dry_run, experiments=args.experiments,
        overrides=dict(args.overrides), retrain_stale=args.retrain_stale)


def _report(args) -> int:
    return load("labutils.lab.render").render_report(args.profile, runs=args.runs, report_dir=args.report_dir)


def _bench(args) -> int:
    return load("labutils.bench").run_bench(args)


COMMANDS = {"train": _train, "test": _test, "lab": _lab, "report": _report, "bench": _bench}
# What only the lab and the report need (pyproject's "lab" extra): a one-line hint when missing.
OPTIONAL = ("papermill", "nbconvert", "nbformat", "nbclient", "latex2mathml", "ipykernel", "jinja2", "traitlets")


class OutputError(Exception):
    """Standard output could not be written (a full disk: > /dev/full)."""


class _GuardedStdout:
    """sys.stdout, whose write errors (other than a closed pipe) are told apart from the command's own."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._guard(self._stream.write, text)

    def flush(self) -> None:
        self._guard(self._stream.flush)

    def _guard(self, call, *args):
        try:
            return call(*args)
        except BrokenPipeError:
            raise
        except OSError as error:
            raise OutputError(error.strerror or str(error)) from error

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int:
    stdout, sys.stdout = sys.stdout, _GuardedStdout(sys.stdout)
    try:
        with stops_raise():
            return _run_command(argv)
    except OutputError as error:
        _silence_stdout()  # say so once, not again when Python flushes at exit
        print(f"error: cannot write the output ({error})", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as stop:
        print(f"error: stopped by {signal_name(stop)}; nothing was lost: rerun the same command to start again",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (| head): stop quietly, as Unix tools do
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    finally:
        sys.stdout = stdout


def _run_command(argv: list[str] | None) -> int:
    warnings.showwarning = one_line_warning
    args = load("labutils.cli").build_parser().parse_args(argv)
    try:
        status = COMMANDS[args.command](args)
        sys.stdout.flush()
        return status
    except ModuleNotFoundError as error:
        if error.name not in OPTIONAL:
            raise
        print(f"error: {args.command} needs {error.name}, which is not installed: pip install -e '.[lab]'",
              file=sys.stderr)
        return EXIT_USAGE
    except LabError as error:
        if _is_main_process():  # under torchrun every process has the same message
            print(f"error: {error}", file=sys.stderr)
        return EXIT_INTERRUPTED if isinstance(error, TrainingInterrupted) else EXIT_USAGE
    finally:
        _teardown()


def _silence_stdout() -> None:
    """Send what is left of stdout to /dev/null, so that Python's flush at exit has nothing to complain of."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # no real file behind it (a test's captured output)
        pass


def _is_main_process() -> bool:
    distributed = sys.modules.get("labutils.runtime.distributed")
    return distributed is None or distributed.is_main()


def _teardown() -> None:
    distributed = sys.modules.get("labutils.runtime.distributed")
    if distributed is not None:
        distributed.teardown()


if __name__ == "__main__":
    sys.exit(main())
