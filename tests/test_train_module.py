"""The training engine: train_model, test_model, run_experiment and the run folder they write."""

import csv
import json
import os
import signal

import numpy as np
import pytest
import torch
from torch import nn

from labutils.augment import BatchTransform
from labutils.data import make_fake_dataset
from labutils.experiment import RunConfig, run_experiment
from labutils.inference import MIN_REPEATS, measure_inference
from labutils.loader import BatchLoader
from labutils.models import LAB_EXPERIMENTS, build_model, count_parameters
from labutils.predictions import (
    MISTAKES_KEPT,
    THUMBNAIL_SIZE,
    make_predictions,
    read_predictions,
)
from labutils.run_folder import HISTORY_FIELDS, METRICS_FIELDS, RunFolder, load_checkpoint
from labutils.runtime.runtime import Runtime, default_runtime
from labutils.test_module import evaluate, test_model
from labutils.train_module import (
    AUX_WEIGHT,
    TrainingInterrupted,
    train_model,
    training_loss,
)

TINY = {"dataset": "fake", "epochs": 1, "batch_size": 8, "train_samples": 16, "val_samples": 8, "test_samples": 8,
        "workers": 0, "random_weights": True, "progress": False}


@pytest.fixture(autouse=True)
def _one_thread():
    # Two threads on a shared 2-core machine are slower than one for these small batches.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("experiment", LAB_EXPERIMENTS)
def test_tiny_run_of_each_experiment_writes_a_consistent_run_folder(tmp_path, experiment):
    metrics = run_experiment(RunConfig(experiment=experiment, image_size=224, out=str(tmp_path), **TINY))
    run = RunFolder(tmp_path)
    saved = json.loads(run.metrics.read_text())
    assert saved == json.loads(json.dumps(metrics))
    assert set(METRICS_FIELDS) <= set(saved) and saved["status"] == "complete"
    assert saved["experiment"] == experiment and saved["seed"] == 0 and saved["epochs"] == 1
    assert saved["params"] == count_parameters(build_model(experiment, random_weights=True))
    for key in ("train_acc", "val_acc", "test_acc"):
        assert 0 <= saved[key] <= 1
    with open(run.history) as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1"] and tuple(rows[0]) == HISTORY_FIELDS
    best = rows[saved["best_epoch"] - 1]
    assert float(best["val_acc"]) == pytest.approx(saved["val_acc"])
    assert float(best["train_loss"]) == pytest.approx(saved["train_loss"])
    assert saved["train_time_s"] == pytest.approx(float(best["train_seconds"]) + float(best["eval_seconds"]))
    assert saved["images_per_s"] > 0 and saved["train_images"] == 16
    assert sum(map(sum, saved["confusion_matrix"])) == 8
    assert run.best.exists() and run.config.exists()
    assert not run.last.exists()  # nothing left to resume
    assert not list(tmp_path.glob("*.tmp"))
    predictions = read_predictions(run.predictions)
    assert len(predictions.labels) == 8 and predictions.accuracy == pytest.approx(saved["test_acc"])
    assert saved["inference_images_per_s"] > 0 and saved["latency_ms"] > 0 and saved["inference_batch_size"] == 8
    assert saved["environment"]["torch"] == torch.__version__


# The path a GPU takes, on the CPU: images resident on the device with a device generator, bf16
# autocast, channels-last, the loss read on the host every 4 steps only.
CUDA_SHAPED = {"precision": "bf16", "memory_format": "channels_last", "data_placement": "resident",
               "host_sync_every": 4}


@pytest.mark.parametrize("path", [{"precision": "fp32", "data_placement": "workers"}, CUDA_SHAPED],
                         ids=["worker-path", "cuda-shaped-path"])
def test_training_learns_the_generated_classes(tmp_path, path):
    metrics = run_experiment(RunConfig(experiment="alexnet", dataset="fake", image_size=64, epochs=3,
                                       train_samples=320, val_samples=100, test_samples=100, workers=0,
                                       out=str(tmp_path), progress=False, **path))
    assert metrics["val_acc"] >= 0.5 and metrics["test_acc"] >= 0.5  # chance is 0.1
    saved = json.loads(RunFolder(tmp_path).config.read_text())
    for key, value in path.items():
        assert metrics[key] == saved[key] == value  # the run folder says which path it took


class _ThreeHeads(nn.Module):
    """A GoogLeNet-shaped toy: training mode returns (main, side1, side2), eval mode main only."""

    def __init__(self):
        super().__init__()
        self.main, self.side1, self.side2 = (nn.Linear(3, 10) for _ in range(3))

    def forward(self, x):
        x = x.mean((2, 3))
        if self.training:
            return self.main(x), self.side1(x), 3 * self.side2(x)
        return self.main(x)


