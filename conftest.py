"""Run the notebooks through nbval where it is installed; where not, run the rest and say so.

pyproject's ``addopts`` cannot name ``--nbval-lax``: without the plugin pytest would stop at once
("unrecognized arguments"), e.g. on a GPU image that has pytest but not nbval.
"""

from __future__ import annotations

import pytest

NO_NBVAL_NOTE = "notebooks not run: nbval is not installed (pip install -e '.[test]' runs them too)"


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.hasplugin("nbval"):
        return
    if not (config.option.nbval or config.option.nbval_lax):
        config.option.nbval_lax = True  # outputs are not compared: they hold timings and paths


def pytest_report_header(config: pytest.Config) -> str | None:
    return None if config.pluginmanager.hasplugin("nbval") else NO_NBVAL_NOTE


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not config.pluginmanager.hasplugin("nbval"):
        terminalreporter.write_line(NO_NBVAL_NOTE, yellow=True)
