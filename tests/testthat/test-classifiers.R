# Classifiers and scikit-learn's metrics from R (issue 12): a binomial glm scored on probabilities,
# several metrics in one pass, and sample_weight.

glm_case <- function(n = 400) {
  set.seed(3)
  d <- data.frame(a = stats::rnorm(n), b = stats::rnorm(n), c = stats::rnorm(n))
  d$y <- stats::rbinom(n, 1, stats::plogis(2 * d$a + 0.7 * d$b))
  list(fit = stats::glm(y ~ a + b + c, family = stats::binomial, data = d), x = d[c("a", "b", "c")], y = d$y)
}

test_that("a binomial glm is scored on its probabilities under a probability metric", {
  skip_if_no_seqimp()
  case <- glm_case()
  p <- stats::predict(case$fit, newdata = case$x, type = "response")
  auto <- permutation_importance(case$fit, case$x, case$y, metric = "neg_log_loss", n_repeats = 3, seed = 1)
  expect_equal(attr(auto, "baseline_score"), mean(case$y * log(p) + (1 - case$y) * log(1 - p)),
               tolerance = 1e-6)
  given <- permutation_importance(r_model(case$fit, type = "response"), case$x, case$y,
                                  metric = "neg_log_loss", n_repeats = 3, seed = 1)
  expect_equal(auto$importance, given$importance)
  expect_gt(auto$importance[1], auto$importance[2])
  # A label metric keeps predict()'s default: log-odds, which "mse" scores as they are.
  link <- permutation_importance(case$fit, case$x, case$y, metric = "mse", n_repeats = 1, seed = 1)
  expect_equal(attr(link, "baseline_score"), mean((case$y - stats::predict(case$fit, case$x))^2),
               tolerance = 1e-6)
})

test_that("several metrics come back as a named list from one pass", {
  skip_if_no_seqimp()
  case <- glm_case()
  both <- permutation_importance(case$fit, case$x, case$y, metric = c("neg_log_loss", "roc_auc"),
                                 n_repeats = 3, seed = 2)
  expect_identical(names(both), c("neg_log_loss", "roc_auc"))
  expect_s3_class(both$roc_auc, "seqimp_importance")
  alone <- permutation_importance(case$fit, case$x, case$y, metric = "roc_auc", n_repeats = 3, seed = 2)
  expect_equal(both$roc_auc$importance, alone$importance)
  named <- permutation_importance(case$fit, case$x, case$y, n_repeats = 1, seed = 2,
                                  metric = list(ll = "neg_log_loss", mine = function(y, p) mean(abs(y - p))))
  expect_identical(names(named), c("ll", "mine"))
})

test_that("sample_weight weights the metric and bad weights name the argument", {
  skip_if_no_seqimp()
  x <- uniform_array(300, 4, 2, seed = 4)
  model <- linear_model(c(1, 0.5))
  y <- model(x) + stats::rnorm(300, sd = 0.1)
  w <- stats::runif(300)
  r <- permutation_importance(model, x, y, metric = "mse", sample_weight = w, n_repeats = 1, seed = 1)
  expect_equal(attr(r, "baseline_score"), sum(w * (y - model(x))^2) / sum(w), tolerance = 1e-5)
  expect_error(permutation_importance(model, x, y, sample_weight = w[-1]),
               "sample_weight.*one row per sample of x \\(300\\); got length 299")
  expect_error(permutation_importance(model, x, y, sample_weight = -w), "sample_weight.*>= 0")
  expect_error(permutation_importance(model, x, y, sample_weight = replace(w, 5, NA)), "sample_weight.*finite")
  expect_error(permutation_importance(model, x, y, sample_weight = "a"), "sample_weight.*numeric vector")
})

test_that("a classification metric on a continuous y names y", {
  skip_if_no_seqimp()
  x <- uniform_array(100, 3, 2, seed = 5)
  model <- linear_model(c(1, 0.5))
  expect_error(permutation_importance(model, x, model(x), metric = "f1"), "'y'.*class labels.*\"f1\"")
})

test_that("lofo_importance weighs each fold's metric by sample_weight", {
  skip_if_no_seqimp()
  linear <- reticulate::import("sklearn.linear_model")
  set.seed(6)
  x <- matrix(stats::rnorm(300), 150, 2, dimnames = list(NULL, c("a", "b")))
  y <- x[, "a"] + stats::rnorm(150, sd = 0.2)
  w <- stats::runif(150)
  r <- lofo_importance(linear$LinearRegression(), x, y, metric = "mse", cv = 3L, seed = 1,
                       progress = FALSE, sample_weight = w)
  expect_gt(r$importance[1], r$importance[2])
  expect_error(lofo_importance(linear$LinearRegression(), x, y, cv = 3L, progress = FALSE,
                               sample_weight = -w), "sample_weight.*>= 0")
})
