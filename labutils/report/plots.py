"""Figures the notebooks draw: sample images, learning curves, confusion matrices, cost vs. accuracy,
per-class accuracy, the most confident mistakes and first-layer filters.

Matplotlib only. Every function returns its figure and saves nothing; in a notebook the
figure shows inline, elsewhere call ``fig.savefig(...)``. The report's figures are designed at
the size they print (``PRINT_WIDTH_IN`` wide at most, A4 less the report's margins) with no
text under ``MIN_FONT_PT``: ``notebook_output.show_figure`` shows them at that size, and
:func:`min_font_pt` measures a figure's smallest text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

PRINT_WIDTH_IN = 7.2  # the report's text width on A4 (210 mm less 2 x 12 mm margins is 7.3 in)
MIN_FONT_PT = 7.0  # no printed text smaller than this
FONT_PT = 7.5  # tick labels, legends, panel titles
# The report's figures: text at print size, no larger than needed.
PRINT_RC = {"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 7.5, "xtick.labelsize": FONT_PT,
            "ytick.labelsize": FONT_PT, "legend.fontsize": FONT_PT, "figure.titlesize": 8,
            "axes.titlepad": 3, "lines.linewidth": 1.2, "lines.markersize": 4}
TRAINING_STYLE = {"linestyle": "-", "marker": "o", "markersize": 4}
VALIDATION_STYLE = {"linestyle": "--", "marker": "s", "markersize": 4, "markerfacecolor": "white"}


def min_font_pt(fig: Figure) -> float:
    """The smallest size, in points, of any text the figure shows (tick labels, legends, titles,
    annotations); inf when it shows none."""
    fig.canvas.draw()  # creates the tick labels
    sizes = [text.get_fontsize() for text in fig.findobj(Text) if text.get_visible() and text.get_text().strip()]
    return min(sizes, default=math.inf)


def plot_image_grid(images: Sequence[np.ndarray], titles: Sequence[str], columns: int = 10,
                    size: float = 1.3, height: float | None = None, fontsize: int = 8) -> Figure:
    """Images (N, H, W, 3) in a grid, each with its title (e.g. the class name); a panel is ``size``
    inches wide and ``height`` high (by default a little more than ``size``, for the title)."""
    rows = math.ceil(len(images) / columns)
    figsize = (columns * size, rows * height if height is not None else rows * size * 1.15)
    fig, axes = plt.subplots(rows, columns, figsize=figsize, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, title in zip(axes.flat, images, titles):
        ax.imshow(image, interpolation="nearest")
        ax.set_title(title, fontsize=fontsize)
    fig.tight_layout()
    return fig


def plot_before_after(before: np.ndarray, after: Sequence[np.ndarray], after_titles: Sequence[str],
                      before_title: str = "original") -> Figure:
    """One image as stored (``before``) next to what transforms made of it (``after``)."""
    panels = [(before, before_title), *zip(after, after_titles)]
    fig, axes = plt.subplots(1, len(panels), figsize=(2.2 * len(panels), 2.6), squeeze=False)
    for ax, (image, title) in zip(axes.flat, panels):
        ax.imshow(image, interpolation="nearest")
        ax.set_title(f"{title}\n{image.shape[1]}x{image.shape[0]}", fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    return fig


def _colours() -> list[str]:
    return plt.rcParams["axes.prop_cycle"].by_key()["color"]


def _as_runs(runs: Any) -> list[Sequence[Mapping[str, Any]]]:
    """One run's history rows, or a list of such runs (seeds), as a list of non-empty runs."""
    runs = [runs] if runs and isinstance(runs[0], Mapping) else list(runs)
    return [rows for rows in runs if rows]


