"""What the report's sentences say: each function reads results from the run folders and decides
which statement they support (pretraining helps or not, a difference beyond or within the noise,
which runs are missing, whether the runs compare with the handout's), returning markdown. Every
comparison goes through ``evidence.py``'s rule, and on generated data or random "pretrained"
weights a finding is one line saying that it needs real data. The report notebook only shows
what these return; ``tests/test_report_findings.py`` and ``tests/test_report_setup.py`` run every
branch on small hand-made run folders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from . import evidence
from .details import PRETRAINED_PAIRS
from .evidence import (
    TIED_TIMING,
    WITHIN,
    Estimate,
    accuracy_sentence,
    compare,
    compare_accuracy,
    compare_speed,
    grounds_for,
    join,
    proportion,
    rank,
    rank_speed,
    speed_sentence,
)
from .format import fmt_duration, fmt_pct, fmt_pp, fmt_rate
from .paper_tables import REFERENCE_RESULTS, REFERENCE_TEST_IMAGES
from .runs import LABELS, MISSING, ExperimentResults, LabRuns
from .setup import FULL_TRAIN_IMAGES, handout_comparable

ONE_SEED = ("With one seed on a side the seed-to-seed spread is not measured (a different seed changes the initial "
            "weights, the split and the order of the batches; add `seeds: [0, 1, 2]` to the profile), so only the "
            "test set's sampling error is counted.")


def label(experiment: str) -> str:
    return LABELS.get(experiment, experiment)


def _ms(value: float) -> str:
    return f"{value:.1f}\u00a0ms"


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


def ignored_runs(lab: LabRuns) -> str | None:
    """The folders under the profile's run folder that the report did not use, and why."""
    if not lab.ignored:
        return None
    return (f"**Run folders not used** (profile {lab.profile} does not list them):\n\n"
            + "\n".join(f"- `{path}`: {why}" for path, why in lab.ignored))


def setup_notes(lab: LabRuns) -> list[str]:
    """Warnings about what the runs can and cannot show: generated data, random "pretrained"
    weights, a subset of CIFAR-10."""
    runs, notes = lab.complete, []
    if any(r.metrics.get("dataset") == "fake" for r in runs):
        notes.append("> **Generated images, not CIFAR-10.** These runs trained on coloured patterns made up for "
                     "testing: a pipeline check. Their numbers show that the pipeline runs end to end, not how good "
                     "the models are, and the report draws no comparison from them.")
    random = sorted({label(r.experiment) for r in runs if str(r.metrics.get("weights", "")).startswith("random")})
    if random:
        notes.append(f"> **Random weights for {', '.join(random)}.** These runs started from random weights instead "
                     "of ImageNet's (offline check), so they say nothing about pretraining.")
    subsets = sorted(r.metrics["train_images"] for r in runs if r.metrics.get("dataset") == "cifar10")
    if subsets and subsets[0] < FULL_TRAIN_IMAGES:
        notes.append(f"> **A subset of CIFAR-10**: {subsets[0]:,} of the {FULL_TRAIN_IMAGES:,} training images; "
                     "accuracies are lower than the full lab's.")
    return notes


def recipe_note(lab: LabRuns) -> str | None:
    """How the runs trained, when every run of the profile is complete."""
    if not lab.complete or lab.incomplete:
        return None
    return (f"All {len(lab.records)} runs of the profile are complete. Each trained with the recipe of "
            "`labutils/recipe.py` (SGD with Nesterov momentum, warm-up and cosine decay, label smoothing 0.1); the "
            "best epoch by validation accuracy is the one tested.")


# --- exercise 2: LRN ------------------------------------------------------------------------------

def handout_gap(a: str, b: str) -> evidence.Gap:
    """The handout author's test accuracies of two experiments, judged by the same rule."""
    return compare(proportion(REFERENCE_RESULTS[a]["test_acc"], REFERENCE_TEST_IMAGES),
                   proportion(REFERENCE_RESULTS[b]["test_acc"], REFERENCE_TEST_IMAGES))


