"""The README is for users, every claim of it is checked, and its code runs.

- Shape: at most 200 lines; "Install" comes before any other how-to; the source-checkout section
  shows exactly ``make demo`` and ``make test``, and no other ``make`` appears; it links to both
  documentation sites, CONTRIBUTING.md, the licence and the citation files, and every relative link
  resolves.
- Code: the two quick starts run as they are written (docs/readme_figures.py runs them in fresh
  processes and saves the figure each one draws), ``# prints TEXT`` comments are checked against what
  the Python block prints, the R block finds the same ranking, and the figures the README shows are
  the ones that script writes (man/figures). The pkgdown home page shows the same R quick start.
- The install lines name this version's files (test_version) and are what test_dist runs.
"""

import re
import sys
from pathlib import Path

import pytest

from conftest import require, require_r_package

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
sys.path.insert(0, str(ROOT / "docs"))

import readme_figures  # noqa: E402  (docs/readme_figures.py)

_PRINTS = re.compile(r"#\s*prints\s+(.+?)\s*$")


def _sections(text):
    return re.findall(r"^## (.+?)\s*$", text, flags=re.M)


def _section(text, title):
    match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, f"README.md has no section '## {title}'"
    return match.group(1)


def _squash(text):
    return " ".join(text.split())


def test_readme_is_short_and_starts_with_install():
    assert len(README.splitlines()) <= 200
    sections = _sections(README)
    assert sections[0] == "Install", sections
    assert sections.index("Quick start: Python") < sections.index("Quick start: R") \
        < sections.index("From a source checkout")


def test_source_checkout_shows_the_two_commands_and_no_other_make():
    block = re.search(r"```sh\n(.*?)```", _section(README, "From a source checkout"), flags=re.S).group(1)
    assert [line.split("#")[0].strip() for line in block.strip().splitlines()] == ["make demo", "make test"]
    outside = README.replace(block, "")
    assert not re.search(r"\bmake [a-z]", outside), re.findall(r"\bmake [a-z]+", outside)


def test_readme_links_the_sites_the_project_files_and_resolves_every_relative_link():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for key in ("Documentation", '"R documentation"', "Issues"):
        url = re.search(rf'^{key} = "([^"]+)"', pyproject, flags=re.M).group(1)
        assert f"]({url})" in README, f"README does not link {key} ({url}) as pyproject.toml names it"
    links = re.findall(r"\]\(([^)#]+)\)", README)
    relative = [link for link in links if not re.match(r"[a-z]+://", link)]
    assert {"CONTRIBUTING.md", "LICENSE.md", "CITATION.cff", "NEWS.md"} <= set(relative)
    for link in relative:
        assert (ROOT / link).exists(), f"README links {link}, which is not in the repository"


def test_readme_figures_are_the_ones_the_quick_starts_draw():
    for language, name in readme_figures.FIGURES.items():
        assert f"](man/figures/{name})" in _section(README, readme_figures.SECTIONS[language])
        assert (ROOT / "man" / "figures" / name).is_file()


def test_pkgdown_home_page_shows_the_readme_r_quick_start():
    home = (ROOT / "pkgdown" / "index.md").read_text(encoding="utf-8")
    assert readme_figures.quick_start("r") in home
    assert f"(man/figures/{readme_figures.FIGURES['r']})" in home


def test_the_quick_start_blocks_are_found():
    text = "## Quick start: Python\n\nx\n```python\nprint(1)  # prints 1\n```\n## Quick start: R\n```r\n1\n```\n"
    assert readme_figures.quick_start("python", text) == "print(1)  # prints 1\n"
    assert readme_figures.quick_start("r", text) == "1\n"
    with pytest.raises(ValueError, match="has no section '## Quick start: R'"):
        readme_figures.quick_start("r", "## Other\n")


@pytest.mark.slow
def test_quick_starts_run_print_what_they_say_and_draw_their_figures(tmp_path):
    require("keras")
    require_r_package("permutation_importance")
    printed = readme_figures.run_quick_starts(tmp_path)
    python = readme_figures.quick_start("python")
    expected = [m.group(1) for line in python.splitlines() if (m := _PRINTS.search(line))]
    assert expected, "the Python quick start shows none of its output"
    for text in expected:
        assert _squash(text) in _squash(printed["python"]), printed["python"]
    # The R block prints its seqimp_importance: the same variables in the same order as Python's.
    rows = re.findall(r"^\s*(temp|load|noise)\s", printed["r"], flags=re.M)
    assert rows == ["load", "temp", "noise"], printed["r"]
    for name in readme_figures.FIGURES.values():
        png = (tmp_path / name).read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 5000
