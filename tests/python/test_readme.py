"""The README's Python code runs, and prints what it says it prints.

Every ```python block of README.md runs, in order, as one cell of an IPython session: one fresh session
(a subprocess) per "## " section, so a section's blocks share their names as in a notebook. An ```r
block whose first line is an IPython cell magic (``%%R``) belongs to the same session and runs too
(through rpy2's IPython extension, which the section loads itself); other ```r blocks are R, run by
the R package's tests, not here. Blocks are run in a scratch folder, so files they write (a LOFO
checkpoint) land there.

Conventions the README follows, and this test enforces:

- ``# prints TEXT`` at the end of a line: the cell's output contains TEXT (whitespace runs compared as
  one space).
- ``<!-- not run: REASON -->`` on the line before a block: the block is not run. Such exclusions are
  counted, and every one must be listed in NOT_RUN below with its reason, so none can slip in unseen.
"""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import require

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

# Blocks the README marks as not run (section, first line of the block). Keep this list short.
NOT_RUN = {}

_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
_NOT_RUN = re.compile(r"<!--\s*not run:\s*(.+?)\s*-->\s*$")
_PRINTS = re.compile(r"#\s*prints\s+(.+?)\s*$")


def readme_cells(text):
    """{section title: [cell source, ...]} and the list of (section, first line, reason) not run."""
    sections, skipped = {}, []
    for part in re.split(r"^## ", text, flags=re.M)[1:]:
        title = part.splitlines()[0].strip()
        cells = []
        for match in _FENCE.finditer(part):
            lang, code = match.group(1), match.group(2)
            runnable = lang == "python" or (lang == "r" and code.startswith("%%R"))
            if not runnable:
                continue
            before = part[:match.start()].rstrip("\n").splitlines()
            reason = _NOT_RUN.search(before[-1]) if before else None
            if reason:
                skipped.append((title, code.splitlines()[0], reason.group(1)))
                continue
            cells.append(code)
        if cells:
            sections[title] = cells
    return sections, skipped


def expected_prints(cell):
    return [m.group(1) for line in cell.splitlines() if (m := _PRINTS.search(line))]


def _squash(text):
    return " ".join(text.split())


# Runs in the subprocess: one IPython shell, one cell per block; writes what each cell printed.
_RUNNER = textwrap.dedent("""
    import io, json, sys, time
    from contextlib import redirect_stdout
    from IPython.core.interactiveshell import InteractiveShell

    cells, out_path = json.load(open(sys.argv[1])), sys.argv[2]
    shell = InteractiveShell.instance()
    report = []
    for i, code in enumerate(cells):
        buffer = io.StringIO()
        started = time.perf_counter()
        with redirect_stdout(buffer):
            result = shell.run_cell(code, store_history=True)
        error = result.error_before_exec or result.error_in_exec
        report.append({"output": buffer.getvalue(), "seconds": time.perf_counter() - started,
                       "error": None if error is None else f"{type(error).__name__}: {error}"})
        json.dump(report, open(out_path, "w"))
        if error is not None:
            break
""")

SECTIONS, SKIPPED = readme_cells(README.read_text())


def test_the_readme_has_runnable_sections_and_only_the_listed_exclusions():
    assert {"Python", "From a notebook"} <= set(SECTIONS), list(SECTIONS)
    assert sum(len(c) for c in SECTIONS.values()) >= 8
    assert {(title, first): reason for title, first, reason in SKIPPED} == NOT_RUN


def test_the_conventions_are_parsed():
    text = "## A\n\n```python\nprint(1)  # prints 1\n```\n<!-- not run: needs a GPU -->\n```python\nx\n```\n" \
           "```r\n%%R\n1\n```\n```r\nlibrary(seqimp)\n```\n## B\n\n```sh\nmake\n```\n"
    sections, skipped = readme_cells(text)
    assert sections == {"A": ["print(1)  # prints 1\n", "%%R\n1\n"]}
    assert skipped == [("A", "x", "needs a GPU")]
    assert expected_prints(sections["A"][0]) == ["1"]


@pytest.mark.slow
@pytest.mark.parametrize("section", list(SECTIONS))
def test_readme_section_runs_and_prints_what_it_says(section, tmp_path):
    require("IPython")
    cells = SECTIONS[section]
    if any(c.startswith("%%R") or "rpy2" in c for c in cells):
        require("rpy2")
    if any("keras" in c for c in cells):
        require("keras")
    if any("dask" in c for c in cells):
        require("distributed")
    (tmp_path / "cells.json").write_text(json.dumps(cells))
    (tmp_path / "runner.py").write_text(_RUNNER)
    env = dict(os.environ, MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, str(tmp_path / "runner.py"), str(tmp_path / "cells.json"),
                           str(tmp_path / "report.json")], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=900)
    report = json.loads((tmp_path / "report.json").read_text()) if (tmp_path / "report.json").exists() else []
    assert proc.returncode == 0 and len(report) == len(cells), (proc.stdout[-3000:], proc.stderr[-3000:])
    for i, (cell, ran) in enumerate(zip(cells, report)):
        first = cell.splitlines()[0]
        assert ran["error"] is None, f"block {i + 1} of '{section}' ({first!r}) failed: {ran['error']}\n" \
                                     f"{ran['output'][-3000:]}"
        for text in expected_prints(cell):
            assert _squash(text) in _squash(ran["output"]), \
                f"block {i + 1} of '{section}' should print {text!r}; it printed:\n{ran['output'][-3000:]}"
