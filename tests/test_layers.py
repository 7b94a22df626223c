"""The package's house: layers that only point down, no import circle, few imports inside
functions, and a command line that starts without torch.

The layers are read from ``labutils/__init__.py``'s docstring, where they are written down."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import labutils

PACKAGE = Path(labutils.__file__).resolve().parent
MAX_IMPORTS_IN_FUNCTIONS = 5


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def layers() -> dict[str, int]:
    """Top-level module or sub-package of labutils -> its layer, from the package docstring."""
    found = {}
    for number, names in re.findall(r"^\s+(\d)\s+(.+)$", labutils.__doc__, re.MULTILINE):
        for name in names.split(","):
            found[name.strip()] = int(number)
    return found


def imports(path: Path) -> list[tuple[str, ast.stmt, bool]]:
    """(imported labutils module, the statement, inside a function?) for every import in ``path``."""
    tree = ast.parse(path.read_text())
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((alias.name, child, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parent = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*parent, *([base] if base else [])])
                for alias in child.names:  # "from . import models" imports a module
                    candidate = f"{base}.{alias.name}"
                    found.append((candidate if candidate in MODULES else base, child, in_function))
            visit(child, nested)

    visit(tree, False)
    return [(name, node, inside) for name, node, inside in found]


def owning_module(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def graph() -> dict[str, set[str]]:
    edges = {}
    for name, path in MODULES.items():
        edges[name] = {m for target, _, _ in imports(path)
                       if target.startswith("labutils") and (m := owning_module(target)) and m != name}
    return edges


def part(module: str) -> str:
    """The top-level module or sub-package a module belongs to: labutils.lab.runner -> lab."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_part_of_the_package_has_a_layer() -> None:
    named = layers()
    assert {part(m) for m in MODULES} - {"__init__"} <= set(named), "a module without a layer in the docstring"


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    named = layers()
    upward = [f"{a} (layer {named[part(a)]}) -> {b} (layer {named[part(b)]})"
              for a, targets in graph().items() for b in targets
              if part(a) != "__init__" and part(b) != "__init__" and named[part(b)] > named[part(a)]]
    assert upward == []


def test_no_import_circle() -> None:
    edges = graph()
    state, path, circles = {}, [], []

    def visit(node: str) -> None:
        state[node] = "open"
        path.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                circles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target)
        path.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert circles == []


def test_few_imports_inside_functions_each_with_a_reason() -> None:
    inside = []
    for path in MODULES.values():
        lines = path.read_text().splitlines()
        for _, node, in_function in imports(path):
            if in_function:
                inside.append((path.relative_to(PACKAGE.parent), node.lineno, "#" in lines[node.lineno - 1]))
    inside = sorted(set(inside))
    assert len(inside) <= MAX_IMPORTS_IN_FUNCTIONS, inside
    assert all(commented for _, _, commented in inside), [i for i in inside if not i[2]]


def imported_by(*args: str) -> set[str]:
    """The modules ``python -X importtime -m labutils ARGS`` imports (read from its trace)."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "labutils", *args], capture_output=True,
                            text=True, cwd=PACKAGE.parent, timeout=300, check=False)
    return {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("args", [["--help"], ["train", "--help"], ["lab", "--help"]])
def test_the_command_line_starts_without_torch(args: list[str]) -> None:
    loaded = imported_by(*args)
    assert "labutils.config" in loaded  # the trace is read: the options were built
    assert not {m for m in loaded if m == "torch" or m.startswith("torch.")}


def test_train_loads_only_what_training_needs(tmp_path: Path) -> None:
    loaded = imported_by("train", "--experiment", "alexnet", "--dataset", "fake", "--image-size", "64",
                         "--epochs", "1", "--train-samples", "16", "--val-samples", "8", "--test-samples", "8",
                         "--batch-size", "8", "--no-progress", "--out", str(tmp_path / "run"))
    assert "labutils.train_module" in loaded and (tmp_path / "run" / "metrics.json").exists()
    assert not {m for m in loaded if m.startswith(("labutils.bench", "labutils.report", "labutils.lab.runner"))}
