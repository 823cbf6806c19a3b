test_that("the Python core loads and is the one make setup installed", {
  skip_if_no_seqimp()
  expect_true(seqimp_available())
  core <- reticulate::import("seqimp")
  expect_true(is.character(core$`__version__`))
})
