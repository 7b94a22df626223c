"""The repository opens as a VS Code project: ``.vscode/`` reads as VS Code reads it (
plain JSON), every launch configuration is a command line the project's own parser accepts, no
file holds a path of one machine, and the configurations run (and stop at a breakpoint) as written."""

from __future__ import annotations

import ast
import json
import os
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from labutils.cli import build_parser, run_config
from labutils.errors import LabError
from labutils.lab.profiles import load_profile
from labutils.models import LAB_EXPERIMENTS, spec
from labutils.report.runs import LABELS
from labutils.report.vscode import (
    LAUNCH_FILE,
    MODULE,
    VSCODE_DIR,
    launch_configurations,
    launch_rows,
    read_launch_file,
)
from labutils.run_folder import RunFolder

ROOT = Path(__file__).resolve().parent.parent
VSCODE = ROOT / VSCODE_DIR
FILES = ("launch.json", "settings.json", "extensions.json")
WORKSPACE = "${workspaceFolder}"
# VS Code variables that stand for places inside the workspace; ${userHome}, ${env:...} do not.
WORKSPACE_VARIABLES = {"workspaceFolder", "fileDirname"}
CONFIGURATIONS = launch_configurations(ROOT)


# --- reading the files -------------------------------------------------------------------

def test_a_broken_file_is_one_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "launch.json"
    broken.write_text('{\n  "a": 1\n  "b": 2\n}\n')
    with pytest.raises(LabError, match=r"launch.json is not valid JSON.*line 3"):
        read_launch_file(broken)
    with pytest.raises(LabError, match="cannot read"):
        read_launch_file(tmp_path / "missing.json")


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.mark.parametrize("name", FILES)
def test_each_file_is_plain_json(name: str) -> None:
    assert isinstance(read_json(VSCODE / name), dict)


