"""What the report's sentences say: each function reads results from the run folders and decides
which statement they support (pretraining helps or not, a difference beyond or within the noise,
which runs are missing, whether the runs compare with the handout's), returning markdown. The
report notebook only shows what these return; ``tests/test_report_findings.py`` and
``tests/test_report_setup.py`` run every branch on small hand-made run folders.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from .details import PRETRAINED_PAIRS
from .format import fmt_duration, fmt_pct, fmt_pp, fmt_rate
from .paper_tables import REFERENCE_RESULTS
from .runs import (
    LABELS,
    MISSING,
    Difference,
    ExperimentResults,
    LabRuns,
    difference,
    sampling_error,
)
from .setup import FULL_TRAIN_IMAGES, handout_comparable

# A difference this much larger than its standard error counts as beyond the noise (runs.Difference).
NOISE_FACTOR = 2
# Two accuracies closer than this are "level".
LEVEL_PP = 0.0005


def label(experiment: str) -> str:
    return LABELS.get(experiment, experiment)


# --- missing and failed runs ------------------------------------------------------------------

def unavailable(results: Mapping[str, ExperimentResults], *experiments: str) -> str | None:
    """A sentence naming the experiments without a complete run and why, or None when all have one."""
    lacking = [f"{results[e].label} ({results[e].status_text()})" for e in experiments if not results[e].n]
    return f"*Not available: {'; '.join(lacking)}.*" if lacking else None


def missing_runs(lab: LabRuns) -> str | None:
    """The list of runs that are not complete, when any was started (a wholly absent lab says so elsewhere)."""
    if not lab.incomplete or all(r.status == MISSING for r in lab.records):
        return None
    return "**Runs missing from the numbers below** (the tables mark them):\n\n" + "\n".join(
        f"- {label(r.experiment)}, seed {r.seed}: {r.status} (`{r.path}`)" for r in lab.incomplete)


def setup_notes(lab: LabRuns) -> list[str]:
    """Warnings about what the runs can and cannot show: generated data, random "pretrained"
    weights, a subset of CIFAR-10; and, when every run is complete, how they were trained."""
    runs, notes = lab.complete, []
    if any(r.metrics.get("dataset") == "fake" for r in runs):
        notes.append("> **Generated images, not CIFAR-10.** These runs trained on coloured patterns made up for "
                     "testing; their accuracies show that the pipeline runs end to end, not how good the models are.")
    random = sorted({label(r.experiment) for r in runs if str(r.metrics.get("weights", "")).startswith("random")})
    if random:
        notes.append(f"> **Random weights for {', '.join(random)}.** These runs started from random weights instead "
                     "of ImageNet's (offline check), so they say nothing about pretraining.")
    subsets = sorted(r.metrics["train_images"] for r in runs if r.metrics.get("dataset") == "cifar10")
    if subsets and subsets[0] < FULL_TRAIN_IMAGES:
        notes.append(f"> **A subset of CIFAR-10**: {subsets[0]:,} of the {FULL_TRAIN_IMAGES:,} training images; "
                     "accuracies are lower than the full lab's.")
    if runs and not lab.incomplete:
        notes.append(f"All {len(lab.records)} runs of the profile are complete. Each trained with the recipe of "
                     f"`labutils/recipe.py` (SGD with Nesterov momentum, warm-up and cosine decay, label smoothing "
                     f"0.1); the best epoch by validation accuracy is the one tested.")
    return notes


# --- differences and their noise --------------------------------------------------------------

def seed_noise(gap: Difference, test_images: int) -> str:
    """Whether a difference of test accuracies stands out of the noise: the seeds' spread when each
    side has two or more, else the test set's sampling error (and how to measure the spread)."""
    if gap.beyond_noise is None:
        noise = sampling_error(gap.b, test_images)
        limit = NOISE_FACTOR * math.sqrt(2) * noise
        return (f"With a single seed on a side this cannot tell an effect from noise: a different seed changes "
                f"the initial weights, the split and the order of the batches. The test set alone contributes a "
                f"sampling error of {noise * 100:.1f} pp per accuracy ({test_images:,} images), so a difference "
                f"below about {limit * 100:.1f} pp (two standard errors of a difference) is within its noise"
                f"{' - as this one is' if abs(gap.diff) < limit else ''}. Add seeds to the profile "
                f"(`seeds: [0, 1, 2]`) to measure the seed-to-seed spread.")
    verdict = ("**is larger than the seed-to-seed noise** (more than two standard errors)" if gap.beyond_noise
               else "**is within the seed-to-seed noise** (less than two standard errors)")
    return (f"Over {gap.n_a} and {gap.n_b} seeds the test accuracies vary by {gap.std_a * 100:.2f} and "
            f"{gap.std_b * 100:.2f} pp (standard deviation); the difference of the means has a standard error of "
            f"{gap.standard_error * 100:.2f} pp, so the difference {verdict}.")


