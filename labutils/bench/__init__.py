"""``python -m labutils bench``: how fast the lab trains, against the handout's pipeline.

For each model, in one process and after warm-up steps:

- **ours**: the lab's own code path - ``make_loaders`` (uint8 images in memory, whole-batch
  augmentation with ``grid_sample``; on a GPU the data lives there), ``train_model`` with the
  experiment's recipe, in the runtime ``--precision`` resolves to (docs/device.md) - at the
  lab's batch size. Evaluation is ``evaluate`` (what validation and testing run).
- **bare**: the same ``train_model`` on pre-made input tensors, so ours/bare is what the data
  pipeline adds to a step.
- **handout**: the handout's loop (``handout.py``): PIL transforms, batch 4, fp32.

What else it measures and prints: docs/speed.md, "The benchmark".

The modules, in the order a run uses them:

- ``settings``: the command's options and ``BenchSettings``, what they resolve to;
- ``timing``: timed loaders and our pipeline's measurements; ``handout``: the handout's;
- ``measure``: the main table's row per model, the batch-size sweep; ``precision``: fp32 vs. auto;
- ``estimate``: the profile's estimated wall time, the targets;
- ``report``: the printed tables; ``summary``: the GPU check's table (``scripts/gpu_check.sh``);
- ``command``: ``run_bench``, which runs them all and writes bench.json.
"""

from .command import run_bench

__all__ = ["run_bench"]
