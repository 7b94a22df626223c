"""LaTeX formulas in markdown turned into MathML, so the HTML report needs no MathJax.

nbconvert leaves ``$...$`` and ``$$...$$`` for MathJax to typeset in the browser, which means a
script from a CDN (or from the system's disk): another machine without network shows raw TeX.
Browsers render MathML themselves (Chromium since 2023, Firefox and Safari long before), so the
report converts each formula once, when it is rendered (``latex2mathml``), and stays one
self-contained file. Code spans and blocks are left as they are.
"""

from __future__ import annotations

import html
import re

from latex2mathml.converter import convert

# $$display$$ first, then $inline$ (not \$, not "$ 5", not a price like "$5"): as MathJax reads them.
MATH = re.compile(r"\$\$(?P<display>.+?)\$\$|(?<![\\$\w])\$(?=\S)(?P<inline>[^$\n]+?)(?<=\S)\$(?![\w$])",
                  re.DOTALL)
CODE = re.compile(r"(`+)(?:.+?)\1", re.DOTALL)


def formula(latex: str, display: bool) -> str:
    """One formula as a ``<math>`` element; the TeX itself (escaped) when it cannot be converted."""
    try:
        return convert(latex.strip(), display="block" if display else "inline")
    except Exception:  # noqa: BLE001 (latex2mathml raises many kinds for TeX it does not know: show the source)
        return f"<code>{html.escape(latex)}</code>"


def _convert_math(text: str) -> str:
    return MATH.sub(lambda m: formula(m["display"] if m["display"] is not None else m["inline"],
                                      m["display"] is not None), text)


def markdown_to_mathml(markdown: str) -> str:
    """``markdown`` with each ``$...$`` / ``$$...$$`` outside code replaced by MathML."""
    parts, last = [], 0
    for code in CODE.finditer(markdown):
        parts.append(_convert_math(markdown[last:code.start()]))
        parts.append(code.group(0))
        last = code.end()
    parts.append(_convert_math(markdown[last:]))
    return "".join(parts)


def notebook_to_mathml(notebook) -> None:
    """Convert the formulas of a notebook's markdown cells and markdown outputs, in place."""
    for cell in notebook.cells:
        if cell.get("cell_type") == "markdown":
            cell.source = markdown_to_mathml(cell.source)
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "text/markdown" in data:
                data["text/markdown"] = markdown_to_mathml(data["text/markdown"])
