"""The repository as a VS Code project (``.vscode/``), for the report's exercise-1 section.

:func:`launch_configurations` lists the Run and Debug configurations of ``launch.json`` (plain
JSON), and :func:`launch_rows` says which command each runs and which file of
``labutils/models/`` defines its network.
"""

from __future__ import annotations

import inspect
import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from ..errors import LabError
from ..models import BUILDERS

VSCODE_DIR = ".vscode"
LAUNCH_FILE = "launch.json"
MODULE = "labutils"  # what every launch configuration runs: python -m labutils


def read_launch_file(path: Path) -> dict:
    """``launch.json`` as a JSON object; ``LabError`` (one line) when it cannot be read."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise LabError(f"cannot read {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise LabError(f"{path} is not valid JSON: {error.msg} at line {error.lineno}") from None
    if not isinstance(data, dict):
        raise LabError(f"{path} must hold a JSON object with \"configurations\"")
    return data


@dataclass(frozen=True)
class LaunchConfiguration:
    """One entry of ``launch.json``'s ``configurations``."""

    name: str
    module: str | None
    args: tuple[str, ...]
    cwd: str | None

    @property
    def command(self) -> str:
        """What it runs, as one would type it in a terminal."""
        return shlex.join(["python", "-m", str(self.module), *self.args])

    def option(self, flag: str) -> str | None:
        """The value given to ``flag`` (``--experiment``), or None."""
        args = list(self.args)
        return args[args.index(flag) + 1] if flag in args[:-1] else None


def launch_configurations(root: Path) -> list[LaunchConfiguration]:
    """The configurations of ``<root>/.vscode/launch.json``, in its order."""
    path = Path(root) / VSCODE_DIR / LAUNCH_FILE
    data = read_launch_file(path)
    try:
        return [LaunchConfiguration(c["name"], c.get("module"), tuple(c.get("args", ())), c.get("cwd"))
                for c in data["configurations"]]
    except (KeyError, TypeError):
        raise LabError(f"{path}: every configuration needs a name, under \"configurations\"") from None


def model_file(experiment: str) -> str:
    """The file of ``labutils/models/`` that defines the network of ``experiment``."""
    build = BUILDERS[experiment]
    module = inspect.getmodule(getattr(build, "func", build))  # a functools.partial or a function
    return module.__name__.replace(".", "/") + ".py"


def launch_rows(root: Path) -> list[list[str]]:
    """[configuration name, command, model file] per launch configuration (no rows without
    ``launch.json``); the model file is empty for those that train no single network."""
    if not (Path(root) / VSCODE_DIR / LAUNCH_FILE).is_file():
        return []
    rows = []
    for config in launch_configurations(root):
        experiment = config.option("--experiment")
        rows.append([config.name, config.command, model_file(experiment) if experiment else ""])
    return rows
