"""Numbers and tables as the report prints them (report/format.py)."""

from __future__ import annotations

from labutils.report.format import fmt_duration, markdown_table


def test_duration_format() -> None:
    assert fmt_duration(12.34) == "12.3\u00a0s"
    assert fmt_duration(117.23 * 60) == "117.2\u00a0min"
    assert fmt_duration(5 * 3600) == "5.0\u00a0h"


def test_markdown_table_escapes_a_pipe() -> None:
    table = markdown_table(["a", "b"], [["x|y", 1]])
    assert table.splitlines()[2] == "| x\\|y | 1 |"
