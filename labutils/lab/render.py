"""The hand-in: ``03_report.ipynb`` executed over the run folders, rendered to HTML (nbconvert) and PDF.

``render_report`` (``python -m labutils report``, and the end of ``lab``) makes everything in a
temporary folder and then replaces ``report.html``, ``report.pdf`` and ``executed/`` together.

The PDF comes from the first of these that works:

1. the HTML printed by a headless Chromium or Chrome (fast, looks like the HTML);
2. nbconvert's LaTeX route when ``xelatex`` is installed;
3. none: the HTML alone, and a message saying what to install.

Code cells are hidden (the report reads as prose, tables and figures). The HTML is one
self-contained file that renders offline on any machine: figures are embedded, formulas are
MathML (``mathml.py``) instead of MathJax, and the template loads no script from anywhere (no
MathJax, require.js or mermaid from a CDN). In print, each table and figure stays on one page.
"""

from __future__ import annotations

import copy
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from jinja2 import DictLoader
from nbconvert import HTMLExporter, PDFExporter
from traitlets.config import Config

from ..errors import EXIT_FAILED, EXIT_OK, LabError, one_line
from ..run_folder import atomic_write_bytes
from ..run_folder.lock import lock_folder, release_folder
from ..runtime.interrupt import shielded
from .mathml import notebook_to_mathml
from .notebooks import REPORT_NOTEBOOK, execute
from .profiles import Profile, load_profile

REPORT_HTML, REPORT_PDF, REPORT_EXECUTED = "report.html", "report.pdf", f"executed/{REPORT_NOTEBOOK.name}"
REPORT_FILES = (REPORT_EXECUTED, REPORT_PDF, REPORT_HTML)  # the order they are replaced in: the HTML last
RENDER_TEMP_PATTERN = ".render-*.tmp"

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "/usr/lib/chromium/chromium")
BROWSER_TIMEOUT_S = 180
INSTALL_HINT = ("no PDF: install Chromium or Chrome (Debian/Ubuntu: apt-get install chromium) "
                "or a LaTeX toolchain (apt-get install texlive-xetex texlive-fonts-recommended "
                "texlive-plain-generic pandoc), then run: python -m labutils report")


# Reads as a report rather than a notebook: compact tables that fit an A4 page, no horizontal scroll
# bars in print, headings kept with what follows them, tables with their captions. Figures come as
# <figure class="report-figure"> (report/notebook_output.py) whose image is as many CSS pixels wide as
# the figure is designed to print at 96 to the inch: nothing here may narrow the text column below
# plots.PRINT_WIDTH_IN (7.2 in; A4 less these margins is 7.3 in), or their text would print smaller
# than designed (tests/test_report_pdf.py measures it in the PDF).
REPORT_CSS = """
<style>
.jp-RenderedHTMLCommon table { table-layout: auto; font-size: 0.9em; }
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th { padding: 0.3em 0.6em; }
figure.report-figure { margin: 0.4em 0 0.8em 0; }
figure.report-figure img { display: block; max-width: 100%; height: auto; }
figure.report-figure figcaption { font-size: 0.85em; margin-top: 0.2em; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  html, body.jp-Notebook { margin: 0; padding: 0; }
  .jp-Cell { padding: 0; }
  .jp-RenderedHTMLCommon { padding-right: 0; font-size: 9pt; line-height: 1.38; }
  .jp-RenderedHTMLCommon p { margin: 0 0 0.5em 0; }
  .jp-RenderedHTMLCommon h1 { font-size: 17pt; margin: 0 0 0.2em 0; }
  .jp-RenderedHTMLCommon h2 { font-size: 13pt; margin: 0.9em 0 0.35em 0; }
  .jp-RenderedHTMLCommon h3 { font-size: 10.5pt; margin: 0.7em 0 0.3em 0; }
  .jp-RenderedHTMLCommon blockquote { margin: 0.3em 0 0.6em 0; padding: 0.2em 0.8em; }
  .jp-RenderedHTMLCommon ol, .jp-RenderedHTMLCommon ul { margin: 0.2em 0 0.5em 0; padding-left: 1.6em; }
  .jp-RenderedHTMLCommon li { margin-bottom: 0.25em; }
  .jp-OutputArea-output { overflow: visible; }
  .jp-OutputArea-child { break-inside: auto; }
  /* A figure, or a table of up to six rows with its caption, is never cut by a page break (each is
     under a third of a page, so a break before it leaves no more blank); longer tables break between
     rows, and a caption stays with the first of them. */
  figure.report-figure, .jp-RenderedImage, .jp-RenderedImage img { break-inside: avoid; }
  .jp-RenderedHTMLCommon table { font-size: 7.5pt; }
  .jp-RenderedMarkdown:has(> p + table):not(:has(tbody tr:nth-child(7))) { break-inside: avoid; }
  .jp-RenderedHTMLCommon td code { font-size: 7.5pt; }
  .jp-RenderedHTMLCommon tr { break-inside: avoid; }
  .jp-RenderedHTMLCommon p:has(+ table) { break-after: avoid; }
  figure.report-figure figcaption { font-size: 8.5pt; }
  .jp-RenderedImage img { max-height: 250mm; width: auto; }
  h1, h2, h3 { break-after: avoid; }
  .jp-RenderedHTMLCommon code { font-size: 0.85em; }
  .jp-RenderedImage img { max-width: 100%; height: auto; }
}
</style>
"""