def plot_learning_curves(histories: Mapping[str, Sequence[Mapping[str, Any]] | Sequence[Sequence[Mapping[str, Any]]]],
                         width: float = PRINT_WIDTH_IN) -> Figure:
    """Loss and accuracy per epoch, one column of panels per model (small multiples, so that no
    model's curves hide another's); training solid with dots, validation dashed with open squares.

    ``histories`` maps a label to one run's ``history.csv`` rows (epoch, train_loss, train_acc,
    val_loss, val_acc), or to a list of such runs (seeds), drawn alike. A single model gets its
    loss and accuracy side by side. Training numbers are running averages over an epoch of
    augmented images with dropout on; validation numbers are measured after the epoch.
    """
    histories = {label: _as_runs(runs) for label, runs in histories.items()}
    histories = {label: runs for label, runs in histories.items() if runs}
    count = max(len(histories), 1)
    if count == 1:
        fig, axes = plt.subplots(1, 2, figsize=(width, 2.3), squeeze=False)
        panels = [(next(iter(histories), ""), axes[0][0], "loss"), (next(iter(histories), ""), axes[0][1], "acc")]
    else:
        fig, axes = plt.subplots(2, count, figsize=(width, 2.6), squeeze=False, sharex=True, sharey="row")
        panels = [(label, axes[row][column], key) for column, label in enumerate(histories)
                  for row, key in enumerate(("loss", "acc"))]
    colours, last_epoch = _colours(), 1
    for label, ax, key in panels:
        runs = histories.get(label, [])
        colour = colours[list(histories).index(label) % len(colours)] if runs else "black"
        scale = 100 if key == "acc" else 1
        for rows in runs:
            epochs = [row["epoch"] for row in rows]
            last_epoch = max(last_epoch, *epochs)
            width_of = 1.2 if len(runs) == 1 else 0.8
            ax.plot(epochs, [row[f"train_{key}"] * scale for row in rows], color=colour, linewidth=width_of,
                    **TRAINING_STYLE)
            ax.plot(epochs, [row[f"val_{key}"] * scale for row in rows], color=colour, linewidth=width_of,
                    markeredgecolor=colour, **VALIDATION_STYLE)
        seeds = f" ({len(runs)} seeds)" if len(runs) > 1 else ""
        if count == 1:
            ax.set_title(f"{label}{seeds}: {'loss' if key == 'loss' else 'accuracy'}")
        elif key == "loss":
            ax.set_title(_two_lines(f"{label}{seeds}") if count > 3 else f"{label}{seeds}")
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    for label, ax, key in panels:
        ax.set_xlim(0.5, last_epoch + 0.5)
        if count == 1 or ax in axes[:, 0]:
            ax.set_ylabel("cross-entropy loss" if key == "loss" else "accuracy (%)")
        if count == 1 or key == "acc":
            ax.set_xlabel("epoch")
    handles = [Line2D([], [], color="black", label="training", **TRAINING_STYLE),
               Line2D([], [], color="black", markeredgecolor="black", label="validation", **VALIDATION_STYLE)]
    fig.legend(handles=handles, loc="upper center", ncol=2, frameon=False, bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout(rect=(0, 0, 1, 0.93 if count > 1 else 0.9), h_pad=0.4, w_pad=0.4)
    return fig


def _two_lines(title: str, longest: int = 16) -> str:
    """A panel title too long for a narrow panel, broken at the space nearest its middle."""
    if len(title) <= longest or " " not in title:
        return title
    spaces = [i for i, c in enumerate(title) if c == " "]
    cut = min(spaces, key=lambda i: abs(i - len(title) / 2))
    return title[:cut] + "\n" + title[cut + 1:]


def plot_confusion_matrix(matrix: Sequence[Sequence[float]], classes: Sequence[str], ax: Axes | None = None,
                          normalize: bool = True, title: str | None = None, tick_labels: tuple[bool, bool] = (True, True),
                          numbers: bool = True) -> Figure:
    """``matrix[true][predicted]`` as a heat map; ``normalize`` shows each row in percent.
    ``tick_labels``: class names along (x, y); ``numbers``: each cell's value (none past ten classes)."""
    counts = np.asarray(matrix, dtype=float)
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.4, 4.0))
    else:
        fig = ax.figure
    if normalize:
        values = 100 * counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        vmax = 100
    else:
        values, vmax = counts, max(counts.max(), 1)
    ax.imshow(values, cmap="Blues", vmin=0, vmax=vmax)
    if numbers and len(classes) <= 10:
        for (i, j), value in np.ndenumerate(values):
            if value >= 0.5:
                ax.text(j, i, f"{value:.0f}", ha="center", va="center", fontsize=MIN_FONT_PT,
                        color="white" if value > 0.6 * vmax else "black")
    ticks = range(len(classes))
    show_x, show_y = tick_labels
    ax.set_xticks(ticks, classes if show_x else [], rotation=90, fontsize=FONT_PT)
    ax.set_yticks(ticks, classes if show_y else [], fontsize=FONT_PT)
    ax.tick_params(length=2, pad=1.5)
    if show_x:
        ax.set_xlabel("predicted")
    if show_y:
        ax.set_ylabel("true")
    ax.set_title(title or ("confusion matrix (% of each true class)" if normalize else "confusion matrix"))
    return fig


