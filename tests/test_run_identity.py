"""No result is used that the command did not ask for: a run is identified by what defines it.

From the user's side: a profile value changed after its run was made shows as stale in ``lab``
and ``lab --dry-run`` and is retrained only when asked; ``--resume`` on other images is refused;
options given with ``--config FILE`` are applied and recorded; two labs on one profile: the
second stops at once and the first completes.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli import run_cli, start_cli
from PIL import Image

from labutils.run_folder import RunFolder
from labutils.run_folder.identity import DATA_KEY, differences

TINY = {"image_size": 64, "epochs": 1, "batch_size": 16, "train_samples": 32, "val_samples": 16, "test_samples": 16}
TRAIN = ["--dataset", "fake", "--image-size", "64", "--batch-size", "16", "--train-samples", "32",
         "--val-samples", "16", "--test-samples", "16", "--no-progress"]


def write_profile(path: Path, **changes) -> Path:
    defaults = {**TINY, **changes}
    path.write_text("dataset: fake\nexperiments: [alexnet]\ndefaults: "
                    + json.dumps(defaults).replace('"', "") + "\n")
    return path


def test_what_the_command_leaves_to_the_machine_matches_any_recorded_value() -> None:
    recorded = {"experiment": "alexnet", "epochs": 1, "batch_size": 128, "lr": 0.01, "precision": "bf16",
                DATA_KEY: "fake"}
    assert differences(recorded, {**recorded, "batch_size": None, "lr": None, "precision": "auto"}) == []
    assert differences(recorded, {**recorded, "epochs": 2}) == ["epochs 1 -> 2"]
    assert differences(recorded, {**recorded, DATA_KEY: "imagefolder:0123"}) == ["data fingerprint other images"]
    assert differences({"epochs": 1}, {"epochs": 1, "seed": 3}) == []  # an older run folder lacks the key


@pytest.mark.slow
def test_a_changed_profile_value_is_stale_in_lab_and_dry_run_and_retrained_only_when_asked(tmp_path: Path) -> None:
    runs, report = tmp_path / "runs", tmp_path / "report"
    run = RunFolder(runs / "tiny" / "alexnet" / "seed0")
    made = run_cli("train", "--experiment", "alexnet", *TRAIN, "--epochs", "1", "--out", str(run.path))
    assert made.returncode == 0, made.stderr
    profile = write_profile(tmp_path / "tiny.yaml")
    same = run_cli("lab", "--profile", str(profile), "--runs", str(runs), "--dry-run")
    assert same.returncode == 0 and row(same.stdout).endswith("  complete"), same.stdout

    write_profile(profile, epochs=2)
    dry = run_cli("lab", "--profile", str(profile), "--runs", str(runs), "--dry-run")
    assert dry.returncode == 0 and row(dry.stdout).endswith("stale: epochs 1 -> 2"), dry.stdout
    refused = run_cli("lab", "--profile", str(profile), "--runs", str(runs), "--report-dir", str(report))
    assert refused.returncode == 2 and "epochs 1 -> 2" in refused.stderr and "--retrain-stale" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
    assert run.read_metrics()["epochs"] == 1 and not (report / "report.html").exists()

    retrained = run_cli("lab", "--profile", str(profile), "--runs", str(runs), "--report-dir", str(report),
                        "--retrain-stale")
    assert retrained.returncode == 0, retrained.stderr[-2000:]
    assert run.is_complete() and run.read_metrics()["epochs"] == 2
    assert json.loads(run.config.read_text())["epochs"] == 2 and len(run.read_history()) == 2


def row(dry_run: str) -> str:
    """The dry run's line for alexnet seed 0."""
    return next(line.rstrip() for line in dry_run.splitlines() if line.startswith("alexnet seed 0"))


def image_folder(root: Path, shade: int) -> Path:
    """Two classes of 12 training and 4 test images, 32x32: a tiny image folder."""
    for part, count in (("train", 12), ("test", 4)):
        for label, colour in (("red", (shade, 0, 0)), ("blue", (0, 0, shade))):
            folder = root / part / label
            folder.mkdir(parents=True)
            for i in range(count):
                Image.new("RGB", (32 + i % 2, 32), colour).save(folder / f"{i}.png")
    return root


