# LOFO and stepwise from R with an R builder. The builder returns scikit-learn's LinearRegression
# (anything with fit/predict works), so the closed form is exact and no TensorFlow is needed: on
# y = 2u + v, leaving u out raises the test MSE by 4 Var(u), leaving v out by Var(v), w by 0.

lofo_data <- function() {
  set.seed(2)
  m <- matrix(stats::runif(600 * 3), 600, 3, dimnames = list(NULL, c("u", "v", "w")))
  list(x = m, y = 2 * m[, "u"] + m[, "v"])
}

test_that("LOFO with an R builder: leaving a feature out costs w_j^2 Var(x_j)", {
  sklearn <- import_or_skip("sklearn.linear_model")
  d <- lofo_data()
  built <- integer()
  build <- function(n_features) {
    built <<- c(built, n_features)
    sklearn$LinearRegression()
  }
  r <- lofo_importance(build, d$x, d$y, metric = "mse", cv = 3, seed = 1)
  expect_identical(r$feature, c("u", "v", "w"))
  expect_identical(dim(attr(r, "importances")), c(3L, 3L))  # labels x folds
  expect_identical(attr(r, "importances_columns"), "folds")  # named by the core
  expect_output(print(r), "3 labels x 3 folds, baseline score")
  expect_equal(r$importance[1:2], c(4 * var(d$x[, "u"]), var(d$x[, "v"])), tolerance = 0.05)
  expect_lt(abs(r$importance[3]), 1e-9)
  expect_lt(attr(r, "baseline_score"), 1e-9)
  # One fit per fold with every feature, and one per fold without each of the 3: n_features 3, 2.
  expect_identical(sort(unique(built)), c(2L, 3L))
  expect_length(built, 12L)

  # Folds given from R with 1-based indices, and an R metric function.
  folds <- list(list(train = 1:400, test = 401:600))
  my_mse <- function(y_true, y_pred) mean((y_true - y_pred)^2)
  one <- lofo_importance(function(n) sklearn$LinearRegression(), d$x, d$y, metric = my_mse, cv = folds)
  expect_identical(dim(attr(one, "importances")), c(3L, 1L))
  expect_identical(attr(one, "metric"), "my_mse")
  fit_without_u <- stats::lm(y ~ v + w, data.frame(d$x[1:400, ], y = d$y[1:400]))
  test <- data.frame(d$x[401:600, ])
  expected <- mean((d$y[401:600] - stats::predict(fit_without_u, test))^2)
  expect_equal(one$importance[1], expected, tolerance = 1e-5)  # lm's fit, R's own arithmetic
})

test_that("stepwise importance ranks by backward elimination and forward addition", {
  sklearn <- import_or_skip("sklearn.linear_model")
  d <- lofo_data()
  back <- stepwise_importance(function(n) sklearn$LinearRegression(), d$x, d$y, metric = "mse", cv = 3,
                              seed = 1)
  expect_identical(attr(back, "order"), c("w", "v", "u"))  # removed first = least important
  expect_identical(attr(back, "rank"), 1:3)
  fwd <- stepwise_importance(function(n) sklearn$LinearRegression(), d$x, d$y, direction = "forward",
                             metric = "mse", cv = 3, seed = 1)
  expect_identical(attr(fwd, "order"), c("u", "v", "w"))
  expect_match(attr(fwd, "method"), "stepwise")
})

test_that("R builders and metrics refuse n_jobs other than 1, with the argument named", {
  skip_if_no_seqimp()
  d <- lofo_data()
  expect_error(lofo_importance(function(n) NULL, d$x, d$y, n_jobs = 2), "'n_jobs' argument .* R function")
  expect_error(lofo_importance(function(n) "not a model", d$x, d$y, cv = 2),
               "builder must return a compiled keras model")
  expect_error(lofo_importance(d, d$x, d$y), "'model' argument")
  expect_error(lofo_importance(function(n) NULL, d$x, d$y, cv = list(list(train = 1:10, test = 0:3))),
               "'cv' argument")
  expect_error(lofo_importance(function(n) NULL, d$x, d$y, fit_kwargs = list(1)), "'fit_kwargs' argument")
})