def plot_confusion_rows(matrices: Mapping[str, Sequence[Sequence[float]]], classes: Sequence[str],
                        columns: int = 3, width: float = PRINT_WIDTH_IN) -> list[Figure]:
    """Confusion matrices (rows normalised to percent), ``columns`` side by side: one figure per row,
    so that a page break may fall between two rows."""
    labels = list(matrices)
    figures = []
    for start in range(0, len(labels), columns):
        fig, axes = plt.subplots(1, columns, figsize=(width, width / columns + 0.5), squeeze=False)
        for ax in axes.flat[len(labels) - start:]:
            ax.axis("off")
        for column, (ax, label) in enumerate(zip(axes.flat, labels[start:start + columns])):
            plot_confusion_matrix(matrices[label], classes, ax=ax, title=label, tick_labels=(True, column == 0))
        fig.tight_layout(w_pad=0.3)
        figures.append(fig)
    return figures


def _spread(positions: Sequence[float], gap: float, low: float = 0.0, high: float = 1.0) -> list[float]:
    """``positions`` (sorted ascending) moved apart to at least ``gap`` each, kept within [low, high]."""
    placed = []
    for p in positions:
        placed.append(max(p, placed[-1] + gap) if placed else max(p, low))
    overflow = placed[-1] - high if placed else 0
    if overflow > 0:  # push back down, keeping the gaps
        placed = [p - overflow for p in placed]
        for i in range(len(placed) - 2, -1, -1):
            placed[i] = min(placed[i], placed[i + 1] - gap)
    return placed


def plot_accuracy_vs_cost(rows: Sequence[Mapping[str, Any]], width: float = PRINT_WIDTH_IN) -> Figure:
    """Test accuracy against training time; circle area grows with the parameter count. Every
    circle is labelled at the right, with a line to its centre, so that circles on top of each
    other (two AlexNets of one size and speed) are both named.

    Each row: ``label``, ``train_time_s``, ``test_acc`` (fraction), ``params``, and optionally
    ``test_acc_std`` (fraction) for an error bar over seeds.
    """
    fig, ax = plt.subplots(figsize=(width, 2.6))
    fig.subplots_adjust(left=0.08, right=0.6, bottom=0.17, top=0.9)
    largest = max((row["params"] for row in rows), default=1)
    colours = _colours()
    xs = [row["train_time_s"] / 60 for row in rows]
    ys = [row["test_acc"] * 100 for row in rows]
    for i, row in enumerate(rows):
        colour = colours[i % len(colours)]
        ax.scatter(xs[i], ys[i], s=30 + 500 * row["params"] / largest, facecolor=colour, alpha=0.25, zorder=3)
        ax.scatter(xs[i], ys[i], s=30 + 500 * row["params"] / largest, facecolor="none", edgecolor=colour,
                   linewidth=1.2, zorder=4)
        ax.plot(xs[i], ys[i], "+", color=colour, markersize=5, zorder=5)
        if row.get("test_acc_std"):
            ax.errorbar(xs[i], ys[i], yerr=row["test_acc_std"] * 100, color="black", capsize=3, linewidth=0.8,
                        zorder=4)
    if rows:
        (x0, x1), (y0, y1) = _padded(xs, 0.15), _padded(ys, 0.25)
        ax.set(xlim=(x0, x1), ylim=(y0, y1))
        order = sorted(range(len(rows)), key=lambda i: ys[i])
        heights = _spread([(ys[i] - y0) / (y1 - y0) for i in order], gap=0.16, low=0.02, high=0.98)
        for i, height in zip(order, heights):
            ax.annotate(f"{rows[i]['label']} ({rows[i]['params'] / 1e6:.1f} M parameters)", (xs[i], ys[i]),
                        xytext=(1.04, height), textcoords="axes fraction", va="center", fontsize=FONT_PT,
                        color=colours[i % len(colours)],
                        arrowprops={"arrowstyle": "-", "color": colours[i % len(colours)], "linewidth": 0.6,
                                    "shrinkA": 0, "shrinkB": 2})
    ax.set(xlabel="training and validation time, all epochs (min)", ylabel="test accuracy (%)")
    ax.set_title("Accuracy vs. training time (circle area ~ parameters)")
    ax.grid(alpha=0.3)
    return fig


