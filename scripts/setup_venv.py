"""Make the lab's virtual environment, keeping the machine's own torch where it is in range.

usage: python3 scripts/setup_venv.py [--python PYTHON] [--venv DIR] [--torch auto|system|lock] [--dry-run]

  lock    a fresh venv with the exact versions of constraints.txt (torch included: PyPI's build);
  system  a venv that sees PYTHON's packages, so it keeps PYTHON's torch (a CUDA build that
          matches the machine's driver, say); the rest at constraints.txt's versions;
  auto    system when PYTHON's torch and torchvision are inside pyproject.toml's range, else lock.
Only the standard library: it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEPT_FROM_SYSTEM = ("torch", "torchvision")  # never reinstalled over the system's build
PROBE = ("import sys, torch, torchvision; print(torch.__version__, torchvision.__version__, "
         "torch.version.cuda or 'none', torch.cuda.is_available(), sys.prefix != sys.base_prefix)")
FIELDS = ("torch", "torchvision", "cuda", "cuda_available", "in_a_venv")
_OPS = {">=": lambda v, w: v >= w, ">": lambda v, w: v > w, "<=": lambda v, w: v <= w,
        "<": lambda v, w: v < w, "==": lambda v, w: v == w, "!=": lambda v, w: v != w}


def release(version: str) -> tuple[int, ...]:
    """'2.11.0+cu128' -> (2, 11, 0): the numeric release, local build and pre-release tags dropped."""
    numbers = re.match(r"\d+(\.\d+)*", version.strip())
    if not numbers:
        raise ValueError(f"not a version: {version!r}")
    parts = [int(p) for p in numbers.group(0).split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()  # 2.4 == 2.4.0
    return tuple(parts)


def pyproject_range(package: str, pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The version specifier pyproject.toml's dependencies give ``package``, e.g. '>=2.4.1,<3'."""
    found = re.search(rf'"{re.escape(package)}\s*([<>=!][^";]*)"', pyproject.read_text())
    if not found:
        raise ValueError(f"pyproject.toml names no version range for {package}")
    return found.group(1).replace(" ", "")


def floor(package: str) -> str:
    """The lowest version pyproject.toml allows ``package`` (its ">=" bound): what CI tests."""
    return re.search(r">=([^,]+)", pyproject_range(package)).group(1)


def in_range(version: str, specifier: str) -> bool:
    for clause in specifier.split(","):
        op, bound = re.match(r"(>=|<=|==|!=|>|<)(.+)", clause).groups()
        if not _OPS[op](release(version), release(bound)):
            return False
    return True


def probe_torch(python: str) -> dict | None:
    """What ``python`` has: torch, torchvision and CUDA versions, or None without torch."""
    try:
        done = subprocess.run([python, "-c", PROBE], capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    fields = done.stdout.split()
    if done.returncode != 0 or len(fields) != len(FIELDS):
        return None
    return dict(zip(FIELDS, fields))


class NoSystemTorch(Exception):
    """TORCH=system where the Python has no torch the venv can keep."""


def decide(mode: str, python: str, found: dict | None, ranges: dict[str, str]) -> tuple[str, str]:
    """('system' or 'lock', the sentence that says which torch the venv gets and why)."""
    wanted = ", ".join(f"{p}{ranges[p]}" for p in KEPT_FROM_SYSTEM)
    if found is None:
        have, why_not = "no torch and torchvision", "nothing to keep"
    else:
        have = (f"torch {found['torch']} / torchvision {found['torchvision']} (CUDA {found['cuda']}, "
                f"GPU visible: {found['cuda_available']})")
        why_not = (None if all(in_range(found[p], ranges[p]) for p in KEPT_FROM_SYSTEM) else f"not inside {wanted}")
        if why_not is None and found["in_a_venv"] == "True":  # a venv's own packages are not shared
            why_not = "it is a venv: a new venv sees only its base Python's packages"
    if mode == "lock":
        return "lock", f"torch: constraints.txt's versions (TORCH=lock; {python} has {have})"
    if why_not is None:
        return "system", f"torch: {python}'s {have}, inside {wanted}: kept"
    if mode == "system":
        raise NoSystemTorch(f"error: TORCH=system, but {python} has {have}: {why_not}; "
                            "use TORCH=lock (or auto) to install constraints.txt's torch")
    return "lock", f"torch: constraints.txt's versions ({python} has {have}: {why_not})"


def constraints_without(kept: tuple[str, ...], source: Path, target: Path) -> Path:
    """constraints.txt less the lines pinning ``kept``: the system's builds of those stay."""
    pinned = re.compile(rf"^({'|'.join(map(re.escape, kept))})\s*[=<>!~]", re.IGNORECASE)
    target.write_text("".join(line for line in source.read_text().splitlines(keepends=True)
                              if not pinned.match(line)))
    return target


def commands(choice: str, python: str, venv: Path) -> list[list[str]]:
    constraints = ROOT / "constraints.txt"
    if choice == "system":
        constraints = venv / "constraints-system.txt"  # written just before pip runs
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    return [[python, "-m", "venv", *(["--system-site-packages"] if choice == "system" else []), str(venv)],
            [*pip, "install", "-q", "--upgrade", "pip"],
            [*pip, "install", "-r", str(ROOT / "requirements.txt"), "-c", str(constraints)]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default="python3", help="the Python the venv is made from [python3]")
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv", help="[.venv]")
    parser.add_argument("--torch", default="auto", choices=("auto", "system", "lock"), help="[auto]")
    parser.add_argument("--dry-run", action="store_true", help="print the decision and the commands; run nothing")
    args = parser.parse_args(argv)
    ranges = {p: pyproject_range(p) for p in KEPT_FROM_SYSTEM}
    found = None if args.torch == "lock" else probe_torch(args.python)
    try:
        choice, sentence = decide(args.torch, args.python, found, ranges)
    except NoSystemTorch as error:
        print(error, file=sys.stderr)
        return 2
    print(sentence, flush=True)
    for step, command in enumerate(commands(choice, args.python, args.venv)):
        print("+ " + " ".join(command), flush=True)
        if args.dry_run:
            continue
        if step == 2 and choice == "system":
            constraints_without(KEPT_FROM_SYSTEM, ROOT / "constraints.txt", args.venv / "constraints-system.txt")
        if subprocess.run(command, cwd=ROOT, check=False).returncode != 0:  # cwd: requirements.txt says `-e .`
            print(f"error: set-up stopped at: {' '.join(command)}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