def lrn_finding(lrn: ExperimentResults, plain: ExperimentResults) -> str | None:
    """Exercise 2: AlexNet with LRN against without, in test accuracy and time per epoch."""
    gap = compare_accuracy(lrn, plain)
    if gap is None:
        return None
    ground = grounds_for(lrn, plain)
    if not ground.can_compare():
        return ground.needs_real_data()
    text = f"{accuracy_sentence(gap, lrn.label, plain.label, digits=2)}."
    if min(lrn.n, plain.n) < 2:
        text += " " + ONE_SEED
    time = compare_speed(lrn, plain, "time_per_epoch_s")
    if time is not None:
        text += (" Time per epoch: "
                 + speed_sentence(time, lrn.label, plain.label, fmt_duration, higher_is_faster=False) + ".")
        if time.effect and time.a < time.b:
            text += (" LRN adds arithmetic and no parameters, so an epoch faster with it points to a machine whose "
                     "load changed between the two runs, not to LRN.")
    his = handout_gap("alexnet_lrn", "alexnet")
    return text + (f" The handout's author found {fmt_pct(his.a)} with LRN and {fmt_pct(his.b)} without, one seed "
                   f"each on {REFERENCE_TEST_IMAGES:,} test images: {his.judged(2)}.")


def lrn_answer(lrn: ExperimentResults, plain: ExperimentResults) -> str:
    """Exercise 2 in a sentence: does LRN change the test accuracy, by the rule."""
    gap = compare_accuracy(lrn, plain)
    if gap is None:
        return "The comparison needs complete runs of both AlexNets."
    if not grounds_for(lrn, plain).can_compare():
        return (f"Test accuracy {fmt_pct(gap.a)} with LRN, {fmt_pct(gap.b)} without, on generated images: "
                "a pipeline check; the comparison needs real data.")
    if gap.effect:
        change = "improves" if gap.diff > 0 else "lowers"
        return (f"LRN {change} the test accuracy: {fmt_pct(gap.a)} with it, {fmt_pct(gap.b)} without "
                f"({gap.judged(2)}).")
    return (f"No difference beyond the noise: {fmt_pct(gap.a)} with LRN, {fmt_pct(gap.b)} without "
            f"({gap.judged(2)}).")


# --- exercise 4: GoogLeNet against AlexNet from scratch ---------------------------------------------

def scratch_finding(googlenet: ExperimentResults, alexnet: ExperimentResults) -> str:
    """Exercise 4: GoogLeNet against AlexNet from scratch, in training speed and test accuracy."""
    speed = compare_speed(googlenet, alexnet, "images_per_s")
    epoch = compare_speed(googlenet, alexnet, "time_per_epoch_s")
    accuracy = compare_accuracy(googlenet, alexnet)
    if not (speed and epoch and accuracy):
        return ""
    ground = grounds_for(googlenet, alexnet)
    if not ground.can_compare():
        return ground.needs_real_data()
    text = (f"**Training speed.** {speed_sentence(speed, 'GoogLeNet', 'AlexNet', fmt_rate, ' images/s')}; per "
            f"epoch {speed_sentence(epoch, 'GoogLeNet', 'AlexNet', fmt_duration, higher_is_faster=False)}. "
            f"**Accuracy.** {accuracy_sentence(accuracy, 'GoogLeNet', 'AlexNet')}.")
    return text + (" " + ONE_SEED if min(googlenet.n, alexnet.n) < 2 else "")


def handout_scratch_result() -> str:
    """The handout author's GoogLeNet against his AlexNet, in test accuracy and training time."""
    googlenet, alexnet = REFERENCE_RESULTS["googlenet"], REFERENCE_RESULTS["alexnet"]
    his = handout_gap("googlenet", "alexnet")
    return (f" The handout's author found {fmt_pct(googlenet['test_acc'])} vs {fmt_pct(alexnet['test_acc'])} "
            f"({his.judged()}) in {googlenet['time_min']:.0f} vs {alexnet['time_min']:.1f} minutes of training.")