def _padded(values: Sequence[float], share: float) -> tuple[float, float]:
    low, high = min(values), max(values)
    pad = (high - low) * share or max(abs(high) * share, 0.5)
    return low - pad, high + pad


def plot_per_class_accuracy(accuracies: Mapping[str, Sequence[float]], classes: Sequence[str],
                            width: float = PRINT_WIDTH_IN) -> Figure:
    """Test accuracy per class (fractions), one bar per model in each class's group."""
    fig, ax = plt.subplots(figsize=(width, 2.3))
    bar = 0.8 / max(len(accuracies), 1)
    positions = np.arange(len(classes))
    for i, (label, values) in enumerate(accuracies.items()):
        ax.bar(positions + (i - (len(accuracies) - 1) / 2) * bar, [v * 100 for v in values], bar, label=label)
    ax.set_xticks(positions, classes, fontsize=FONT_PT)
    ax.set(ylabel="test accuracy (%)", ylim=(0, 105))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(len(accuracies), 5), frameon=False)
    fig.tight_layout()
    return fig


def plot_mistakes(galleries: Mapping[str, Sequence[Mapping[str, Any]]], classes: Sequence[str],
                  columns: int = 8, width: float = PRINT_WIDTH_IN) -> Figure:
    """One row per model: its most confident mistakes, each titled with the true class, the
    predicted one and the confidence. Each mistake: ``image`` (H, W, 3 uint8), ``true``,
    ``predicted`` (class indices), ``confidence`` (fraction)."""
    rows = max(len(galleries), 1)
    panel = width / (columns + 1.4)
    fig, axes = plt.subplots(rows, columns + 1, figsize=(width, (panel + 0.42) * rows), squeeze=False,
                             gridspec_kw={"width_ratios": [1.4] + [1] * columns})
    for ax in axes.flat:
        ax.axis("off")
    for row, (label, mistakes) in zip(axes, galleries.items()):
        row[0].text(1.0, 0.5, label.replace(" ", "\n", 1) if len(label) > 12 else label, ha="right", va="center",
                    fontsize=8, transform=row[0].transAxes)
        if not mistakes:
            row[1].text(0, 0.5, "no mistakes", va="center", fontsize=FONT_PT, transform=row[1].transAxes)
        for ax, mistake in zip(row[1:], mistakes):
            ax.imshow(mistake["image"], interpolation="nearest")
            ax.set_title(f"{classes[mistake['true']]}\n→ {classes[mistake['predicted']]}\n"
                         f"{mistake['confidence']:.0%}", fontsize=MIN_FONT_PT, pad=2, linespacing=1.05)
    fig.subplots_adjust(left=0, right=1, bottom=0.02, top=1 - 0.4 / (panel + 0.42), wspace=0.08, hspace=0.45)
    return fig


def plot_filter_mosaics(mosaics: Mapping[str, np.ndarray], columns: int = 4, width: float = PRINT_WIDTH_IN) -> Figure:
    """First-layer filters of several networks (``filters.filter_mosaic`` images), one panel each."""
    columns = min(columns, max(len(mosaics), 1))
    size = width / columns
    return plot_image_grid(list(mosaics.values()), [title.replace(": ", ":\n", 1) for title in mosaics], columns,
                           size=size, height=size + 0.35, fontsize=FONT_PT)