def _exporter_config():
    config = Config()
    # What --no-input does: no code, no In/Out prompts.
    config.TemplateExporter.exclude_input = True
    config.TemplateExporter.exclude_input_prompt = True
    config.TemplateExporter.exclude_output_prompt = True
    # A progress bar stores one output per refresh; show them as one block.
    config.CoalesceStreamsPreprocessor.enabled = True
    return config


# nbconvert's lab template, less the scripts it fetches from a CDN: require.js (for widgets, which
# the report has none of), MathJax (formulas are MathML) and mermaid (no diagrams).
PORTABLE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def _readable(notebook):
    """A copy of the notebook without stderr streams (warnings and progress bars, not results)."""
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        if cell.get("cell_type") == "code":
            cell.outputs = [o for o in cell.get("outputs", [])
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    return notebook


def render_html(executed_notebook: str | Path, html_path: str | Path) -> Path:
    """Render ``executed_notebook`` to ``html_path`` without its code: one file, figures and formulas included."""
    exporter = HTMLExporter(config=_exporter_config(), template_file="portable.html.j2",
                            extra_loaders=[DictLoader({"portable.html.j2": PORTABLE_TEMPLATE})])
    notebook = _readable(nbformat.read(str(executed_notebook), as_version=4))
    notebook_to_mathml(notebook)
    body, _ = exporter.from_notebook_node(notebook)
    body = body.replace("</head>", REPORT_CSS + "</head>", 1)
    html_path = Path(html_path)
    atomic_write_bytes(html_path, body.encode("utf-8"))
    return html_path


def find_browser() -> str | None:
    """A Chromium or Chrome executable, or None."""
    for name in BROWSERS:
        found = shutil.which(name) or (name if os.path.isabs(name) and os.access(name, os.X_OK) else None)
        if found:
            return found
    return None


def _print_with_browser(browser: str, html_path: Path, pdf_path: Path) -> str | None:
    """Print ``html_path`` to ``pdf_path``; None on success, else why not (one line)."""
    with tempfile.TemporaryDirectory(prefix="labutils-chromium-") as profile:
        partial = Path(profile) / "report.pdf"  # renamed into place only once complete
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                   "--virtual-time-budget=5000", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync", "--no-first-run",
                   f"--user-data-dir={profile}", f"--print-to-pdf={partial}", html_path.resolve().as_uri()]
        # Its own session, so that a hung browser is ended with all its helper processes.
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            output, _ = process.communicate(timeout=BROWSER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _end(process)
            return f"{browser} did not finish within {BROWSER_TIMEOUT_S} s"
        except BaseException:  # a stop request: no browser left writing into the folder being removed
            _end(process)
            raise
        if not partial.exists() or not partial.read_bytes().startswith(b"%PDF"):
            last = (output.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
            return f"{browser} exited with status {process.returncode} and wrote no PDF ({last})"
        atomic_write_bytes(pdf_path, partial.read_bytes())
    return None


def _end(process: subprocess.Popen) -> None:
    """Kill a browser with all its helper processes, and reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.communicate()


def _print_with_latex(notebook: Path, pdf_path: Path) -> str | None:
    try:
        body, _ = PDFExporter(config=_exporter_config()).from_notebook_node(
            _readable(nbformat.read(str(notebook), as_version=4)))
    except Exception as error:  # noqa: BLE001 (LaTeX errors come as many kinds; any of them means no PDF)
        return f"xelatex failed ({type(error).__name__}: {' '.join(str(error).split())[:200]})"
    atomic_write_bytes(pdf_path, body)
    return None


def render_pdf(html_path: str | Path, pdf_path: str | Path, notebook: str | Path | None = None) -> str | None:
    """Write ``pdf_path`` from the rendered HTML (or, via LaTeX, from ``notebook``).

    Returns what printed it ("chromium", "xelatex"), or None, after saying why, when nothing could.
    """
    html_path, pdf_path = Path(html_path), Path(pdf_path)
    problems = []
    browser = find_browser()
    if browser:
        problem = _print_with_browser(browser, html_path, pdf_path)
        if problem is None:
            return Path(browser).name
        problems.append(problem)
    if notebook is not None and shutil.which("xelatex"):
        problem = _print_with_latex(Path(notebook), pdf_path)
        if problem is None:
            return "xelatex"
        problems.append(problem)
    for problem in problems:
        print(f"PDF: {problem}")
    print(INSTALL_HINT if not problems else "PDF: not written; the HTML report is complete")
    return None


# --- the report: 03_report.ipynb executed over the run folders, then rendered ---------------------

def report_is_current(spec: Profile, runs_dir: Path, report_dir: Path) -> bool:
    """True when ``report_dir`` holds a report of these runs newer than every file it was made from."""
    html, executed = report_dir / REPORT_HTML, report_dir / REPORT_EXECUTED
    if not html.exists() or not executed.exists():
        return False
    try:
        made_with = nbformat.read(str(executed), as_version=4).metadata.get("papermill", {}).get("parameters", {})
    except (OSError, ValueError):
        return False
    if made_with != report_parameters(spec, runs_dir):
        return False
    # The report's own code is not among them: after editing it, `python -m labutils report`.
    sources = [REPORT_NOTEBOOK, spec.path, *(runs_dir / spec.name).glob("*/seed*/metrics.json")]
    return html.stat().st_mtime > max(path.stat().st_mtime for path in sources)


def report_parameters(spec: Profile, runs_dir: Path) -> dict[str, str]:
    """What papermill passes to ``03_report.ipynb``: the profile's file (so that a profile given
    as a path is found again) and where its runs are."""
    return {"profile": str(spec.path.resolve()), "runs_dir": str(runs_dir)}


def render_report(profile: str, runs: str = "runs", report_dir: str = "report") -> int:
    """Execute ``03_report.ipynb`` over the run folders of ``profile``, render HTML and PDF.

    Everything is made in a temporary folder inside ``report_dir``, which then replaces the
    report's files together (or, when stopped before, not at all), so an HTML and a PDF in
    ``report_dir`` always come from the same run of the notebook.

    Returns 0 when the report rendered, 1 when the report notebook failed (the HTML is still
    written and shows where).
    """
    spec = load_profile(profile)  # an unknown name or a missing file fails here, saying what to give
    runs_dir = Path(runs).resolve()
    report_dir = Path(report_dir)
    took = lock_folder(report_dir, "--report-dir")  # one report at a time; creates the folder or says why not
    try:
        for leftover in report_dir.glob(RENDER_TEMP_PATTERN):  # from a process killed while rendering
            shutil.rmtree(leftover, ignore_errors=True)
        with tempfile.TemporaryDirectory(dir=report_dir, prefix=".render-", suffix=".tmp") as work:
            status, printer = _render_into(spec, runs_dir, Path(work))
            _replace_report(Path(work), report_dir)
    finally:
        if took:  # a lab holds its report folder until it ends
            release_folder(report_dir)
    pdf = f" and {report_dir / REPORT_PDF} (printed by {printer})" if printer else ""
    print(f"report: {report_dir / REPORT_HTML}{pdf}", flush=True)
    return status


def _render_into(spec: Profile, runs_dir: Path, work: Path) -> tuple[int, str | None]:
    """The report's files in ``work``: the executed notebook, the HTML and (when a printer works) the PDF."""
    executed = work / REPORT_EXECUTED
    if not (runs_dir / spec.name).is_dir():
        print(f"report: no runs of profile '{spec.name}' in {runs_dir} yet (python -m labutils lab "
              f"--profile {spec.name} makes them); the report says so", file=sys.stderr)
    status = EXIT_OK
    print(f"report: executing {REPORT_NOTEBOOK.name} over {runs_dir / spec.name}", flush=True)
    try:
        execute(REPORT_NOTEBOOK, executed, report_parameters(spec, runs_dir), echo=False)
    except Exception as error:
        if not executed.exists():
            raise LabError(f"the report notebook could not run: {one_line(error)}") from error
        print(f"report: the report notebook failed ({one_line(error)}); the report shows where", file=sys.stderr)
        status = EXIT_FAILED
    html = render_html(executed, work / REPORT_HTML)
    printer = render_pdf(html, work / REPORT_PDF, notebook=executed)
    return status, printer


def _replace_report(work: Path, report_dir: Path) -> None:
    """Move the report's files from ``work`` into ``report_dir``, the HTML last (it is what says the
    report is up to date); an older PDF goes when no new one was printed. A stop request waits
    for the few renames to finish."""
    with shielded():
        for name in REPORT_FILES:
            target = report_dir / name
            if (work / name).exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(work / name, target)
            else:
                target.unlink(missing_ok=True)
