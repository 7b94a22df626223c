"""What the notebooks put on the page: markdown when there is any to show, figures at the size they
print, with numbered captions, and learning curves when there are runs to draw. The text and the
figures themselves come from the rest of the package.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
from IPython.display import Markdown, display
from matplotlib.figure import Figure

from . import plots
from .runs import ExperimentResults

CSS_PX_PER_IN = 96  # a browser prints 96 CSS pixels to the inch
FIGURE_DPI = 2 * CSS_PX_PER_IN  # PNG pixels per figure inch: sharp in print, shown at the figure's own size


def show(markdown: str | None) -> None:
    """Display ``markdown`` in the notebook; nothing for None or an empty string (a finding that
    has nothing to say)."""
    if markdown:
        display(Markdown(markdown))


# --- numbered tables and figures -------------------------------------------------------------------

@dataclass
class Numbering:
    """Numbers for the report's tables and figures, given in the order they are first named (in a
    caption or in the prose that refers to them); the appendix's carry a prefix ('Table A1')."""

    prefix: str = ""
    numbers: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def _name(self, kind: str, key: str) -> str:
        if (kind, key) not in self.numbers:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.numbers[(kind, key)] = f"{kind} {self.prefix}{self.counts[kind]}"
        return self.numbers[(kind, key)]

    def table(self, key: str) -> str:
        """'Table 3' for ``key``, the same every time it is asked for."""
        return self._name("Table", key)

    def figure(self, key: str) -> str:
        return self._name("Figure", key)


def table_block(number: str, caption: str, table: str) -> str:
    """A markdown table under its numbered caption (one block: the two stay on one page)."""
    return f"**{number}.** {caption}\n\n{table}"


def _inline_markdown(text: str) -> str:
    """A caption's **bold**, *italics* and `code` as HTML (the caption sits in an HTML block)."""
    text = html.escape(text, quote=False)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    text = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<i>\1</i>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def figure_bundle(fig: Figure, caption: str | None = None) -> dict[str, str]:
    """A figure as display data: an HTML ``<figure>`` with the PNG at the figure's own printed size
    (``width`` in CSS pixels: one figure inch prints as one inch) and its caption; the PNG alone
    for routes that take no HTML (LaTeX). The smallest text of the figure, in points, and its
    width in inches are in the tag (``data-min-font-pt``, ``data-width-in``) for checks of the print."""
    smallest = plots.min_font_pt(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=FIGURE_DPI)  # no tight bounding box: the size stays as designed
    png = base64.b64encode(buffer.getvalue()).decode("ascii")
    width_in = fig.get_figwidth()
    alt = html.escape(re.sub(r"[*`]", "", caption or "figure"), quote=True)
    caption_html = f"<figcaption>{_inline_markdown(caption)}</figcaption>" if caption else ""
    figure = (f'<figure class="report-figure" data-min-font-pt="{smallest:.1f}" data-width-in="{width_in:.2f}">'
              f'<img src="data:image/png;base64,{png}" width="{round(width_in * CSS_PX_PER_IN)}" alt="{alt}">'
              f"{caption_html}</figure>")
    return {"text/html": figure, "image/png": png, "text/plain": caption or "figure"}


def show_figure(fig: Figure | list[Figure], caption: str | None = None) -> None:
    """Display a figure (or several, one under the other, the caption under the last) at its
    printed size, then close it."""
    figures = fig if isinstance(fig, list) else [fig]
    for i, one in enumerate(figures):
        display(figure_bundle(one, caption if i == len(figures) - 1 else None), raw=True)
        plt.close(one)


# --- the report's sections ----------------------------------------------------------------------------

def section(title: str, banner: str | None, *paragraphs: str, level: int = 2) -> str:
    """A section's heading, the pipeline-check line when there is one (``banner``) and its first
    paragraphs, as one block: a page break never falls right after the heading."""
    return "\n\n".join([f"{'#' * level} {title}", *(text for text in (banner, *paragraphs) if text)])


def question_and_answer(question: str, answer: str) -> str:
    """How a section ends: the handout's question, then the answer computed from the runs, in bold."""
    return f"> *The handout asks:* {question}\n>\n> **Answer. {answer}**"


def learning_histories(results: Mapping[str, ExperimentResults],
                       experiments: Iterable[str]) -> dict[str, list[list[dict]]]:
    """Each experiment's label -> the histories of its complete runs (seeds); experiments without
    a complete run are left out."""
    return {results[e].label: [run.history for run in results[e].complete] for e in experiments if results[e].n}


def show_curves(results: Mapping[str, ExperimentResults], experiments: Iterable[str], caption: str | None = None) -> bool:
    """Learning curves of the experiments' complete runs, one column of panels per experiment;
    nothing when none has a complete run. True when drawn."""
    histories = learning_histories(results, experiments)
    if histories:
        show_figure(plots.plot_learning_curves(histories), caption)
    return bool(histories)
