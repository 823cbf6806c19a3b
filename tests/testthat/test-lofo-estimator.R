# LOFO with a scikit-learn estimator handed over through reticulate: the core clones it for every fit.
# On y = 2u + v + noise (w unused), LinearRegression's fold scores are least squares, so R's own lm()
# on the same folds gives the expected numbers.

estimator_data <- function() {
  set.seed(3)
  x <- matrix(stats::runif(300 * 3), 300, 3, dimnames = list(NULL, c("u", "v", "w")))
  list(x = x, y = 2 * x[, "u"] + x[, "v"] + stats::rnorm(300, sd = 0.1))
}

# Test MSE of lm(y ~ columns) fitted on the fold's training rows.
lm_mse <- function(d, columns, fold) {
  train <- data.frame(d$x[fold$train, columns, drop = FALSE], y = d$y[fold$train])
  test <- data.frame(d$x[fold$test, columns, drop = FALSE])
  mean((d$y[fold$test] - stats::predict(stats::lm(y ~ ., train), test))^2)
}

test_that("a scikit-learn estimator from reticulate is cloned for every fit; lm() agrees", {
  sklearn <- import_or_skip("sklearn.linear_model")
  d <- estimator_data()
  folds <- list(list(train = 1:200, test = 201:300), list(train = 101:300, test = 1:100))
  model <- sklearn$LinearRegression()
  r <- lofo_importance(model, d$x, d$y, metric = "mse", cv = folds, seed = 1)
  expect_identical(r$feature, c("u", "v", "w"))
  expected <- sapply(folds, function(fold) {
    sapply(1:3, function(j) lm_mse(d, setdiff(1:3, j), fold) - lm_mse(d, 1:3, fold))
  })
  # seqimp holds x in float32: agreement to about 1e-6 of the importances' scale
  expect_equal(unname(attr(r, "importances")), expected, tolerance = 1e-4)
  expect_false(reticulate::py_has_attr(model, "coef_"))  # the caller's estimator is never fitted

  grouped <- lofo_importance(model, d$x, d$y, metric = "mse", cv = folds, groups = list(uv = c("u", "v")))
  expect_identical(grouped$feature, c("uv", "w"))  # the group, then the feature in no group
  expect_equal(unname(attr(grouped, "importances"))[2, ], expected[3, ], tolerance = 1e-4)
})

test_that("a random estimator gives the same numbers for the same seed, and stepwise works", {
  ensemble <- import_or_skip("sklearn.ensemble")
  d <- estimator_data()
  forest <- ensemble$ExtraTreesRegressor(n_estimators = 5L, max_depth = 4L)
  first <- lofo_importance(forest, d$x, d$y, metric = "mse", cv = 3, seed = 1)
  second <- lofo_importance(forest, d$x, d$y, metric = "mse", cv = 3, seed = 1)
  expect_identical(attr(first, "importances"), attr(second, "importances"))
  expect_null(forest$random_state)  # the fold's seed went to the clones only
  expect_identical(which.max(first$importance), 1L)

  sklearn <- import_or_skip("sklearn.linear_model")
  back <- stepwise_importance(sklearn$Ridge(alpha = 1e-6), d$x, d$y, metric = "mse", cv = 3, seed = 1)
  expect_identical(attr(back, "order"), c("w", "v", "u"))
})

test_that("an estimator class instead of an instance is refused with what to pass", {
  sklearn <- import_or_skip("sklearn.linear_model")
  d <- estimator_data()
  expect_error(lofo_importance(sklearn$Ridge, d$x, d$y, cv = 2), "estimator instance, such as Ridge\\(\\)")
})
