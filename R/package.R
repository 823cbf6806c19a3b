# The Python core, filled in .onLoad with a delayed import so that the package loads without Python
# and the user can still choose a Python environment before first use.
seqimp_py <- NULL

# The R code shared with the core (r_bridge.R, sourced at run time) calls S4 predict() methods through
# 'methods'; importing from it here declares the dependency where R CMD check looks for it.
#' @importFrom methods getGeneric selectMethod
NULL

.onLoad <- function(libname, pkgname) {
  seqimp_py <<- reticulate::import("seqimp", delay_load = list(
    priority = 5,
    environment = "r-seqimp",
    on_error = function(e) stop(seqimp_condition(missing_python_message(conditionMessage(e)))),
    # The R package calls the core by name: a core of another version may lack an argument or mean
    # another thing by it. Said once, when the core is first used.
    on_load = function() {
      problem <- core_version_problem(seqimp_py$`__version__`, reticulate::py_config()$python)
      if (!is.null(problem)) warning(problem, call. = FALSE)
    }
  ))
}

missing_python_message <- function(reason = NULL) {
  python <- tryCatch(reticulate::py_discover_config()$python, error = function(e) NA_character_)
  message <- sprintf(paste0(
    "Python module 'seqimp' was not found in %s. ",
    "Run seqimp::install_seqimp() or set RETICULATE_PYTHON to a Python that has seqimp installed."
  ), if (is.null(python) || is.na(python)) "any Python reticulate could find" else python)
  if (!is.null(reason) && nzchar(reason)) {
    message <- paste0(message, " (Importing it failed with: ", trimws(reason), ")")
  }
  message
}

# NULL when the Python core's version equals this R package's, else the sentence that says so and
# how to fix it. `where` names the Python that has the core.
core_version_problem <- function(core_version, where) {
  package_version <- as.character(utils::packageVersion("seqimp"))
  core_version <- as.character(core_version)
  if (identical(core_version, package_version)) return(NULL)
  sprintf(paste0(
    "The seqimp R package is version %s, but the Python core in %s is version %s. ",
    "Install the core of the same release: seqimp::install_seqimp(\"seqimp-%s-py3-none-any.whl\"), ",
    "or the R package of version %s."
  ), package_version, where, core_version, package_version, core_version)
}

#' Is the seqimp Python core available?
#'
#' @return Logical. TRUE when Python and the 'seqimp' module can be loaded.
#' @examples
#' seqimp_available()
#' @export
seqimp_available <- function() {
  reticulate::py_available(initialize = TRUE) && reticulate::py_module_available("seqimp")
}

#' Install the seqimp Python core
#'
#' Installs the seqimp Python core, with TensorFlow for Keras models, into a Python virtualenv that
#' this R package then finds by itself. Give it the wheel of the seqimp release whose R package you
#' installed (\code{seqimp-<version>-py3-none-any.whl}, built beside the R tarball by \code{make dist}), an
#' sdist, or a source checkout; without one, pip looks for \samp{seqimp==<version>} (this R package's version) on the
#' Python package index.
#'
#' The virtualenv is created with Python's own \code{venv} module when it does not exist yet, and pip
#' installs into it. When pip fails, the error shows pip's own message (for example "No matching
#' distribution found", or a download that failed offline) and where pip's full log is. After the
#' install, the core's version is compared with this R package's: they must be the same release.
#' With reticulate older than 1.38, which cannot convert NumPy 2 arrays, \code{numpy<2} is installed too.
#'
#' The default virtualenv, "r-seqimp", is the one the package looks for when it first uses Python:
#' after installing, restart R. For any other virtualenv, set \code{RETICULATE_PYTHON} to the Python this
#' function returns before loading seqimp.
#'
#' @param path Character or NULL. A local seqimp wheel (\code{.whl}), sdist (\code{.tar.gz}) or source
#'   checkout (a folder with \code{pyproject.toml}) to install the core from. NULL installs
#'   \samp{seqimp==<version>} (this R package's version) from the Python package index. Default is NULL.
#' @param envname Character. Name of the virtualenv (created under reticulate's virtualenv root,
#'   usually \code{~/.virtualenvs}), or a path to one. Default is "r-seqimp".
#' @param extras Character. The core's optional dependencies to install with it: "tensorflow" (Keras
#'   models), "dask" (a Dask cluster for LOFO's refits), "r" (rpy2); \code{character()} for none. Default
#'   is "tensorflow".
#' @param python Character or NULL. The Python that creates the virtualenv when it does not exist
#'   yet. Default NULL uses \code{python3} on the PATH.
#' @param pip_options Character. Further arguments for \code{pip install}, e.g.
#'   \code{c("--no-index", "--find-links=wheels")} to install offline from a folder of wheels. Default is
#'   \code{character()}.
#' @return Invisibly, the path of the virtualenv's Python.
#' @examples
#' if (FALSE) {
#'   # The wheel of the same release as the R package, from a local file (no package index needed
#'   # for seqimp itself; its dependencies come from the index, or from pip_options' wheel folder):
#'   install_seqimp("seqimp-0.3.0-py3-none-any.whl")
#'   # Without TensorFlow, into a virtualenv of your own:
#'   python <- install_seqimp("seqimp-0.3.0-py3-none-any.whl", envname = "~/venvs/seqimp",
#'                            extras = character())
#'   Sys.setenv(RETICULATE_PYTHON = python)  # before library(seqimp) in a new R session
#' }
#' @export
install_seqimp <- function(path = NULL, envname = "r-seqimp", extras = "tensorflow", python = NULL,
                           pip_options = character()) {
  fn <- "install_seqimp"
  if (!is.character(extras) || anyNA(extras) || !all(extras %in% c("tensorflow", "dask", "r"))) {
    arg_error("extras", fn, "a character vector of \"tensorflow\", \"dask\" or \"r\"", describe(extras))
  }
  if (!is.character(pip_options) || anyNA(pip_options)) {
    arg_error("pip_options", fn, "a character vector", describe(pip_options))
  }
  requirement <- core_requirement(path, extras, fn)
  envname <- as_string(envname, "envname", fn)
  env_python <- ensure_virtualenv(envname, as_string(python, "python", fn, null_ok = TRUE), fn)
  pins <- if (utils::packageVersion("reticulate") < "1.38") "numpy<2" else character()
  message(sprintf("Installing %s into %s with pip", requirement, env_python))
  hint <- if (is.null(path)) sprintf(paste0(
    "If seqimp is not on your package index, pass the wheel of the release: ",
    "install_seqimp(\"seqimp-%s-py3-none-any.whl\")."), utils::packageVersion("seqimp")) else ""
  run_logged(env_python, c("-m", "pip", "install", pip_options, requirement, pins),
             sprintf("pip could not install %s into %s", requirement, env_python), hint)
  installed <- run_logged(env_python, c("-c", "import importlib.metadata as m; print(m.version('seqimp'))"),
                          sprintf("%s could not read the installed seqimp's version", env_python))
  installed <- utils::tail(installed, 1L)
  problem <- core_version_problem(installed, env_python)
  if (!is.null(problem)) stop(seqimp_condition(problem))
  message(sprintf("seqimp %s is installed for %s. %s", installed, env_python,
                  if (identical(envname, "r-seqimp")) "Restart R to use it." else
                    sprintf("Set RETICULATE_PYTHON=\"%s\" before library(seqimp) to use it.", env_python)))
  invisible(env_python)
}