def lrn_finding(lrn: ExperimentResults, plain: ExperimentResults) -> str | None:
    """Exercise 2: AlexNet with LRN against without, in test accuracy and time per epoch."""
    gap = difference(lrn, plain, "test_acc")
    if gap is None:
        return None
    text = (f"With LRN the test accuracy is {fmt_pct(gap.a)} against {fmt_pct(gap.b)} without, a difference of "
            f"{fmt_pp(gap.diff, 2)}. " + seed_noise(gap, plain.first("test_images")))
    time_gap = difference(lrn, plain, "time_per_epoch_s")
    if time_gap is not None:
        text += (f" An epoch takes {fmt_duration(time_gap.a)} with LRN and {fmt_duration(time_gap.b)} without "
                 f"({time_gap.diff / time_gap.b:+.0%}).")
    ref_lrn, ref_plain = REFERENCE_RESULTS["alexnet_lrn"], REFERENCE_RESULTS["alexnet"]
    return text + (f" The handout's author found {fmt_pct(ref_lrn['test_acc'])} vs {fmt_pct(ref_plain['test_acc'])} "
                   f"({fmt_pp(ref_lrn['test_acc'] - ref_plain['test_acc'], 2)}), with one seed each.")


def scratch_finding(googlenet: ExperimentResults, alexnet: ExperimentResults, devices: str) -> str:
    """Exercise 4: GoogLeNet against AlexNet from scratch, in training speed and test accuracy."""
    speed = difference(googlenet, alexnet, "images_per_s")
    epoch = difference(googlenet, alexnet, "time_per_epoch_s")
    accuracy = difference(googlenet, alexnet, "test_acc")
    if not (speed and epoch and accuracy):
        return ""
    text = (f"**Speed.** Measured, GoogLeNet trains {fmt_rate(speed.a)} images/s against AlexNet's {fmt_rate(speed.b)} "
            f"({speed.a / speed.b:.2f}x) and takes {epoch.a / epoch.b:.1f} times as long per epoch "
            f"({fmt_duration(epoch.a)} vs {fmt_duration(epoch.b)}, on {devices}). **Accuracy.** GoogLeNet reaches "
            f"{fmt_pct(accuracy.a)} test accuracy, AlexNet {fmt_pct(accuracy.b)} ({fmt_pp(accuracy.diff)})")
    if accuracy.beyond_noise is not None:
        return text + (f"; over the seeds that difference is {'larger than' if accuracy.beyond_noise else 'within'} "
                       f"the noise (standard error {accuracy.standard_error * 100:.2f} pp).")
    noise = sampling_error(accuracy.b, alexnet.first("test_images"))
    return text + (f"; one seed each, and the test set's sampling error alone is about {noise * 100:.1f} pp per "
                   "accuracy.")


def handout_scratch_result() -> str:
    """The handout author's GoogLeNet against his AlexNet, in test accuracy and training time."""
    googlenet, alexnet = REFERENCE_RESULTS["googlenet"], REFERENCE_RESULTS["alexnet"]
    return (f" The handout's author found {fmt_pct(googlenet['test_acc'])} vs {fmt_pct(alexnet['test_acc'])} in "
            f"{googlenet['time_min']:.0f} vs {alexnet['time_min']:.1f} minutes "
            f"({googlenet['time_min'] / alexnet['time_min']:.1f} times as long).")


# --- inference speed ----------------------------------------------------------------------------

def inference_finding(googlenet: ExperimentResults, alexnet: ExperimentResults) -> str:
    """Exercise 4, inference: GoogLeNet against AlexNet in images/s at the lab's batch and latency."""
    rate = difference(googlenet, alexnet, "inference_images_per_s")
    latency = difference(googlenet, alexnet, "latency_ms")
    if rate is None or latency is None:
        missing = [r.label for r in (googlenet, alexnet) if r.n and r.mean("latency_ms") is None]
        return (f"Inference speed was not measured for {', '.join(missing)} (run folders from before it was "
                "recorded: train them again with --force)." if missing else "")
    faster, ratio = ("GoogLeNet", rate.a / rate.b) if rate.diff > 0 else ("AlexNet", rate.b / rate.a)
    text = (f"**Inference.** In evaluation mode at batch {alexnet.first('inference_batch_size')}, GoogLeNet scores "
            f"{fmt_rate(rate.a)} images/s and AlexNet {fmt_rate(rate.b)}: {faster} is {ratio:.1f} "
            f"times as fast. One image alone takes {latency.a:.1f} ms through GoogLeNet and {latency.b:.1f} ms "
            f"through AlexNet (median of repeated runs).")
    training = difference(googlenet, alexnet, "images_per_s")
    if training is not None:
        text += (f" Inference runs {rate.a / training.a:.1f} (GoogLeNet) and {rate.b / training.b:.1f} (AlexNet) times "
                 "as fast as training, which also computes gradients, updates the weights and, for GoogLeNet, "
                 "its two side classifiers.")
    return text


