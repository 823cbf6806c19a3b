"""Fail when a public name has no page on the documentation sites (`make docs` runs this last).

- Python: every name in ``seqimp.__all__`` and ``seqimp.r.__all__`` has its API page in site/python/api/
  that documents it (the object's anchor is on the page), and no API page is left for a name that is no
  longer public.
- R: every ``export()`` in NAMESPACE is an alias of an Rd topic whose reference page exists in
  site/r/reference/ and names it; the vignettes are articles (pkgdown itself refuses to build when an
  Rd topic is missing from _pkgdown.yml's reference index).
- R reference pages show what their examples print and draw: every topic whose examples run
  (``@examplesIf``) shows printed output or a plot, and the pages of R_PAGES_WITH_PLOTS show a plot.
- Between them: each site's home page (and an API or reference page) links to the other site, and
  the link leads to a page that was built; every notebook page shows the figures its notebook stored.

Run from the repository root after both sites are built: ``python docs/check_sites.py``.
"""

from __future__ import annotations

import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY_SITE = os.path.join(ROOT, "site", "python")
R_SITE = os.path.join(ROOT, "site", "r")


def python_problems():
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import seqimp
    import seqimp.r

    expected = {f"seqimp.{name}" for name in seqimp.__all__} | {f"seqimp.r.{name}" for name in seqimp.r.__all__}
    problems = []
    for full in sorted(expected):
        page = os.path.join(PY_SITE, "api", f"{full}.html")
        if not os.path.isfile(page):
            problems.append(f"{full} is public but has no API page (add it to docs/api.rst)")
            continue
        with open(page, encoding="utf-8") as handle:
            if f'id="{full}"' not in handle.read():
                problems.append(f"{os.path.relpath(page, ROOT)} does not document {full}")
    built = {os.path.basename(p)[:-len(".html")] for p in glob.glob(os.path.join(PY_SITE, "api", "*.html"))}
    for full in sorted(built - expected):
        problems.append(f"site/python/api/{full}.html documents {full}, which is not public "
                        f"(not in seqimp.__all__ or seqimp.r.__all__); remove it from docs/api.rst")
    return problems


def r_exports():
    with open(os.path.join(ROOT, "NAMESPACE"), encoding="utf-8") as handle:
        text = handle.read()
    if "exportPattern" in text:
        raise SystemExit("NAMESPACE uses exportPattern; list the exports for this check")
    return re.findall(r"^export\(([^)]+)\)", text, flags=re.MULTILINE)


def rd_topics():
    """{alias: topic name} over man/*.Rd."""
    aliases = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "man", "*.Rd"))):
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        name = re.search(r"\\name\{([^}]+)\}", text).group(1)
        for alias in re.findall(r"\\alias\{([^}]+)\}", text):
            aliases[alias] = name
    return aliases


# Reference pages whose examples draw, and must show the picture (pkgdown's "r-plt img").
R_PAGES_WITH_PLOTS = ["permutation_importance", "perturbation_importance", "autoplot.seqimp_importance",
                      "autoplot.seqimp_lek"]


def r_example_problems():
    problems = []
    for path in sorted(glob.glob(os.path.join(ROOT, "man", "*.Rd"))):
        with open(path, encoding="utf-8") as handle:
            if "# examplesIf" not in handle.read():
                continue
        topic = os.path.basename(path)[:-len(".Rd")]
        page = os.path.join(R_SITE, "reference", f"{topic}.html")
        if not os.path.isfile(page):
            continue  # r_problems() reports it
        with open(page, encoding="utf-8") as handle:
            text = handle.read()
        if 'class="r-out' not in text and 'class="r-plt' not in text:
            problems.append(f"site/r/reference/{topic}.html shows no output of its examples (did they run?)")
        if topic in R_PAGES_WITH_PLOTS and 'class="r-plt img"' not in text:
            problems.append(f"site/r/reference/{topic}.html shows no plot")
    return problems