# What pip is asked to install: a local file or folder (absolute, with the extras), or the release of
# this R package's version from the index.
core_requirement <- function(path, extras, fn) {
  suffix <- if (length(extras)) sprintf("[%s]", paste(extras, collapse = ",")) else ""
  if (is.null(path)) return(sprintf("seqimp%s==%s", suffix, utils::packageVersion("seqimp")))
  path <- as_string(path, "path", fn)
  full <- normalizePath(path.expand(path), mustWork = FALSE)
  if (dir.exists(full)) {
    if (!file.exists(file.path(full, "pyproject.toml"))) {
      arg_error("path", fn, "a seqimp wheel, sdist or source checkout (a folder with pyproject.toml)",
                sprintf("the folder \"%s\" (it has no pyproject.toml)", path))
    }
  } else if (!file.exists(full)) {
    arg_error("path", fn, "an existing seqimp wheel, sdist or source checkout",
              sprintf("\"%s\" (no such file or folder)", path))
  } else if (!grepl("\\.(whl|tar\\.gz|zip)$", full)) {
    arg_error("path", fn, "a wheel (.whl) or sdist (.tar.gz) file", sprintf("\"%s\"", path))
  }
  paste0(full, suffix)
}

virtualenv_python <- function(env) {
  file.path(env, if (.Platform$OS.type == "windows") "Scripts/python.exe" else "bin/python")
}

# The Python of the virtualenv `envname` (a name under reticulate's root, or a path), created first
# with `python -m venv` when it does not exist.
ensure_virtualenv <- function(envname, python, fn) {
  env <- if (grepl("[/\\\\~]", envname)) path.expand(envname) else
    file.path(reticulate::virtualenv_root(), envname)
  env <- normalizePath(env, mustWork = FALSE)
  if (file.exists(virtualenv_python(env))) return(virtualenv_python(env))
  starter <- python %||% unname(Sys.which(if (.Platform$OS.type == "windows") "python" else "python3"))
  if (!nzchar(starter) || !file.exists(starter)) {
    arg_error("python", fn, "a Python (3.9 or newer) to create the virtualenv with",
              if (is.null(python)) "NULL, and there is no python3 on the PATH" else sprintf("\"%s\"", python))
  }
  message(sprintf("Creating the virtualenv %s with %s", env, starter))
  run_logged(starter, c("-m", "venv", env), sprintf("%s could not create the virtualenv %s", starter, env))
  virtualenv_python(env)
}

# Runs `command args` (each argument quoted for the shell) with its output in a log file, and returns
# the output's lines. A failure is a seqimp_error that shows the command's own words (every "ERROR:"
# line pip wrote, else the end of the log) and where the full log is.
run_logged <- function(command, args, failure, hint = "") {
  log <- tempfile("seqimp-install-", fileext = ".log")
  status <- suppressWarnings(system2(command, shQuote(args), stdout = log, stderr = log))
  lines <- if (file.exists(log)) readLines(log, warn = FALSE) else character()
  if (identical(as.integer(status), 0L)) return(lines)
  errors <- grep("^ERROR:", lines, value = TRUE)
  shown <- if (length(errors)) errors else utils::tail(lines, 15L)
  stop(seqimp_condition(sprintf("%s (exit status %s). It said:\n%s\nFull log: %s%s", failure, status,
                                paste(shown, collapse = "\n"), log,
                                if (nzchar(hint)) paste0("\n", hint) else "")))
}
