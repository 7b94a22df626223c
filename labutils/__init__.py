"""AlexNet vs. GoogLeNet on CIFAR-10: the models, the training engine, the lab runner and the report.

    from labutils.models import GoogLeNet, build_model
    from labutils.train_module import train_model
    from labutils.test_module import test_model

What a student of the lab reads is here at the top: ``models/``, ``data``, ``augment``,
``loader``, ``recipe``, ``train_module``, ``test_module``, ``experiment`` (one run end to end),
``config`` (``RunConfig``, every option of a run), ``catalog`` (the experiments by name) and the
command line (``cli``, ``__main__``). The machinery is in sub-packages, each ``__init__`` saying
what is inside: ``run_folder/`` (a run's files and their rules), ``runtime/`` (device,
precision, processes, stop requests), ``lab/`` (profiles, the lab runner, rendering),
``report/`` (reading runs; findings, tables, plots) and ``bench/`` (speed against the handout's).

Layers, from the bottom up: a module imports only from its own layer or below, never in a
circle (``tests/test_layers.py`` reads every import, those inside functions included). A value
a lower layer needs from a higher one is passed in (the probe is handed the training loss).

    0  errors, cli_types, handout
    1  catalog, config
    2  models, data, augment, recipe, runtime, run_folder
    3  loader, train_module, test_module, predictions, inference, resolve, flops
    4  experiment
    5  lab
    6  report, bench
    7  cli, __main__
"""

__version__ = "1.0.0"