def scratch_answer(googlenet: ExperimentResults, alexnet: ExperimentResults) -> str:
    """Exercise 4's speed and accuracy in a sentence (the parameters are the networks' own: networks.py)."""
    speed = compare_speed(googlenet, alexnet, "images_per_s")
    accuracy = compare_accuracy(googlenet, alexnet)
    if speed is None or accuracy is None:
        return "Speed and accuracy need complete runs of GoogLeNet and AlexNet."
    if not grounds_for(googlenet, alexnet).can_compare():
        return "Speed and accuracy on generated images are a pipeline check: their comparison needs real data."
    return (f"Training speed: {speed_sentence(speed, 'GoogLeNet', 'AlexNet', fmt_rate, ' images/s', short=True)}. "
            f"Accuracy: {accuracy_sentence(accuracy, 'GoogLeNet', 'AlexNet')}.")


# --- inference speed ----------------------------------------------------------------------------

def inference_finding(googlenet: ExperimentResults, alexnet: ExperimentResults) -> str:
    """Exercise 4, inference: GoogLeNet against AlexNet in images/s at the lab's batch and latency."""
    rate = compare_speed(googlenet, alexnet, "inference_images_per_s")
    latency = compare_speed(googlenet, alexnet, "latency_ms")
    if rate is None or latency is None:
        missing = [r.label for r in (googlenet, alexnet) if r.n and r.mean("latency_ms") is None]
        return (f"Inference speed was not measured for {', '.join(missing)} (run folders from before it was "
                "recorded: train them again with --force)." if missing else "")
    ground = grounds_for(googlenet, alexnet)
    if not ground.can_compare():
        return ground.needs_real_data()
    return (f"**Inference.** In evaluation mode at batch {alexnet.first('inference_batch_size')}: "
            f"{speed_sentence(rate, 'GoogLeNet', 'AlexNet', fmt_rate, ' images/s')}. One image alone (median of "
            f"repeated runs): {speed_sentence(latency, 'GoogLeNet', 'AlexNet', _ms, higher_is_faster=False)}.")


# --- pretraining (exercise 5) -----------------------------------------------------------------

def random_pretrained(results: Mapping[str, ExperimentResults]) -> bool:
    """True when a "pretrained" run started from random weights (an offline smoke run)."""
    return any(str(results[p].first("weights")).startswith("random") for _, p in PRETRAINED_PAIRS if results[p].n)


def _pretraining_inputs(results: Mapping[str, ExperimentResults]) -> list[ExperimentResults]:
    return [results[e] for pair in PRETRAINED_PAIRS for e in pair]


def _change(gap: evidence.Gap) -> str:
    return ("gains" if gap.diff > 0 else "loses") if gap.effect else f"changes {WITHIN}"


def pretraining_finding(results: Mapping[str, ExperimentResults]) -> list[str]:
    """Whether ImageNet's weights help each network: both gain, one gains, neither; within the
    noise; or one line when the runs cannot tell (random weights, generated data)."""
    gains = {scratch: compare_accuracy(results[pretrained], results[scratch])
             for scratch, pretrained in PRETRAINED_PAIRS}
    ground = grounds_for(*_pretraining_inputs(results))
    if not ground.can_compare(pretraining=True):
        return [ground.needs_real_data(pretraining=True)] if any(gains.values()) else []
    lines = [f"Pretrained {label(family)} reaches {fmt_pct(gain.a)} test accuracy against {fmt_pct(gain.b)} from "
             f"scratch ({gain.judged()})." for family, gain in gains.items() if gain is not None]
    if not all(gains.values()):
        return lines
    g, a = gains["googlenet"], gains["alexnet"]
    if g.effect and a.effect and g.diff > 0 and a.diff > 0:
        lines.append(f"**Yes: like AlexNet, GoogLeNet does better from ImageNet's weights than from scratch**, by "
                     f"{fmt_pp(g.diff)} against AlexNet's {fmt_pp(a.diff)}, both beyond the noise.")
    else:
        gainers = [name for name, gap in (("GoogLeNet", g), ("AlexNet", a)) if gap.effect and gap.diff > 0]
        who = f"only {gainers[0]} gains" if len(gainers) == 1 else "neither gains beyond the noise"
        lines.append(f"**Pretraining does not help both here**: GoogLeNet {_change(g)} ({g.judged()}), AlexNet "
                     f"{_change(a)} ({a.judged()}); {who}.")
    return lines


