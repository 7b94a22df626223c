"""AlexNet vs. GoogLeNet on CIFAR-10: the models, the training engine, the lab runner and the report.

    from labutils.models import GoogLeNet, build_model
    from labutils.train_module import train_model
    from labutils.test_module import test_model

What a student of the lab reads is here at the top: ``models/``, ``data``, ``augment``,
``loader``, ``recipe``, ``train_module``, ``test_module``, ``experiment`` (one run end to end),
``results`` (the run folder), ``predictions`` and ``inference`` (what testing leaves there),
``config`` (``RunConfig``, every option of a run), ``flops``, ``errors`` and the command line
(``__main__``, ``cli_types``). The machinery is in sub-packages, each ``__init__`` saying what
is inside: ``runtime/`` (device, precision, processes, stop requests), ``lab/`` (profiles, the
lab runner, rendering, run-folder guards), ``report/`` (reading runs; findings, tables, plots)
and ``bench/`` (speed against the handout's pipeline).
"""

__version__ = "1.0.0"
