# Keras models built from R through reticulate (what the R keras packages return) pass straight
# through, and give the Python core's numbers for the same seed.

core_reference <- function(fun, model, x, ...) {
  np <- reticulate::import("numpy", convert = FALSE)
  core <- reticulate::import("seqimp", convert = FALSE)
  # The reference gets its own C-ordered copy made in Python, not R's read-only view.
  x_py <- np$ascontiguousarray(x)
  res <- core[[fun]](model, x_py, ...)
  list(mean = as.vector(reticulate::py_to_r(res$importances_mean)),
       importances = reticulate::py_to_r(res$importances),
       names = vapply(reticulate::py_to_r(res$labels), function(l) l$name, ""))
}

lstm_model <- function(keras, timesteps, features) {
  keras$utils$set_random_seed(1L)
  inp <- keras$Input(shape = reticulate::tuple(as.integer(timesteps), as.integer(features)))
  hidden <- keras$layers$LSTM(8L)(inp)
  keras$Model(inp, keras$layers$Dense(1L)(hidden))
}

test_that("a Keras 3 model built from R and an R array with dimnames give the core's numbers", {
  keras <- import_or_skip("keras")
  x <- uniform_array(64, 6, 3, c("price", "volume", "noise"))
  model <- lstm_model(keras, 6, 3)
  r <- perturbation_importance(model, x, scale_by_std = TRUE, n_repeats = 3, seed = 7)
  ref <- core_reference("perturbation_importance", model, x, scale_by_std = TRUE, n_repeats = 3L,
                        random_state = 7L, feature_names = list("price", "volume", "noise"))
  expect_identical(r$feature, c("price", "volume", "noise"))
  expect_equal(r$importance, ref$mean, tolerance = 1e-6)
  expect_equal(unname(attr(r, "importances")), ref$importances, tolerance = 1e-6)
  expect_true(all(r$importance > 0))

  y <- as.vector(model$predict(x, verbose = 0L)) + stats::rnorm(64, sd = 0.05)
  p <- permutation_importance(model, x, y, metric = "mse", n_repeats = 2, granularity = "cell", seed = 3)
  ref <- core_reference("permutation_importance", model, x, y, metric = "mse", n_repeats = 2L,
                        granularity = "cell", random_state = 3L)
  expect_equal(p$importance, ref$mean, tolerance = 1e-6)
  expect_identical(ref$names[1:4], c("x1@t0", "x2@t0", "x3@t0", "x1@t1"))  # the core counts from 0
  expect_identical(rownames(attr(p, "importances")),  # R from 1
                   paste0(c("price", "volume", "noise"), "@t", rep(1:6, each = 3)))
})

test_that("a Sequential model, a tf_keras model and an R function around a model all work", {
  keras <- import_or_skip("keras")
  x <- uniform_array(40, 5, 2, c("a", "b"))
  keras$utils$set_random_seed(2L)
  seq_model <- keras$Sequential(list(keras$Input(shape = reticulate::tuple(5L, 2L)),
                                     keras$layers$Conv1D(4L, 3L, activation = "relu"),
                                     keras$layers$GlobalAveragePooling1D(),
                                     keras$layers$Dense(1L)))
  r <- perturbation_importance(seq_model, x, n_repeats = 2, seed = 1)
  ref <- core_reference("perturbation_importance", seq_model, x, n_repeats = 2L, random_state = 1L)
  expect_equal(r$importance, ref$mean, tolerance = 1e-6)

  # The seed answer's style: the model wrapped in an R function calling predict().
  wrapped <- perturbation_importance(function(x) seq_model$predict(x, verbose = 0L), x, n_repeats = 2,
                                     seed = 1)
  expect_equal(wrapped$importance, r$importance, tolerance = 1e-5)

  tfk <- import_or_skip("tf_keras")
  tfk$utils$set_random_seed(3L)
  inp <- tfk$Input(shape = reticulate::tuple(5L, 2L))
  legacy <- tfk$Model(inp, tfk$layers$Dense(1L)(tfk$layers$GRU(4L)(inp)))
  r <- perturbation_importance(legacy, x, n_repeats = 2, seed = 4)
  ref <- core_reference("perturbation_importance", legacy, x, n_repeats = 2L, random_state = 4L)
  expect_equal(r$importance, ref$mean, tolerance = 1e-6)
  expect_true(all(r$importance > 0))
})

test_that("a Keras model given the wrong shape of x fails with an R error that says so", {
  keras <- import_or_skip("keras")
  model <- lstm_model(keras, 6, 3)
  err <- tryCatch(perturbation_importance(model, uniform_array(10, 4, 3)), error = identity)
  expect_s3_class(err, "seqimp_error")
  expect_match(conditionMessage(err), "expects input of dims c\\(NA, 6, 3\\), but x has dims c\\(10, 4, 3\\)")
})