def pretraining_answer(results: Mapping[str, ExperimentResults]) -> str:
    """Exercise 5's first question in a sentence."""
    gains = {scratch: compare_accuracy(results[pretrained], results[scratch])
             for scratch, pretrained in PRETRAINED_PAIRS}
    if not all(gains.values()):
        return "Whether pretraining helps needs complete runs of all four networks (from scratch and pretrained)."
    ground = grounds_for(*_pretraining_inputs(results))
    if not ground.can_compare(pretraining=True):
        return ("The pretrained runs started from random weights" if not ground.generated else
                "These runs trained on generated images") + (": whether ImageNet's weights help needs real data and "
                                                            "ImageNet's weights.")
    g, a = gains["googlenet"], gains["alexnet"]
    g_gains, a_gains = g.effect and g.diff > 0, a.effect and a.diff > 0
    if g_gains and a_gains:
        head = "Yes, like AlexNet"
    elif g_gains:
        head = "GoogLeNet gains, but AlexNet " + ("loses" if a.effect else "not beyond the noise")
    elif a_gains:
        head = "No: unlike AlexNet, GoogLeNet " + ("loses" if g.effect else "does not gain beyond the noise")
    else:
        head = "Neither gains beyond the noise"
    return (f"{head}: pretrained GoogLeNet {fmt_pct(g.a)} against {fmt_pct(g.b)} from scratch ({g.judged()}); "
            f"AlexNet {fmt_pct(a.a)} against {fmt_pct(a.b)} ({a.judged()}).")


def pretrained_pair_finding(results: Mapping[str, ExperimentResults]) -> str | None:
    """Pretrained GoogLeNet against pretrained AlexNet: level within the noise or who is ahead, and their sizes."""
    gp, ap = results["googlenet_pretrained"], results["alexnet_pretrained"]
    both = compare_accuracy(gp, ap)
    if both is None:
        return None
    if not grounds_for(gp, ap).can_compare(pretraining=True):
        return None  # pretraining_finding says it once
    ratio = ap.first("params") / gp.first("params")
    if not both.effect:
        return (f"The two pretrained networks are level {WITHIN} ({fmt_pct(both.a)} GoogLeNet, {fmt_pct(both.b)} "
                f"AlexNet: {fmt_pp(both.diff)}, {both.noise()}), although AlexNet holds {ratio:.1f} times GoogLeNet's "
                "parameters.")
    better, worse = ("GoogLeNet", "AlexNet") if both.diff > 0 else ("AlexNet", "GoogLeNet")
    return (f"Of the two pretrained networks, {better} is ahead of {worse}: {fmt_pct(both.a)} GoogLeNet, "
            f"{fmt_pct(both.b)} AlexNet ({both.judged()}), with AlexNet holding {ratio:.1f} times GoogLeNet's "
            "parameters.")


def _gaps(results: Mapping[str, ExperimentResults], experiments: Sequence[str]) -> dict[str, Estimate]:
    return {label(e): evidence.generalisation_gap(results[e]) for e in experiments if results[e].n}