def _toy_loaders(n=24, runtime=None, train_augmented=False):
    runtime = runtime or default_runtime(torch.device("cpu"))
    data = make_fake_dataset(num_train=n, num_test=n)[0]
    make = lambda train: BatchLoader(data, 8, BatchTransform(32, (0.5,) * 3, (0.25,) * 3, train=train),
                                     shuffle=train, runtime=runtime)
    return {"train": make(train_augmented), "val": make(False), "test": make(False)}


def test_side_losses_count_in_training_but_not_in_validation():
    torch.manual_seed(0)
    model, loaders = _ThreeHeads(), _toy_loaders()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # nothing changes: losses are comparable
    _, history = train_model(model, loaders, criterion, optimizer, 1, progress=False)

    model.train()
    expected_train = sum(
        (criterion(m, yy) + AUX_WEIGHT * (criterion(a, yy) + criterion(b, yy))).item() * len(yy)
        for (xx, yy) in loaders["train"] for m, a, b in [model(xx)]
    ) / 24
    model.eval()
    expected_val = sum(criterion(model(xx), yy).item() * len(yy) for xx, yy in loaders["val"]) / 24
    assert history[0]["train_loss"] == pytest.approx(expected_train, rel=1e-5)
    assert history[0]["val_loss"] == pytest.approx(expected_val, rel=1e-5)
    assert history[0]["train_loss"] > history[0]["val_loss"] + 0.1


def test_test_model_reports_per_class_accuracy_and_confusion():
    model, loaders = _ThreeHeads().eval(), _toy_loaders()
    result = test_model(model, loaders, nn.CrossEntropyLoss())
    confusion = torch.tensor(result["confusion_matrix"])
    assert confusion.shape == (10, 10) and confusion.sum() == 24
    assert result["test_acc"] == pytest.approx(float(confusion.diag().sum()) / 24)
    rows = confusion.sum(1).clamp(min=1)
    assert result["per_class_acc"] == pytest.approx((confusion.diag() / rows).tolist())
    assert result["test_loss"] == pytest.approx(evaluate(model, loaders["test"], nn.CrossEntropyLoss())["loss"])


def test_test_model_saves_every_prediction_and_the_surest_mistakes(tmp_path):
    torch.manual_seed(1)
    model, loaders = _ThreeHeads().eval(), _toy_loaders()
    result = test_model(model, loaders, nn.CrossEntropyLoss(), predictions_file=tmp_path / "predictions.npz")
    saved = read_predictions(tmp_path / "predictions.npz")
    assert np.array_equal(saved.labels, loaders["test"].data.labels.numpy())  # the test set's order
    assert saved.accuracy == pytest.approx(result["test_acc"])
    with torch.no_grad():
        probabilities = torch.softmax(torch.cat([model(x) for x, _ in loaders["test"]]), 1)
    assert np.array_equal(saved.predictions, probabilities.argmax(1).numpy())
    assert saved.confidences == pytest.approx(probabilities.max(1).values.numpy(), abs=1e-3)  # float16
    mistakes = saved.mistakes()
    wrong = saved.labels != saved.predictions
    assert len(mistakes) == min(MISTAKES_KEPT, int(wrong.sum()))
    assert all(m["true"] != m["predicted"] for m in mistakes)
    assert [m["confidence"] for m in mistakes] == sorted((m["confidence"] for m in mistakes), reverse=True)
    assert mistakes[0]["confidence"] == pytest.approx(float(saved.confidences[wrong].max()))
    image = loaders["test"].data.images[mistakes[0]["index"]].permute(1, 2, 0).numpy()
    assert np.array_equal(mistakes[0]["image"], image)
    assert (tmp_path / "predictions.npz").stat().st_size < 100_000


def test_predictions_file_stays_small_for_cifar10_sizes(tmp_path):
    from labutils.predictions import save_predictions

    rng = np.random.default_rng(0)
    labels, predicted = rng.integers(0, 10, 10_000), rng.integers(0, 10, 10_000)
    images = torch.randint(0, 256, (10_000, 3, 96, 96), dtype=torch.uint8)  # larger stored images shrink
    predictions = make_predictions(labels, predicted, rng.random(10_000).astype(np.float32), images)
    assert predictions.mistake_images.shape == (MISTAKES_KEPT, THUMBNAIL_SIZE, THUMBNAIL_SIZE, 3)
    assert predictions.labels.dtype == np.uint8
    save_predictions(tmp_path / "p.npz", predictions)
    assert (tmp_path / "p.npz").stat().st_size < 100_000
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not a zip")
    assert read_predictions(tmp_path / "broken.npz") is None and read_predictions(tmp_path / "none.npz") is None


def test_inference_speed_is_the_median_of_repeated_runs():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))
    speed = measure_inference(model, batch_size=4, image_size=32, runtime=default_runtime(torch.device("cpu")),
                              budget_s=0.05)
    assert speed["inference_images_per_s"] > 0 and speed["latency_ms"] > 0 and speed["inference_batch_size"] == 4
    assert all(MIN_REPEATS <= runs for runs in speed["inference_repeats"])
    assert not model.training


