"""Sphinx configuration for seqimp's Python site (``make docs`` writes it to site/python).

The build runs with warnings as errors (``-W``). Code on the pages is executed when the docs are built:
``testcode``/``doctest`` blocks by the doctest builder (their printed output is checked), ``plot``
blocks by matplotlib's plot directive (figures are drawn during the build, never committed).
"""

import doctest
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, HERE)

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import seqimp  # noqa: E402

import notebook_pages  # noqa: E402  (docs/notebook_pages.py)

project = "seqimp"
author = "seqimp developers"
copyright = "seqimp developers"
version = release = seqimp.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "numpydoc",
    "matplotlib.sphinxext.plot_directive",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
# api/ holds autosummary's stub pages, written at build time (ignored by git).
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "README.md"]

html_theme = "alabaster"
html_title = f"seqimp {release}"
html_static_path = ["_static"]  # custom.css: code blocks wrap
html_theme_options = {"description": "Variable importance for sequence models", "fixed_sidebar": True,
                      "page_width": "1180px", "sidebar_width": "230px"}
# rsite.html links the R site (site/r beside site/python) from every page.
html_sidebars = {"**": ["about.html", "navigation.html", "rsite.html", "relations.html", "searchbox.html"]}

# API pages: one per public name, generated from the lists in api.rst.
autosummary_generate = True
autosummary_generate_overwrite = True
autodoc_typehints = "none"  # numpydoc docstrings already give the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# The guide pages' examples are written once, in doctest format, inside ``.. plot::`` directives:
# the html build runs them (and draws their figures), the doctest builder runs them again and
# checks every printed output. The API pages' docstring examples are skipped here: make test-python
# runs them with pytest --doctest-modules, in their modules' namespaces.
doctest_test_doctest_blocks = "default"
# Error messages are part of the docs: they are compared too (no IGNORE_EXCEPTION_DETAIL).
doctest_default_flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.DONT_ACCEPT_TRUE_FOR_1
doctest_global_setup = """
import matplotlib.pyplot as plt
"""
doctest_global_cleanup = """
plt.close("all")
"""

# matplotlib's plot directive: figures are drawn at build time.
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]
plot_rcparams = {"figure.figsize": (6.4, 3.2)}
plot_pre_code = "import numpy as np\nimport seqimp\n"
plot_apply_rcparams = True

# MyST: the benchmarks page and the notebook pages are Markdown.
myst_enable_extensions = []
myst_heading_anchors = 0
suppress_warnings = []

# gradient_importance's docstring writes |ds/dx| (the size of the gradient), which reStructuredText
# reads as a substitution reference ("Undefined substitution referenced"). Define it as the literal
# text until the docstring writes ``|ds/dx|``.
rst_epilog = r"""
.. |ds/dx| replace:: \|ds/dx\|
"""


def _skip_api_doctests(app, doctree):
    """Docstring examples on the API pages are pytest's (see above), not the doctest builder's."""
    from docutils import nodes

    if app.env.docname.startswith("api/"):
        for node in doctree.findall(nodes.doctest_block):
            node["skipif"] = "True"


def setup(app):
    app.connect("doctree-read", _skip_api_doctests)
    app.connect("builder-inited", notebook_pages.write_pages)
