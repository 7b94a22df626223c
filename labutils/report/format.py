"""Numbers as the report prints them, and markdown tables that render in HTML and PDF alike."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

NBSP = "\u00a0"  # keeps "80.29 %" and "12.3 min" on one line in a narrow table column


def fmt_pct(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value * 100:.{digits}f}{NBSP}%"


def fmt_pp(value: float | None, digits: int = 1) -> str:
    """A difference of two accuracies, in percentage points, with its sign."""
    return "n/a" if value is None else f"{value * 100:+.{digits}f}{NBSP}pp"


def _time_unit(seconds: float) -> tuple[float, str]:
    if seconds < 90:
        return 1, "s"
    if seconds < 3 * 3600:  # the handout gives times up to two hours in minutes
        return 60, "min"
    return 3600, "h"


def fmt_duration(seconds: float | None, unit_of: float | None = None) -> str:
    """12.3 s, 25.5 min, 41.5 h; in the unit that suits ``unit_of`` when given (for a spread)."""
    if seconds is None:
        return "n/a"
    divisor, unit = _time_unit(seconds if unit_of is None else unit_of)
    return f"{seconds / divisor:.1f}{NBSP}{unit}"


def fmt_count(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def fmt_rate(value: float | None) -> str:
    """Images per second: three significant digits below 100, whole numbers above."""
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def fmt_sci(value: float) -> str:
    """1e-4 rather than 0.0001, 2e-5 rather than 2e-05."""
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def fmt_latex_sci(value: float) -> str:
    """10^{-4}, 2 \\times 10^{-5}: a small constant as a formula."""
    mantissa, exponent = f"{value:.0e}".split("e")
    power = f"10^{{{int(exponent)}}}"
    return power if mantissa == "1" else f"{mantissa} \\times {power}"




def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], align: str | None = None) -> str:
    """A GitHub-style markdown table; ``align`` has one of l, r, c per column (default: left)."""
    align = align or "l" * len(headers)
    marks = {"l": ":--", "r": "--:", "c": ":-:"}

    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |",
             "|" + "|".join(marks[a] for a in align) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)

def fmt_size(size: tuple[int, ...] | None) -> str:
    return "-" if size is None else "x".join(str(s) for s in size)
