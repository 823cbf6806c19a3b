"""Run the README's two quick starts and save the figure each one draws.

``python docs/readme_figures.py [FOLDER]`` (``make docs`` runs it with man/figures, where the README and
the R site's home page find the figures; pkgdown copies man/figures into the R site). The code that
runs is the README's own: the first ```python block of the section "Quick start: Python", and the
first ```r block of "Quick start: R", each in a fresh process in a scratch folder. Whatever the block
draws last is saved, so no figure is ever pasted in by hand. tests/python/test_readme.py calls
:func:`run_quick_starts` with a scratch folder and checks what the blocks print.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
README = os.path.join(ROOT, "README.md")
DEFAULT_FOLDER = os.path.join(ROOT, "man", "figures")
FIGURES = {"python": "README-quickstart-python.png", "r": "README-quickstart-r.png"}
SECTIONS = {"python": "Quick start: Python", "r": "Quick start: R"}
# One size for both figures, so they sit alike in the README.
WIDTH_IN, HEIGHT_IN, DPI = 6.4, 3.0, 110

_PYTHON_SAVE = f"""
import matplotlib.pyplot as _plt
_figure = _plt.gcf()
_figure.set_size_inches({WIDTH_IN}, {HEIGHT_IN})
_figure.tight_layout()
_figure.savefig({{path!r}}, dpi={DPI}, metadata={{{{"Software": None}}}})
"""

_R_RUNNER = """
args <- commandArgs(trailingOnly = TRUE)
grDevices::png(args[[2]], width = {width}, height = {height}, units = "in", res = {dpi})
source(args[[1]], echo = FALSE, print.eval = TRUE)
invisible(grDevices::dev.off())
""".format(width=WIDTH_IN, height=HEIGHT_IN, dpi=DPI)


def quick_start(language, text=None):
    """The code of the README's quick start in ``language`` ("python" or "r")."""
    text = open(README, encoding="utf-8").read() if text is None else text
    match = re.search(rf"^## {re.escape(SECTIONS[language])}\s*$(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    if match is None:
        raise ValueError(f"README.md has no section '## {SECTIONS[language]}'")
    block = re.search(rf"^```{language}\n(.*?)^```\s*$", match.group(1), flags=re.M | re.S)
    if block is None:
        raise ValueError(f"README.md's section '{SECTIONS[language]}' has no ```{language} block")
    return block.group(1)


def _run(command, cwd, what):
    env = dict(os.environ, MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"the README's {what} quick start failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def run_quick_starts(folder, python=sys.executable, rscript="Rscript"):
    """Run both quick starts, save their figures into ``folder``; return {language: what it printed}."""
    os.makedirs(folder, exist_ok=True)
    printed = {}
    with tempfile.TemporaryDirectory(prefix="seqimp-readme-") as work:
        path = os.path.abspath(os.path.join(folder, FIGURES["python"]))
        script = os.path.join(work, "quick_start.py")
        with open(script, "w", encoding="utf-8") as handle:
            handle.write(quick_start("python") + _PYTHON_SAVE.format(path=path))
        printed["python"] = _run([python, script], work, "Python")
        code, runner = os.path.join(work, "quick_start.R"), os.path.join(work, "runner.R")
        with open(code, "w", encoding="utf-8") as handle:
            handle.write(quick_start("r"))
        with open(runner, "w", encoding="utf-8") as handle:
            handle.write(_R_RUNNER)
        printed["r"] = _run([rscript, runner, code, os.path.abspath(os.path.join(folder, FIGURES["r"]))],
                            work, "R")
    return printed


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    folder = argv[0] if argv else DEFAULT_FOLDER
    printed = run_quick_starts(folder)
    for language, name in FIGURES.items():
        print(f"{os.path.join(folder, name)}  (the README's {language} quick start)")
    return 0 if printed else 1


if __name__ == "__main__":
    sys.exit(main())
