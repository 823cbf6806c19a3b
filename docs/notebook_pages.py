"""The example notebooks as pages of the Python site: their Markdown and code cells, without outputs.

``make test`` runs every notebook top to bottom (tests/python/test_notebooks.py), so the code shown
here runs; outputs stored in the notebooks are not shown, so no figure on the site is pasted in.
Called by conf.py when the build starts; writes docs/notebooks/<name>.md (ignored by git).
"""

from __future__ import annotations

import glob
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
NOTEBOOKS = os.path.join(os.path.dirname(HERE), "examples")
OUT = os.path.join(HERE, "notebooks")


def _language(source, default):
    first = source.lstrip().splitlines()[0] if source.strip() else ""
    if first.startswith("%%R"):
        return "r", "\n".join(source.lstrip().splitlines()[1:]), first
    return default, source, None


def notebook_markdown(path):
    with open(path, encoding="utf-8") as handle:
        notebook = json.load(handle)
    kernel = notebook.get("metadata", {}).get("kernelspec", {}).get("language", "python")
    default = "r" if kernel.upper() == "R" else "python"
    name = os.path.basename(path)
    parts = [f"<!-- written from examples/{name} by docs/notebook_pages.py; do not edit -->\n"]
    for cell in notebook["cells"]:
        source = "".join(cell.get("source", ""))
        if not source.strip():
            continue
        if cell["cell_type"] == "markdown":
            parts.append(source.rstrip() + "\n")
        elif cell["cell_type"] == "code":
            language, code, magic = _language(source, default)
            note = f"*An R cell (`{magic}`):*\n\n" if magic else ""
            parts.append(f"{note}```{language}\n{code.rstrip()}\n```\n")
    return "\n".join(parts)


def write_pages(app=None):
    os.makedirs(OUT, exist_ok=True)
    for path in sorted(glob.glob(os.path.join(NOTEBOOKS, "*.ipynb"))):
        name = os.path.splitext(os.path.basename(path))[0]
        text = notebook_markdown(path)
        target = os.path.join(OUT, f"{name}.md")
        old = open(target, encoding="utf-8").read() if os.path.exists(target) else None
        if text != old:
            with open(target, "w", encoding="utf-8") as handle:
                handle.write(text)
