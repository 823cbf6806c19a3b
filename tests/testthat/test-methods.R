# Gradient, weight-based and profile methods from R, on Keras models whose weights are set from R so
# that the answers are known in closed form.

linear_keras <- function(keras, w, timesteps, bias = 0.5) {
  model <- keras$Sequential(list(keras$Input(shape = reticulate::tuple(as.integer(timesteps), length(w))),
                                 keras$layers$Flatten(), keras$layers$Dense(1L)))
  # Flatten is row-major over (timesteps, features): cell (t, j) is input t * F + j.
  model$layers[[2]]$set_weights(list(matrix(rep(w, times = timesteps), ncol = 1), array(bias, 1)))
  model
}

test_that("gradient importance of a linear Keras model: saliency |w_j|, integrated gradients x * w", {
  keras <- import_or_skip("keras")
  w <- c(1.5, -0.5, 0)
  x <- uniform_array(30, 4, 3, c("a", "b", "c"))
  model <- linear_keras(keras, w, 4)
  sal <- gradient_importance(model, x)
  expect_equal(sal$importance, abs(w), tolerance = 1e-6)
  expect_identical(dim(attr(sal, "importances")), c(3L, 30L))  # labels x samples
  ig <- gradient_importance(model, x, method = "integrated_gradients", n_steps = 4)
  attributions <- attr(ig, "attributions")
  expect_identical(dim(attributions), dim(x))
  expected <- x * rep(w, each = 30 * 4)
  expect_equal(as.vector(attributions), as.vector(expected), tolerance = 1e-5)
  expect_output(print(ig), "3 labels x 30 samples")
  expect_error(gradient_importance(function(x) x, x), "'model' argument .* perturbation_importance")
  expect_error(gradient_importance(model, x, output = 0), "'output' argument")
})

test_that("Olden's and Garson's importance follow their formulas, with 1-based output", {
  keras <- import_or_skip("keras")
  keras$utils$set_random_seed(5L)
  mlp <- keras$Sequential(list(keras$Input(shape = list(4L)), keras$layers$Dense(3L, activation = "tanh"),
                               keras$layers$Dense(2L)))
  W1 <- mlp$layers[[1]]$get_weights()[[1]]
  W2 <- mlp$layers[[2]]$get_weights()[[1]]
  olden <- olden_importance(mlp, output = 2, feature_names = c("p", "q", "r", "s"))
  expect_identical(olden$feature, c("p", "q", "r", "s"))
  expect_equal(olden$importance, as.vector(W1 %*% W2[, 2]), tolerance = 1e-6)
  # NeuralNetTools' garson.default: |w_ij| |v_j| per hidden unit (row j), rows normalised, columns summed.
  sum_in <- t(abs(W1)) * abs(W2[, 2])
  sum_in <- colSums(sum_in / rowSums(sum_in))
  garson <- garson_importance(mlp, output = 2)
  expect_equal(garson$importance, sum_in / sum(sum_in), tolerance = 1e-6)
  # layerwise = TRUE: each hidden unit's |v_j| shared by its inputs' |w_ij|.
  share <- sweep(abs(W1), 2, colSums(abs(W1)), "/") %*% abs(W2[, 2])
  layerwise <- garson_importance(mlp, output = 2, layerwise = TRUE)
  expect_equal(layerwise$importance, as.vector(share / sum(share)), tolerance = 1e-6)
  deep <- keras$Sequential(list(keras$Input(shape = list(4L)), keras$layers$Dense(3L), keras$layers$Dense(3L),
                                keras$layers$Dense(1L)))
  expect_error(garson_importance(deep), "2 hidden Dense layers.*layerwise ?= ?(True|TRUE)")
  expect_equal(sum(garson_importance(deep, layerwise = TRUE)$importance), 1, tolerance = 1e-6)
  expect_error(garson_importance(mlp, layerwise = NA), "'layerwise' argument")
  expect_identical(garson$feature, paste0("x", 1:4))
  grouped <- garson_importance(mlp, output = 2, groups = list(first = 1:2, last = c(3, 4)))
  expect_equal(grouped$importance, c(sum(garson$importance[1:2]), sum(garson$importance[3:4])),
               tolerance = 1e-6)
})

test_that("Lek profiles of an R function hold the other input at its quantiles", {
  skip_if_no_seqimp()
  x <- uniform_array(200, 3, 2, c("a", "b"))
  profile <- lek_profile(function(x) rowMeans(x[, , "a"] * x[, , "b"]), x, features = "a",
                         quantiles = c(0.25, 0.75), n_points = 5)
  expect_s3_class(profile, c("seqimp_lek", "data.frame"), exact = TRUE)
  expect_identical(names(profile), c("feature", "quantile", "value", "response"))
  expect_identical(nrow(profile), 10L)
  expect_equal(profile$value[1:5], seq(min(x[, , "a"]), max(x[, , "a"]), length.out = 5), tolerance = 1e-6)
  held <- stats::quantile(x[, , "b"], profile$quantile, names = FALSE)
  expect_equal(profile$response, profile$value * held, tolerance = 1e-5)
  skip_unless_installed("ggplot2")
  expect_s3_class(ggplot2::autoplot(profile), "ggplot")
})

test_that("LOFO with an R builder of compiled Keras models", {
  keras <- import_or_skip("keras")
  x <- uniform_array(60, 4, 2, c("signal", "noise"))
  y <- rowSums(x[, , "signal"])
  build <- function(n_features) {
    model <- keras$Sequential(list(keras$Input(shape = reticulate::tuple(4L, n_features)),
                                   keras$layers$Flatten(), keras$layers$Dense(1L)))
    model$compile(optimizer = keras$optimizers$Adam(learning_rate = 0.1), loss = "mse")
    model
  }
  r <- lofo_importance(build, x, y, fit_kwargs = list(epochs = 30, batch_size = 60), metric = "mse",
                       cv = 2, seed = 1)
  expect_identical(r$feature, c("signal", "noise"))
  expect_identical(dim(attr(r, "importances")), c(2L, 2L))
  expect_true(all(is.finite(attr(r, "importances"))))
  # Without "signal" no model can beat predicting the mean: its importance dwarfs "noise"'s.
  expect_gt(r$importance[1], 0.1)
  expect_gt(r$importance[1], 5 * abs(r$importance[2]))
})
