"""``python -m labutils lab`` and ``report``: the lab runner and what keeps its run folders safe.

- ``profiles``: which experiments a profile runs, with which parameters; ``profile_yaml``: its YAML, read strictly;
- ``plan``: each run resolved, the ``--dry-run`` table, the estimated time on a CPU, the progress line;
- ``runner``: ``run_lab``, every run through ``02_train.ipynb`` (papermill), then the report;
- ``notebooks``: the lab's notebooks and how papermill runs them;
- ``render``: ``render_report``, ``03_report.ipynb`` executed and rendered to HTML and PDF;
  ``mathml``: the report's formulas as MathML, so the HTML renders offline;
- ``run_guard``: who may write a run folder, what in it may be reused, what a stop leaves in it;
- ``folder_lock``: one process at a time in a folder (an OS lock on ``.lock``);
- ``vscode``: ``.vscode/`` read as VS Code reads it (the report lists its launch configurations).
"""
