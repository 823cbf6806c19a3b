# make setup: idempotent; installs Debian's R packages (apt-get), the Python venv (.venv) with the
# package in editable mode plus dev extras (pins in constraints.txt), and the R package into .Rlib.
# make demo: the seed experiment end to end.  make test: every Python and R test, and the docs.
# make docs: the Python site (Sphinx) in site/python and the R site (pkgdown) in site/r.
# make dist: a release in dist/ (the Python wheel and sdist, the R source tarball), built from a clean
# copy of the tree, so nothing is written into the checkout.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RLIB := .Rlib
APT_PACKAGES := r-base-core r-base-dev r-cran-reticulate r-cran-testthat r-cran-ggplot2 \
	r-cran-jsonlite r-cran-withr r-cran-irkernel \
	pandoc r-cran-knitr r-cran-rmarkdown r-cran-pkgdown r-cran-roxygen2
export R_LIBS := $(CURDIR)/$(RLIB)
export RETICULATE_PYTHON := $(CURDIR)/$(PY)
export TF_CPP_MIN_LOG_LEVEL := 2
export MPLBACKEND := Agg
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
R_SOURCES := DESCRIPTION NAMESPACE $(wildcard R/*.R) $(wildcard man/*.Rd) $(wildcard inst/*/*)
# What R CMD build gets: a staged copy, because building in place copies .venv (GBs) first.
R_PKG_FILES := DESCRIPTION NAMESPACE LICENSE .Rbuildignore R man $(wildcard inst) tests/testthat.R tests/testthat \
	vignettes

.PHONY: setup apt demo test test-python test-r check-r docs dist bench clean notebooks

setup: apt $(VENV)/.installed $(VENV)/.kernels $(RLIB)/.installed

apt:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: pyproject.toml constraints.txt
	[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

# Jupyter kernels for the example notebooks, inside the venv so that its jupyter finds them first:
# the venv's own Python (ipykernel) and R (IRkernel, from Debian's r-cran-irkernel).
$(VENV)/.kernels: $(VENV)/.installed
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (seqimp)"
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" Rscript -e 'IRkernel::installspec(user = FALSE, sys_prefix = TRUE)'
	touch $@

$(RLIB)/.installed: $(R_SOURCES)
	mkdir -p $(RLIB)
	R CMD INSTALL --no-test-load --library=$(RLIB) . > $(RLIB)/install.log 2>&1 || { cat $(RLIB)/install.log; exit 1; }
	touch $@

demo: setup
	$(PY) -m seqimp.demo
	Rscript inst/examples/seed003_lstm.R demo-output

test: setup test-python test-r check-r docs

# The Python suite and every docstring example in the package (doctests). Both need keras and rpy2,
# which make setup installs: a doctest that cannot import them fails, it is never skipped.
test-python:
	$(PY) -m pytest -q -ra --doctest-modules -o doctest_optionflags="NORMALIZE_WHITESPACE ELLIPSIS" \
	  tests/python python/seqimp

test-r:
	cd tests && Rscript testthat.R

# R CMD check --no-manual on the built tarball; fails on any ERROR or WARNING (NOTEs are allowed).
# The tests inside it see R_LIBS and RETICULATE_PYTHON from the exports above. R CMD build knits the
# vignettes into the tarball; check runs their code again (--no-build-vignettes skips only a third
# knit) and the installed package must list them in vignette(package = "seqimp").
check-r: setup
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	mkdir -p "$$tmp/seqimp"; cp -r --parents $(R_PKG_FILES) "$$tmp/seqimp/"; \
	(cd "$$tmp" && R CMD build --no-manual seqimp > build.log 2>&1) || { cat "$$tmp/build.log"; exit 1; }; \
	rm -rf seqimp.Rcheck; \
	R CMD check --no-manual --no-build-vignettes --output=$(CURDIR) "$$tmp"/seqimp_*.tar.gz \
	  || { cat seqimp.Rcheck/00check.log; exit 1; }; \
	if grep -Eq '^Status: .*(WARNING|ERROR)' seqimp.Rcheck/00check.log; then \
	  echo "R CMD check reported warnings or errors (see seqimp.Rcheck/00check.log)"; exit 1; fi; \
	Rscript -e 'v <- vignette(package = "seqimp", lib.loc = "seqimp.Rcheck")$$results[, "Item"]' \
	  -e 'if (!"seqimp" %in% v) stop("the built package lists no seqimp vignette")'

# The README's two quick starts run first and redraw its figures (man/figures, shown by the README and
# the R site's home page). Then the two documentation sites, built from scratch with warnings as
# errors: Sphinx (site/python; the
# pages' code runs in the html build's plot directives and in the doctest builder) and pkgdown
# (site/r; reference examples and the vignettes run). docs/check_sites.py then fails if a public
# Python name or an R export has no page.
docs: setup
	rm -rf site/python site/r site/.doctrees docs/api docs/notebooks
	$(PY) docs/readme_figures.py man/figures
	$(PY) -m sphinx -E -W --keep-going -q -b html -d site/.doctrees docs site/python
	$(PY) -m sphinx -W --keep-going -q -b doctest -d site/.doctrees docs site/.doctest
	Rscript docs/pkgdown.R site/r
	$(PY) docs/check_sites.py

# A release: seqimp-<version>-py3-none-any.whl, seqimp-<version>.tar.gz (the sdist, with the tests) and
# seqimp_<version>.tar.gz (R) in dist/. tests/python/test_dist.py builds one and installs it elsewhere.
dist: setup
	$(PY) .ci/build_dist.py --out dist

# Re-run the example notebooks and store their outputs (make test runs them without storing).
notebooks: setup
	$(PY) tests/python/test_notebooks.py --write

# Every benchmark prints ratios measured in one run (over half an hour on 2 cores; bench_olden2004.py
# alone takes about 15 minutes).
bench: setup
	$(PY) bench/bench_perturbation.py
	$(PY) bench/bench_permutation.py
	$(PY) bench/bench_gradients.py
	$(PY) bench/bench_lofo.py
	$(PY) bench/bench_prefix.py
	$(PY) bench/bench_engine_scale.py
	$(PY) bench/bench_frames.py
	$(PY) bench/bench_calibration.py
	$(PY) bench/bench_conditional.py
	$(PY) bench/bench_sage.py
	$(PY) bench/bench_olden2004.py
	Rscript bench/bench_r_overhead.R

clean:
	rm -rf $(VENV) $(RLIB) demo-output .pytest_cache dist
