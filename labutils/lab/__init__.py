"""``python -m labutils lab`` and ``report``: the lab runner and the rendering of its report.

- ``profiles``: which experiments a profile runs, with which parameters; ``profile_yaml``: its YAML, read strictly;
- ``plan``: each run resolved and its state (complete, stale, to resume or train), the ``--dry-run``
  table, the estimated time on a CPU, the progress line;
- ``runner``: ``run_lab``, every run through ``02_train.ipynb`` (papermill), then the report;
- ``notebooks``: the lab's notebooks and how papermill runs them;
- ``render``: ``render_report``, ``03_report.ipynb`` executed and rendered to HTML and PDF;
  ``mathml``: the report's formulas as MathML, so the HTML renders offline.

The rules of a run folder (its files, lock and guard) are ``labutils.run_folder``'s, below.
"""