def capacity_finding(results: Mapping[str, ExperimentResults], experiments: Sequence[str]) -> str | None:
    """Capacity and generalisation: which networks' training-validation gaps are widest and
    narrowest (with every tie), and whether GoogLeNet's fewer parameters generalise better."""
    gaps = _gaps(results, experiments)
    if len(gaps) < 2:
        return None
    if not grounds_for(*(results[e] for e in experiments)).can_compare():
        return None  # the section's one line says so
    widest, narrowest = rank(gaps), rank(gaps, lowest=True)
    if len(widest.tied) == len(gaps):
        spread = ", ".join(f"{name} {fmt_pp(value.value)}" for name, value in gaps.items())
        ranking = f"is the same for every network {WITHIN} ({spread})"
    else:
        ranking = f"is widest for {widest.named(fmt_pp)} and narrowest for {narrowest.named(fmt_pp)}"
    text = (f"**Capacity and generalisation.** The gap between training and validation accuracy {ranking}. A wide "
            "positive gap means the network fits its training images better than it generalises to new ones: "
            "capacity spent on memorising. Training accuracy here is measured on augmented images with dropout and "
            "label smoothing on, so it understates the fit; a negative gap means that regularisation costs more "
            "accuracy in training than the network loses on unseen images.")
    pairs = [(s, p) for s, p in (("googlenet", "alexnet"), ("googlenet_pretrained", "alexnet_pretrained"))
             if results[s].n and results[p].n and s in experiments and p in experiments]
    if not pairs:
        return text
    share = (results["googlenet"].first("params") / results["alexnet"].first("params")
             if all(results[e].n for e in ("googlenet", "alexnet")) else None)
    val = {pair: compare_accuracy(results[pair[0]], results[pair[1]], "val_acc") for pair in pairs}
    compared = "; ".join(f"{'pretrained' if 'pretrained' in s else 'from scratch'}: {fmt_pct(gap.a)} vs "
                         f"{fmt_pct(gap.b)} ({gap.judged()})" for (s, _), gap in val.items())
    fewer = f", with {share:.0%} of AlexNet's parameters," if share else ""
    wins = [pair for pair, gap in val.items() if gap.effect and gap.diff > 0]
    if len(wins) == len(pairs):
        return text + (f" GoogLeNet{fewer} reaches the higher validation accuracy beyond the noise ({compared}): "
                       "parameters are not what generalises; its depth and small convolutions use parameters where "
                       "AlexNet spends most of its own on fully connected layers.")
    if wins:
        return text + (f" GoogLeNet{fewer} reaches the higher validation accuracy beyond the noise only "
                       f"{'pretrained' if 'pretrained' in wins[0][0] else 'from scratch'} ({compared}).")
    return text + (f" GoogLeNet{fewer} does not reach a higher validation accuracy than AlexNet beyond the noise "
                   f"({compared}).")


def capacity_answer(results: Mapping[str, ExperimentResults], experiments: Sequence[str]) -> str | None:
    """Exercise 5's second question in a sentence: the widest and narrowest generalisation gaps."""
    gaps = _gaps(results, experiments)
    if len(gaps) < 2 or not grounds_for(*(results[e] for e in experiments)).can_compare():
        return None
    widest, narrowest = rank(gaps), rank(gaps, lowest=True)
    if len(widest.tied) == len(gaps):
        return "The training-validation gaps are level " + WITHIN + ", so they show no difference in capacity."
    return (f"The training-validation gap, a measure of fitting beyond what generalises, is widest for "
            f"{widest.named(fmt_pp)} and narrowest for {narrowest.named(fmt_pp)}.")


def selection_finding(results: Mapping[str, ExperimentResults], experiments: Sequence[str]) -> str | None:
    """Whether picking the best epoch by validation accuracy overfit the validation set: validation
    above test accuracy beyond the noise for any model."""
    done = [e for e in experiments if results[e].n]
    if not done or not grounds_for(*(results[e] for e in done)).can_compare():
        return None
    zero = Estimate(0.0, 0.0)
    gaps = {e: compare(evidence.selection_gap(results[e]), zero) for e in done}
    above = [e for e, gap in gaps.items() if gap.effect and gap.diff > 0]
    largest = max(gaps, key=lambda e: abs(gaps[e].diff))
    if above:
        named = "; ".join(f"{label(e)} {gaps[e].judged()}" for e in above)
        return (f"Validation accuracy is above test accuracy beyond the noise for {named}: choosing the best epoch on "
                "the validation set may have overfit it.")
    return (f"Validation and test accuracy agree {WITHIN} for every model (the largest difference: {label(largest)}, "
            f"{gaps[largest].judged()}): choosing the best epoch by validation accuracy did not measurably overfit "
            "the validation set.")


