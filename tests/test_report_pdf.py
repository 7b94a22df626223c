"""The report as a grader gets it: ``report.pdf`` rendered from run folders written by hand
(fake_runs.py), those a smoke lab leaves and a full lab's with real-looking numbers, read back with
PyMuPDF: the first page holds the answers, no page but the last is more than a third blank, no
text prints under 7 pt (the figures' text included), and the smoke lab's report, made from
generated images, holds no comparative sentence. Each prints its page count."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fake_runs import smoke_runs, write_profile, write_run

from labutils.lab.render import find_browser, render_report
from labutils.models import LAB_EXPERIMENTS
from labutils.report.answers import EXERCISES
from labutils.report.evidence import COMPARATIVE_PHRASES
from labutils.report.plots import MIN_FONT_PT
from labutils.report.runs import LABELS

pymupdf = pytest.importorskip("pymupdf")
pytestmark = pytest.mark.slow  # each report renders in about half a minute

PAGE_MARGIN_PT = 14 / 25.4 * 72  # REPORT_CSS: @page margin 14 mm (top and bottom)
APPENDIX = "Appendix: for verification"
# The full lab as assigned: five experiments, one seed, CIFAR-10-like numbers (some pairs inside their noise).
FULL_ACCURACY = {"alexnet": 0.8512, "alexnet_lrn": 0.8490, "googlenet": 0.9001, "alexnet_pretrained": 0.9120,
                 "googlenet_pretrained": 0.9402}


def render(runs: Path, profile: str, report: Path) -> dict:
    if find_browser() is None:
        pytest.skip("no Chromium or Chrome to print the PDF")
    assert render_report(profile, runs=str(runs), report_dir=str(report)) == 0
    html = (report / "report.html").read_text()
    document = pymupdf.open(report / "report.pdf")
    return {"html": html, "pdf": document, "pages": [page.get_text() for page in document]}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("smoke")
    return render(smoke_runs(root / "runs"), "smoke", root / "report")


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("full")
    runs = root / "runs"
    write_profile(runs, "full", [0])
    for experiment, accuracy in FULL_ACCURACY.items():
        write_run(runs, "full", experiment, 0, accuracy, files=True,
                  images_per_s=2100.0 if "alexnet" in experiment else 900.0,
                  train_time_s=300.0 if "alexnet" in experiment else 700.0)
    return render(runs, str(runs / "full.yaml"), root / "report")


REPORTS = ("smoke", "full")


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " "))


def page_fill(page) -> float:
    """How far down its printable area a page's lowest text, image or drawing reaches (0 to 1)."""
    bottom = max([b["bbox"][3] for b in page.get_text("dict")["blocks"]]
                 + [d["rect"][3] for d in page.get_drawings() if d.get("color") or d.get("fill") != (1.0, 1.0, 1.0)]
                 + [0.0])
    return (bottom - PAGE_MARGIN_PT) / (page.rect.height - 2 * PAGE_MARGIN_PT)


def appendix_page(report: dict) -> int:
    """The 1-based page the appendix starts on."""
    return next(i for i, text in enumerate(report["pages"], start=1) if APPENDIX in one_line(text))


@pytest.mark.parametrize("name", REPORTS)
def test_the_first_page_holds_the_conclusion_table_and_an_answer_per_exercise(name: str, request) -> None:
    report = request.getfixturevalue(name)
    first = one_line(report["pages"][0])
    table = first[first.index("Table 1."):]
    for experiment in LAB_EXPERIMENTS:
        assert LABELS[experiment] in table, experiment
    for header in ("Train loss", "Train acc", "Val loss", "Val acc", "Test loss", "Test acc", "Time", "Parameters",
                   "Images/s"):
        assert header in table
    answers = first[first.index("The handout's exercises, answered"):]
    starts = [answers.index(f"{title}.") for title in EXERCISES.values()]
    assert starts == sorted(starts)  # exercises 1 to 5, in order
    for start, end in zip(starts, [*starts[1:], len(answers)]):
        assert len(answers[start:end].split()) > 8, answers[start:end]  # a sentence with numbers, not a title


@pytest.mark.parametrize("name", REPORTS)
def test_no_page_but_the_last_is_more_than_a_third_blank(name: str, request) -> None:
    report = request.getfixturevalue(name)
    pages = report["pdf"]
    fills = [page_fill(page) for page in pages]
    print(f"{name} report: {len(fills)} A4 pages, {appendix_page(report) - 1} before the appendix; "
          f"filled: {', '.join(f'{fill:.0%}' for fill in fills)}")
    assert all(fill >= 2 / 3 for fill in fills[:-1]), fills
    assert appendix_page(report) - 1 <= 8  # the full lab in at most 8 pages before the appendix


@pytest.mark.parametrize("name", REPORTS)
def test_no_text_prints_under_7_pt(name: str, request) -> None:
    report = request.getfixturevalue(name)
    sizes = [span["size"] for page in report["pdf"] for block in page.get_text("dict")["blocks"]
             for line in block.get("lines", []) for span in line["spans"] if span["text"].strip()]
    # Figures: the smallest text each was drawn with, and the width it was drawn at (notebook_output.figure_bundle),
    # against the width it prints at in the PDF.
    designed = [(float(font), float(width)) for font, width in
                re.findall(r'data-min-font-pt="([\d.]+)" data-width-in="([\d.]+)"', report["html"])]
    printed = [info["bbox"][2] - info["bbox"][0] for page in report["pdf"]
               for info in sorted(page.get_image_info(), key=lambda info: info["bbox"][1])]
    assert len(designed) == len(printed) >= 8
    figure_fonts = [font * width_pt / (width_in * 72) for (font, width_in), width_pt in zip(designed, printed)]
    print(f"{name} report: smallest text {min(sizes):.1f} pt, smallest figure text {min(figure_fonts):.1f} pt "
          f"({len(printed)} figures)")
    assert min(sizes) >= MIN_FONT_PT
    assert min(figure_fonts) >= MIN_FONT_PT - 0.05


def test_generated_data_reach_no_comparative_sentence(smoke: dict) -> None:
    text = one_line(re.sub(r"<[^>]+>", " ", smoke["html"].split("</style>")[-1]))
    found = [phrase for phrase in COMPARATIVE_PHRASES if re.search(rf"\b{re.escape(phrase)}\b", text)]
    assert not found, [text[max(m.start() - 80, 0):m.end() + 40] for p in found for m in re.finditer(p, text)]
    assert text.count("Comparative findings need real data") >= 4
    assert "A pipeline check (generated images, not CIFAR-10" in text  # under the title
    for section in ("1 The project", "2 AlexNet with and without", "3 GoogLeNet: the paper", "4 GoogLeNet vs. AlexNet",
                    "5 Pretrained GoogLeNet", "6 Where the models go wrong"):
        after = text[text.index(section):]
        assert after[:400].count("Pipeline check (") == 1, section  # every section says so at its top
