"""Figures the notebooks draw: sample images, learning curves, confusion matrices, cost vs. accuracy,
per-class accuracy, the most confident mistakes and first-layer filters.

Matplotlib only. Every function returns its figure and saves nothing; in a notebook the
figure shows inline, elsewhere call ``fig.savefig(...)``.
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
from matplotlib.ticker import MaxNLocator


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


def plot_learning_curves(histories: Mapping[str, Sequence[Mapping[str, Any]] | Sequence[Sequence[Mapping[str, Any]]]],
                         axes: Sequence[Axes] | None = None) -> Figure:
    """Loss (left) and accuracy (right) per epoch; training solid, validation dashed.

    ``histories`` maps a label to one run's ``history.csv`` rows (epoch, train_loss,
    train_acc, val_loss, val_acc), or to a list of such runs (seeds), drawn in one colour.
    Training numbers are running averages over an epoch of augmented images with dropout
    on; validation numbers are measured after the epoch.
    """
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    else:
        fig = axes[0].figure
    loss_ax, acc_ax = axes
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    handles, last_epoch = [], 1
    for i, (label, runs) in enumerate(histories.items()):
        runs = [runs] if runs and isinstance(runs[0], Mapping) else list(runs)
        runs = [rows for rows in runs if rows]
        if not runs:
            continue
        colour = colours[i % len(colours)]
        for rows in runs:
            epochs = [row["epoch"] for row in rows]
            last_epoch = max(last_epoch, *epochs)
            marker = "o" if len(rows) < 4 else None  # a one-epoch run would draw no line at all
            for ax, key, scale in ((loss_ax, "loss", 1), (acc_ax, "acc", 100)):
                ax.plot(epochs, [row[f"train_{key}"] * scale for row in rows], "-", marker=marker, color=colour)
                ax.plot(epochs, [row[f"val_{key}"] * scale for row in rows], "--", marker=marker, color=colour)
        handles.append(Line2D([], [], color=colour, label=label + (f" ({len(runs)} seeds)" if len(runs) > 1 else "")))
    handles += [Line2D([], [], color="black", linestyle="-", label="training"),
                Line2D([], [], color="black", linestyle="--", label="validation")]
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss")
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.set_xlim(0.5, last_epoch + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=9, frameon=False)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(matrix: Sequence[Sequence[float]], classes: Sequence[str], ax: Axes | None = None,
                          normalize: bool = True, title: str | None = None) -> Figure:
    """``matrix[true][predicted]`` as a heat map; ``normalize`` shows each row in percent."""
    counts = np.asarray(matrix, dtype=float)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.2, 4.6))
    else:
        fig = ax.figure
    if normalize:
        values = 100 * counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        vmax, text = 100, "{:.0f}"
    else:
        values, vmax, text = counts, max(counts.max(), 1), "{:.0f}"
    ax.imshow(values, cmap="Blues", vmin=0, vmax=vmax)
    size = 7 if len(classes) <= 10 else 5
    for (i, j), value in np.ndenumerate(values):
        if value >= 0.5:
            ax.text(j, i, text.format(value), ha="center", va="center", fontsize=size,
                    color="white" if value > 0.6 * vmax else "black")
    ticks = range(len(classes))
    ax.set_xticks(ticks, classes, rotation=45, ha="right", fontsize=size)
    ax.set_yticks(ticks, classes, fontsize=size)
    ax.set(xlabel="predicted", ylabel="true")
    ax.set_title(title or ("confusion matrix (% of each true class)" if normalize else "confusion matrix"),
                 fontsize=9)
    return fig


def plot_confusion_grid(matrices: Mapping[str, Sequence[Sequence[float]]], classes: Sequence[str],
                        columns: int = 3) -> Figure:
    """Several confusion matrices side by side, one per label, rows normalised to percent."""
    rows = math.ceil(len(matrices) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 4.0 * rows), squeeze=False)
    for ax in axes.flat[len(matrices):]:
        ax.axis("off")
    for ax, (label, matrix) in zip(axes.flat, matrices.items()):
        plot_confusion_matrix(matrix, classes, ax=ax, title=label)
    fig.tight_layout()
    return fig


def plot_accuracy_vs_cost(rows: Sequence[Mapping[str, Any]]) -> Figure:
    """Test accuracy against training time; marker area grows with the parameter count.

    Each row: ``label``, ``train_time_s``, ``test_acc`` (fraction), ``params``, and optionally
    ``test_acc_std`` (fraction) for an error bar over seeds.
    """
    fig, ax = plt.subplots(figsize=(8, 4.2))
    largest = max((row["params"] for row in rows), default=1)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    handles = []
    for i, row in enumerate(rows):
        x, y = row["train_time_s"] / 60, row["test_acc"] * 100
        colour = colours[i % len(colours)]
        ax.scatter(x, y, s=40 + 900 * row["params"] / largest, alpha=0.6, color=colour, edgecolor="black",
                   linewidth=0.5, zorder=3)
        if row.get("test_acc_std"):
            ax.errorbar(x, y, yerr=row["test_acc_std"] * 100, color="black", capsize=3, linewidth=0.8, zorder=4)
        # A legend, not labels at the points: runs of similar cost would print over each other.
        label = f"{row['label']} ({row['params'] / 1e6:.1f} M parameters)"
        handles.append(Line2D([], [], marker="o", linestyle="", markersize=8, color=colour, alpha=0.6,
                              markeredgecolor="black", label=label))
    ax.set(xlabel="training and validation time, all epochs (min)", ylabel="test accuracy (%)",
           title="Accuracy vs. training time (marker area ~ parameters)")
    ax.grid(alpha=0.3)
    ax.margins(x=0.15, y=0.2)
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=9, frameon=False)
    fig.tight_layout()
    return fig


def plot_per_class_accuracy(accuracies: Mapping[str, Sequence[float]], classes: Sequence[str]) -> Figure:
    """Test accuracy per class (fractions), one bar per model in each class's group."""
    fig, ax = plt.subplots(figsize=(10, 3.6))
    width = 0.8 / max(len(accuracies), 1)
    positions = np.arange(len(classes))
    for i, (label, values) in enumerate(accuracies.items()):
        ax.bar(positions + (i - (len(accuracies) - 1) / 2) * width, [v * 100 for v in values], width, label=label)
    ax.set_xticks(positions, classes, rotation=30, ha="right", fontsize=8)
    ax.set(ylabel="test accuracy (%)", ylim=(0, 105), title="Test accuracy per class")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def plot_mistakes(galleries: Mapping[str, Sequence[Mapping[str, Any]]], classes: Sequence[str],
                  columns: int = 8) -> Figure:
    """One row per model: its most confident mistakes, each titled with the true class, the
    predicted one and the confidence. Each mistake: ``image`` (H, W, 3 uint8), ``true``,
    ``predicted`` (class indices), ``confidence`` (fraction)."""
    rows = max(len(galleries), 1)
    fig, axes = plt.subplots(rows, columns + 1, figsize=(1.05 * (columns + 1.5), 1.35 * rows), squeeze=False,
                             gridspec_kw={"width_ratios": [1.5] + [1] * columns})
    for ax in axes.flat:
        ax.axis("off")
    for row, (label, mistakes) in zip(axes, galleries.items()):
        row[0].text(1.0, 0.5, label.replace(" ", "\n", 1) if len(label) > 12 else label, ha="right", va="center",
                    fontsize=9, transform=row[0].transAxes)
        if not mistakes:
            row[1].text(0, 0.5, "no mistakes", va="center", fontsize=8, transform=row[1].transAxes)
        for ax, mistake in zip(row[1:], mistakes):
            ax.imshow(mistake["image"], interpolation="nearest")
            ax.set_title(f"{classes[mistake['true']]}\n→ {classes[mistake['predicted']]} "
                         f"{mistake['confidence']:.0%}", fontsize=8)
    fig.tight_layout()
    return fig


def plot_filter_mosaics(mosaics: Mapping[str, np.ndarray], columns: int = 2) -> Figure:
    """First-layer filters of several networks (``filters.filter_mosaic`` images), one panel each."""
    return plot_image_grid(list(mosaics.values()), list(mosaics), columns, size=4.4, height=4.6, fontsize=9)
