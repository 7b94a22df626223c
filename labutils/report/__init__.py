"""What the notebooks and the report show, from the run folders only; nothing here trains.

- ``runs``: run folders read into tables, seeds averaged, the conclusion table;
- ``findings``: the report's sentences, each decided from the results (tested branch by branch);
- ``details``: the closer looks: where and how long the lab ran, inference, per-class accuracy,
  confusions, mistakes, first-layer filters;
- ``setup``: how the runs were made (the report's first section); ``project``: what is where (exercise 1);
- ``networks``: the networks against the papers (LRN, GoogLeNet's Table 1, side classifiers, costs);
- ``paper_tables``: the published numbers compared with; ``format``: numbers and markdown tables as printed;
- ``plots``: the figures; ``filters``: first-layer filters from ``best.pt``;
- ``notebook_output``: what a notebook puts on the page (markdown, learning curves);
- ``data_tour``: what ``01_data`` shows of the data; ``run_summary``: what ``02_train`` says about its run.
"""
