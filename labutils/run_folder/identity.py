"""What makes a run the run that was asked for: its defining options and its data.

Two runs that agree on ``RUN_KEYS`` (``config.py``) and on their data's fingerprint are the same
run. What a command leaves to the machine or the recipe (None, ``auto``: the batch size on a GPU
or a CPU, the recipe's learning rate, the precision ``auto`` picks) matches whatever the run
recorded, so a run made on a GPU is still the profile's when its report is rendered on a laptop.
``differences`` is what the lab ("already complete" or stale), ``--resume`` and the report ask.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config import RUN_KEYS

DATA_KEY = "data_fingerprint"  # in metrics.json and checkpoints: which images the run trained and tested on
LEFT_TO_THE_RUN = (None, "auto")


def differences(recorded: Mapping[str, Any], asked: Mapping[str, Any]) -> list[str]:
    """'epochs 2 -> 3' (recorded -> asked) for each defining value that differs; [] for the same run.

    ``recorded``: what the run used (its config.json, with the data's fingerprint added from
    metrics.json or the checkpoint); ``asked``: what the command asks (a RunConfig's dict, and the
    fingerprint of the data it names). A key either side lacks (an older run folder) is not compared.
    """
    found = []
    for key in (*RUN_KEYS, DATA_KEY):
        want, have = asked.get(key), recorded.get(key)
        if want in LEFT_TO_THE_RUN or key not in recorded or have == want:
            continue
        shown = "other images" if key == DATA_KEY else f"{_short(have)} -> {_short(want)}"
        found.append(f"{key.replace('_', ' ')} {shown}")
    return found


def _short(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."