# --- pretraining (exercise 5) -----------------------------------------------------------------

def random_pretrained(results: Mapping[str, ExperimentResults]) -> bool:
    """True when a "pretrained" run started from random weights (an offline smoke run)."""
    return any(str(results[p].first("weights")).startswith("random") for _, p in PRETRAINED_PAIRS if results[p].n)


def pretraining_finding(results: Mapping[str, ExperimentResults]) -> list[str]:
    """Whether ImageNet's weights help each network: random weights, both gain, one gains, neither."""
    lines = []
    gains = {scratch: difference(results[pretrained], results[scratch], "test_acc")
             for scratch, pretrained in PRETRAINED_PAIRS}
    random = random_pretrained(results)
    if random:
        lines.append("**These pretrained runs started from random weights** (an offline check), so they cannot say "
                     "whether ImageNet pretraining helps; run the `quick` or `full` profile for that.")
    for family, gain in gains.items():
        if gain is not None:
            noise = "" if gain.beyond_noise is not False else " - within the seed-to-seed noise"
            lines.append(f"Pretrained {label(family)} reaches {fmt_pct(gain.a)} test accuracy against "
                         f"{fmt_pct(gain.b)} from scratch ({fmt_pp(gain.diff)}{noise}).")
    if random or not all(gains.values()):
        return lines
    g, a = gains["googlenet"].diff, gains["alexnet"].diff
    if g > 0 and a > 0:
        lines.append(f"**Yes: like AlexNet, GoogLeNet does better from ImageNet's weights than from scratch**, by "
                     f"{g * 100:.1f} pp against AlexNet's {a * 100:.1f} pp.")
    else:
        who = "only GoogLeNet gains" if g > 0 else "only AlexNet gains" if a > 0 else "neither gains"
        lines.append(f"**Pretraining does not help both here**: it changes GoogLeNet's test accuracy by {fmt_pp(g)} "
                     f"and AlexNet's by {fmt_pp(a)}; {who}.")
    return lines


def pretrained_pair_finding(results: Mapping[str, ExperimentResults]) -> str | None:
    """Pretrained GoogLeNet against pretrained AlexNet: level, or who is ahead, and their sizes."""
    both = difference(results["googlenet_pretrained"], results["alexnet_pretrained"], "test_acc")
    if both is None:
        return None
    ratio = results["alexnet_pretrained"].first("params") / results["googlenet_pretrained"].first("params")
    if abs(both.diff) < LEVEL_PP:
        return (f"The two pretrained networks are level ({fmt_pct(both.a)}), although AlexNet holds {ratio:.1f} "
                "times GoogLeNet's parameters.")
    better = "GoogLeNet" if both.diff > 0 else "AlexNet"
    return (f"Of the two pretrained networks, {better} is ahead by {abs(both.diff) * 100:.1f} pp "
            f"({fmt_pct(both.a)} vs {fmt_pct(both.b)}), with AlexNet holding {ratio:.1f} times GoogLeNet's parameters.")


def capacity_finding(results: Mapping[str, ExperimentResults], experiments: Sequence[str]) -> str | None:
    """Capacity and generalisation: which network's training-validation gap is widest, and whether
    GoogLeNet's fewer parameters generalise better than AlexNet's."""
    gaps = {e: results[e].mean("train_acc") - results[e].mean("val_acc") for e in experiments if results[e].n}
    if len(gaps) < 2:
        return None
    widest, narrowest = max(gaps, key=gaps.get), min(gaps, key=gaps.get)
    text = (f"**Capacity and generalisation.** The gap between training and validation accuracy (table above) is "
            f"widest for {label(widest)} ({fmt_pp(gaps[widest])}) and narrowest for {label(narrowest)} "
            f"({fmt_pp(gaps[narrowest])}). A wide positive gap means the network fits its training images better than "
            f"it generalises to new ones: capacity spent on memorising. Training accuracy here is measured on "
            f"augmented images with dropout and label smoothing on, so it understates the fit; a negative gap means "
            f"that regularisation costs more accuracy in training than the network loses on unseen images.")
    val = {e: results[e].mean("val_acc") for e in gaps}
    pairs = [(s, p) for s, p in (("googlenet", "alexnet"), ("googlenet_pretrained", "alexnet_pretrained"))
             if s in val and p in val]
    if not pairs:
        return text
    scratch = all(results[e].n for e in ("googlenet", "alexnet"))
    share = results["googlenet"].first("params") / results["alexnet"].first("params") if scratch else None
    wins = [s for s, p in pairs if val[s] > val[p]]
    compared = "; ".join(f"{'pretrained' if 'pretrained' in s else 'from scratch'}: {fmt_pct(val[s])} vs "
                         f"{fmt_pct(val[p])}" for s, p in pairs)
    fewer = f", with {share:.0%} of AlexNet's parameters," if share else ""
    if len(wins) == len(pairs):
        return text + (f" Parameters are not what generalises: GoogLeNet{fewer} reaches the higher validation "
                       f"accuracy ({compared}); its depth and small convolutions use parameters where AlexNet spends "
                       "most of its own on fully connected layers.")
    if wins:
        return text + (f" GoogLeNet{fewer} reaches the higher validation accuracy only "
                       f"{'pretrained' if 'pretrained' in wins[0] else 'from scratch'} ({compared}).")
    return text + f" GoogLeNet{fewer} does not reach a higher validation accuracy than AlexNet here ({compared})."


