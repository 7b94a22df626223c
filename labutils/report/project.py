"""What is where in the project (exercise 1): its modules, notebooks and profiles, read from the files.

Each comes with the first line of its docstring (a notebook's heading, a profile's description)
and its classes; nothing is imported.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import yaml

from ..errors import LabError
from ..lab.profile_yaml import description_text, load_unique_keys


def docstring_summary(path: Path) -> dict[str, Any]:
    """A Python file's docstring first line, its public classes, and which of them are
    ``nn.Module`` subclasses (read, not imported)."""
    try:
        tree = ast.parse(path.read_text())
    except (OSError, SyntaxError):
        return {"summary": "", "classes": [], "modules": []}
    doc = (ast.get_docstring(tree) or "").strip().splitlines()
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and not n.name.startswith("_")]
    modules = [n.name for n in classes if any(ast.unparse(b) in ("nn.Module", "Module") for b in n.bases)]
    return {"summary": doc[0] if doc else "", "classes": [n.name for n in classes], "modules": modules}


def project_structure(root: Path) -> list[dict[str, Any]]:
    """Each module of ``labutils`` (and of its sub-packages), notebook and profile: ``path``, ``summary``
    (what it is for), ``classes`` and ``modules`` (the classes that are ``nn.Module``s)."""
    rows = []
    for path in sorted((root / "labutils").rglob("*.py")):
        rows.append({"path": path.relative_to(root).as_posix(), **docstring_summary(path)})
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        try:
            cells = json.loads(path.read_text())["cells"]
            heading = next(("".join(c["source"]).strip().splitlines()[0].lstrip("# ")
                            for c in cells if c["cell_type"] == "markdown"), "")
        except (OSError, ValueError, KeyError, IndexError):
            heading = ""
        rows.append({"path": path.relative_to(root).as_posix(), "summary": heading, "classes": [], "modules": []})
    for path in sorted((root / "notebooks" / "profiles").glob("*.yaml")):
        try:
            description = description_text(load_unique_keys(path.read_text()).get("description"), path.name)
        except (OSError, ValueError, yaml.YAMLError, LabError, AttributeError):
            description = ""
        rows.append({"path": path.relative_to(root).as_posix(), "summary": description.split(". ")[0],
                     "classes": [], "modules": []})
    return rows


