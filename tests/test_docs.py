"""README.md and docs/: README fits one screen, every relative link resolves, and what the docs hold
once (parameter counts, the recipe) is the code's and stands nowhere else."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
README_MAX_LINES = 150

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")  # [text](target); images excluded
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def github_anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower-case, punctuation dropped, each space a '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's anchor on a page; a repeated heading gets -1, -2, ... as on GitHub."""
    found: set[str] = set()
    for line in prose_lines(page.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if match:
            anchor = base = github_anchor(match.group(1))
            count = 0
            while anchor in found:
                count += 1
                anchor = f"{base}-{count}"
            found.add(anchor)
    return found


def relative_links(page: Path) -> list[str]:
    targets = []
    for line in prose_lines(page.read_text(encoding="utf-8")):
        line = re.sub(r"`[^`]*`", "", line)  # code spans hold no links
        targets += [t for t in LINK.findall(line) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]
    return targets


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix != ".md":
            broken.append(f"{target}: an anchor into a file that is not markdown")
        elif anchor and anchor not in anchors(file):
            broken.append(f"{target}: no heading '{anchor}' in {os.path.relpath(file, page.parent)}")
    return broken


def markdown_table(page: Path, first_header: str) -> list[list[str]]:
    """The rows (header row included) of the table on ``page`` whose first column is ``first_header``."""
    rows: list[list[str]] = []
    for line in prose_lines(page.read_text(encoding="utf-8")):
        line = line.strip()
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if rows or cells[0] == first_header:
            if not set("".join(cells)) <= set("-: "):  # skip the |---| row
                rows.append(cells)
    assert rows, f"no table starting with '{first_header}' in {page.relative_to(ROOT)}"
    return rows


def names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def test_readme_fits_one_screen():
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move the detail to docs/"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    assert broken_links(page) == []


def test_every_docs_page_is_linked_from_the_index_and_the_index_from_readme():
    index = {(DOCS / target.partition("#")[0]).resolve() for target in relative_links(DOCS / "README.md")}
    assert set(DOCS.glob("*.md")) - {DOCS / "README.md"} <= index
    assert "docs/README.md" in relative_links(README)


def test_github_anchors_and_broken_links_are_found(tmp_path):
    assert github_anchor("The handout's reference") == "the-handouts-reference"
    assert github_anchor("`--precision auto`, on a CPU") == "--precision-auto-on-a-cpu"
    assert github_anchor("Several GPUs, several machines") == "several-gpus-several-machines"
    page = tmp_path / "page.md"
    page.write_text("# Top\n## Top\n[a](#top-1) [b](#nowhere) [c](missing.md) [d](https://example.com)\n"
                    "```\n[e](inside-code.md)\n```\n`[f](in-a-code-span.md)`\n", encoding="utf-8")
    assert broken_links(page) == ["#nowhere: no heading 'nowhere' in page.md", "missing.md: no such file"]


def test_the_parameter_counts_are_the_models():
    import torch

    from labutils.models import EXPERIMENTS, build_model, count_parameters

    header, *rows = markdown_table(DOCS / "papers.md", "experiment")
    assert header[1:] == ["parameters (10 classes)", "without side classifiers"]
    counted = {}
    for name, total, without_aux in rows:
        with torch.device("meta"):
            model = build_model(names(name)[0], random_weights=True)
        aux = sum(count_parameters(getattr(model, side)) for side in ("aux1", "aux2")
                  if getattr(model, side, None) is not None)
        counted[names(name)[0]] = (count_parameters(model), count_parameters(model) - aux if without_aux else None)
        assert (int(total.replace(",", "")), int(without_aux.replace(",", "")) if without_aux else None) \
            == counted[names(name)[0]], name
    assert set(counted) == set(EXPERIMENTS)


def test_the_recipe_tables_are_recipe_py():
    from labutils.models import EXPERIMENTS
    from labutils.recipe import RECIPES, REFERENCE_BATCH, recipe_for

    shared = {row[0]: row[1] for row in markdown_table(DOCS / "papers.md", "setting")[1:]}
    for recipe in RECIPES.values():
        assert f"Nesterov momentum {recipe.momentum:g}" in shared["optimiser"]
        assert shared["schedule"].startswith(f"{recipe.warmup_epochs:g} epoch linear warm-up")
        assert float(shared["label smoothing"]) == recipe.label_smoothing

    header, *rows = markdown_table(DOCS / "papers.md", "recipe")
    assert header[2:4] == [f"lr at batch {REFERENCE_BATCH}", "weight decay"]
    listed = {}
    for name, experiments, lr, weight_decay, _ in rows:
        recipe = RECIPES[names(name)[0]]
        assert (float(lr), float(weight_decay)) == (recipe.lr, recipe.weight_decay), name
        for experiment in names(experiments):
            listed[experiment] = recipe
    assert set(listed) == set(EXPERIMENTS)
    for experiment, recipe in listed.items():
        spec = EXPERIMENTS[experiment]
        assert recipe_for(experiment, spec.family, spec.pretrained) is recipe, experiment


def test_the_parameter_counts_the_recipe_table_and_the_batch_norm_reason_are_written_once():
    from labutils.models import BATCH_NORM_REASON

    _, *rows = markdown_table(DOCS / "papers.md", "experiment")
    counts = {count for row in rows for count in row[1:] if count}
    reason = re.search(r"\d[\d,]* steps", BATCH_NORM_REASON).group(0)  # the handout GoogLeNet's training, in steps
    prose = [*PAGES, ROOT / "report" / "README.md", *sorted((ROOT / "labutils").rglob("*.py"))]
    recipe_table = "| weight decay |"
    written = {(str(path.relative_to(ROOT)), fact) for path in prose for fact in [*counts, reason, recipe_table]
               if fact in path.read_text(encoding="utf-8")}
    assert written == ({("docs/papers.md", fact) for fact in [*counts, recipe_table]}
                       | {("labutils/models/__init__.py", reason)})


def test_readme_and_the_quick_profile_quote_the_same_time():
    """The quick profile's time is measured (docs/profiles.md); README and the profile's description,
    which `lab` prints, say the same number of minutes."""
    description = yaml.safe_load((ROOT / "notebooks/profiles/quick.yaml").read_text())["description"]
    readme_line = next(line for line in README.read_text().splitlines() if line.startswith("- `quick`"))
    minutes = lambda text: re.search(r"[Aa]bout (\d+) min", text).group(1)
    assert minutes(description) == minutes(readme_line) == "15"
    assert "15 min 24 s" in (DOCS / "profiles.md").read_text()  # the measurement they come from
