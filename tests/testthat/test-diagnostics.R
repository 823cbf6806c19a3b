# Every `extra` diagnostic of the Python result is reachable from R (issue 23, item 9): attr(r, "extra").

test_that("integrated gradients' completeness gap and predictions come to R, equal to the core's", {
  keras <- import_or_skip("keras")
  keras$utils$set_random_seed(0L)
  model <- keras$Sequential(list(keras$Input(shape = reticulate::tuple(5L, 3L)), keras$layers$LSTM(4L),
                                 keras$layers$Dense(1L)))
  x <- uniform_array(40, 5, 3, c("a", "b", "c"))
  r <- gradient_importance(model, x, method = "integrated_gradients", n_steps = 32L)
  extra <- attr(r, "extra")
  expect_setequal(names(extra), c("output", "predictions", "baseline_predictions", "completeness_gap"))
  expect_length(extra$predictions, 40L)
  expect_length(extra$completeness_gap, 40L)
  # completeness: the attributions of a sample sum to its prediction minus the baseline's, up to the gap
  attributions <- attr(r, "attributions")
  expect_equal(apply(attributions, 1, sum) - (extra$predictions - extra$baseline_predictions),
               extra$completeness_gap, tolerance = 1e-5)
  expect_lt(max(abs(extra$completeness_gap)), 0.01)
  predicted <- as.vector(model$predict(x, verbose = 0L))
  expect_equal(extra$predictions, predicted, tolerance = 1e-5)
  # Subsetting rows keeps per-sample diagnostics whole (they are not per label).
  expect_identical(attr(r[2:3, ], "extra")$predictions, extra$predictions)
})

test_that("n_real_samples under a mask is per label and follows the rows; LOFO's folds are 1-based", {
  skip_if_no_seqimp()
  x <- uniform_array(50, 5, 2, c("a", "b"))
  mask <- matrix(TRUE, 50, 5)
  mask[1:10, 1:2] <- FALSE
  r <- perturbation_importance(linear_model(c(1, 0)), x, granularity = "timestep", mask = mask, seed = 1)
  expect_identical(attr(r, "extra")$n_real_samples, c(40, 40, 50, 50, 50))
  expect_identical(attr(r[c(5, 1), ], "extra")$n_real_samples, c(50, 40))
  expect_identical(attr(r, "label_extras", exact = TRUE), NULL)
  expect_identical(attr(attr(r, "extra"), "label_extras"), "n_real_samples")

  sk <- import_or_skip("sklearn.linear_model")
  m <- matrix(stats::runif(120), 40, 3)
  lofo <- lofo_importance(function(n) sk$LinearRegression(), m, m %*% c(1, 2, 0), cv = 2, seed = 1,
                          progress = FALSE)
  folds <- attr(lofo, "extra")$folds
  expect_length(folds, 2L)
  expect_identical(sort(c(folds[[1]][[2]], folds[[2]][[2]])), 1:40)  # every row tested once, from 1
  expect_identical(dim(attr(lofo, "extra")$scores), c(3L, 2L))
  expect_equal(rowMeans(attr(lofo, "extra")$scores) - mean(attr(lofo, "extra")$baseline_scores),
               lofo$importance)
})

test_that("granularity 'timestep' or 'cell' on a 2-D x is an error in R too, not one row", {
  skip_if_no_seqimp()
  x <- matrix(stats::runif(150), 50, 3)
  for (granularity in c("timestep", "cell")) {
    expect_error(perturbation_importance(function(x) x[, 1], x, granularity = granularity),
                 sprintf("'granularity' argument .* is \"%s\", but x is 2-D .*no timesteps", granularity))
  }
})
