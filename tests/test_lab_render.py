"""The report rendered (lab/render.py, lab/mathml.py): from run folders written by hand, its files
replaced together or not at all, and an HTML that renders offline."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from fake_runs import write_run

from labutils.errors import LabError
from labutils.lab import render
from labutils.lab.mathml import markdown_to_mathml
from labutils.lab.render import render_html, render_report
from labutils.report.runs import LABELS


@pytest.mark.slow
def test_report_renders_seeds_failures_and_reference(full_runs: Path, tmp_path: Path) -> None:
    report = tmp_path / "report"
    damaged = full_runs / "full" / "alexnet" / "seed2" / "metrics.json"
    damaged.write_text("[]")  # one unreadable run: named, and the others still reported
    write_run(full_runs, "full", "alexnet", 7, 0.2)  # a seed the profile does not list: named, not used
    assert render_report(str(full_runs / "full.yaml"), runs=str(full_runs), report_dir=str(report)) == 0
    html = (report / "report.html").read_text()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("\u00a0", " ")
    assert f"unreadable: {damaged} holds [] instead of a JSON object" in text
    assert f"{full_runs / 'full' / 'alexnet' / 'seed7'} : seed 7 is not among the profile's seeds (0, 1, 2)" in text
    for label in LABELS.values():
        if label != LABELS["googlenet_paper"]:
            assert label in text
    executed = nbformat.read(report / "executed" / "03_report.ipynb", as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors[0]["evalue"] if errors else ""
    assert "(3 seeds)" in text and "(2 seeds)" in text  # mean ± std over seeds in the conclusion table
    lrn = text[text.index("2 AlexNet with and without"):text.index("3 GoogLeNet: the paper")]
    assert "AlexNet + LRN is more accurate" in lrn and "beyond the noise" in lrn  # +1.2 pp against 2 SE = 1.0 pp
    assert "seed 1: missing" in text and "failed: the training loss became nan" in text
    assert "How differences are judged" in text  # the rule, stated once
    assert text.count("How differences are judged") == 1
    assert html.count("data:image/png;base64") >= 5


@pytest.mark.slow
def test_report_renders_with_runs_failed_and_missing(smoke_like: Path, tmp_path: Path) -> None:
    root = smoke_like / "smoke"
    metrics = root / "alexnet_lrn" / "seed0" / "metrics.json"
    metrics.write_text(metrics.read_text().replace('"status": "complete"', '"status": "failed: made up by the test"'))
    shutil.rmtree(root / "googlenet")
    assert render_report("smoke", runs=str(smoke_like), report_dir=str(tmp_path / "report")) == 0
    executed = nbformat.read(tmp_path / "report" / "executed" / "03_report.ipynb", as_version=4)
    assert not [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    text = re.sub(r"<[^>]+>", " ", (tmp_path / "report" / "report.html").read_text())
    assert "failed: made up by the test" in text and "GoogLeNet, seed 0: missing" in text


def test_unknown_profile_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(LabError, match=r"unknown profile 'smok' \(did you mean 'smoke'\?\)"):
        render_report("smok", runs=str(tmp_path))


def _fake_execute(notebook, output, parameters, echo):
    """The report notebook's run, in a second: a notebook with one line and papermill's parameters."""
    executed = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# The new report")])
    executed.metadata["papermill"] = {"parameters": parameters}
    output.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(executed, str(output))


def test_report_files_are_replaced_together_or_not_at_all(tmp_path: Path, monkeypatch) -> None:
    report = tmp_path / "report"
    (report / "executed").mkdir(parents=True)
    old = {"report.html": b"old html", "report.pdf": b"%PDF old", "executed/03_report.ipynb": b"old notebook"}
    for name, content in old.items():
        (report / name).write_bytes(content)
    monkeypatch.setattr(render, "execute", _fake_execute)

    def stopped_while_printing(html, pdf, notebook=None):
        pdf.write_bytes(b"%PDF half")
        raise KeyboardInterrupt

    monkeypatch.setattr(render, "render_pdf", stopped_while_printing)
    with pytest.raises(KeyboardInterrupt):
        render_report("smoke", runs=str(tmp_path / "runs"), report_dir=str(report))
    assert {name: (report / name).read_bytes() for name in old} == old  # the old report, whole
    assert sorted(p.name for p in report.iterdir()) == [".lock", "executed", "report.html", "report.pdf"]

    def printed(html, pdf, notebook=None):
        pdf.write_bytes(b"%PDF new")
        return "a test printer"

    monkeypatch.setattr(render, "render_pdf", printed)
    assert render_report("smoke", runs=str(tmp_path / "runs"), report_dir=str(report)) == 0
    assert (report / "report.pdf").read_bytes() == b"%PDF new"
    assert "The new report" in (report / "report.html").read_text()
    assert "The new report" in (report / "executed" / "03_report.ipynb").read_text()
    monkeypatch.setattr(render, "render_pdf", lambda html, pdf, notebook=None: None)  # no printer now
    assert render_report("smoke", runs=str(tmp_path / "runs"), report_dir=str(report)) == 0
    assert not (report / "report.pdf").exists()  # an older PDF would not match the new HTML
    assert not list(report.glob(".render-*"))


def test_formulas_become_mathml_outside_code() -> None:
    text = markdown_to_mathml(r"a $\alpha = 10^{-4}$ and `$x$`, $$\frac{a}{b}$$ and \$5")
    assert text.count("<math") == 2 and 'display="block"' in text and "`$x$`" in text and r"\$5" in text
    assert "$" not in text.replace("`$x$`", "").replace(r"\$5", "")


def test_html_report_is_self_contained(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(r"## LRN" "\n\n" r"$$b = a / (k + \alpha \sum a^2)^\beta$$"),
        nbformat.v4.new_code_cell("show()", outputs=[nbformat.v4.new_output(
            "display_data", data={"text/markdown": r"with $\alpha = 10^{-4}$", "text/plain": "x"})]),
    ])
    nbformat.write(notebook, tmp_path / "in.ipynb")
    html = render_html(tmp_path / "in.ipynb", tmp_path / "out.html").read_text()
    assert html.count("<math") == 2 and "\\alpha" not in html
    for external in ('src="http', "src='http", "file://", "<script src=", "@import url(http", "mathjax"):
        assert external not in html.lower() if external == "mathjax" else external not in html
