test_that("an R function is a model: it gets R arrays with the feature names, once per chunk", {
  skip_if_no_seqimp()
  x <- uniform_array(50, 4, 3, c("temp", "rain", "wind"))
  calls <- 0L
  shapes <- list()
  model <- function(x) {
    calls <<- calls + 1L
    shapes[[calls]] <<- list(dim = dim(x), names = dimnames(x)[[3]])
    rowSums(x[, , "temp"]) - rowSums(x[, , "wind"])
  }
  r <- perturbation_importance(model, x, noise = "zero", n_repeats = 2, batch_size = 120)
  # 50 rows x (1 baseline + 3 features x 2 repeats) = 350 rows in chunks of 120: 3 calls.
  expect_identical(calls, 3L)
  expect_identical(shapes[[1]]$dim, c(120L, 4L, 3L))
  expect_identical(shapes[[3]]$dim, c(110L, 4L, 3L))
  expect_identical(shapes[[1]]$names, c("temp", "rain", "wind"))
  # Zeroing "temp" removes rowSums(temp) from every prediction: the RMS change is its RMS.
  expect_equal(r$importance[1], sqrt(mean(rowSums(x[, , "temp"])^2)), tolerance = 1e-5)
  expect_identical(r$importance[2], 0)
})

test_that("integer arrays, 2-D matrices and data.frames work", {
  skip_if_no_seqimp()
  set.seed(4)
  xi <- array(sample(0:9, 200 * 3 * 2, replace = TRUE), c(200, 3, 2))
  expect_true(is.integer(xi))
  model <- linear_model(c(1, 3))
  from_int <- perturbation_importance(model, xi, n_repeats = 2, seed = 9)
  from_dbl <- perturbation_importance(model, xi + 0, n_repeats = 2, seed = 9)
  expect_identical(from_int$importance, from_dbl$importance)
  expect_true(from_int$importance[2] > from_int$importance[1])

  m <- matrix(stats::runif(300 * 3), 300, 3, dimnames = list(NULL, c("u", "v", "w")))
  model2 <- function(x) {
    expect_identical(colnames(x), c("u", "v", "w"))  # a matrix model sees a matrix with names
    2 * x[, "u"] - x[, "w"]
  }
  from_matrix <- perturbation_importance(model2, m, noise = "uniform", scale = 0.5, n_repeats = 2, seed = 1)
  from_frame <- perturbation_importance(model2, as.data.frame(m), noise = "uniform", scale = 0.5,
                                        n_repeats = 2, seed = 1)
  expect_identical(from_matrix$feature, c("u", "v", "w"))
  expect_identical(from_frame$feature, c("u", "v", "w"))
  expect_identical(from_frame$importance, from_matrix$importance)
  # Uniform noise U(-s, s) on u: RMS change 2 * s / sqrt(3) (sampling error only).
  expect_equal(from_matrix$importance[1], 2 * 0.5 / sqrt(3), tolerance = 0.08)
  expect_identical(from_matrix$importance[2], 0)
  expect_false("timestep" %in% names(from_matrix))
})

test_that("groups are a named list of feature names or 1-based indices", {
  skip_if_no_seqimp()
  x <- uniform_array(200, 3, 4, c("a", "b", "c", "d"))
  model <- linear_model(c(1, 1, 0, 0))
  by_name <- perturbation_importance(model, x, groups = list(ab = c("a", "b"), cd = c("c", "d")), seed = 1)
  by_index <- perturbation_importance(model, x, groups = list(ab = 1:2, cd = c(3, 4)), seed = 1)
  expect_identical(by_name$feature, c("ab", "cd"))
  expect_identical(by_index$importance, by_name$importance)
  expect_identical(by_name$importance[2], 0)
  expect_true(by_name$importance[1] > 0)
})

