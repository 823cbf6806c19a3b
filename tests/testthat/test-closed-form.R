# Closed forms for the linear sequence model y = sum_t sum_j w_j x[, t, j], run from R with the model
# as an R function.

test_that("perturbation: the RMS change is |w_j| * scale * sqrt(T) under Gaussian noise", {
  skip_if_no_seqimp()
  w <- c(2, -1, 0)
  timesteps <- 5
  x <- uniform_array(4000, timesteps, 3, c("a", "b", "c"))
  r <- perturbation_importance(linear_model(w), x, noise = "gaussian", scale = 0.3, effect = "rms",
                               n_repeats = 3, seed = 11)
  expected <- abs(w) * 0.3 * sqrt(timesteps)
  expect_equal(r$feature, c("a", "b", "c"))
  expect_equal(r$importance[1:2], expected[1:2], tolerance = 0.04)
  expect_identical(r$importance[3], 0)  # a feature the model ignores moves nothing, exactly
})

test_that("perturbation with scale_by_std scales the noise by each feature's standard deviation", {
  skip_if_no_seqimp()
  w <- c(1, 1)
  timesteps <- 4
  x <- uniform_array(4000, timesteps, 2)
  x[, , 1] <- 10 * x[, , 1]  # sd 10 / sqrt(12) against 1 / sqrt(12)
  r <- perturbation_importance(linear_model(w), x, scale = 0.2, scale_by_std = TRUE, n_repeats = 3,
                               seed = 5)
  expected <- 0.2 * c(sd(x[, , 1]), sd(x[, , 2])) * sqrt(timesteps)
  expect_equal(r$importance, expected, tolerance = 0.04)
})

test_that("permutation: the MSE increase is 2 T w_j^2 / 12 for iid U(0, 1) inputs", {
  skip_if_no_seqimp()
  w <- c(1, 0.5, 0)
  timesteps <- 4
  x <- uniform_array(3000, timesteps, 3, c("a", "b", "c"))
  model <- linear_model(w)
  r <- permutation_importance(model, x, model(x), metric = "mse", n_repeats = 5, seed = 3)
  expect_equal(r$importance[1:2], 2 * timesteps * w[1:2]^2 / 12, tolerance = 0.05)
  expect_identical(r$importance[3], 0)
  expect_equal(attr(r, "baseline_score"), 0, tolerance = 1e-6)
  expect_identical(attr(r, "metric"), "mse")
})

test_that("an R metric function(y_true, y_pred) gives the numbers of the named metric", {
  skip_if_no_seqimp()
  x <- uniform_array(300, 3, 3)
  model <- linear_model(c(1, -2, 0.5))
  y <- model(x) + stats::rnorm(300, sd = 0.1)
  seen <- NULL
  my_mse <- function(y_true, y_pred) {
    seen <<- c(is.null(dim(y_true)), is.numeric(y_pred), length(y_pred) == 300)
    mean((y_true - y_pred)^2)
  }
  named <- permutation_importance(model, x, y, metric = "mse", seed = 2)
  custom <- permutation_importance(model, x, y, metric = my_mse, seed = 2)
  expect_equal(custom$importance, named$importance, tolerance = 1e-9)
  expect_identical(attr(custom, "metric"), "my_mse")
  expect_true(all(seen))  # plain numeric vectors of one value per sample reached the R function
  r2 <- permutation_importance(model, x, y, seed = 2,
                               metric = seqimp_metric(function(y, p) 1 - sum((y - p)^2) / sum((y - mean(y))^2),
                                                      greater_is_better = TRUE, name = "r2_r"))
  expect_equal(r2$importance, permutation_importance(model, x, y, metric = "r2", seed = 2)$importance,
               tolerance = 1e-6)
  expect_true(all(r2$importance[1:2] > 0))  # a score that drops is a positive importance
})
