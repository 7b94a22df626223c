"""Lab profiles: which experiments ``python -m labutils lab`` runs, and with which parameters.

A profile is a YAML file in ``notebooks/profiles/``::

    description: what the profile is for, and how long it takes
    dataset: cifar10            # or fake, imagefolder
    seeds: [0]                  # one run per experiment and seed
    experiments: [alexnet, googlenet, ...]
    defaults: {image_size: 224, epochs: 10, ...}     # RunConfig fields, for every experiment
    overrides: {googlenet: {batch_size: 64}}         # optional, per experiment

A field the profile leaves out takes ``RunConfig``'s default (``config.py``), never anything
else: ``Profile.config`` gives a run's options (``lab/plan.py`` resolves them against the machine),
and that is what the lab runner passes on. The command line may narrow a profile to some of its
experiments and set any key for every run (``Profile.narrowed``). Every (experiment, seed) pair
is checked with ``RunConfig.from_dict`` when the profile is loaded, so a typo fails before the
first experiment trains, not after the third.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from ..catalog import EXPERIMENTS
from ..config import NOT_IN_PROFILE, PROFILE_KEYS, RunConfig, run_dir, split_sizes
from ..errors import LabError, did_you_mean, flat, quoted
from .notebooks import NOTEBOOK_DIR
from .profile_yaml import NestedTooDeep, description_text, load_unique_keys

PROFILE_DIR = NOTEBOOK_DIR / "profiles"
TOP_LEVEL_KEYS = ("description", "dataset", "seeds", "experiments", "defaults", "overrides")
MAX_PROFILE_BYTES = 1_000_000  # the shipped profiles are a few hundred bytes


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
    forced: dict[str, Any] = field(default_factory=dict)  # the command line's --set: over everything else
    notes: tuple[str, ...] = ()  # what was read but left aside, said once by the lab

    def runs(self) -> list[tuple[str, int]]:
        """(experiment, seed) pairs in the order the lab runs them: all experiments of seed 0 first."""
        return [(experiment, seed) for seed in self.seeds for experiment in self.experiments]

    def parameters(self, experiment: str, seed: int) -> dict[str, Any]:
        """The RunConfig fields this profile sets for one run (the rest take RunConfig's defaults)."""
        return {"experiment": experiment, "seed": seed, "dataset": self.dataset,
                **self.defaults, **self.overrides.get(experiment, {}), **self.forced}

    def config(self, experiment: str, seed: int, runs: str | Path = "runs") -> RunConfig:
        """One run's options: profile, overrides, the command line's --set, RunConfig's defaults;
        its folder under ``runs`` and an absolute data root (the machine's defaults still None)."""
        config = RunConfig.from_dict(self.parameters(experiment, seed))
        config.out = str(self.run_dir(runs, experiment, seed))
        config.data_root = str(self._data_root(config.data_root))
        return config

    def narrowed(self, experiments: tuple[str, ...] | None = None, settings: dict[str, str] | None = None) -> Profile:
        """This profile for the command line's ``--experiments A,B`` and ``--set KEY=VALUE``: some of its
        experiments only, and keys set for every run (each value read as YAML: 3, 0.01, null, true)."""
        profile = self
        if experiments:
            unknown = [e for e in experiments if e not in self.experiments]
            if unknown:
                raise LabError(f"--experiments: profile '{self.name}' has no {', '.join(unknown)}; "
                               f"its experiments: {', '.join(self.experiments)}")
            profile = replace(profile, experiments=tuple(e for e in self.experiments if e in experiments))
        forced = {}
        for key, text in (settings or {}).items():
            value = _setting(key, text)
            if key == "dataset":
                profile = replace(profile, dataset=value)
            elif key == "seeds":
                profile = replace(profile, seeds=_seeds(value, "--set seeds"))
            else:
                forced[key] = value
        profile = replace(profile, forced=forced)
        _check_runs(profile, "--set" if forced else f"profile {self.path.name}")
        return profile

    def run_dir(self, runs: str | Path, experiment: str, seed: int) -> Path:
        return run_dir(runs, self.name, experiment, seed)

    def _data_root(self, data_root: str) -> Path:
        """Relative data roots are taken from where the lab is started (the repository root)."""
        try:
            return Path(data_root).expanduser().resolve()
        except (OSError, RuntimeError) as error:  # RuntimeError: a symbolic link loop (Python 3.11)
            reason = getattr(error, "strerror", None) or "a symbolic link loop"
            raise LabError(f"profile {self.path.name}: data_root {quoted(data_root, 200)} cannot be followed "
                           f"({reason}): give a folder that exists, or one to create") from None


def profile_names(directory: Path = PROFILE_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.yaml"))


def profile_path(name: str | Path, directory: Path = PROFILE_DIR) -> Path:
    """The YAML file of profile ``name``: a shipped profile's name, or a path to a .yaml file."""
    name = str(name)
    if name.endswith((".yaml", ".yml")) or "/" in name:
        path = Path(name).expanduser()
        if path.exists() and not path.is_file():  # a folder, or a named pipe that reading would wait on
            raise LabError(f"profile {path} is not a file: give a path to a .yaml file")
        if not path.is_file():
            raise LabError(f"profile file {path} does not exist; give a path to a .yaml file, or one of: "
                           f"{', '.join(profile_names(directory))}")
        return path
    path = directory / f"{name}.yaml"
    if not path.is_file():
        valid = profile_names(directory)
        raise LabError(f"unknown profile {quoted(name)}{did_you_mean(name, valid)}; choose one of: "
                       f"{', '.join(valid)} (or a .yaml file; profiles live in {directory})")
    return path


def load_profile(name: str, directory: Path = PROFILE_DIR) -> Profile:
    """Read and check a profile; raise ``LabError`` with one line naming the first problem."""
    path = profile_path(name, directory)
    raw = _read_yaml(path)
    where = f"profile {path.name}"
    if not isinstance(raw, dict):
        raise LabError(f"{where} must be a mapping with the keys {', '.join(TOP_LEVEL_KEYS)}")
    _check_keys(raw, TOP_LEVEL_KEYS, where)
    for key in ("dataset", "experiments"):
        if key not in raw:
            raise LabError(f"{where} lacks '{key}'")

    seeds = _seeds(raw.get("seeds", [0]), f"{where}: 'seeds'")

    experiments = raw["experiments"]
    if not isinstance(experiments, list) or not experiments or not all(isinstance(e, str) for e in experiments):
        raise LabError(f"{where}: 'experiments' must be a non-empty list of names, e.g. [{', '.join(EXPERIMENTS)}], "
                       f"got {quoted(experiments)}")
    for experiment in experiments:
        if experiment not in EXPERIMENTS:
            raise LabError(f"{where}: unknown experiment {quoted(experiment)}"
                           f"{did_you_mean(experiment, EXPERIMENTS)}; choose from: {', '.join(EXPERIMENTS)}")
    if len(set(experiments)) != len(experiments):
        raise LabError(f"{where}: 'experiments' lists an experiment twice")

    defaults = _mapping(raw.get("defaults"), f"{where}: 'defaults'")
    _check_keys(defaults, PROFILE_KEYS, f"{where}: 'defaults'")
    overrides = _mapping(raw.get("overrides"), f"{where}: 'overrides'")
    notes = []
    for experiment, values in overrides.items():
        if experiment not in EXPERIMENTS:
            raise LabError(f"{where}: 'overrides' names an unknown experiment {quoted(experiment)}"
                           f"{did_you_mean(experiment, EXPERIMENTS)}; choose from: {', '.join(EXPERIMENTS)}")
        _check_keys(_mapping(values, f"{where}: overrides of {experiment}"), PROFILE_KEYS,
                    f"{where}: overrides of {experiment}")
        if experiment not in experiments:
            notes.append(f"the overrides of {experiment} are not used: it is not in the profile's experiments")

    profile = Profile(
        name=path.stem, description=description_text(raw.get("description"), where),
        dataset=raw["dataset"], seeds=seeds, experiments=tuple(experiments),
        defaults=defaults, overrides={k: dict(v or {}) for k, v in overrides.items() if k in experiments}, path=path,
        notes=tuple(notes),
    )
    _check_runs(profile, where)
    return profile


def _check_runs(profile: Profile, where: str) -> None:
    """Every run of ``profile`` through RunConfig's checks; ``LabError`` naming the first bad one."""
    for experiment, seed in profile.runs():
        try:
            config = RunConfig.from_dict(profile.parameters(experiment, seed))
            split_sizes(config.dataset, config.val_fraction)  # a split left empty is told now, not at its run
        except LabError as error:
            raise LabError(f"{where}, {experiment}: {error}") from None


def _seeds(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value or not all(type(s) is int for s in value):
        raise LabError(f"{where} must be a list of whole numbers, e.g. [0, 1, 2], got {quoted(value)}")
    if len(set(value)) != len(value):
        raise LabError(f"{where} lists a seed twice: {quoted(value)}")
    return tuple(value)


def _setting(key: str, text: str) -> Any:
    """One ``--set KEY=VALUE``: a profile key, its value read as YAML."""
    valid = [*PROFILE_KEYS, "dataset", "seeds"]
    if key not in valid:
        if key in NOT_IN_PROFILE:
            raise LabError(f"--set {key}: {NOT_IN_PROFILE[key]}")
        raise LabError(f"--set: unknown key '{key[:60]}'{did_you_mean(key, valid)}; valid keys: {', '.join(valid)}")
    try:
        return yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        return text


def _read_yaml(path: Path) -> Any:
    """The YAML in a profile file; ``LabError`` for a file too large, not UTF-8 or not valid YAML."""
    try:
        size = path.stat().st_size
        if size > MAX_PROFILE_BYTES:
            raise LabError(f"{path} is {size:,} bytes: a profile is a short YAML file (at most "
                           f"{MAX_PROFILE_BYTES:,} bytes); pass the right file")
        return load_unique_keys(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise LabError(f"{path} is not UTF-8 text: save the profile as plain UTF-8 YAML") from None
    except OSError as error:
        raise LabError(f"cannot read {path} ({error.strerror or error})") from None
    except NestedTooDeep as error:
        raise LabError(f"{path}: {error}") from None
    except (yaml.YAMLError, ValueError, RecursionError) as error:  # ValueError: an integer of 4,300+ digits
        raise LabError(f"{path} is not valid YAML: {flat(str(error))}") from None


def _mapping(value: Any, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise LabError(f"{what} must be a mapping (key: value lines), got {quoted(value)}")
    return dict(value)


def _check_keys(values: dict, valid: list[str] | tuple[str, ...], where: str) -> None:
    for key in values:
        if key not in valid:
            if key in NOT_IN_PROFILE:
                raise LabError(f"{where}: '{key}' cannot be set here: {NOT_IN_PROFILE[key]}")
            raise LabError(f"{where}: unknown key {quoted(key)}{did_you_mean(key, valid)}; "
                           f"valid keys: {', '.join(valid)}")
