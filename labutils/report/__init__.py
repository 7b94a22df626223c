"""What the notebooks and the report show, from the run folders only; nothing here trains.

- ``runs``: the profile's run folders read into tables (the others named), seeds averaged, the conclusion table;
- ``evidence``: the one rule for "is this a difference" (accuracies against their sampling error and
  the seeds' spread, ties, timing against its margin and repeats, what generated data can support);
- ``findings``: the report's sentences, each decided from the results by that rule (tested branch by
  branch); ``answers``: the title and the answer to each exercise, for the first page and the sections;
- ``details``: the closer looks: where and how long the lab ran, inference, per-class accuracy,
  confusions, mistakes, first-layer filters;
- ``setup``: how the runs were made (the profile in one line, the appendix's table); ``project``: what is
  where (exercise 1); ``vscode``: ``.vscode/launch.json``'s configurations, each with its network's file;
- ``networks``: the networks against the papers (LRN, GoogLeNet's Table 1, side classifiers, costs);
- ``paper_tables``: the published numbers compared with; ``format``: numbers and markdown tables as printed;
- ``plots``: the figures; ``filters``: first-layer filters from ``best.pt``;
- ``notebook_output``: what a notebook puts on the page (markdown, sections, figures at their printed
  size, numbered tables and figures, learning curves);
- ``data_tour``: what ``01_data`` shows of the data; ``run_summary``: what ``02_train`` says about its run.
"""
