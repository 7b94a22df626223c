"""Checkpoints of this lab: loaded safely (``weights_only=True``), checked against the model."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from ..errors import QUOTE_LIMIT, CheckpointError, quoted


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """A checkpoint saved by this lab, loaded with ``weights_only=True``; clear error otherwise."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if path.is_dir():
        found = [p.name for p in (path / "best.pt", path / "last.pt") if p.exists()]
        example = path / (found[0] if found else "best.pt")
        raise CheckpointError(f"{path} is a folder; a checkpoint is a file, e.g. {example}"
                              + ("" if found else " (this folder holds none)"))
    if not path.is_file():  # a named pipe: reading it would wait for a writer forever
        raise CheckpointError(f"checkpoint {path} is not a regular file: pass a best.pt or last.pt of a run folder")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except OSError as error:
        raise CheckpointError(f"checkpoint {path} cannot be read ({error.strerror or error})") from error
    except Exception as error:
        raise CheckpointError(
            f"checkpoint {path} is corrupted or not a checkpoint of this lab ({type(error).__name__}); "
            "delete it and train again (--force)"
        ) from error
    weights = state.get("model") if isinstance(state, dict) else None
    if not isinstance(weights, Mapping) or not weights or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in weights.items()):
        raise CheckpointError(f"checkpoint {path} holds no model weights (a dict with a 'model' state dict); "
                              "it is not a checkpoint of this lab: pass a best.pt or last.pt of a run folder")
    return state


def load_weights(model: torch.nn.Module, state: dict, path: str | Path, experiment: str) -> None:
    """Load a checkpoint's weights into ``model``, explaining an architecture mismatch."""
    saved = state.get("experiment")
    if saved is not None and saved != experiment:
        name = saved[:QUOTE_LIMIT] if isinstance(saved, str) else quoted(saved)
        raise CheckpointError(f"checkpoint {path} was trained as '{name}', not '{experiment}': "
                              f"pass --experiment {name} or another checkpoint")
    problem = weights_mismatch(model.state_dict(), state["model"])
    if problem is not None:
        raise CheckpointError(f"checkpoint {path} does not fit the '{experiment}' architecture here: {problem}")
    broken = next((k for k, v in state["model"].items() if v.is_floating_point() and not v.isfinite().all()), None)
    if broken is not None:
        raise CheckpointError(f"checkpoint {path} holds weights that are not finite (NaN or infinity in {broken}): "
                              "the run diverged; use another checkpoint, or train again (e.g. with a smaller --lr)")
    model.load_state_dict(state["model"])


def weights_mismatch(own: Mapping, saved: Mapping) -> str | None:
    """What differs between a model's state dict and a checkpoint's, and what to do (None: they fit)."""
    missing = [k for k in own if k not in saved]
    unexpected = [k for k in saved if k not in own]
    if missing or unexpected:
        parts = [f"it lacks {len(missing)} of the model's tensors (e.g. {missing[0]})" if missing else "",
                 f"holds {len(unexpected)} the model has not (e.g. {quoted(unexpected[0])})" if unexpected else ""]
        return (" and ".join(p for p in parts if p) + "; it was saved from another architecture: "
                "use the checkpoint of the same experiment")
    shapes = [(k, tuple(saved[k].shape), tuple(own[k].shape)) for k in own if saved[k].shape != own[k].shape]
    if not shapes:
        return None
    counts = {(s[0], o[0]) for _, s, o in shapes if s and o and s[1:] == o[1:]}
    if len(counts) == 1 and all(s and o and s[1:] == o[1:] for _, s, o in shapes):
        trained, here = counts.pop()
        return (f"it was trained for {trained} classes and the test images here have {here}: test it on the "
                "data it was trained on (the same --dataset and --data-root)")
    key, s, o = shapes[0]
    return (f"{key} has shape {list(s)} in the checkpoint and {list(o)} in the model "
            f"({len(shapes)} tensor(s) differ); use the checkpoint of the same experiment and settings")
