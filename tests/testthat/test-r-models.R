# Fitted R models, called by the R code this package shares with the core's rpy2 bridge
# (seqimp/adapters/r_bridge.R inside the Python package), and max_samples, which the core decides.

lm_case <- function() {
  set.seed(42)
  d <- data.frame(x3 = stats::rnorm(300), x1 = stats::rnorm(300), x2 = stats::rnorm(300))
  d$y <- 3 * d$x1 + d$x2 + stats::rnorm(300, sd = 0.1)
  list(fit = stats::lm(y ~ x1 + x2, data = d), x = d[, c("x3", "x1", "x2")], y = d$y)
}

test_that("the R code shared with rpy2 is sourced from the Python package, and Python never loads rpy2", {
  skip_if_no_seqimp()
  bridge <- seqimp:::r_bridge()
  path <- reticulate::py_to_r(seqimp:::py_helpers()$R_BRIDGE)
  core_dir <- dirname(reticulate::import("seqimp")$`__file__`)
  expect_identical(normalizePath(path), normalizePath(file.path(core_dir, "adapters", "r_bridge.R")))
  expect_true(all(c("call_predict", "call_function", "new_importance", "frame_to_python_parts",
                    "is_binomial_glm") %in%
                    ls(bridge)))
  expect_identical(seqimp:::r_bridge(), bridge)  # sourced once per session
  case <- lm_case()
  perturbation_importance(case$fit, case$x, seed = 1)
  sys <- reticulate::import("sys")
  loaded <- names(sys$modules)
  expect_true("seqimp._reticulate" %in% loaded)
  expect_false(any(startsWith(loaded, "rpy2")))
})

test_that("a fitted lm is called with predict(newdata = data.frame) and reads its columns by name", {
  skip_if_no_seqimp()
  case <- lm_case()
  r <- perturbation_importance(case$fit, case$x, noise = "zero")
  expect_identical(r$feature, c("x3", "x1", "x2"))
  # Zeroing x_j moves an lm's predictions by b_j * x_j exactly, so the RMS change is |b_j| * rms(x_j);
  # a positional mix-up of the columns would make x3's non-zero.
  b <- stats::coef(case$fit)
  expected <- c(0, abs(b[["x1"]]) * sqrt(mean(case$x$x1^2)), abs(b[["x2"]]) * sqrt(mean(case$x$x2^2)))
  expect_equal(r$importance, expected, tolerance = 1e-6)
  expect_identical(r$importance[1], 0)
  expect_output(print(r), "3 labels x 1 repeats")
  p <- permutation_importance(case$fit, as.matrix(case$x), case$y, metric = "mse", n_repeats = 10, seed = 0)
  # Permuting x_j in a linear model raises the MSE by about 2 b_j^2 Var(x_j): 18 and 2 here.
  expect_equal(p$importance[2:3], c(18, 2), tolerance = 0.25)
  expect_identical(p$importance[1], 0)
})

test_that("a fitted model whose variables x lacks is refused before any call, naming them", {
  skip_if_no_seqimp()
  case <- lm_case()
  x <- matrix(0, 5, 3, dimnames = list(NULL, c("p", "q", "r")))
  err <- tryCatch(perturbation_importance(case$fit, x), error = identity)
  expect_s3_class(err, "seqimp_error")
  expect_match(conditionMessage(err), 'uses the variables c("x1", "x2"), which x does not have', fixed = TRUE)
  expect_match(conditionMessage(err), 'c("p", "q", "r")', fixed = TRUE)
  classifier <- function(x) factor(ifelse(x[, 1] > 0, "yes", "no"))
  expect_error(perturbation_importance(classifier, x), "returned factor, not numbers")
})

test_that("a fitted S4 model with a predict() method works", {
  skip_if_no_seqimp()
  suppressMessages({
    methods::setClass("SeqimpTestLinear", methods::representation(w = "numeric"), where = globalenv())
    methods::setMethod("predict", "SeqimpTestLinear", where = globalenv(),
                       function(object, newdata, ...) as.matrix(newdata) %*% object@w)
  })
  withr::defer({
    methods::removeMethod("predict", "SeqimpTestLinear", where = globalenv())
    methods::removeClass("SeqimpTestLinear", where = globalenv())
    if (exists("predict", envir = globalenv(), inherits = FALSE)) rm("predict", envir = globalenv())
  })
  w <- c(2, 0, -1)
  model <- methods::new("SeqimpTestLinear", w = w)
  set.seed(3)
  x <- matrix(stats::runif(600), 200, 3, dimnames = list(NULL, c("a", "b", "c")))
  r <- perturbation_importance(model, x, noise = "zero")
  expect_equal(r$importance, unname(abs(w) * sqrt(colMeans(x^2))), tolerance = 1e-6)
  expect_identical(r$importance[2], 0)
  expect_error(perturbation_importance(structure(list(), class = "no_predict"), x), "'model' argument")
})

test_that("max_samples goes to the core as given: integers count rows (1L is one), doubles in (0, 1] are fractions", {
  skip_if_no_seqimp()
  x <- uniform_array(100, 3, 2, c("a", "b"))
  model <- linear_model(c(1, 2))
  y <- model(x)
  run <- function(m) permutation_importance(model, x, y, n_repeats = 2, max_samples = m, seed = 3)$importance
  every <- run(NULL)
  expect_identical(run(1), every)  # the fraction 1: every row
  # 1L is one row, as Python's 1: a permutation of one row is that row, so nothing changes.
  expect_identical(run(1L), c(0, 0))
  forty <- run(40L)
  expect_false(identical(forty, every))
  expect_identical(run(40), forty)  # R writes counts as doubles
  expect_identical(run(0.4), forty)  # a fraction of the 100 rows
  expect_error(run("half"), "'max_samples' argument of permutation_importance must be a number or NULL")
  expect_error(run(NA), "'max_samples' argument")
  expect_error(run(c(10, 20)), "'max_samples' argument")
  expect_error(run(2.5), "'max_samples' argument of permutation_importance .*Got 2.5 instead")
  expect_error(run(101L), "'max_samples' argument of permutation_importance must be an integer in the range \\[1, 100\\].*Got 101 instead")
})