def pretrained_findings(results: Mapping[str, ExperimentResults], experiments: Sequence[str]) -> str:
    """Exercise 5's paragraphs: whether pretraining helps, the two pretrained networks, capacity and
    generalisation, and the choice of the best epoch; or that there is nothing to compare yet."""
    lines = [*pretraining_finding(results), pretrained_pair_finding(results), capacity_finding(results, experiments),
             selection_finding(results, experiments)]
    return "\n\n".join(line for line in lines if line) or "No results to compare yet."


# --- the conclusion ---------------------------------------------------------------------------

def handout_comparison(lab: LabRuns, done: Mapping[str, ExperimentResults]) -> str | None:
    """Against the handout author's test accuracy (by the rule) and training time, when the runs
    share his setup; a warning that they do not compare when they do not; None without runs.
    ``done``: the experiments with a complete run."""
    if handout_comparable(lab):
        ours = {e: r for e, r in done.items() if e in REFERENCE_RESULTS}
        gaps = {e: compare(evidence.accuracy(r), proportion(REFERENCE_RESULTS[e]["test_acc"], REFERENCE_TEST_IMAGES))
                for e, r in ours.items()}
        groups = {"ahead of": [e for e, g in gaps.items() if g.effect and g.diff > 0],
                  "level with": [e for e, g in gaps.items() if not g.effect],
                  "behind": [e for e, g in gaps.items() if g.effect and g.diff < 0]}
        accuracy = "; ".join(f"{where} it: {join([label(e) for e in names])}" for where, names in groups.items()
                             if names)
        ratios = {e: REFERENCE_RESULTS[e]["time_min"] * 60 / r.mean("train_time_s") for e, r in ours.items()}
        quicker = [e for e, ratio in ratios.items() if ratio > 1 + evidence.TIMING_MARGIN]
        low, high = (min(ratios[e] for e in quicker), max(ratios[e] for e in quicker)) if quicker else (0, 0)
        span = f"{low:.1f}" if f"{low:.1f}" == f"{high:.1f}" else f"{low:.1f} to {high:.1f}"
        time = (f"{len(quicker)} of {len(ours)} trained in less time than his"
                + (f" ({span} times as fast)" if quicker else "")
                + ", on other hardware than his: not like with like, a measure of the whole setup")
        return (f"Same data, input size and number of epochs as the handout. Test accuracy against the author's (by the "
                f"same rule, his on {REFERENCE_TEST_IMAGES:,} test images): {accuracy}. Training time: {time}.")
    if lab.complete:
        return ("These runs used a different setup from the handout's (data, input size, epochs or number of images, "
                "see the profile line), so their numbers are not comparable with the handout's.")
    return None


def leaders(done: Mapping[str, ExperimentResults]) -> str | None:
    """The most accurate model and every model within noise of it, the fastest to train (when the
    runs compare) and the smallest."""
    if not done:
        return None
    ground = grounds_for(*done.values())
    smallest = min(r.first("params") for r in done.values())
    fewest = [r.label for r in done.values() if r.first("params") == smallest]
    parameters = f"fewest parameters: {join(fewest)} ({smallest:,})."
    if not ground.can_compare():
        return "Which model is most accurate or fastest needs real data; " + parameters
    best = rank({r.label: evidence.accuracy(r) for r in done.values()})
    fastest, mismatch = rank_speed({r.label: r for r in done.values()})
    if fastest is None:
        speed = f"no model is named fastest to train: not like with like ({mismatch})"
    else:
        speed = "fastest to train: " + fastest.named(lambda v: f"{fmt_rate(v)} images/s", tie=TIED_TIMING)
    return f"Most accurate: {best.named()}; {speed}; {parameters}"


def conclusion_notes(lab: LabRuns, done: Mapping[str, ExperimentResults]) -> str:
    """The conclusion's paragraphs: against the handout's numbers, then the leaders."""
    return "\n\n".join(note for note in (handout_comparison(lab, done), leaders(done)) if note)