test_that("bad input gives an R error that names the argument", {
  skip_if_no_seqimp()
  model <- linear_model(c(1, 1))
  x <- uniform_array(20, 3, 2)
  y <- model(x)
  expect_error(perturbation_importance(model, x[, 1, 1]), "'x' argument.*vector of length 20")
  expect_error(perturbation_importance(model, array(0, c(2, 2, 2, 2))), "'x' argument.*4-D")
  # A list is several model inputs: each element is checked as an x of its own.
  expect_error(perturbation_importance(model, list(1, 2)), "'x\\[\\[1\\]\\]' argument.*vector of length 1")
  # A data.frame's factor, character, logical, date and other classed columns are categorical; a list
  # column is refused.
  listed <- data.frame(a = 1:3)
  listed$d <- I(list(1, "a", NULL))
  expect_error(perturbation_importance(model, listed), "'x'.*'d' \\(AsIs\\)")
  x_na <- x
  x_na[5, 2, 1] <- NA
  expect_error(perturbation_importance(model, x_na), "'x' argument .* NA .*x\\[5, 2, 1\\]")
  expect_error(permutation_importance(model, x, replace(y, 3, NA)), "'y' argument .* NA")
  expect_error(permutation_importance(model, x, y[-1]), "'y' argument .* one value .* \\(20\\)")
  expect_error(permutation_importance(model, x, y, metric = "nope"), "'metric' argument.*Got \"nope\" instead")
  expect_error(perturbation_importance(model, x, n_repeats = 2.5), "'n_repeats' argument .* whole number")
  expect_error(perturbation_importance(model, x, seed = -1), "'seed' argument")
  expect_error(perturbation_importance(model, x, feature_names = "a"), "'feature_names' argument")
  expect_error(perturbation_importance(model, x, groups = list(1:2)), "'groups' argument")
  expect_error(perturbation_importance(model, x, groups = list(g = 3)), "'groups' argument.*index 3.*1..2")
  expect_error(perturbation_importance("not a model", x), "'model' argument")
})

test_that("Python errors arrive as R errors with the core's message and no traceback", {
  skip_if_no_seqimp()
  model <- linear_model(c(1, 1))
  x <- uniform_array(20, 3, 2)
  err <- tryCatch(perturbation_importance(model, x, n_repeats = 0), error = identity)
  expect_s3_class(err, "seqimp_error")
  expect_identical(conditionMessage(err), paste(
    "The 'n_repeats' argument of perturbation_importance must be an integer in the range [1, Inf).",
    "Got 0 instead."))
  expect_identical(err$python_type, "ValueError")
  expect_null(conditionCall(err))
  err <- tryCatch(perturbation_importance(model, x, noise = "pink"), error = identity)
  expect_match(conditionMessage(err), "^The 'noise' argument of perturbation_importance must be one of c\\(\"gaussian\"")
  expect_no_match(conditionMessage(err), "Traceback|File \"")
  # An error inside the R model comes back through Python with the R message in it.
  err <- tryCatch(perturbation_importance(function(x) stop("no forecast today"), x), error = identity)
  expect_match(conditionMessage(err), "no forecast today")
})

test_that("R does not copy x: the core gets a view of R's memory and makes the one float32 copy", {
  skip_if_no_seqimp()
  if (!capabilities("profmem")) skip_or_fail("R was built without memory profiling (tracemem)")
  model <- linear_model(c(1, 2))
  for (x in list(uniform_array(200, 3, 2, c("a", "b")), array(1:1200, c(200, 3, 2)))) {
    tracemem(x)
    copies <- utils::capture.output(r <- perturbation_importance(model, x, seed = 1))
    untracemem(x)
    expect_false(any(grepl("tracemem", copies)), info = paste(copies, collapse = "\n"))
    expect_true(all(r$importance > 0))
  }
  view <- reticulate::r_to_py(uniform_array(5, 2, 2))
  expect_false(reticulate::py_to_r(view$flags$owndata))  # what prepare_x hands over is R's memory
  expect_false(reticulate::py_to_r(view$flags$writeable))
})
