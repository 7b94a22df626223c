"""How a run uses the machine it runs on: its device, its processes, stop requests.

- ``runtime``: ``Runtime``, the one decision per run (precision and ``auto``'s probe, memory
  format, data placement, host reads), ``resolve_runtime``;
- ``host_memory``: freed memory kept in the process, so a CPU step does not fault it back in;
- ``device``: which device to train on, and what it supports (autocast, memory, synchronising);
- ``distributed``: several processes under ``torchrun`` (DistributedDataParallel);
- ``interrupt``: Ctrl-C and SIGTERM as a request to stop, never a traceback;
- ``environment``: the hardware's name and the software's versions, for ``metrics.json``.
"""