def test_the_vscode_folder_is_not_ignored_by_git() -> None:
    try:
        # --no-index: the rules alone, whether or not the files are committed yet
        checked = subprocess.run(["git", "check-ignore", "--no-index", *(f"{VSCODE_DIR}/{n}" for n in FILES)],
                                 cwd=ROOT, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        pytest.skip("no git")
    if checked.returncode == 128:
        pytest.skip("not a git checkout")
    assert checked.returncode == 1, f"ignored by .gitignore, so the project would not be shared: {checked.stdout}"


# --- no path of one machine -------------------------------------------------------------

def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def machine_paths(value) -> list[str]:
    """The strings in ``value`` that name a place outside the workspace: an absolute path
    (POSIX, Windows drive or share), a home folder, or a variable other than the workspace's."""
    found = []
    for text in _strings(value):
        variables = set(re.findall(r"\$\{([^}]*)\}", text))
        relative = re.sub(r"\$\{[^}]*\}", ".", text)  # ${workspaceFolder}/x is ./x
        pieces = re.split(r"[\s=,;]+", relative)
        if variables - WORKSPACE_VARIABLES or any(re.match(r"/|~|\\\\|[A-Za-z]:[\\/]", p) for p in pieces):
            found.append(text)
    return found


def test_the_path_check_catches_machine_paths() -> None:
    bad = ["/home/ana/lab/.venv/bin/python", "C:\\Users\\ana\\lab", "~/lab", "--out=/work/runs", "${userHome}/lab",
           "${env:HOME}/x", "\\\\server\\share"]
    good = ["${workspaceFolder}/.venv/bin/python", "runs/vscode/alexnet", "--out", "${fileDirname}", "**/__pycache__",
            "ms-python.python", "0.2.0"]
    assert machine_paths(bad) == bad
    assert machine_paths(good) == []


@pytest.mark.parametrize("name", FILES)
def test_no_file_holds_a_path_of_one_machine(name: str) -> None:
    assert machine_paths(read_json(VSCODE / name)) == []
    assert str(ROOT) not in (VSCODE / name).read_text()


# --- settings and extensions ------------------------------------------------------------

def test_the_interpreter_is_the_venv_that_make_setup_makes() -> None:
    settings = read_json(VSCODE / "settings.json")
    venv = re.search(r"^VENV\s*\?=\s*(\S+)", (ROOT / "Makefile").read_text(), re.MULTILINE).group(1)
    assert settings["python.defaultInterpreterPath"] == f"{WORKSPACE}/{venv}/bin/python"


def test_pytest_runs_with_the_repository_configuration() -> None:
    settings = read_json(VSCODE / "settings.json")
    assert settings["python.testing.pytestEnabled"] is True
    assert settings["python.testing.unittestEnabled"] is False
    assert settings["python.testing.pytestArgs"] == []  # pyproject.toml's [tool.pytest.ini_options] decide
    assert settings["python.testing.cwd"] == WORKSPACE
    assert settings["jupyter.notebookFileRoot"] == "${fileDirname}"  # the notebooks find ../runs


def test_the_python_debugger_and_jupyter_extensions_are_recommended() -> None:
    recommended = read_json(VSCODE / "extensions.json")["recommendations"]
    assert {"ms-python.python", "ms-python.debugpy", "ms-toolsai.jupyter"} <= set(recommended)


# --- the launch configurations -----------------------------------------------------------

@pytest.mark.parametrize("config", CONFIGURATIONS, ids=lambda c: c.name)
def test_each_configuration_parses_with_the_project_parser(config, capsys) -> None:
    raw = next(c for c in read_json(VSCODE / LAUNCH_FILE)["configurations"] if c["name"] == config.name)
    assert (raw["type"], raw["request"], raw["module"], raw["cwd"], raw["justMyCode"]) == \
        ("debugpy", "launch", MODULE, WORKSPACE, True), config.name
    try:
        args = build_parser().parse_args(list(config.args))
    except SystemExit:
        pytest.fail(f"launch configuration '{config.name}': {capsys.readouterr().err.strip()}")
    if args.command in ("train", "test"):
        spec(args.experiment)  # a LabError names the valid ones
    if args.command in ("lab", "report"):
        load_profile(args.profile)


def _train_configurations() -> dict[str, tuple]:
    configs = {}
    for config in CONFIGURATIONS:
        args = build_parser().parse_args(list(config.args))
        if args.command == "train":
            assert args.experiment not in configs, f"two configurations train {args.experiment}"
            configs[args.experiment] = (config, run_config(args))
    return configs


def test_one_quick_offline_configuration_per_network() -> None:
    configs = _train_configurations()
    assert sorted(configs) == sorted(LAB_EXPERIMENTS)
    for experiment, (config, args) in configs.items():
        assert config.name.startswith(f"train: {LABELS[experiment]}"), config.name
        assert args.dataset == "fake" and args.epochs == 1 and args.image_size <= 64, config.name
        assert args.train_samples <= 128 and args.workers == 0, config.name
        assert args.out == f"runs/vscode/{experiment}" and args.force, f"{config.name}: F5 twice must work"
        assert args.random_weights == spec(experiment).pretrained, config.name
        assert ("random weights" in config.name) == args.random_weights, config.name
    commands = {build_parser().parse_args(list(c.args)).command: c for c in CONFIGURATIONS}
    assert commands["lab"].option("--profile") == commands["report"].option("--profile") == "smoke"


def test_the_report_names_each_configuration_beside_its_model_file(tmp_path: Path) -> None:
    rows = launch_rows(ROOT)
    assert [row[0] for row in rows] == [c.name for c in CONFIGURATIONS]
    configs = _train_configurations()
    for name, command, model_file in rows:
        assert command.startswith(f"python -m {MODULE} ")
        experiment = next((e for e, (c, _) in configs.items() if c.name == name), None)
        if experiment is None:
            assert model_file == "", name
        else:
            assert model_file.startswith("labutils/models/") and (ROOT / model_file).is_file(), name
    assert {r[0]: r[2] for r in rows}["train: GoogLeNet"] == "labutils/models/googlenet.py"
    assert launch_rows(tmp_path) == []


# --- the configurations run as written ---------------------------------------------------

def _run_as_written(config, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m labutils <args>`` as the configuration gives it. The run happens in ``cwd``
    (a temporary folder, so the test leaves the repository's runs/ alone) with the workspace
    importable, as ``cwd: ${workspaceFolder}`` makes it."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", config.module, *config.args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def _check_run(config, cwd: Path) -> None:
    args = build_parser().parse_args(list(config.args))
    result = _run_as_written(config, cwd)
    assert result.returncode == 0, f"{config.name}: {result.stderr[-2000:]}"
    folder = RunFolder(cwd / args.out)
    assert folder.is_complete(), config.name
    written = json.loads(folder.config.read_text())
    for option in ("experiment", "dataset", "image_size", "epochs", "train_samples", "val_samples", "test_samples"):
        assert written[option] == getattr(args, option), f"{config.name}: {option}"


def test_the_alexnet_configuration_runs_as_written(tmp_path: Path) -> None:
    config, _ = _train_configurations()["alexnet"]
    _check_run(config, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("experiment", [e for e in LAB_EXPERIMENTS if e != "alexnet"])
def test_the_other_training_configurations_run_as_written(experiment: str, tmp_path: Path) -> None:
    config, _ = _train_configurations()[experiment]
    _check_run(config, tmp_path)


# --- F5: the debugger stops in train_model ------------------------------------------------

class DebugAdapter:
    """A minimal Debug Adapter Protocol client of debugpy's adapter, as VS Code drives it."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "debugpy.adapter"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.messages: queue.Queue = queue.Queue()
        self.seq = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
        while True:
            headers = {}
            while (line := stream.readline().strip()):
                key, _, value = line.decode().partition(":")
                headers[key.strip().lower()] = value.strip()
            if not headers:  # end of stream
                self.messages.put(None)
                return
            self.messages.put(json.loads(stream.read(int(headers["content-length"]))))

    def request(self, command: str, **arguments) -> None:
        self.seq += 1
        body = json.dumps({"seq": self.seq, "type": "request", "command": command, "arguments": arguments}).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.process.stdin.flush()

    def wait_for(self, kind: str, name: str, timeout: float = 120) -> dict:
        """The next response to ``name`` (kind "response") or event ``name`` (kind "event")."""
        while True:
            message = self.messages.get(timeout=timeout)
            assert message is not None, f"the debug adapter ended before the {kind} {name}"
            if message["type"] == kind and message.get("command" if kind == "response" else "event") == name:
                assert message.get("success", True), message
                return message

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _first_line_of_train_model() -> tuple[Path, int]:
    from labutils import train_module

    path = Path(train_module.__file__)
    function = next(node for node in ast.parse(path.read_text()).body
                    if isinstance(node, ast.FunctionDef) and node.name == "train_model")
    return path, function.body[1].lineno  # body[0] is the docstring


@pytest.mark.slow
def test_f5_stops_at_a_breakpoint_in_train_model_and_the_run_completes(tmp_path: Path) -> None:
    pytest.importorskip("debugpy")
    config, args = _train_configurations()["alexnet"]
    raw = next(c for c in read_json(VSCODE / LAUNCH_FILE)["configurations"] if c["name"] == config.name)
    source, line = _first_line_of_train_model()
    adapter = DebugAdapter()
    try:
        adapter.request("initialize", adapterID="debugpy", clientID="tests", linesStartAt1=True,
                        columnsStartAt1=True, pathFormat="path")
        adapter.wait_for("response", "initialize")
        # launch.json's entry as written, but in a temporary folder and printing to the debug
        # console (VS Code's integrated terminal is not here)
        launch = {**raw, "cwd": str(tmp_path), "console": "internalConsole",
                  "env": {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}}
        adapter.request("launch", **launch)
        adapter.wait_for("event", "initialized")
        adapter.request("setBreakpoints", source={"path": str(source)}, breakpoints=[{"line": line}])
        assert adapter.wait_for("response", "setBreakpoints")["body"]["breakpoints"][0]["verified"]
        adapter.request("configurationDone")
        stopped = adapter.wait_for("event", "stopped")["body"]
        assert stopped["reason"] == "breakpoint"
        adapter.request("stackTrace", threadId=stopped["threadId"], levels=1)
        frame = adapter.wait_for("response", "stackTrace")["body"]["stackFrames"][0]
        assert (frame["name"], Path(frame["source"]["path"]).resolve(), frame["line"]) == \
            ("train_model", source.resolve(), line)
        adapter.request("continue", threadId=stopped["threadId"])
        assert adapter.wait_for("event", "exited", timeout=300)["body"]["exitCode"] == 0
    finally:
        adapter.close()
    assert RunFolder(tmp_path / args.out).is_complete()
