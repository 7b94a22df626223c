"""Set-up: which torch `make setup` keeps (a stub python3 stands in for the machine's), and the
requirements: pyproject's ranges hold the installed and the locked versions, and name what is imported."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torchvision

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import setup_venv  # noqa: E402  (a script, not part of the package)


def _stub_python(tmp_path: Path, line: str | None) -> str:
    """An executable that answers the probe like a Python with that torch (None: one without torch)."""
    stub = tmp_path / "python3"
    body = f"echo '{line}'" if line else "echo 'ModuleNotFoundError: torch' >&2; exit 1"
    stub.write_text(f"#!/bin/sh\n{body}\n")
    stub.chmod(0o755)
    return str(stub)


def _setup(python: str, venv: Path, torch_mode: str = "auto") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "setup_venv.py"), "--python", python,
                           "--venv", str(venv), "--torch", torch_mode, "--dry-run"],
                          capture_output=True, text=True, timeout=60, check=False)


def test_a_cuda_torch_in_range_is_kept_by_a_venv_that_sees_it(tmp_path):
    python = _stub_python(tmp_path, "2.11.0+cu128 0.26.0+cu128 12.8 True False")
    done = _setup(python, tmp_path / "venv")
    assert done.returncode == 0, done.stderr
    first, make_venv, _, install = done.stdout.splitlines()
    assert first.startswith(f"torch: {python}'s torch 2.11.0+cu128") and "GPU visible: True" in first
    assert make_venv == f"+ {python} -m venv --system-site-packages {tmp_path / 'venv'}"
    assert install.endswith(f"-c {tmp_path / 'venv' / 'constraints-system.txt'}")
    assert not (tmp_path / "venv").exists()  # a dry run makes nothing


@pytest.mark.parametrize("line, why", [
    ("2.3.1 0.18.1 12.1 True False", "not inside torch>=2.4.1"),
    ("2.11.0 0.26.0 12.8 True True", "it is a venv"),
    (None, "no torch"),
])
def test_auto_installs_the_locked_torch_when_the_system_one_does_not_fit(tmp_path, line, why):
    done = _setup(_stub_python(tmp_path, line), tmp_path / "venv")
    assert done.returncode == 0, done.stderr
    first, make_venv, _, install = done.stdout.splitlines()
    assert first.startswith("torch: constraints.txt's versions") and why in first, first
    assert "--system-site-packages" not in make_venv
    assert install.endswith(f"-c {ROOT / 'constraints.txt'}")


def test_torch_system_without_a_fitting_torch_is_one_line_and_status_2(tmp_path):
    done = _setup(_stub_python(tmp_path, "2.3.1 0.18.1 12.1 True False"), tmp_path / "venv", "system")
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "use TORCH=lock" in done.stderr


def test_torch_lock_ignores_the_system_torch(tmp_path):
    done = _setup(_stub_python(tmp_path, "2.11.0 0.26.0 12.8 True False"), tmp_path / "venv", "lock")
    assert done.returncode == 0 and "TORCH=lock" in done.stdout.splitlines()[0]
    assert "--system-site-packages" not in done.stdout


def test_the_system_constraints_drop_torch_and_torchvision_only(tmp_path):
    kept = setup_venv.constraints_without(setup_venv.KEPT_FROM_SYSTEM, ROOT / "constraints.txt", tmp_path / "c.txt")
    pins = {line.split("==")[0] for line in kept.read_text().splitlines() if "==" in line}
    locked = {line.split("==")[0] for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line}
    assert pins == locked - {"torch", "torchvision"} and "papermill" in pins


def test_versions_compare_by_their_numeric_release():
    assert setup_venv.in_range("2.11.0+cu128", ">=2.4.1,<3")
    assert setup_venv.in_range("2.4.1", ">=2.4.1,<3") and setup_venv.in_range("3", "<=3.0.0")
    assert not setup_venv.in_range("2.4.0", ">=2.4.1,<3") and not setup_venv.in_range("3.0.0", ">=2.4.1,<3")
    assert not setup_venv.in_range("2.10.0", "<2.9")  # numbers, not strings


def test_the_installed_and_the_locked_torch_are_inside_pyprojects_range():
    """What `pip install -e .[lab]` checks on Colab: the preinstalled torch satisfies the range, so it stays."""
    locked = dict(re.findall(r"^(torch|torchvision)==(\S+)", (ROOT / "constraints.txt").read_text(), re.MULTILINE))
    for package, version in (("torch", torch.__version__), ("torchvision", torchvision.__version__)):
        specifier = setup_venv.pyproject_range(package)
        assert "," in specifier and specifier.startswith(">="), specifier  # a range, not a pin
        assert setup_venv.in_range(version, specifier) and setup_venv.in_range(locked[package], specifier)
        assert setup_venv.in_range(setup_venv.floor(package), specifier)  # what .ci/run tests the fast part with


# --- pyproject's dependencies and extras name what is imported -------------------------------

def _imported(sources: list[str]) -> set[str]:
    names = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def _notebook_code(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    lines = [line for c in cells if c["cell_type"] == "code" for line in "".join(c["source"]).splitlines()]
    return "\n".join(line for line in lines if not line.lstrip().startswith(("%", "!")))  # no magics


def _distributions(modules: set[str], local: set[str]) -> set[str]:
    """Third-party distributions providing ``modules`` (an uninstalled one: by its module's name)."""
    providers = importlib.metadata.packages_distributions()
    third_party = modules - set(sys.stdlib_module_names) - local
    return {_normal(providers.get(m, [m])[0]) for m in third_party}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> dict[str, set[str]]:
    text = (ROOT / "pyproject.toml").read_text()
    lists = {"dependencies": re.search(r"^dependencies = \[(.*?)\]", text, re.MULTILINE | re.DOTALL).group(1)}
    lists |= dict(re.findall(r"^(lab|test) = \[(.*?)\]", text, re.MULTILINE | re.DOTALL))
    return {key: {_normal(re.match(r"[A-Za-z0-9_.-]+", n).group(0)) for n in re.findall(r'"([^"]+)"', value)}
            for key, value in lists.items()}


@pytest.mark.parametrize("where, extras", [("labutils", ("lab",)), ("notebooks", ("lab",)),
                                           ("tests", ("lab", "test"))])
def test_pyproject_names_every_package_that_is_imported(where, extras):
    folder = ROOT / where
    sources = [p.read_text() for p in folder.rglob("*.py")]
    sources += [_notebook_code(p) for p in folder.glob("*.ipynb")]
    local = {"labutils", "setup_venv", "conftest", *(p.stem for p in (ROOT / "tests").rglob("*.py"))}
    declared = _declared()
    allowed = declared["dependencies"].union(*(declared[e] for e in extras))
    assert _distributions(_imported(sources), local) - allowed == set()


def test_pytest_without_nbval_runs_the_rest_and_says_the_notebooks_were_not_run(tmp_path):
    """A GPU image has pytest but not nbval: `-p no:nbval` stands for that."""
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:nbval", "-q", "notebooks",
                           "tests/test_setup.py::test_versions_compare_by_their_numeric_release"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout and "notebooks not run: nbval is not installed" in done.stdout


@pytest.mark.skipif(importlib.util.find_spec("nbval") is None, reason="nbval is not installed")
def test_with_nbval_the_notebooks_are_collected_in_lax_mode():
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "notebooks/01_data.ipynb"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and "notebooks/01_data.ipynb::Cell 0" in done.stdout, done.stdout + done.stderr