def selection_finding(results: Mapping[str, ExperimentResults], experiments: Sequence[str]) -> str | None:
    """Whether picking the best epoch by validation accuracy overfit the validation set."""
    val_test = {e: results[e].mean("val_acc") - results[e].mean("test_acc") for e in experiments if results[e].n}
    if not val_test:
        return None
    worst = max(val_test, key=lambda e: abs(val_test[e]))
    images = min(results[e].first("val_images") for e in val_test)
    noise = sampling_error(0.5, images)
    overfit = abs(val_test[worst]) >= NOISE_FACTOR * noise
    return (f"Validation and test accuracy agree within {abs(val_test[worst]) * 100:.1f} pp for every model "
            f"(the largest difference for {label(worst)}), against a sampling error of up to {noise * 100:.1f} pp "
            f"for {images:,} validation images: choosing the best epoch by validation accuracy "
            f"{'may have overfit' if overfit else 'did not noticeably overfit'} the validation set.")


def pretrained_findings(results: Mapping[str, ExperimentResults], experiments: Sequence[str]) -> str:
    """Exercise 5's paragraphs: whether pretraining helps, the two pretrained networks, capacity and
    generalisation, and the choice of the best epoch; or that there is nothing to compare yet."""
    lines = [*pretraining_finding(results), pretrained_pair_finding(results), capacity_finding(results, experiments),
             selection_finding(results, experiments)]
    return "\n\n".join(line for line in lines if line) or "No results to compare yet."


# --- the conclusion ---------------------------------------------------------------------------

def handout_comparison(lab: LabRuns, done: Mapping[str, ExperimentResults]) -> str | None:
    """How many models beat the handout author's test accuracy and training time, when the runs
    share his setup; a warning that they do not compare when they do not; None without runs.
    ``done``: the experiments with a complete run."""
    if handout_comparable(lab):
        ours = {e: r for e, r in done.items() if e in REFERENCE_RESULTS}
        ahead = [e for e, r in ours.items() if r.mean("test_acc") > REFERENCE_RESULTS[e]["test_acc"]]
        faster = [e for e, r in ours.items() if r.mean("train_time_s") / 60 < REFERENCE_RESULTS[e]["time_min"]]
        return (f"Same data, input size and number of epochs as the handout: {len(ahead)} of {len(done)} models "
                f"beat its test accuracy ({', '.join(label(e) for e in ahead) or 'none'}) and {len(faster)} train "
                f"faster ({', '.join(label(e) for e in faster) or 'none'}).")
    if lab.complete:
        return ("These runs used a different setup from the handout's (data, input size, epochs or number of images, "
                "see the first section), so their numbers are not comparable with the handout's.")
    return None


def leaders(done: Mapping[str, ExperimentResults]) -> str | None:
    """The most accurate model (all of them when tied), the fastest to train and the smallest."""
    if not done:
        return None
    top = max(r.mean("test_acc") for r in done.values())
    best = [r.label for r in done.values() if r.mean("test_acc") == top]
    fastest = max(done.values(), key=lambda r: r.mean("images_per_s"))
    smallest = min(done.values(), key=lambda r: r.first("params"))
    return (f"Most accurate: {', '.join(best)} ({fmt_pct(top)}{', tied' if len(best) > 1 else ''}); fastest to "
            f"train: {fastest.label} ({fmt_rate(fastest.mean('images_per_s'))} images/s); fewest parameters: "
            f"{smallest.label} ({smallest.first('params'):,}).")


def conclusion_notes(lab: LabRuns, done: Mapping[str, ExperimentResults]) -> str:
    """The conclusion's paragraphs: against the handout's numbers, then the leaders."""
    return "\n\n".join(note for note in (handout_comparison(lab, done), leaders(done)) if note)
