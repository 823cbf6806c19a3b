test_that("the Python core loads and is the one make setup installed", {
  skip_if_no_seqimp()
  expect_true(seqimp_available())
  core <- reticulate::import("seqimp")
  expect_true(is.character(core$`__version__`))
})

test_that("without the Python module, every call says how to fix it and names the Python it found", {
  skip_if_no_seqimp()
  base <- python_without_seqimp()
  code <- paste(
    "library(seqimp)",
    "cat('available:', seqimp_available(), '\\n')",
    "for (i in 1:2) tryCatch(perturbation_importance(function(x) x[, 1], matrix(1, 2, 2)),",
    "  error = function(e) cat(class(e)[1], conditionMessage(e), '\\n'))",
    sep = "\n")
  script <- tempfile(fileext = ".R")
  writeLines(code, script)
  # reticulate exported this session's virtualenv to the environment; the child must not inherit it.
  out <- withr::with_envvar(
    c(RETICULATE_PYTHON = base, VIRTUAL_ENV = NA, PYTHONPATH = NA, PYTHONHOME = NA),
    system2(file.path(R.home("bin"), "Rscript"), script, stdout = TRUE, stderr = TRUE))
  text <- paste(out, collapse = "\n")
  expect_match(text, "available: FALSE", fixed = TRUE)
  expected <- sprintf("seqimp_error Python module 'seqimp' was not found in %s. Run seqimp::install_seqimp()",
                      base)
  # Both the first call and a repeated one give the same clear error, with no configuration dump.
  expect_identical(lengths(regmatches(text, gregexpr(expected, text, fixed = TRUE))), 2L)
  expect_no_match(text, "Detected Python configuration")
})
