"""The example notebooks as pages of the Python site: their text, code and stored outputs.

``make test`` runs every notebook top to bottom (tests/python/test_notebooks.py) and ``make notebooks``
stores the outputs of a fresh run in them, so what these pages show is what the code printed and drew
when it last ran: printed text and tables as text, figures as images (written next to the page). Error
streams (TensorFlow's start-up logs, progress bars) are left out.
Called by conf.py when the build starts; writes docs/notebooks/<name>.md and its images (ignored by git).
"""

from __future__ import annotations

import base64
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


def _text(value):
    return "".join(value) if isinstance(value, list) else str(value)


def _fenced(text):
    """A fenced block of plain text, with a fence longer than any backtick run inside it."""
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}text\n{text.rstrip()}\n{fence}\n"


def output_parts(outputs, stem):
    """Markdown for a code cell's stored outputs, and {file name: PNG bytes} for its figures."""
    parts, images = [], {}
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream" and output.get("name") == "stdout" and _text(output.get("text", "")).strip():
            parts.append(_fenced(_text(output["text"])))
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            if "image/png" in data:
                name = f"{stem}_{len(images) + 1}.png"
                images[name] = base64.b64decode(_text(data["image/png"]))
                parts.append(f"![A figure the notebook drew]({name})\n")
            elif _text(data.get("text/plain", "")).strip():
                parts.append(_fenced(_text(data["text/plain"])))
        elif kind == "error":
            parts.append(_fenced("\n".join(output.get("traceback", [])) or output.get("evalue", "")))
    return parts, images


def notebook_markdown(path):
    """The page for one notebook: ``(markdown, {image file name: PNG bytes})``."""
    with open(path, encoding="utf-8") as handle:
        notebook = json.load(handle)
    kernel = notebook.get("metadata", {}).get("kernelspec", {}).get("language", "python")
    default = "r" if kernel.upper() == "R" else "python"
    name = os.path.splitext(os.path.basename(path))[0]
    parts = [f"<!-- written from examples/{name}.ipynb by docs/notebook_pages.py; do not edit -->\n"]
    images = {}
    for number, cell in enumerate(notebook["cells"], start=1):
        source = "".join(cell.get("source", ""))
        if not source.strip():
            continue
        if cell["cell_type"] == "markdown":
            parts.append(source.rstrip() + "\n")
        elif cell["cell_type"] == "code":
            language, code, magic = _language(source, default)
            note = f"*An R cell (`{magic}`):*\n\n" if magic else ""
            parts.append(f"{note}```{language}\n{code.rstrip()}\n```\n")
            shown, drawn = output_parts(cell.get("outputs", []), f"{name}_cell{number}")
            parts.extend(shown)
            images.update(drawn)
    return "\n".join(parts), images


def _write_if_changed(target, content):
    mode = "b" if isinstance(content, bytes) else ""
    if os.path.exists(target):
        with open(target, "r" + mode, **({} if mode else {"encoding": "utf-8"})) as handle:
            if handle.read() == content:
                return
    with open(target, "w" + mode, **({} if mode else {"encoding": "utf-8"})) as handle:
        handle.write(content)


def write_pages(app=None):
    os.makedirs(OUT, exist_ok=True)
    for path in sorted(glob.glob(os.path.join(NOTEBOOKS, "*.ipynb"))):
        name = os.path.splitext(os.path.basename(path))[0]
        text, images = notebook_markdown(path)
        _write_if_changed(os.path.join(OUT, f"{name}.md"), text)
        for image, data in images.items():
            _write_if_changed(os.path.join(OUT, image), data)
