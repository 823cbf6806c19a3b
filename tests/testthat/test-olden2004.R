# The methods Olden et al. (2004) compare that seqimp added: improved stepwise selection 1 and 2, PaD,
# input perturbation curves and the randomization test, from R, against closed forms and against the
# Python core called directly with the same arguments and seed.

linear_keras <- function(w) {
  keras <- import_or_skip("keras")
  np <- reticulate::import("numpy", convert = FALSE)
  model <- keras$Sequential(list(keras$Input(shape = list(length(w))), keras$layers$Dense(1L)))
  model$set_weights(list(np$array(matrix(w, ncol = 1L), dtype = "float32"), np$zeros(1L, dtype = "float32")))
  model
}

test_that("improved stepwise 1 and 2 take the expected path on a linear network", {
  w <- c(1, 1, -0.5, 0)
  model <- linear_keras(w)
  set.seed(3)
  x <- cbind(a = rnorm(300, 5, 0.1), b = rnorm(300), c = rnorm(300, 0, 1.2), d = rnorm(300, 1))
  y <- drop(x %*% w)
  one <- improved_stepwise_importance(model, x, y, variant = 1)
  two <- improved_stepwise_importance(model, x, y, variant = 2)
  # Fed 0, "a" (mean 5) costs most; held at its mean, it costs least after the unused "d".
  expect_identical(attr(one, "order"), c("d", "c", "b", "a"))
  expect_identical(attr(two, "order"), c("d", "a", "c", "b"))
  expect_identical(attr(one, "rank"), c(1L, 2L, 3L, 4L))
  expect_identical(attr(one, "method"), "improved_stepwise_1")
  # The first step of variant 2 removes "d" at no cost; the next costs w_a^2 times a's variance.
  expect_equal(two$importance[4], 0, tolerance = 1e-10)
  expect_equal(two$importance[1], mean((x[, "a"] - mean(x[, "a"]))^2), tolerance = 1e-3)
  # The same numbers as the core called directly.
  core <- reticulate::import("seqimp")
  py <- core$improved_stepwise_importance(model, x, y, variant = 2L, feature_names = colnames(x))
  expect_equal(two$importance, as.vector(py$importances_mean), tolerance = 1e-12)
  expect_error(improved_stepwise_importance(function(x) x[, 1], x, y, variant = 1), "Keras model")
})

test_that("PaD's relative contributions are proportional to the squared weights", {
  w <- c(2, -1, 0.5, 0)
  model <- linear_keras(w)
  x <- matrix(rnorm(80), ncol = 4, dimnames = list(NULL, c("a", "b", "c", "d")))
  r <- gradient_importance(model, x, method = "pad")
  expect_equal(unname(attr(r, "relative_contribution")), 100 * w^2 / sum(w^2), tolerance = 1e-6)
  expect_identical(names(attr(r, "relative_contribution")), c("a", "b", "c", "d"))
  expect_equal(r$importance, w^2, tolerance = 1e-6)  # mean over samples of (ds/dx)^2
  # Per-label extras follow the rows they belong to.
  expect_equal(as.vector(attr(r[2:3, ], "extra")$relative_contribution),
               as.vector(attr(r, "extra")$relative_contribution)[2:3])
})

test_that("perturbation curves match the core and perturbation_importance for the same seed", {
  x <- uniform_array(300, 5, 3, c("a", "b", "c"))
  f <- linear_model(c(2, 1, 0))
  curve <- perturbation_curve(f, x, f(x), levels = c(0.1, 0.3), n_repeats = 2, seed = 4)
  expect_s3_class(curve, "seqimp_curve")
  expect_identical(curve$feature, rep(c("a", "b", "c"), each = 2))
  expect_identical(curve$level, rep(c(0.1, 0.3), 3))
  expect_identical(curve$importance[5:6], c(0, 0))
  p <- perturbation_importance(f, x, scale = 0.3, scale_by_std = TRUE, n_repeats = 2, seed = 4)
  expect_equal(curve$prediction_change[curve$level == 0.3], p$importance, tolerance = 1e-12)
  # Rise of the MSE: w^2 T level^2 var(x) in expectation (uniform cells: var 1/12).
  expect_equal(curve$importance[2], 4 * 5 * 0.09 / 12, tolerance = 0.15)
  expect_identical(attr(curve, "metric"), "mse")
  skip_unless_installed("ggplot2")
  expect_s3_class(plot_perturbation_curve(curve), "ggplot")
  expect_s3_class(ggplot2::autoplot(curve, column = "prediction_change"), "ggplot")
  expect_error(plot_perturbation_curve(data.frame()), "seqimp_curve")
  expect_error(perturbation_curve(f, x, f(x), levels = "a"), "levels")
})

test_that("the randomization test gives the core's p-values, with R's method_kwargs", {
  sklearn <- import_or_skip("sklearn.linear_model")
  set.seed(5)
  x <- matrix(rnorm(300), ncol = 3, dimnames = list(NULL, c("a", "b", "c")))
  y <- 2 * x[, "a"] + rnorm(100)
  r <- randomization_test("permutation", sklearn$LinearRegression(), x, y, n_permutations = 19,
                          method_kwargs = list(metric = "mse", n_repeats = 2, groups = list(ab = 1:2)),
                          seed = 1, progress = FALSE)
  expect_identical(r$feature, "ab")
  expect_identical(r$p_value, 0.05)
  expect_identical(unname(significant(r, correction = "holm")), TRUE)
  expect_identical(dim(attr(r, "null")), c(1L, 19L))
  core <- reticulate::import("seqimp")
  py <- core$randomization_test("permutation", sklearn$LinearRegression(), x, y, n_permutations = 19L,
                                method_kwargs = list(metric = "mse", n_repeats = 2L,
                                                     groups = reticulate::dict(ab = list(0L, 1L)),
                                                     feature_names = colnames(x)),
                                random_state = 1L, progress = FALSE)
  expect_equal(unname(attr(r, "null")[1, ]), as.vector(py$inference[["null"]]), tolerance = 1e-12)
  # The method given as this package's function is the same method.
  again <- randomization_test(permutation_importance, sklearn$LinearRegression(), x, y, n_permutations = 19,
                              method_kwargs = list(metric = "mse", n_repeats = 2, groups = list(ab = 1:2)),
                              seed = 1, progress = FALSE)
  expect_identical(attr(again, "null"), attr(r, "null"))
  expect_error(randomization_test("lofo", sklearn$LinearRegression(), x, y), "retrains models itself")
  expect_error(randomization_test(mean, sklearn$LinearRegression(), x, y), "'method' argument")
})
