"""The report's figures (report/plots.py) at the size they print: no wider than the text column, no
text under 7 pt, training and validation told apart by line style and marker, every model's curves
in a panel of their own, overlapping circles each labelled; and a figure shown at that size with
its numbered caption (report/notebook_output.py)."""

from __future__ import annotations

import itertools
import re

import matplotlib
import numpy as np
import pytest
from fake_runs import CLASSES

from labutils.report import plots
from labutils.report.filters import filter_mosaic
from labutils.report.notebook_output import (
    FIGURE_DPI,
    Numbering,
    figure_bundle,
    section,
    table_block,
)

matplotlib.use("Agg")
LABELS = ["AlexNet", "AlexNet + LRN", "GoogLeNet", "pretrained AlexNet", "pretrained GoogLeNet"]


def history(epochs: int, gain: float = 1.0) -> list[dict]:
    return [{"epoch": e, "train_loss": 2.3 - 0.1 * e * gain, "val_loss": 2.2 - 0.1 * e * gain,
             "train_acc": 0.1 + 0.05 * e * gain, "val_acc": 0.12 + 0.04 * e * gain} for e in range(1, epochs + 1)]


def report_figures() -> dict[str, list]:
    """Every figure the report draws, with data of the size a full lab gives."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
    matrices = {name: (rng.integers(0, 30, (10, 10)) + np.eye(10, dtype=int) * 900).tolist() for name in LABELS}
    return {
        "curves, one epoch": [plots.plot_learning_curves({name: history(1) for name in LABELS})],
        "curves, seeds": [plots.plot_learning_curves({name: [history(10), history(10, 1.1)] for name in LABELS})],
        "curves, one model": [plots.plot_learning_curves({"alexnet": history(5)})],
        "confusion": plots.plot_confusion_rows(matrices, CLASSES),
        "cost": [plots.plot_accuracy_vs_cost([{"label": name, "train_time_s": 300.0, "test_acc": 0.85,
                                               "params": 57_044_810} for name in LABELS])],
        "per class": [plots.plot_per_class_accuracy({name: rng.random(10).tolist() for name in LABELS}, CLASSES)],
        "mistakes": [plots.plot_mistakes({name: [{"image": image, "true": 1, "predicted": 9, "confidence": 1.0}] * 8},
                                         CLASSES) for name in LABELS],
        "filters": [plots.plot_filter_mosaics({f"{name}: conv1, 64 kernels 11x11": filter_mosaic(
            rng.normal(size=(64, 3, 11, 11))) for name in LABELS[:4]})],
    }


@pytest.fixture(scope="module")
def figures() -> dict[str, list]:
    return report_figures()


def test_every_report_figure_fits_the_text_column_with_no_text_under_7_pt(figures: dict) -> None:
    for name, shown in figures.items():
        for fig in shown:
            assert fig.get_figwidth() <= plots.PRINT_WIDTH_IN + 1e-9, name
            assert fig.get_figheight() <= 3.0, name  # under a third of an A4 page with its caption
            assert plots.min_font_pt(fig) >= plots.MIN_FONT_PT, name


def test_learning_curves_tell_training_from_validation_by_style_and_marker_one_panel_per_model(figures: dict) -> None:
    fig = figures["curves, one epoch"][0]
    assert len(fig.axes) == 2 * len(LABELS)  # loss and accuracy for each model: AlexNet + LRN has its own
    titles = [ax.get_title().replace("\n", " ") for ax in fig.axes if ax.get_title()]
    assert titles == LABELS
    training, validation = fig.axes[0].get_lines()[:2]
    assert training.get_linestyle() != validation.get_linestyle()
    assert training.get_marker() != validation.get_marker()  # a one-epoch run is a dot and a square
    legend = [text.get_text() for text in fig.legends[0].get_texts()]
    assert legend == ["training", "validation"]


def test_circles_on_top_of_each_other_are_each_labelled(figures: dict) -> None:
    ax = figures["cost"][0].axes[0]
    labels = [child for child in ax.texts if "parameters" in child.get_text()]
    assert len(labels) == len(LABELS)  # five runs at one point: five labels
    heights = sorted(label.get_position()[1] for label in labels)
    assert min(b - a for a, b in itertools.pairwise(heights)) >= 0.15  # apart, in axes fractions


def test_a_figure_is_shown_at_its_printed_size_with_its_caption() -> None:
    fig = plots.plot_per_class_accuracy({"AlexNet": [0.5] * 10}, CLASSES)
    bundle = figure_bundle(fig, "**Figure 5.** Test accuracy per class and *model*.")
    html = bundle["text/html"]
    assert f'width="{round(plots.PRINT_WIDTH_IN * 96)}"' in html  # CSS pixels: 96 to the printed inch
    assert 'data-min-font-pt="7.5" data-width-in="7.20"' in html
    assert "<figcaption><b>Figure 5.</b> Test accuracy per class and <i>model</i>.</figcaption>" in html
    assert re.search(r'alt="Figure 5\. Test accuracy', html) and bundle["image/png"]
    assert FIGURE_DPI == 192  # the PNG: two pixels to each printed CSS pixel


def test_tables_and_figures_are_numbered_as_first_named() -> None:
    number, appendix = Numbering(), Numbering(prefix="A")
    assert number.table("conclusion") == "Table 1" and number.figure("curves") == "Figure 1"
    assert number.table("lrn") == "Table 2" and number.table("conclusion") == "Table 1"
    assert appendix.table("setup") == "Table A1"
    assert table_block("Table 2", "LRN.", "| a |\n|--|\n| 1 |").startswith("**Table 2.** LRN.\n\n| a |")
    assert section("2 LRN", None, "text") == "## 2 LRN\n\ntext"
    assert section("2 LRN", "*Pipeline check.*", "text") == "## 2 LRN\n\n*Pipeline check.*\n\ntext"
