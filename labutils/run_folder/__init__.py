"""The run folder, ``runs/<profile>/<experiment>/seed<k>/``: the contract between training and the report.

- ``folder``: ``RunFolder``, what a run folder holds and how each file is read and written;
- ``files``: writes that leave a whole file or none, and JSON read without surprises;
- ``checkpoint``: ``best.pt`` and ``last.pt`` loaded safely and checked against the model;
- ``lock``: one process at a time in a folder;
- ``guard``: when a folder may be trained into, resumed or reused, and what a stop leaves in it.

Below ``experiment`` (which trains into a run folder) and ``lab`` (which runs many), so that both
follow the same rules.
"""

from .checkpoint import load_checkpoint, load_weights, weights_mismatch
from .files import WriteError, atomic_write_bytes, atomic_write_json, read_json
from .folder import COMPLETE, HISTORY_FIELDS, METRICS_FIELDS, RunFileError, RunFolder

__all__ = ["COMPLETE", "HISTORY_FIELDS", "METRICS_FIELDS", "RunFileError", "RunFolder", "WriteError",
           "atomic_write_bytes", "atomic_write_json", "load_checkpoint", "load_weights", "read_json",
           "weights_mismatch"]
