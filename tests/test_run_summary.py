"""What the training notebook says about its run (run_summary), from a hand-made metrics.json."""

from __future__ import annotations

from labutils.report import run_summary

METRICS = {"train_loss": 0.51234, "train_acc": 0.8, "val_loss": 0.6, "val_acc": 0.75, "test_loss": 0.61,
           "test_acc": 0.7456, "params": 57_044_810, "weights": "none (trained from scratch)", "best_epoch": 9,
           "epochs": 10, "train_images": 45_000, "image_size": 224, "batch_size": 128, "device": "cpu",
           "train_time_s": 123.456, "images_per_s": 364.6}


def test_run_summary_table_and_paragraph() -> None:
    lines = run_summary.scores_table(METRICS).splitlines()
    assert lines[2:] == ["| train (best epoch) | 0.5123 | 80.00% |", "| validation (best epoch) | 0.6000 | 75.00% |",
                         "| test | 0.6100 | 74.56% |"]
    assert run_summary.run_paragraph(METRICS, "runs/x") == (
        "57,044,810 parameters, weights: none (trained from scratch). Best epoch 9 of 10; 45,000 training images at "
        "224x224, batch 128, on cpu: 123.5 s for training and validation (365 training images/s). Run folder: "
        "`runs/x`.")
    with_precision = {**METRICS, "precision": "bf16", "memory_format": "channels_last"}
    assert "batch 128, on cpu in bf16 (channels-last): 123.5 s" in run_summary.run_paragraph(with_precision, "runs/x")
