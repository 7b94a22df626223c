"""The speed benchmark: it runs, and bench.json holds every figure (no timing assertions)."""

import json
import math

import pytest
import torch

from labutils.__main__ import main
from labutils.bench.estimate import full_profile_estimate, read_full_profile
from labutils.bench.report import format_report
from labutils.bench.settings import QUICK_MODELS, BenchSettings
from labutils.bench.timing import PremadeBatches, TimedBatches
from labutils.cli import build_parser
from labutils.flops import forward_flops, gpu_peak, training_flops
from labutils.models import LAB_EXPERIMENTS
from labutils.recipe import default_batch_size
from labutils.runtime.device import pick_device


def test_timed_batches_time_only_the_batches_after_warmup():
    batches = [(torch.zeros(3, 1), torch.zeros(3))] * 2
    timed = TimedBatches(PremadeBatches(batches, 5), warmup=2, device=torch.device("cpu"))
    assert len(timed) == 5
    assert sum(1 for _ in timed) == 5
    assert timed.images == 3 * 3 and timed.seconds > 0 and timed.images_per_s > 0


def test_forward_flops_match_the_known_alexnet_cost():
    # torchvision's AlexNet layout costs 0.714 GMACs at 224x224 = 1.43 GFLOPs (2 per multiply-add).
    forward = forward_flops("alexnet", 224)
    assert forward == pytest.approx(1.42e9, rel=0.01)
    assert 2.5 * forward < training_flops("alexnet", 224) < 3 * forward


def test_gpu_peak_names_the_figure_used():
    assert gpu_peak("NVIDIA H100 80GB HBM3")[0] == 989
    assert gpu_peak("NVIDIA H100 PCIe")[0] == 756
    assert gpu_peak("NVIDIA A100-SXM4-80GB")[0] == 312
    assert gpu_peak("NVIDIA L40S")[0] == 362 and gpu_peak("NVIDIA L4")[0] == 121
    peak, source = gpu_peak("Some Future GPU")
    assert peak is None and "unknown peak" in source


def test_full_profile_estimate_adds_epochs_validation_and_test(tmp_path):
    profile = read_full_profile(str(tmp_path / "missing.yaml"))  # unreadable: the lab's defaults
    assert "defaults" in profile["source"] and list(profile["experiments"]) == list(LAB_EXPERIMENTS)
    lab_batch = default_batch_size(pick_device(None))  # what the lab resolves on this machine
    assert profile["experiments"]["alexnet"] == {"epochs": 10, "image_size": 224, "batch_size": lab_batch,
                                                 "train_images": 45_000, "val_images": 5_000, "test_images": 10_000}
    results = {"alexnet": {"ours": {"images_per_s": 1000.0}, "eval_images_per_s": 5000.0}}
    estimate = full_profile_estimate(profile, results)
    assert estimate["seconds"]["alexnet"] == pytest.approx(10 * (45.0 + 1.0) + 2.0)
    assert "googlenet" in estimate["not_measured"] and estimate["total_s"] == estimate["seconds"]["alexnet"]


