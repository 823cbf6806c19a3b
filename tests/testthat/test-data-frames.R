# data.frames from R (issue 12): factors, characters and logicals are categorical without being named,
# only ever swapped between samples, and an R model gets every chunk as a data.frame whose factors keep
# their levels. The must-show: an R data.frame with a factor explained through an R lm.

LEVELS <- c("lo", "mid", "hi")

# y = 2 num + (0, 1, 3)[fac] + noise; lm(y ~ num + fac) never reads junk. The levels are not in
# alphabetical order, so a factor rebuilt from sorted values would get them wrong.
factor_case <- function(n = 400L, seed = 7) {
  set.seed(seed)
  d <- data.frame(num = stats::rnorm(n), fac = factor(sample(LEVELS, n, TRUE), levels = LEVELS),
                  junk = stats::rnorm(n))
  y <- 2 * d$num + c(lo = 0, mid = 1, hi = 3)[as.character(d$fac)] + stats::rnorm(n, sd = 0.1)
  list(x = d, y = unname(y), fit = stats::lm(y ~ num + fac, data = cbind(d, y = unname(y))))
}

test_that("a data.frame with a factor is explained through an R lm", {
  skip_if_no_seqimp()
  case <- factor_case()
  r <- permutation_importance(case$fit, case$x, case$y, metric = "mse", n_repeats = 10L, seed = 3)
  expect_s3_class(r, "seqimp_importance")
  expect_identical(r$feature, c("num", "fac", "junk"))
  expect_identical(attr(r, "categorical_features"), "fac")  # a factor is categorical without being named
  expect_true(r$importance[2] > 0)
  expect_identical(r$importance[3], 0)  # junk is never read: exactly 0 in every repeat
  expect_true(all(attr(r, "importances")[3, ] == 0))
  # Permuting a variable of a linear model raises the MSE by about 2 Var(its contribution).
  effect <- c(0, stats::coef(case$fit)[c("facmid", "fachi")])[as.integer(case$x$fac)]
  expect_equal(r$importance[2], 2 * mean((effect - mean(effect))^2), tolerance = 0.25)
  expect_equal(r$importance[1], 2 * 4 * mean((case$x$num - mean(case$x$num))^2), tolerance = 0.25)
})

test_that("R and Python give the same numbers for the same seed", {
  skip_if_no_seqimp()
  case <- factor_case()
  r <- permutation_importance(case$fit, case$x, case$y, metric = "mse", n_repeats = 4L, seed = 11)
  np <- reticulate::import("numpy", convert = FALSE)
  frame <- reticulate::r_to_py(case$x)  # reticulate's own pandas DataFrame: fac as a Categorical
  expect_identical(reticulate::py_to_r(frame$fac$cat$categories$tolist()), LEVELS)
  # The core on that DataFrame with the same R lm: the same permutations, the same numbers.
  model <- seqimp:::prepare_model(case$fit, "permutation_importance",
                                  list(names = names(case$x), dim = dim(case$x), shape = dim(case$x)))
  from_py <- seqimp:::seqimp_py$permutation_importance(model, frame, np$array(case$y), metric = "mse",
                                                       n_repeats = 4L, random_state = 11L)
  expect_identical(unname(attr(r, "importances")), unname(from_py$importances))
  # The same lm computed in NumPy on the pandas chunks agrees to rounding.
  b <- stats::coef(case$fit)
  main <- reticulate::py_run_string(sprintf(paste(
    "import numpy as np",
    "def lm_in_numpy(x):",
    "    effect = np.array([0.0, %.17g, %.17g])",
    "    return %.17g + %.17g * x['num'].to_numpy() + effect[x['fac'].cat.codes.to_numpy()]",
    sep = "\n"), b[["facmid"]], b[["fachi"]], b[["(Intercept)"]], b[["num"]]), convert = FALSE)
  in_numpy <- seqimp:::seqimp_py$permutation_importance(main$lm_in_numpy, frame, np$array(case$y),
                                                        metric = "mse", n_repeats = 4L, random_state = 11L)
  expect_equal(unname(attr(r, "importances")), unname(in_numpy$importances),
               tolerance = 1e-9)
})

