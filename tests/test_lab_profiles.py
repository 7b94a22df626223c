"""Lab profiles (lab/profiles.py, lab/profile_yaml.py): the shipped ones, and every mistake in one
line, from the command line too."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli import run_cli

from labutils.errors import LabError
from labutils.lab.profiles import PROFILE_DIR, load_profile
from labutils.models import LAB_EXPERIMENTS


def test_profiles_load_and_cover_the_lab() -> None:
    for name in ("smoke", "quick", "full"):
        profile = load_profile(name)
        assert profile.experiments == LAB_EXPERIMENTS
        assert profile.seeds == (0,)
    full = load_profile("full")
    assert full.dataset == "cifar10" and full.defaults["image_size"] == 224 and full.defaults["epochs"] == 10
    smoke = load_profile("smoke")
    assert smoke.dataset == "fake" and smoke.parameters("googlenet_pretrained", 0)["random_weights"] is True


def test_an_unknown_profile_name_is_one_line() -> None:
    with pytest.raises(LabError, match=r"unknown profile 'ful' \(did you mean 'full'\?\); choose one of: full, "):
        load_profile("ful")


PROFILE_MISTAKES = {  # a profile's YAML -> what the one line says
    "unknown key": ("dataset: fake\nexperiments: [alexnet]\ndefaults: {epoch: 2}\n",
                    r"unknown key 'epoch' \(did you mean 'epochs'\?\)"),
    "not in a profile": ("dataset: fake\nexperiments: [alexnet]\ndefaults: {out: x}\n", "'out' cannot be set here"),
    "bad value": ("dataset: fake\nexperiments: [alexnet]\ndefaults: {image_size: -1}\n",
                  "alexnet: image size must be a positive number"),
    "unknown experiment": ("dataset: fake\nexperiments: [googlnet]\n", "did you mean 'googlenet'"),
    "key written twice": (("dataset: fake\nexperiments: [alexnet]\ndefaults:\n  epochs: 2\n  image_size: 64\n"
                           "  epochs: 5\n"),
                          r"mine.yaml is not valid YAML: .*the key 'epochs' appears twice \(lines 4 and 6\)"),
    "top-level key twice": ("dataset: fake\nexperiments: [alexnet]\ndataset: cifar10\n",
                            "the key 'dataset' appears twice"),
    "description not text": ("description: {a: 1}\ndataset: fake\nexperiments: [alexnet]\n",
                             "'description' must be text"),
}


@pytest.mark.parametrize("mistake", PROFILE_MISTAKES)
def test_profile_mistakes_are_one_line(tmp_path: Path, mistake: str) -> None:
    text, message = PROFILE_MISTAKES[mistake]
    profile = tmp_path / "mine.yaml"
    profile.write_text(text)
    with pytest.raises(LabError, match=message):
        load_profile(str(profile))


def test_profile_description_is_text(tmp_path: Path) -> None:
    profile = tmp_path / "described.yaml"
    profile.write_text("description:\n  - Two lines,\n  - one sentence.\ndataset: fake\nexperiments: [alexnet]\n")
    assert load_profile(str(profile)).description == "Two lines, one sentence."


def test_unknown_profile_exits_2_with_one_line() -> None:
    result = run_cli("lab", "--profile", "smok")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "did you mean 'smoke'" in result.stderr


def test_the_command_line_narrows_a_profile_and_sets_any_key(tmp_path: Path) -> None:
    result = run_cli("lab", "--profile", "quick", "--experiments", "alexnet", "--set", "epochs=1",
                     "--set", "train_samples=64", "--runs", str(tmp_path / "runs"), "--dry-run")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if " seed " in line]
    assert len(rows) == 1 and rows[0][:3] == ["alexnet", "seed", "0"], result.stdout
    assert "64 / 1,000 / 1,000" in result.stdout and rows[0][9:11] == ["64px", "1"], result.stdout  # counts; size, epochs


def test_a_copied_profile_without_some_experiments_keeps_working_and_notes_their_overrides(tmp_path: Path) -> None:
    text = (PROFILE_DIR / "quick.yaml").read_text().replace(
        "experiments: [alexnet, alexnet_lrn, googlenet, alexnet_pretrained, googlenet_pretrained]",
        "experiments: [alexnet, alexnet_lrn, googlenet]")
    assert "experiments: [alexnet, alexnet_lrn, googlenet]\n" in text
    mine = tmp_path / "mine.yaml"
    mine.write_text(text)
    result = run_cli("lab", "--profile", str(mine), "--runs", str(tmp_path / "runs"), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "note: the overrides of alexnet_pretrained are not used" in result.stdout
    assert len([line for line in result.stdout.splitlines() if " seed 0 " in line]) == 3


@pytest.mark.parametrize("setting, message", [("epochz=3", "unknown key 'epochz' (did you mean 'epochs'?)"),
                                              ("epochs=0", "epochs must be a positive number"),
                                              ("out=x", "--set out:")])
def test_a_bad_set_is_one_line(setting: str, message: str) -> None:
    result = run_cli("lab", "--profile", "smoke", "--set", setting, "--dry-run")
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
