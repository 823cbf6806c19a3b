# install_seqimp() and the version check between the R package and the Python core.

test_that("install_seqimp checks its arguments before creating anything", {
  missing <- file.path(tempdir(), "no-such-seqimp.whl")
  expect_error(install_seqimp(missing), class = "seqimp_error",
               regexp = "The 'path' argument of install_seqimp must be an existing seqimp wheel", fixed = FALSE)
  folder <- withr::local_tempdir()
  expect_error(install_seqimp(folder), "it has no pyproject.toml", fixed = TRUE)
  text <- withr::local_tempfile(fileext = ".txt")
  writeLines("x", text)
  expect_error(install_seqimp(text), "must be a wheel (.whl) or sdist (.tar.gz) file", fixed = TRUE)
  expect_error(install_seqimp(extras = "torch"),
               "The 'extras' argument of install_seqimp must be a character vector of \"tensorflow\", \"dask\" or \"r\". Got \"torch\" instead.",
               fixed = TRUE)
  expect_error(install_seqimp(pip_options = 1), "The 'pip_options' argument", fixed = TRUE)
  expect_error(install_seqimp(envname = NA_character_), "The 'envname' argument", fixed = TRUE)
})

test_that("what pip is asked for: the local file with its extras, or this version from the index", {
  expect_identical(seqimp:::core_requirement(NULL, "tensorflow", "f"),
                   sprintf("seqimp[tensorflow]==%s", utils::packageVersion("seqimp")))
  expect_identical(seqimp:::core_requirement(NULL, character(), "f"),
                   sprintf("seqimp==%s", utils::packageVersion("seqimp")))
  wheel <- file.path(withr::local_tempdir(), "seqimp-1.0.0-py3-none-any.whl")
  file.create(wheel)
  expect_identical(seqimp:::core_requirement(wheel, c("tensorflow", "r"), "f"),
                   paste0(normalizePath(wheel), "[tensorflow,r]"))
})

test_that("a failed pip install shows pip's own error and where its log is", {
  starter <- python_without_seqimp()
  env <- file.path(withr::local_tempdir(), "venv")
  broken <- file.path(withr::local_tempdir(), sprintf("seqimp-%s-py3-none-any.whl", utils::packageVersion("seqimp")))
  writeLines("not a zip file", broken)
  err <- expect_error(suppressMessages(
    install_seqimp(broken, envname = env, extras = character(), python = starter, pip_options = "--no-index")),
    class = "seqimp_error")
  message <- conditionMessage(err)
  expect_match(message, sprintf("pip could not install %s into %s", normalizePath(broken), file.path(env, "bin", "python")),
               fixed = TRUE)
  expect_match(message, "ERROR: Wheel 'seqimp' located at .* is invalid")  # pip's own words
  log <- sub(".*Full log: (\\S+).*", "\\1", message)
  expect_true(file.exists(log))
  # The virtualenv was created, and is reused by the next call: offline, the index has no seqimp.
  expect_true(file.exists(file.path(env, "bin", "python")))
  err <- expect_error(suppressMessages(
    install_seqimp(envname = env, extras = character(), pip_options = "--no-index")), class = "seqimp_error")
  expect_match(conditionMessage(err), sprintf("No matching distribution found for seqimp==%s",
                                              utils::packageVersion("seqimp")), fixed = TRUE)
  expect_match(conditionMessage(err), "pass the wheel of the release", fixed = TRUE)
})

test_that("an R package and a Python core of different versions are told apart, with the way out", {
  version <- as.character(utils::packageVersion("seqimp"))
  expect_null(seqimp:::core_version_problem(version, "/env/bin/python"))
  expect_identical(
    seqimp:::core_version_problem("0.0.1", "/env/bin/python"),
    sprintf(paste0("The seqimp R package is version %s, but the Python core in /env/bin/python is version ",
                   "0.0.1. Install the core of the same release: seqimp::install_seqimp(\"seqimp-%s-py3-none-any.whl\"), ",
                   "or the R package of version 0.0.1."), version, version))
})

test_that("the first use of a core of another version warns once, naming both versions", {
  skip_if_no_seqimp()
  base <- python_without_seqimp()
  fake <- withr::local_tempdir()
  dir.create(file.path(fake, "seqimp"))
  writeLines("__version__ = '0.0.1'", file.path(fake, "seqimp", "__init__.py"))
  script <- withr::local_tempfile(fileext = ".R")
  writeLines(c(
    "library(seqimp)",
    "seen <- character()",
    "# (the handler only records: core_ready() captures console output while it imports)",
    "for (i in 1:2) withCallingHandlers(seqimp:::core_ready(),",
    "  warning = function(w) { seen <<- c(seen, conditionMessage(w)); invokeRestart('muffleWarning') })",
    "cat(paste('WARNING', seen), 'done', sep = '\\n')"), script)
  out <- withr::with_envvar(
    c(RETICULATE_PYTHON = base, VIRTUAL_ENV = NA, PYTHONPATH = fake, PYTHONHOME = NA),
    system2(file.path(R.home("bin"), "Rscript"), script, stdout = TRUE, stderr = TRUE))
  text <- paste(out, collapse = "\n")
  expect_match(text, "done", fixed = TRUE)
  expected <- sprintf("WARNING The seqimp R package is version %s, but the Python core in %s is version 0.0.1.",
                      utils::packageVersion("seqimp"), base)
  expect_identical(lengths(regmatches(text, gregexpr(expected, text, fixed = TRUE))), 1L)
})
