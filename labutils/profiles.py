"""Lab profiles: which experiments ``python -m labutils lab`` runs, and with which parameters.

A profile is a YAML file in ``notebooks/profiles/``::

    description: what the profile is for, and how long it takes
    dataset: cifar10            # or fake, imagefolder
    seeds: [0]                  # one run per experiment and seed
    experiments: [alexnet, googlenet, ...]
    defaults: {image_size: 224, epochs: 10, ...}     # RunConfig fields, for every experiment
    overrides: {googlenet: {batch_size: 64}}         # optional, per experiment

Every (experiment, seed) pair is checked with ``RunConfig.from_dict`` when the profile is
loaded, so a typo fails before the first experiment trains, not after the third.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from .errors import LabError
from .profile_yaml import description_text, load_unique_keys

PROFILE_DIR = Path(__file__).resolve().parent.parent / "notebooks" / "profiles"
PROFILE_KEYS = ("description", "dataset", "seeds", "experiments", "defaults", "overrides")
# RunConfig fields that a profile's defaults may not set, and where they come from instead.
RUNNER_KEYS = {
    "experiment": "list experiments under 'experiments'",
    "seed": "list seeds under 'seeds'",
    "dataset": "set it at the top level of the profile",
    "out": "the runner writes to <runs>/<profile>/<experiment>/seed<k>",
    "resume": "the runner resumes unfinished runs by itself",
    "force": "pass --force to the lab command",
}


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    dataset: str
    seeds: tuple[int, ...]
    experiments: tuple[str, ...]
    defaults: dict[str, Any]
    overrides: dict[str, dict[str, Any]]
    path: Path

    def runs(self) -> list[tuple[str, int]]:
        """(experiment, seed) pairs in the order the lab runs them: all experiments of seed 0 first."""
        return [(experiment, seed) for seed in self.seeds for experiment in self.experiments]

    def parameters(self, experiment: str, seed: int) -> dict[str, Any]:
        """The RunConfig fields of one run (without ``out``, ``resume`` and ``force``)."""
        return {"experiment": experiment, "seed": seed, "dataset": self.dataset,
                **self.defaults, **self.overrides.get(experiment, {})}

    def run_dir(self, runs: str | Path, experiment: str, seed: int) -> Path:
        return Path(runs) / self.name / experiment / f"seed{seed}"


def profile_names(directory: Path = PROFILE_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.yaml"))


def profile_path(name: str, directory: Path = PROFILE_DIR) -> Path:
    """The YAML file of profile ``name`` (or ``name`` itself when it is a path to a .yaml file)."""
    if name.endswith((".yaml", ".yml")) and Path(name).is_file():
        return Path(name)
    path = directory / f"{name}.yaml"
    if not path.is_file():
        valid = profile_names(directory)
        close = difflib.get_close_matches(name, valid, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise LabError(f"unknown profile '{name}'{hint}; choose one of: {', '.join(valid)} "
                       f"(or a .yaml file; profiles live in {directory})")
    return path


def load_profile(name: str, directory: Path = PROFILE_DIR) -> Profile:
    """Read and check a profile; raise ``LabError`` with one line naming the first problem."""
    from .experiment import RunConfig
    from .models import EXPERIMENTS

    path = profile_path(name, directory)
    try:
        raw = load_unique_keys(path.read_text())
    except yaml.YAMLError as error:
        raise LabError(f"{path} is not valid YAML: {' '.join(str(error).split())}") from error
    where = f"profile {path.name}"
    if not isinstance(raw, dict):
        raise LabError(f"{where} must be a mapping with the keys {', '.join(PROFILE_KEYS)}")
    _check_keys(raw, PROFILE_KEYS, where)
    for key in ("dataset", "experiments"):
        if key not in raw:
            raise LabError(f"{where} lacks '{key}'")

    seeds = raw.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(type(s) is int for s in seeds):
        raise LabError(f"{where}: 'seeds' must be a list of whole numbers, e.g. [0, 1, 2], got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise LabError(f"{where}: 'seeds' lists a seed twice: {seeds}")

    experiments = raw["experiments"]
    if not isinstance(experiments, list) or not experiments:
        raise LabError(f"{where}: 'experiments' must be a non-empty list, e.g. [{', '.join(EXPERIMENTS)}]")
    for experiment in experiments:
        if experiment not in EXPERIMENTS:
            close = difflib.get_close_matches(str(experiment), list(EXPERIMENTS), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise LabError(f"{where}: unknown experiment '{experiment}'{hint}; "
                           f"choose from: {', '.join(EXPERIMENTS)}")
    if len(set(experiments)) != len(experiments):
        raise LabError(f"{where}: 'experiments' lists an experiment twice")

    config_keys = [f.name for f in fields(RunConfig) if f.name not in RUNNER_KEYS]
    defaults = _mapping(raw.get("defaults"), f"{where}: 'defaults'")
    _check_keys(defaults, config_keys, f"{where}: 'defaults'")
    overrides = _mapping(raw.get("overrides"), f"{where}: 'overrides'")
    for experiment, values in overrides.items():
        if experiment not in experiments:
            raise LabError(f"{where}: 'overrides' names '{experiment}', which is not in 'experiments'")
        _check_keys(_mapping(values, f"{where}: overrides of {experiment}"), config_keys,
                    f"{where}: overrides of {experiment}")

    profile = Profile(
        name=path.stem, description=description_text(raw.get("description"), where),
        dataset=raw["dataset"], seeds=tuple(seeds), experiments=tuple(experiments),
        defaults=defaults, overrides={k: dict(v or {}) for k, v in overrides.items()}, path=path,
    )
    for experiment, seed in profile.runs():
        try:
            RunConfig.from_dict(profile.parameters(experiment, seed))
        except LabError as error:
            raise LabError(f"{where}, {experiment}: {error}") from None
    return profile


def _mapping(value: Any, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise LabError(f"{what} must be a mapping (key: value lines), got {value!r}")
    return dict(value)


def _check_keys(values: dict, valid: list[str] | tuple[str, ...], where: str) -> None:
    for key in values:
        if key not in valid:
            close = difflib.get_close_matches(str(key), list(valid), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            if key in RUNNER_KEYS:
                raise LabError(f"{where}: '{key}' cannot be set here: {RUNNER_KEYS[key]}")
            raise LabError(f"{where}: unknown key '{key}'{hint}; valid keys: {', '.join(valid)}")
