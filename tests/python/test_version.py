"""The version is written once, as seqimp.__version__, and every file that repeats it agrees.

pyproject.toml reads it (``dynamic = ["version"]``); DESCRIPTION (the R package), CITATION.cff,
NEWS.md's first heading and the README's install lines repeat it, because R and citation tools cannot
read Python; the install instructions name this version's release files.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

import seqimp  # noqa: E402


def _field(path, pattern):
    match = re.search(pattern, (ROOT / path).read_text(encoding="utf-8"), flags=re.M)
    assert match, f"{path} has no line matching {pattern!r}"
    return match.group(1)


def test_version_is_a_release_number():
    assert re.fullmatch(r"\d+\.\d+\.\d+", seqimp.__version__), seqimp.__version__


def _toml_table(text, name):
    """The lines of one [table] of a TOML file (enough for these checks; no TOML parser needed)."""
    match = re.search(rf"^\[{re.escape(name)}\]\n(.*?)(?=^\[|\Z)", text, flags=re.M | re.S)
    assert match, f"pyproject.toml has no [{name}] table"
    return match.group(1)


def test_pyproject_reads_the_version_from_the_package():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    project = _toml_table(text, "project")
    assert re.search(r'^dynamic = \["version"\]', project, flags=re.M)
    assert not re.search(r"^version\s*=", project, flags=re.M), "[project] must not type the version"
    assert 'version = { attr = "seqimp.__version__" }' in _toml_table(text, "tool.setuptools.dynamic")


def test_setuptools_resolves_the_same_version():
    # setuptools' own reading of the attr (test_dist checks the built wheel's name too). The build
    # itself needs setuptools >= 77 for the SPDX licence fields, which an older setuptools in the test
    # environment would refuse to validate: only the version is read here.
    code = ("from setuptools.config.pyprojecttoml import read_configuration as r;"
            "print(r('pyproject.toml', expand=True, ignore_option_errors=True)['project']['version'])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == seqimp.__version__


def test_r_package_citation_and_news_have_the_same_version():
    version = seqimp.__version__
    assert _field("DESCRIPTION", r"^Version:\s*(\S+)\s*$") == version
    assert _field("CITATION.cff", r"^version:\s*(\S+)\s*$") == version
    assert _field("NEWS.md", r"^# seqimp (\S+)") == version


@pytest.mark.parametrize("page", ["README.md", "pkgdown/index.md", "docs/getting_started.rst"])
def test_install_instructions_name_the_files_this_version_builds(page):
    text = (ROOT / page).read_text(encoding="utf-8")
    version = seqimp.__version__
    wheels = set(re.findall(r"seqimp-(\d[^-\s]*)-py3-none-any\.whl", text))
    tarballs = set(re.findall(r"seqimp_(\d[^_\s]*)\.tar\.gz", text))
    assert wheels == {version} and tarballs == {version}, (wheels, tarballs)


def test_project_urls_agree_across_the_metadata():
    """The repository, issue tracker and the two sites are named the same way everywhere."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    urls = dict(re.findall(r'^"?([A-Za-z ]+)"? = "(https://[^"]+)"', _toml_table(pyproject, "project.urls"),
                           flags=re.M))
    repo, issues = urls["Source"], urls["Issues"]
    python_site, r_site = urls["Documentation"], urls["R documentation"]
    assert urls["Homepage"] == repo and issues == repo + "/issues"
    assert _field("DESCRIPTION", r"^URL:\s*(.+)$") == f"{r_site}, {repo}"
    assert _field("DESCRIPTION", r"^BugReports:\s*(\S+)$") == issues
    assert _field("_pkgdown.yml", r"^url:\s*(\S+)$") == r_site
    assert _field("CITATION.cff", r'^repository-code:\s*"([^"]+)"') == repo
    assert _field("CITATION.cff", r'^url:\s*"([^"]+)"') == python_site
    assert f'url = "{repo}"' in (ROOT / "inst" / "CITATION").read_text(encoding="utf-8")