@pytest.mark.slow
def test_resume_on_other_images_is_refused_and_on_the_same_ones_continues(tmp_path: Path) -> None:
    first, other = image_folder(tmp_path / "a", 200), image_folder(tmp_path / "b", 90)
    out = tmp_path / "run"
    args = ["train", "--experiment", "alexnet", "--dataset", "imagefolder", "--image-size", "64", "--epochs", "3",
            "--batch-size", "4", "--no-progress", "--out", str(out)]
    proc = start_cli(*args, "--data-root", str(first))
    for line in proc.stdout:
        if line.startswith("epoch 1/3"):
            proc.send_signal(signal.SIGINT)
            break
    assert proc.wait(timeout=300) == 130 and RunFolder(out).last.exists()
    refused = run_cli(*args, "--data-root", str(other), "--resume")
    assert refused.returncode == 2 and "other images" in refused.stderr, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and RunFolder(out).last.exists()
    resumed = run_cli(*args, "--data-root", str(first), "--resume")
    assert resumed.returncode == 0 and RunFolder(out).is_complete(), resumed.stderr


def test_options_given_with_a_config_file_are_applied_and_recorded(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"experiment": "alexnet", "dataset": "fake", **TINY}))
    out = tmp_path / "run"
    result = run_cli("train", "--config", str(config), "--epochs", "2", "--seed", "3", "--no-progress",
                     "--out", str(out))
    assert result.returncode == 0, result.stderr
    recorded = json.loads((out / "config.json").read_text())
    assert (recorded["epochs"], recorded["seed"], recorded["train_samples"]) == (2, 3, 32)
    assert len(RunFolder(out).read_history()) == 2


@pytest.mark.slow
def test_two_labs_on_one_profile_the_second_stops_at_once_the_first_completes(tmp_path: Path) -> None:
    profile, runs = write_profile(tmp_path / "tiny.yaml"), tmp_path / "runs"
    common = ["lab", "--profile", str(profile), "--runs", str(runs), "--report-dir", str(tmp_path / "report")]
    first = start_cli(*common)
    lock = runs / "tiny" / ".lock"
    deadline = time.monotonic() + 120
    while not (lock.exists() and lock.read_text().strip() == str(first.pid)):
        assert time.monotonic() < deadline and first.poll() is None, "the first lab never took its profile"
        time.sleep(0.05)
    started = time.monotonic()
    second = run_cli(*common)
    assert time.monotonic() - started < 60
    assert second.returncode == 2 and f"in use by process {first.pid}" in second.stderr, second.stderr
    assert len(second.stderr.strip().splitlines()) == 1
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err[-2000:]
    run = RunFolder(runs / "tiny" / "alexnet" / "seed0")
    assert run.is_complete() and (tmp_path / "report" / "report.html").exists()


def test_a_lock_holds_when_its_file_is_deleted(tmp_path: Path) -> None:
    from labutils.run_folder.lock import LOCK_NAME, lock_folder, release_folder

    folder = tmp_path / "run"
    lock_folder(folder)
    try:
        (folder / LOCK_NAME).unlink()
        other = subprocess.run([sys.executable, "-c", "import sys; from labutils.run_folder.lock import lock_folder; "
                                f"lock_folder({str(folder)!r})"], capture_output=True, text=True, timeout=120,
                               check=False)
        assert other.returncode != 0 and "FolderInUseError" in other.stderr and "in use by" in other.stderr
    finally:
        release_folder(folder)


def test_image_folders_of_the_same_names_and_sizes_but_other_pixels_are_other_data(tmp_path: Path) -> None:
    from labutils.data import fingerprint

    first, other = image_folder(tmp_path / "a", 200), image_folder(tmp_path / "b", 90)
    for a in sorted(first.rglob("*.png")):  # the same names and byte sizes, other pixels
        b = other / a.relative_to(first)
        data = bytearray(a.read_bytes())
        data[-20] ^= 0xFF
        b.write_bytes(bytes(data))
        assert b.stat().st_size == a.stat().st_size
    assert fingerprint("imagefolder", first) != fingerprint("imagefolder", other)
    assert fingerprint("imagefolder", first) == fingerprint("imagefolder", first)


def test_resume_keeps_a_users_own_file_of_a_lab_name(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "history.csv").write_text("my,own\n1,2\n")
    result = run_cli("train", "--experiment", "alexnet", *TRAIN, "--epochs", "1", "--out", str(out), "--resume")
    assert result.returncode == 2 and "history.csv" in result.stderr and "did not write" in result.stderr
    assert (out / "history.csv").read_text() == "my,own\n1,2\n"