test_that("Gaussian noise swaps a factor: the model sees its levels and never a value outside the data", {
  skip_if_no_seqimp()
  case <- factor_case(n = 200L)
  seen <- character()
  model <- function(x) {
    expect_true(is.data.frame(x))
    expect_identical(levels(x$fac), LEVELS)
    expect_false(is.ordered(x$fac))
    seen <<- c(seen, as.character(x$fac))
    stats::predict(case$fit, newdata = x)
  }
  r <- perturbation_importance(model, case$x, noise = "gaussian", scale = 0.5, n_repeats = 2L, seed = 1)
  expect_identical(attr(r, "swapped"), "fac")
  expect_length(seen, 200L * (1L + 3L * 2L))
  expect_true(all(seen %in% as.character(case$x$fac)))
  with_lm <- perturbation_importance(case$fit, case$x, noise = "gaussian", scale = 0.5, n_repeats = 2L, seed = 1)
  expect_identical(with_lm$importance, r$importance)
  expect_identical(r$importance[3], 0)
  expect_true(r$importance[2] > 0)
})

test_that("characters, logicals and ordered factors reach the model as they were, NA included", {
  skip_if_no_seqimp()
  set.seed(2)
  x <- data.frame(a = stats::runif(60), s = sample(c("p", "q", NA), 60, TRUE),
                  l = sample(c(TRUE, FALSE, NA), 60, TRUE),
                  o = factor(sample(c("low", "high"), 60, TRUE), levels = c("low", "high"), ordered = TRUE),
                  f = factor(sample(c("u", "v", NA), 60, TRUE), levels = c("v", "u")),
                  i = sample(1:5, 60, TRUE), stringsAsFactors = FALSE)
  model <- function(x) {
    stopifnot(is.character(x$s), is.logical(x$l), is.ordered(x$o), identical(levels(x$o), c("low", "high")),
              identical(levels(x$f), c("v", "u")), is.integer(x$i))
    x$a + is.na(x$s) + 2 * (x$l %in% TRUE) + 4 * is.na(x$l) + 8 * (x$o == "high") + 16 * is.na(x$f)
  }
  r <- permutation_importance(model, x, model(x), metric = "mae", n_repeats = 2L, seed = 1)
  expect_identical(attr(r, "baseline_score"), 0)
  expect_identical(attr(r, "categorical_features"), c("s", "l", "o", "f"))
  expect_true(all(r$importance[2:5] > 0))
  expect_identical(r$importance[6], 0)
})

test_that("categorical_features takes names or 1-based indices, with R-worded errors naming it", {
  skip_if_no_seqimp()
  case <- factor_case(n = 100L)
  by_name <- perturbation_importance(case$fit, case$x, noise = "zero", categorical_features = "num", seed = 1)
  by_index <- perturbation_importance(case$fit, case$x, noise = "zero", categorical_features = 1, seed = 1)
  expect_identical(attr(by_name, "swapped"), c("num", "fac"))
  expect_identical(by_index$importance, by_name$importance)
  zeroed <- perturbation_importance(case$fit, case$x, noise = "zero", seed = 1)
  expect_identical(attr(zeroed, "swapped"), "fac")
  expect_false(identical(zeroed$importance[1], by_name$importance[1]))  # num swapped, not zeroed
  expect_error(perturbation_importance(case$fit, case$x, categorical_features = "nope"), paste0(
    "^The 'categorical_features' argument of perturbation_importance names \"nope\", which x does not have; ",
    "x's features are c\\(\"num\", \"fac\", \"junk\"\\)\\.$"))
  expect_error(permutation_importance(case$fit, case$x, case$y, categorical_features = 4), paste0(
    "^The 'categorical_features' argument of permutation_importance names feature index 4, but x has ",
    "features 1\\.\\.3\\.$"))
  expect_error(permutation_importance(case$fit, case$x, case$y, categorical_features = 0),
               "'categorical_features' argument .* index 0, but x has features 1\\.\\.3")
  expect_error(perturbation_importance(case$fit, case$x, categorical_features = TRUE),
               "'categorical_features' argument of perturbation_importance must be NULL, a character vector")
  expect_error(perturbation_importance(case$fit, case$x, categorical_features = NA),
               "'categorical_features' argument")
})

