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

test_that("a data.frame with a factor reaches a scikit-learn pipeline as the core's LOFO takes it", {
  compose <- import_or_skip("sklearn.compose")
  preprocessing <- import_or_skip("sklearn.preprocessing")
  pipeline <- import_or_skip("sklearn.pipeline")
  linear <- import_or_skip("sklearn.linear_model")
  # y = 2 num + (0, 1, 3 by level of fac) + noise; junk unused.
  set.seed(5)
  n <- 240L
  d <- data.frame(num = stats::rnorm(n), fac = factor(sample(c("lo", "mid", "hi"), n, TRUE), c("lo", "mid", "hi")),
                  junk = stats::rnorm(n))
  y <- 2 * d$num + c(lo = 0, mid = 1, hi = 3)[as.character(d$fac)] + stats::rnorm(n, sd = 0.1)
  # One-hot encodes the categorical columns, whichever are left; the others pass through.
  encoded_ols <- function() {
    encode <- compose$make_column_transformer(
      reticulate::tuple(preprocessing$OneHotEncoder(), compose$make_column_selector(dtype_include = "category")),
      remainder = "passthrough")
    pipeline$make_pipeline(encode, linear$LinearRegression())
  }
  from_r <- lofo_importance(encoded_ols(), d, unname(y), metric = "mse", cv = 4, seed = 7, progress = FALSE)

  # The same call from Python, on a pandas DataFrame whose fac is a categorical with the same levels.
  pd <- reticulate::import("pandas", convert = FALSE)
  frame <- pd$DataFrame(reticulate::dict(
    num = reticulate::np_array(d$num), fac = pd$Categorical(as.character(d$fac), categories = levels(d$fac)),
    junk = reticulate::np_array(d$junk)))
  lofo <- reticulate::import("seqimp.lofo", convert = FALSE)
  from_python <- lofo$lofo_importance(encoded_ols(), frame, reticulate::np_array(unname(y)), metric = "mse",
                                      cv = 4L, random_state = 7L, progress = FALSE)

  expect_identical(from_r$feature, c("num", "fac", "junk"))
  expect_identical(unname(attr(from_r, "importances")), reticulate::py_to_r(from_python$importances))
  expect_identical(attr(from_r, "baseline_score"), reticulate::py_to_r(from_python$baseline_score))
  expect_gt(from_r$importance[2], 1)  # fac moves y by 0 to 3: dropping it costs about its variance
  expect_lt(abs(from_r$importance[3]), 0.01)
})
