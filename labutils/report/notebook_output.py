"""What the notebooks put on the page: markdown when there is any to show, learning curves when
there are runs to draw. The text and the figures themselves come from the rest of the package.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from . import plots
from .runs import ExperimentResults


def show(markdown: str | None) -> None:
    """Display ``markdown`` in the notebook; nothing for None or an empty string (a finding that
    has nothing to say)."""
    if markdown:
        display(Markdown(markdown))


def learning_histories(results: Mapping[str, ExperimentResults],
                       experiments: Iterable[str]) -> dict[str, list[list[dict]]]:
    """Each experiment's label -> the histories of its complete runs (seeds); experiments without
    a complete run are left out."""
    return {results[e].label: [run.history for run in results[e].complete] for e in experiments if results[e].n}


def show_curves(results: Mapping[str, ExperimentResults], experiments: Iterable[str]) -> None:
    """Learning curves of the experiments' complete runs, one colour per experiment; nothing when
    none has a complete run."""
    histories = learning_histories(results, experiments)
    if histories:
        plots.plot_learning_curves(histories)
        plt.show()
