"""The report's answers: its title, and one or two sentences per exercise of the handout, computed
from the run folders and the networks' code (never typed in). The first page lists them; each
section of the report ends with the handout's question (``paper_tables.HANDOUT_QUESTIONS``) and
its answer in bold (``notebook_output.question_and_answer``).

Every comparison in them comes from ``findings.py`` and so goes through ``evidence.py``'s rule;
what the networks' code decides (parameters, layers, the side classifiers) holds on any data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import findings
from .evidence import Grounds
from .networks import NetworkCost
from .runs import ExperimentResults, LabRuns
from .setup import DATA_NAMES, settings

EXERCISES = {1: "The project", 2: "AlexNet with and without LRN", 3: "GoogLeNet's stem and side classifiers",
             4: "GoogLeNet vs. AlexNet from scratch", 5: "Pretrained GoogLeNet vs. AlexNet"}
FIVE = ("alexnet", "alexnet_lrn", "googlenet", "alexnet_pretrained", "googlenet_pretrained")


def subtitle(lab: LabRuns, ground: Grounds) -> str:
    """The line under the title: the data the runs trained on, or that the report is a pipeline check."""
    if ground.pipeline_check:
        return f"A pipeline check ({ground.why()}): not results"
    data = settings(lab, "dataset")
    return "On " + (" and ".join(DATA_NAMES.get(d, d) for d in data) if data else "CIFAR-10: no complete runs yet")


def conclusion_caption(lab: LabRuns, ground: Grounds) -> str:
    """The conclusion table's caption: what its columns are, and what a pipeline check's numbers mean."""
    seeds = max((r.n for r in lab.all_results()), default=0)
    text = ("The handout's conclusion table for these runs: loss and accuracy of the best epoch (by validation "
            "accuracy) on the training, validation and test images, the time of training and validation over all "
            "epochs, the parameters and the training speed")
    if seeds > 1:
        text += "; mean ± standard deviation over seeds"
    if ground.pipeline_check:
        text += f". *A pipeline check ({ground.why()}): the numbers show that the pipeline ran, not how the models compare*"
    return text + "."


def project_answer(model_files: Sequence[Mapping[str, Any]], launches: Sequence[Sequence[str]]) -> str:
    """Exercise 1: the model classes, one per file, the main module and the editor's configurations."""
    modules = [c for row in model_files for c in row.get("modules", [])]
    networks = [name for name, _, model in launches if model]
    text = (f"One class per file in `labutils/models/` ({len(model_files)} files, {len(modules)} `nn.Module` "
            "classes); the main module `labutils/__main__.py` sets up the objects, trains, tests and saves each run "
            "to `runs/<profile>/<experiment>/seed<k>/`")
    if networks:
        text += f"; in VS Code, Run and Debug trains each of the {len(networks)} networks"
    return text + "."


def googlenet_answer(rows: Sequence[Mapping[str, Any]], aux_params: int, total_params: int) -> str:
    """Exercise 3: the stem against Table 1 and the two side classifiers (from the network's code)."""
    checked = [r for r in rows if r["match"] is not None]
    matched = [r for r in checked if r["match"]]
    stem = rows[: next(i for i, r in enumerate(rows) if r["layer"].startswith("inception"))]
    agree = "As in the paper" if len(matched) == len(checked) else "Not all as in the paper"
    return (f"{agree}: the stem's {len(stem)} layers ({', '.join(r['layer'] for r in stem)}), and {len(matched)} of "
            f"the {len(checked)} layers Table 1 lists match it in output size; side classifiers on 4a and 4d "
            f"({aux_params / 1e6:.2f} M of {total_params / 1e6:.2f} M parameters) weigh 0.3 in training and are not "
            "run at inference.")


def costs_answer(googlenet: NetworkCost, alexnet: NetworkCost) -> str:
    """Exercise 4's parameters and arithmetic: facts of the two networks, on any data."""
    return (f"AlexNet has {alexnet.params / googlenet.params:.1f} times GoogLeNet's parameters "
            f"({alexnet.params / 1e6:.1f} M vs {googlenet.params / 1e6:.1f} M, "
            f"{alexnet.fully_connected / alexnet.params:.0%} in its fully connected layers); GoogLeNet does "
            f"{googlenet.flops / alexnet.flops:.1f} times AlexNet's arithmetic per image.")


def exercise_answers(results: Mapping[str, ExperimentResults], *, model_files: Sequence[Mapping[str, Any]],
                     launches: Sequence[Sequence[str]], table1: Sequence[Mapping[str, Any]], aux_params: int,
                     googlenet_params: int, costs: Mapping[str, NetworkCost] | None) -> dict[int, str]:
    """Exercise number -> its answer (markdown, one or two sentences)."""
    answers = {1: project_answer(model_files, launches),
               2: findings.lrn_answer(results["alexnet_lrn"], results["alexnet"]),
               3: googlenet_answer(table1, aux_params, googlenet_params)}
    speed = findings.scratch_answer(results["googlenet"], results["alexnet"])
    answers[4] = (costs_answer(costs["googlenet"], costs["alexnet"]) + " " if costs else "") + speed
    capacity = findings.capacity_answer(results, FIVE)
    answers[5] = findings.pretraining_answer(results) + (f" {capacity}" if capacity else "")
    return answers


def answers_list(answers: Mapping[int, str], sections: Mapping[int, str] | None = None) -> str:
    """The first page's answers: one numbered line per exercise (with where the section is)."""
    return "\n".join(f"{n}. **{EXERCISES[n]}.** {text}" + (f" ({sections[n]})" if sections and n in sections else "")
                     for n, text in answers.items())
