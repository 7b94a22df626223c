"""How the lab's runs were made, for the report's first section: the profile, the table of
settings (data, sizes, epochs, hardware, time), how to make the runs when there are none, and
whether the runs share the handout author's setup, so that his numbers compare with theirs.
"""

from __future__ import annotations

from pathlib import Path

from ..config import split_sizes
from .details import environment_rows, lab_time
from .paper_tables import PAPER_IMAGE_SIZE, REFERENCE_RUN
from .runs import LABELS, LabRuns

# All of CIFAR-10's training images but the validation ones: a run with fewer trained on a subset.
FULL_TRAIN_IMAGES = split_sizes("cifar10")[0]


def settings(lab: LabRuns, name: str) -> list[str]:
    """The distinct values of a metrics field over all complete runs, as sorted strings."""
    return sorted({str(run.metrics.get(name)) for run in lab.complete})


def trained_image_size(lab: LabRuns) -> int:
    """The input size the complete runs trained at (the first of several, as sorted strings);
    the papers' when no run is complete."""
    return int(settings(lab, "image_size")[0]) if lab.complete else PAPER_IMAGE_SIZE


def devices(lab: LabRuns) -> str:
    return ", ".join(settings(lab, "device"))


def profile_line(lab: LabRuns) -> str:
    """The profile's name, its description and why its own list of runs could not be read."""
    return (f"Profile **{lab.profile}**" + (f": {lab.description}" if lab.description else "")
            + (f" ({lab.problem})" if lab.problem else ""))


DATA_NAMES = {"cifar10": "CIFAR-10", "fake": "generated images (not CIFAR-10)", "imagefolder": "an image folder"}


def profile_summary(lab: LabRuns) -> str:
    """The profile and its data in one line: data set, images, input size, epochs, seeds, device and
    precision of the complete runs (the distinct values of each), and random "pretrained" weights."""
    runs = lab.complete
    if not runs:
        return profile_line(lab)
    images = sorted({f"{r.metrics['train_images']:,} / {r.metrics['val_images']:,} / {r.metrics['test_images']:,}"
                     for r in runs})
    epochs = settings(lab, "epochs")
    seeds = sorted({r.seed for r in runs})
    parts = [f"Profile **{lab.profile}**", ", ".join(DATA_NAMES.get(d, d) for d in settings(lab, "dataset")),
             f"{' and '.join(images)} images (train / val / test)",
             ", ".join(f"{s}x{s}" for s in settings(lab, "image_size")),
             f"{', '.join(sorted(epochs, key=int))} epoch{'s' if epochs != ['1'] else ''}",
             f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}",
             f"{devices(lab)}, {', '.join(sorted(precisions(lab)))}"]
    random = sorted({LABELS.get(r.experiment, r.experiment) for r in runs
                     if str(r.metrics.get("weights", "")).startswith("random")})
    if random:
        parts.append(f"random weights for {', '.join(random)}")
    return " · ".join(parts) + (f" ({lab.problem})" if lab.problem else "")


def no_runs_note(lab: LabRuns, runs_dir: str | Path, profile: str) -> str:
    """What to type to make the runs and render the report again (``profile`` as the user gave it)."""
    return (f"> **No complete runs of profile `{lab.profile}` in `{Path(runs_dir) / lab.profile}`.** Make them with "
            f"`make lab PROFILE={profile}` or `python -m labutils lab --profile {profile}`, then render this report "
            f"again with `python -m labutils report --profile {profile}`. Until then the sections below show only "
            f"what needs no training: the project's structure and GoogLeNet's layers against the paper.")


def precisions(lab: LabRuns) -> set[str]:
    """'bf16 (channels-last)', ... : the precision and memory format each complete run trained in."""
    return {f"{r.metrics.get('precision', 'not recorded')} ({r.metrics.get('memory_format', 'not recorded')})"
            .replace("_", "-") for r in lab.complete}


def setup_rows(lab: LabRuns, runs_dir: str | Path) -> list[list[str]]:
    """The setup table: each setting with the distinct values the complete runs used."""
    runs = lab.complete
    images = {f"{r.metrics['train_images']:,} / {r.metrics['val_images']:,} / {r.metrics['test_images']:,}"
              for r in runs}
    rates = {f"{LABELS.get(r.experiment, r.experiment)} {r.metrics['lr']:.3g}" for r in runs if "lr" in r.metrics}
    return [
        ["data", ", ".join(settings(lab, "dataset"))],
        ["images (train / validation / test)", ", ".join(sorted(images))],
        ["input size", ", ".join(f"{s}x{s}" for s in settings(lab, "image_size"))],
        ["epochs", ", ".join(settings(lab, "epochs"))],
        ["batch size", ", ".join(settings(lab, "batch_size"))],
        ["learning rate (peak)", ", ".join(sorted(rates))],
        ["seeds", ", ".join(sorted({str(r.seed) for r in runs}, key=int))],
        ["device", devices(lab)],
        ["precision, memory format", ", ".join(sorted(precisions(lab)))],
        *environment_rows(lab),
        ["lab time (all runs)", lab_time(lab)],
        ["run folders", f"`{Path(runs_dir) / lab.profile}/<experiment>/seed<k>/`"],
    ]


def handout_comparable(lab: LabRuns) -> bool:
    """True when there are complete runs and every one trained as the handout's author did: the
    same data, input size and epochs, on all of CIFAR-10's training split."""
    return bool(lab.complete) and all(
        all(r.metrics.get(name) == value for name, value in REFERENCE_RUN.items())
        and r.metrics.get("train_images", 0) >= FULL_TRAIN_IMAGES for r in lab.complete)
