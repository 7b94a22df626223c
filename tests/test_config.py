"""``RunConfig`` is the one home of a run's options: the command line, the profiles, the lab
runner and the training notebook all derive from it, and each shipped profile resolves to
what it says plus RunConfig's defaults, never to a notebook's interactive values."""

from __future__ import annotations

import ast
import json
from dataclasses import fields
from pathlib import Path

import nbformat
import pytest
import yaml
from cli import run_cli

from labutils.cli import build_parser, run_config
from labutils.config import (
    FIELD_NAMES,
    NOT_IN_PROFILE,
    PROFILE_KEYS,
    RunConfig,
    default_of,
    notebook_config,
    split_sizes,
)
from labutils.errors import LabError
from labutils.lab.notebooks import TRAIN_NOTEBOOK
from labutils.lab.profiles import load_profile
from labutils.lab.runner import notebook_parameters
from labutils.models import LAB_EXPERIMENTS, build_model, spec
from labutils.recipe import default_batch_size, recipe_for
from labutils.resolve import resolve
from labutils.runtime.device import pick_device


def parse(*args: str) -> RunConfig:
    return run_config(build_parser().parse_args(list(args)))


def test_the_command_line_defaults_are_runconfigs():
    assert parse("train", "--experiment", "alexnet") == RunConfig(experiment="alexnet")
    assert parse("test", "--experiment", "alexnet", "--checkpoint", "x.pt") == RunConfig(experiment="alexnet")


def test_every_field_is_an_option_of_train():
    """Each field, set to a value other than its default on the command line, lands in the config."""
    values = {"dataset": "fake", "data_root": "d", "image_size": 96, "batch_size": 8, "seed": 3,
              "val_fraction": 0.2, "train_samples": 10, "val_samples": 5, "test_samples": 6, "device": "cpu",
              "workers": 1, "epochs": 2, "lr": 0.5, "warmup_epochs": 0.5, "out": "runs/x", "precision": "bf16",
              "memory_format": "channels_last", "data_placement": "resident", "host_sync_every": 5}
    args = ["train", "--experiment", "googlenet", "--random-weights", "--resume", "--no-progress"]
    for name, value in values.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    config = parse(*args)
    assert config == RunConfig(experiment="googlenet", random_weights=True, resume=True, progress=False, **values)
    assert set(values) | {"experiment", "random_weights", "resume", "progress", "force"} == set(FIELD_NAMES)


def test_help_shows_runconfigs_defaults(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"[{default_of('image_size')}]" in text and f"epochs [{default_of('epochs')}]" in text
    assert f"[{default_of('val_fraction')}]" in text and "[128 on a GPU, 32 on a CPU]" in text


def test_a_config_file_round_trips(tmp_path):
    """What torchrun's processes read: every field, exactly."""
    config = RunConfig(experiment="googlenet", dataset="fake", epochs=2, lr=0.01, train_samples=5, seed=3,
                       force=True, progress=False, random_weights=True, out="runs/x", warmup_epochs=0.25)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config.to_dict()))
    assert parse("train", "--config", str(path)) == config


def test_profile_keys_are_the_fields_a_profile_may_set(tmp_path):
    assert set(PROFILE_KEYS) | set(NOT_IN_PROFILE) == set(FIELD_NAMES)
    assert {"image_size", "epochs", "batch_size", "lr", "warmup_epochs", "train_samples"} <= set(PROFILE_KEYS)
    profile = tmp_path / "p.yaml"
    profile.write_text("dataset: fake\nexperiments: [alexnet]\ndefaults: {out: somewhere}\n")
    with pytest.raises(LabError, match="'out' cannot be set here: the runner writes to"):
        load_profile(str(profile))


@pytest.mark.parametrize("name", ["smoke", "quick", "full"])
def test_shipped_profiles_resolve_to_profile_plus_runconfig_defaults(name, tmp_path):
    profile = load_profile(name)
    device = pick_device(None)
    for experiment, seed in profile.runs():
        config = resolve(profile.config(experiment, seed, tmp_path))
        asked = profile.parameters(experiment, seed)
        for f in fields(RunConfig):
            if f.name in asked:
                assert getattr(config, f.name) == asked[f.name], f.name
            elif f.name not in ("batch_size", "lr", "warmup_epochs", "workers", "out", "data_root"):
                assert getattr(config, f.name) == f.default, f.name
        recipe = recipe_for(experiment, spec(experiment).family, spec(experiment).pretrained)
        assert config.batch_size == asked.get("batch_size", default_batch_size(device))
        assert config.lr == pytest.approx(asked.get("lr", recipe.scaled_lr(config.batch_size)))
        assert config.warmup_epochs == asked.get("warmup_epochs", recipe.warmup_epochs)
        assert config.out == str(tmp_path / profile.name / experiment / f"seed{seed}")
        assert Path(config.data_root).is_absolute()