test_that("NA is refused in numeric columns only, and other column classes are named", {
  skip_if_no_seqimp()
  case <- factor_case(n = 50L)
  x <- case$x
  x$junk[7] <- NA
  expect_error(perturbation_importance(case$fit, x), paste(
    "The 'x' argument of perturbation_importance must not contain NA or NaN values in its numeric columns",
    "\\(factor, character and logical columns may have NA\\). Got 1, the first at x\\[7, 3\\] \\(column 'junk'\\)."))
  x <- case$x
  x$num[2] <- Inf
  expect_error(perturbation_importance(case$fit, x), "Inf or -Inf values .* x\\[2, 1\\] \\(column 'num'\\)")
  x <- case$x
  x$when <- I(as.list(seq_len(nrow(x))))  # a list column: one R object per row, no values to swap
  expect_error(perturbation_importance(case$fit, x), "'x' argument .*Got a data.frame with columns 'when' \\(AsIs\\)")
  expect_error(perturbation_importance(case$fit, case$x[0, ]), "'x' argument .* non-empty")
})

test_that("an lm reading variables the data.frame lacks is refused, naming them", {
  skip_if_no_seqimp()
  case <- factor_case(n = 50L)
  x <- case$x
  names(x) <- c("n", "f", "j")
  expect_error(perturbation_importance(case$fit, x), "uses the variables c\\(\"num\", \"fac\"\\)")
})

test_that("a numeric data.frame still works with a keras model; a factor is refused by it", {
  keras <- import_or_skip("keras")
  set.seed(3)
  x <- data.frame(a = stats::runif(80), b = stats::runif(80), c = 1:80)
  input <- keras$Input(shape = reticulate::tuple(3L))
  model <- keras$Model(input, keras$layers$Dense(1L)(input))
  from_frame <- perturbation_importance(model, x, seed = 1)
  from_matrix <- perturbation_importance(model, as.matrix(x), seed = 1)
  expect_identical(from_frame$importance, from_matrix$importance)
  expect_equal(gradient_importance(model, x)$importance, gradient_importance(model, as.matrix(x))$importance)
  x$f <- factor(sample(c("u", "v"), 80, TRUE))
  expect_error(perturbation_importance(model, x), "'x' argument .* non-numeric columns c\\(\"f\"\\)")
  expect_error(gradient_importance(model, as.matrix(x[1:3]), categorical_features = "a"),
               "'x' argument of gradient_importance has categorical features c\\(\"a\"\\)")
})

test_that("a data.frame among several inputs reaches an R function as a data.frame with its factor", {
  skip_if_no_seqimp()
  set.seed(6)
  x <- list(seq = array(stats::rnorm(120 * 3 * 2), c(120, 3, 2), dimnames = list(NULL, NULL, c("temp", "load"))),
            static = data.frame(age = stats::rnorm(120),
                                site = factor(sample(c("n", "s"), 120, TRUE), levels = c("s", "n"))))
  model <- function(x) {
    stopifnot(is.array(x$seq), is.data.frame(x$static), identical(levels(x$static$site), c("s", "n")))
    rowSums(x$seq[, , "temp"]) + 2 * (x$static$site == "n")
  }
  r <- perturbation_importance(model, x, seed = 0)
  expect_identical(r$feature, c("temp", "load", "age", "site"))
  expect_identical(attr(r, "swapped"), "site")
  expect_identical(r$importance[2:3], c(0, 0))
  expect_true(r$importance[4] > 0)
})