def r_problems():
    problems = []
    aliases = rd_topics()
    for export in r_exports():
        export = export.strip().strip('"`')
        topic = aliases.get(export)
        if topic is None:
            problems.append(f"R export {export} has no Rd topic (no \\alias{{{export}}} in man/)")
            continue
        page = os.path.join(R_SITE, "reference", f"{topic}.html")
        if not os.path.isfile(page):
            problems.append(f"R export {export}: site/r/reference/{topic}.html was not built")
            continue
        with open(page, encoding="utf-8") as handle:
            if export not in handle.read():
                problems.append(f"site/r/reference/{topic}.html does not mention {export}")
    for vignette in sorted(glob.glob(os.path.join(ROOT, "vignettes", "*.Rmd"))):
        name = os.path.basename(vignette)[:-len(".Rmd")]
        if not os.path.isfile(os.path.join(R_SITE, "articles", f"{name}.html")):
            problems.append(f"vignettes/{name}.Rmd is not an article on the R site")
    return problems


_HREF = re.compile(r'href="([^"#]+)"')


def cross_link_problems():
    """Each site links to the other from its home page and from a page one folder down."""
    problems = []
    pages = {os.path.join(PY_SITE, "index.html"): R_SITE, os.path.join(PY_SITE, "api.html"): R_SITE,
             os.path.join(PY_SITE, "api", "seqimp.permutation_importance.html"): R_SITE,
             os.path.join(R_SITE, "index.html"): PY_SITE,
             os.path.join(R_SITE, "reference", "permutation_importance.html"): PY_SITE}
    for page, other in pages.items():
        if not os.path.isfile(page):
            problems.append(f"{os.path.relpath(page, ROOT)} was not built")
            continue
        with open(page, encoding="utf-8") as handle:
            targets = [os.path.normpath(os.path.join(os.path.dirname(page), href))
                       for href in _HREF.findall(handle.read()) if not re.match(r"[a-z]+:", href)]
        into_other = [t for t in targets if t.startswith(other + os.sep)]
        if not into_other:
            problems.append(f"{os.path.relpath(page, ROOT)} has no link to the "
                            f"{os.path.basename(other)} site")
        problems += [f"{os.path.relpath(page, ROOT)} links {os.path.relpath(t, ROOT)}, which was not built"
                     for t in sorted(set(into_other)) if not os.path.isfile(t)]
    return problems


def notebook_problems():
    """A notebook page shows as many images as its notebook stored figures."""
    import json

    problems = []
    for notebook in sorted(glob.glob(os.path.join(ROOT, "examples", "*.ipynb"))):
        name = os.path.basename(notebook)[:-len(".ipynb")]
        with open(notebook, encoding="utf-8") as handle:
            stored = sum("image/png" in output.get("data", {}) for cell in json.load(handle)["cells"]
                         for output in cell.get("outputs", []))
        page = os.path.join(PY_SITE, "notebooks", f"{name}.html")
        if not os.path.isfile(page):
            problems.append(f"examples/{name}.ipynb has no page (site/python/notebooks/{name}.html)")
            continue
        with open(page, encoding="utf-8") as handle:
            shown = len(re.findall(r"<img [^>]*src=\"[^\"]*" + re.escape(name) + r"_cell", handle.read()))
        if shown != stored:
            problems.append(f"site/python/notebooks/{name}.html shows {shown} figures; the notebook stores "
                            f"{stored}")
    return problems


def main():
    for site in (PY_SITE, R_SITE):
        if not os.path.isdir(site):
            print(f"{os.path.relpath(site, ROOT)} is missing: build the sites first (make docs)", file=sys.stderr)
            return 1
    problems = (python_problems() + r_problems() + r_example_problems() + cross_link_problems()
                + notebook_problems())
    for problem in problems:
        print(f"docs: {problem}", file=sys.stderr)
    if problems:
        return 1
    print("docs: every public Python name and every R export has a page; the R examples show their output "
          "and plots; the vignettes are articles; the sites link to each other; the notebook pages show "
          "their figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