def test_the_full_profile_trains_all_of_cifar10():
    full = load_profile("full")
    assert full.experiments == LAB_EXPERIMENTS
    for experiment, seed in full.runs():
        config = resolve(full.config(experiment, seed))
        sizes = split_sizes(config.dataset, config.val_fraction, config.train_samples, config.val_samples,
                            config.test_samples)
        assert (config.dataset, sizes) == ("cifar10", (45_000, 5_000, 10_000))
        assert (config.image_size, config.epochs) == (224, 10)
        assert config.batch_size == default_batch_size(pick_device(None))


NOTEBOOK_KNOBS = {"experiment", "dataset", "epochs", "image_size", "train_samples", "val_samples", "test_samples",
                  "batch_size", "lr", "seed", "force"}
MAX_PARAMETER_LINES = 12


def test_the_notebook_shows_a_students_knobs_and_the_runner_hands_over_the_whole_run():
    cell = next(c for c in nbformat.read(TRAIN_NOTEBOOK, as_version=4).cells
                if "parameters" in c.metadata.get("tags", []))
    assert len(cell.source.strip().splitlines()) <= MAX_PARAMETER_LINES
    assigned = set()
    for node in ast.parse(cell.source).body:
        for target in node.targets:
            assigned |= {t.id for t in getattr(target, "elts", [target])}
    assert assigned == NOTEBOOK_KNOBS | {"run_config", "nproc_per_node"}
    assert NOTEBOOK_KNOBS <= set(FIELD_NAMES)
    config = resolve(load_profile("full").config("googlenet", 0))
    passed = notebook_parameters(config, force=False, nproc_per_node=1)
    assert set(passed) == {"run_config", "nproc_per_node"} and set(passed) <= assigned
    assert passed["run_config"] == {**config.to_dict(), "resume": False, "force": False}
    assert notebook_config(passed["run_config"], experiment="alexnet", epochs=99) == config


@pytest.mark.parametrize("values, message", [
    ({"seed": 2**40}, "seed must lie between 0 and"),
    ({"seed": -1}, "seed must lie between 0 and"),
    ({"image_size": 100_000}, "image size 100000 is too large"),
    ({"device": "tpu"}, "unknown device 'tpu'"),
    ({"warmup_epochs": 0.0}, "warmup epochs must be a positive number"),
    ({"lr": float("inf")}, "lr must be a positive number"),
])
def test_values_are_checked_where_they_enter(values, message, tmp_path):
    with pytest.raises(LabError, match=message):
        RunConfig.from_dict({"experiment": "alexnet", **values})
    profile = tmp_path / "p.yaml"
    seeds = {"seeds": [values.pop("seed")]} if "seed" in values else {}
    profile.write_text(yaml.safe_dump({"dataset": "fake", "experiments": ["alexnet"], "defaults": values, **seeds}))
    with pytest.raises(LabError, match=message):
        load_profile(str(profile))


def test_a_profile_that_is_not_utf8_is_one_line(tmp_path):
    profile = tmp_path / "p.yaml"
    profile.write_bytes(b"dataset: fake\nexperiments: [alexnet]\ndescription: \xff\xfe caf\xe9\n")
    with pytest.raises(LabError, match="is not UTF-8 text"):
        load_profile(str(profile))


def test_dry_run_prints_the_resolved_full_profile_and_trains_nothing(tmp_path):
    result = run_cli("lab", "--profile", "full", "--dry-run", "--runs", str(tmp_path / "runs"), timeout=300)
    assert result.returncode == 0, result.stderr
    batch = default_batch_size(pick_device(None))
    for experiment in LAB_EXPERIMENTS:
        line = next(line for line in result.stdout.splitlines() if line.startswith(f"{experiment} seed 0 "))
        assert "45,000 / 5,000 / 10,000" in line and "224px" in line and f" {batch} " in line
        assert str(tmp_path / "runs" / "full" / experiment / "seed0") in line
    assert "nothing trained" in result.stdout
    assert not (tmp_path / "runs").exists()


def test_the_quick_profile_fits_every_network_and_tunes_only_the_runs_from_scratch():
    quick = load_profile("quick")
    for experiment, seed in quick.runs():
        config = resolve(quick.config(experiment, seed))
        model = build_model(experiment, num_classes=10, random_weights=True)
        assert config.image_size >= model.min_image_size, experiment  # GoogLeNet's side classifiers
        if spec(experiment).pretrained:  # cannot be checked offline: the published recipe, unchanged
            recipe = recipe_for(experiment, spec(experiment).family, True)
            assert (config.lr, config.warmup_epochs) == (recipe.scaled_lr(config.batch_size), recipe.warmup_epochs)