def test_same_seed_gives_the_same_history(tmp_path):
    histories = []
    for name in ("a", "b"):
        run_experiment(RunConfig(experiment="alexnet_lrn", dataset="fake", image_size=64, epochs=2, batch_size=16,
                                 train_samples=32, val_samples=16, test_samples=16, workers=1, seed=7,
                                 out=str(tmp_path / name), progress=False))
        histories.append([{k: row[k] for k in ("train_loss", "train_acc", "val_loss", "val_acc", "lr")}
                          for row in RunFolder(tmp_path / name).read_history()])
    assert histories[0] == histories[1]


class _StopAfter:
    """A loader that sends this process SIGINT (Ctrl-C) right after yielding batch ``at`` of its first pass."""

    def __init__(self, loader, at):
        self.loader, self.at, self.sent = loader, at, False

    def __len__(self):
        return len(self.loader)

    def set_epoch(self, epoch, start_batch=0):
        self.loader.set_epoch(epoch, start_batch)

    def __iter__(self):
        for b, batch in enumerate(self.loader, start=self.loader.start_batch):
            yield batch
            if b == self.at and not self.sent:
                self.sent = True
                os.kill(os.getpid(), signal.SIGINT)


def test_a_stop_between_two_host_reads_saves_the_sums_of_every_step_done(tmp_path):
    # 12 steps, the host reads every 5: Ctrl-C during step 7 stops at the read after step 10.
    runtime = Runtime(torch.device("cpu"), "bf16", channels_last=True, resident_data=True, sync_every=5)
    loaders = _toy_loaders(n=96, runtime=runtime, train_augmented=True)
    torch.manual_seed(0)
    model, criterion = _ThreeHeads().to(memory_format=torch.channels_last), nn.CrossEntropyLoss()
    frozen = torch.optim.SGD(model.parameters(), lr=0.0)  # the weights stay put: each step's loss is known
    run = RunFolder(tmp_path)
    with pytest.raises(TrainingInterrupted, match="after batch 10/12"):
        train_model(model, {**loaders, "train": _StopAfter(loaders["train"], at=6)}, criterion, frozen, 1,
                    run=run, progress=False, runtime=runtime)
    state = load_checkpoint(run.last)
    assert state["batch"] == 10 and state["partial"]["seen"] == 80

    loss_sum, correct = 0.0, 0
    loaders["train"].set_epoch(0)
    model.train()
    for _, (inputs, labels) in zip(range(10), loaders["train"]):
        with runtime.autocast():
            outputs = model(inputs)
            loss_sum += training_loss(outputs, labels, criterion).double().item() * len(labels)
        correct += int((outputs[0].argmax(1) == labels).sum())
    assert state["partial"]["loss_sum"] == pytest.approx(loss_sum, rel=1e-6)
    assert state["partial"]["correct"] == correct

    # Resumed, the epoch ends with the figures of an uninterrupted one.
    _, resumed = train_model(model, loaders, criterion, frozen, 1, run=run, resume=state, progress=False,
                             runtime=runtime)
    _, straight = train_model(model, loaders, criterion, torch.optim.SGD(model.parameters(), lr=0.0), 1,
                              progress=False, runtime=runtime)
    for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
        assert resumed[0][key] == straight[0][key]


def test_history_records_the_mean_learning_rate_each_epoch_trained_with(tmp_path):
    """Two epochs of two steps: warm-up over the first step, then cosine to zero. The epochs train at
    (1 + 1) / 2 and (0.75 + 0.25) / 2 of the peak; the last row is not the 0 the schedule ends at."""
    from labutils.__main__ import main

    out = tmp_path / "run"
    assert main(["train", "--experiment", "alexnet", "--dataset", "fake", "--image-size", "64", "--epochs", "2",
                 "--batch-size", "16", "--train-samples", "32", "--val-samples", "16", "--test-samples", "16",
                 "--lr", "0.01", "--warmup-epochs", "0.5", "--no-progress", "--out", str(out)]) == 0
    rows = RunFolder(out).read_history()
    assert [row["lr"] for row in rows] == pytest.approx([0.01, 0.005])


def test_a_warning_during_a_run_is_one_line_even_outside_the_command_line(tmp_path, capsys):
    """The training notebook calls run_experiment directly: a warning there reads as the command line's do."""
    config = RunConfig(experiment="alexnet", image_size=64, out=str(tmp_path), **{**TINY, "test_samples": 500})
    metrics = run_experiment(config)
    lines = [line for line in capsys.readouterr().err.splitlines() if "images asked for" in line]
    assert lines == ["warning: 500 test images asked for, the data holds 200: using all of them (UserWarning)"]
    assert metrics["test_images"] == 200