def test_read_full_profile_takes_experiments_epochs_seeds_and_samples_from_the_profile(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("dataset: cifar10\nseeds: [0, 1]\nexperiments: [alexnet, googlenet]\n"
                    "defaults: {epochs: 3, image_size: 64, train_samples: 5000}\n"
                    "overrides: {googlenet: {epochs: 4}}\n")
    profile = read_full_profile(str(path))
    assert profile["seeds"] == 2 and list(profile["experiments"]) == ["alexnet", "googlenet"]
    assert profile["experiments"]["alexnet"]["epochs"] == 3 and profile["experiments"]["googlenet"]["epochs"] == 4
    assert profile["experiments"]["alexnet"]["train_images"] == 5000
    assert profile["experiments"]["alexnet"]["val_images"] == 5000


def _bench_settings(*options: str) -> BenchSettings:
    return BenchSettings.from_args(build_parser().parse_args(["bench", *options]), torch.device("cpu"))


def test_settings_fill_in_what_was_left_out_and_keep_what_was_given():
    quick = _bench_settings("--quick")
    assert quick.models == QUICK_MODELS and quick.batch_size == 8 and quick.steps == 2 and quick.warmup == 1
    assert quick.handout_steps == 4 and quick.repeats == 1 and quick.batch_sizes == (8, 16)
    given = _bench_settings("--models", "googlenet", "googlenet", "alexnet", "--steps", "5", "--batch-size", "4",
                            "--precision-sizes")
    assert given.models == ("googlenet", "alexnet") and given.steps == 5 and given.handout_steps == 10
    assert given.batch_size == 4 and given.lab_batch_size == default_batch_size(torch.device("cpu"))
    assert given.precision_sizes == () and given.repeats == 3 and given.handout_batch_size == 4
    assert BenchSettings.from_dict(json.loads(json.dumps(given.as_dict()))) == BenchSettings(
        **{**given.as_dict(), "models": ["googlenet", "alexnet"], "batch_sizes": [16, 32], "precision_sizes": []})


def test_bench_refuses_an_image_size_the_networks_cannot_take(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--device", "cpu", "--image-size", "32", "--out", str(out)]) == 2
    assert "at least 63 pixels" in capsys.readouterr().err and not out.exists()


def _measured_report() -> dict:
    """bench.json of a one-model CPU run, written by hand."""
    settings = _bench_settings("--quick", "--models", "alexnet", "--repeats", "2").as_dict()
    ours = {"status": "ok", "batch_size": 8, "images_per_s": 40.0, "eval_images_per_s": 100.0,
            "bare_images_per_s": 50.0, "peak_memory_mb": None, "precision": "bf16", "memory_format": "channels_last"}
    model = {"params": 57e6, "forward_gflops_per_image": 1.42, "training_gflops_per_image": 4.2, "ours": ours,
             "handout": {"status": "out of memory"}, "speedup": None, "eval_images_per_s": 100.0,
             "bare_step_images_per_s": 50.0, "data_overhead_pct": 25.0, "fraction_of_peak": None}
    estimate = {"profile": "full", "source": "defaults", "seeds": 1, "not_measured": ["googlenet"], "total_s": 600.0,
                "seconds": {"alexnet": 600.0}, "experiments": {"alexnet": {
                    "epochs": 10, "image_size": 224, "train_images": 100, "val_images": 10, "test_images": 20}}}
    return {"device": "cpu", "device_type": "cpu", "torch": "2.x", "cuda": None, "settings": settings,
            "peak_tflops": None, "peak_source": "unknown peak", "augmentation_ms_per_image": 0.5,
            "models": {"alexnet": model}, "scaling": {"alexnet": [{"batch_size": 8, "status": "ok",
                                                                   "images_per_s": 40.0, "peak_memory_mb": None},
                                                                  {"batch_size": 16, "status": "out of memory"}]},
            "precision": {}, "full_profile": estimate, "full_profile_estimate_s": 600.0, "complete": True,
            "targets": [{"target": "alexnet: data pipeline <= 10% of the bare step", "value": 25.0, "met": False}]}


def test_report_prints_each_table_from_bench_json():
    printed = format_report(_measured_report()).splitlines()
    assert "median of 2 runs" in printed[0]
    row = next(line.split() for line in printed if line.startswith("alexnet "))
    assert row[3:6] == ["bf16+channels_last", "40.0", "out"] and row[-1] == "+25.0"
    assert "bare step: alexnet 20.0 ms per image" in "\n".join(printed)
    batch_rows = [line.split() for line in printed if line.split()[:1] in (["8"], ["16"])]
    assert batch_rows == [["8", "40.0"], ["16", "out", "of", "memory"]]
    assert any("total" in line and "10.0 min" in line for line in printed)
    assert any("not measured (left out of the total): googlenet" in line for line in printed)
    assert printed[-1].split()[-2:] == ["NOT", "met"] and "fp32 against" not in "\n".join(printed)


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


@pytest.mark.slow
def test_quick_bench_writes_every_figure(tmp_path, capsys):
    out = tmp_path / "bench.json"
    # 64x64 (the networks' smallest input) keeps this to a minute on 2 CPU cores.
    code = main(["bench", "--quick", "--device", "cpu", "--models", "alexnet", "googlenet", "--image-size", "64",
                 "--batch-sizes", "4", "8", "--precision-sizes", "64", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "speed-up" in printed and "'full' profile" in printed and "fp32 against --precision auto" in printed

    report = json.loads(out.read_text())
    assert report["device"] == "cpu" and report["torch"] == torch.__version__ and report["date"]
    assert report["settings"]["quick"] and report["settings"]["image_size"] == 64
    assert set(report["models"]) == {"alexnet", "googlenet"}
    for name, figures in report["models"].items():
        for key in ("params", "forward_gflops_per_image", "training_gflops_per_image", "speedup",
                    "eval_images_per_s", "bare_step_images_per_s"):
            assert _positive(figures[key]), (name, key, figures[key])
        ours, handout = figures["ours"], figures["handout"]
        assert ours["status"] == handout["status"] == "ok"
        assert _positive(ours["images_per_s"]) and _positive(handout["images_per_s"])
        assert handout["batch_size"] == 4
        assert ours["peak_memory_mb"] is None and handout["peak_memory_mb"] is None  # CPU: not measured
        assert figures["speedup"] == pytest.approx(ours["images_per_s"] / handout["images_per_s"])
        # Overhead may come out negative on a noisy machine; it must be the ratio's figure.
        assert figures["data_overhead_pct"] == pytest.approx(
            100 * (figures["bare_step_images_per_s"] / ours["images_per_s"] - 1))
        assert figures["fraction_of_peak"] is None  # no peak for a CPU
        assert ours["precision"] in ("fp32", "bf16") and figures["precision_choice"]["requested"] == "auto"
    assert report["peak_tflops"] is None and "unknown peak" in report["peak_source"]
    assert _positive(report["augmentation_ms_per_image"]) and report["complete"]

    assert set(report["scaling"]) == {"alexnet", "googlenet"}
    for rows in report["scaling"].values():
        assert [row["batch_size"] for row in rows] == [4, 8]
        assert all(row["status"] == "ok" and _positive(row["images_per_s"]) for row in rows)

    # fp32 against auto's choice, side by side, for each architecture at the asked size
    assert set(report["precision"]) == {"alexnet", "googlenet"}
    for (row,) in report["precision"].values():
        assert row["image_size"] == 64 and row["status"] == "ok" and row["choice"]["requested"] == "auto"
        assert _positive(row["fp32_images_per_s"]) and _positive(row["chosen_images_per_s"])
        assert row["ratio"] == pytest.approx(row["chosen_images_per_s"] / row["fp32_images_per_s"])
    assert _positive(report["full_profile_estimate_s"])
    assert set(report["full_profile"]["seconds"]) == {"alexnet", "googlenet"}
    assert "alexnet_lrn" in report["full_profile"]["not_measured"]
    assert report["targets"] and all(t["met"] in (True, False) for t in report["targets"])
