# The catalogue of issue 19: each message it lists reaches R in R's words (R's argument names, NULL,
# TRUE, c(...), dims, 1-based positions), whole. The core words its structured errors for R
# (seqimp.errors); tests/python/test_messages.py holds the Python twins, which stay as they were.

message_of <- function(expr) {
  err <- tryCatch({
    expr
    NULL
  }, error = identity)
  if (is.null(err)) stop("no error")
  expect_s3_class(err, "seqimp_error")
  conditionMessage(err)
}

catalogue_data <- function() {
  set.seed(1)
  x <- array(stats::runif(100 * 5 * 3), c(100, 5, 3))
  list(x = x, y = rowSums(x[, , 1]), f = function(x) rowSums(x[, , 1]))
}

catalogue_keras <- function(keras, features = 3L) {
  model <- keras$Sequential(list(keras$Input(shape = reticulate::tuple(5L, features)), keras$layers$Flatten(),
                                 keras$layers$Dense(1L)))
  model$compile(optimizer = "adam", loss = "mse")
  model
}

test_that("sample_weight of the wrong length: x, its number of samples and the length given", {
  skip_if_no_seqimp()
  d <- catalogue_data()
  expect_identical(message_of(permutation_importance(d$f, d$x, d$y, sample_weight = rep(1, 10), seed = 1)), paste(
    "The 'sample_weight' argument of permutation_importance must have one row per sample of x (100);",
    "got length 10."))
})

test_that("a keras model of the wrong input shape: dims as R writes them, NA for any number of samples", {
  keras <- import_or_skip("keras")
  d <- catalogue_data()
  expect_identical(message_of(perturbation_importance(catalogue_keras(keras, 4L), d$x, seed = 1)), paste(
    "The model expects input of dims c(NA, 5, 4), but x has dims c(100, 5, 3).",
    "Pass x with the model's timesteps and features."))
})

test_that("fit_kwargs that fit() does not take are named before any fit, never as Keras' TypeError", {
  keras <- import_or_skip("keras")
  d <- catalogue_data()
  got <- message_of(lofo_importance(catalogue_keras(keras), d$x, d$y, fit_kwargs = list(epochz = 1), cv = 2,
                                    seed = 1, progress = FALSE))
  start <- paste("The 'fit_kwargs' argument of lofo_importance names c(\"epochz\"), which Sequential.fit() does",
                 "not take; it takes c(\"batch_size\", \"epochs\", ")
  expect_identical(substr(got, 1L, nchar(start)), start)
  expect_no_match(got, "TensorFlowTrainer|TypeError|\\[")
  # A builder's model is known at its first fit: the same message, not a failed fit.
  build <- function(n_features) catalogue_keras(keras, n_features)
  expect_identical(message_of(lofo_importance(build, d$x, d$y, fit_kwargs = list(epochz = 1), cv = 2, seed = 1,
                                              progress = FALSE)), got)
})

test_that("mask of the wrong shape: dims, TRUE for a real step", {
  skip_if_no_seqimp()
  d <- catalogue_data()
  expect_identical(message_of(perturbation_importance(d$f, d$x, mask = matrix(TRUE, 100, 4), seed = 1)), paste(
    "The 'mask' argument of perturbation_importance must have dims (samples, timesteps) = c(100, 5), one entry",
    "per step, TRUE for a real step. Got dims c(100, 4) instead."))
})

test_that("baseline: NULL (zeros), \"mean\", and dims as R writes them", {
  keras <- import_or_skip("keras")
  d <- catalogue_data()
  model <- catalogue_keras(keras)
  expect_identical(message_of(gradient_importance(model, d$x, method = "integrated_gradients", baseline = "zero")),
                   paste("The 'baseline' argument of gradient_importance must be NULL (zeros), \"mean\", or an",
                         "array that broadcasts to x's dims. Got \"zero\" instead."))
  expect_identical(message_of(gradient_importance(model, d$x, method = "integrated_gradients",
                                                  baseline = array(0, c(2, 2)))), paste(
    "The 'baseline' argument of gradient_importance must be NULL (zeros), \"mean\", or an array that broadcasts",
    "to x's dims c(100, 5, 3), such as dims c(3), c(5, 3) or c(100, 5, 3). Got an array of dims c(2, 2)",
    "instead."))
})

test_that("output = c(5, 1): 1-based indices into the output's dims", {
  keras <- import_or_skip("keras")
  d <- catalogue_data()
  model <- catalogue_keras(keras)
  expected <- function(fn) paste0(
    "The 'output' argument of ", fn, " must be a vector of 1-based indices into the model's per-sample ",
    "output dims c(1). Got c(5, 1) instead.")
  expect_identical(message_of(permutation_importance(model, d$x, d$y, output = c(5, 1), seed = 1)),
                   expected("permutation_importance"))
  expect_identical(message_of(gradient_importance(model, d$x, output = c(5, 1))), expected("gradient_importance"))
})

test_that("an R function's failure names the caller's x and its dims, not the internal chunk", {
  skip_if_no_seqimp()
  d <- catalogue_data()
  expect_identical(message_of(perturbation_importance(function(x) stop("boom"), d$x, seed = 1)),
                   "The R function failed on a chunk of perturbed copies of x (x has dims c(100, 5, 3)): boom")
  frame <- data.frame(a = stats::runif(40), b = factor(rep(c("u", "v"), 20)))
  fit <- structure(list(), class = "seqimp_test_fails")
  registerS3method("predict", "seqimp_test_fails", function(object, newdata, ...) stop("no forecast"))
  expect_identical(message_of(permutation_importance(fit, frame, frame$a, seed = 1)),
                   "The R model failed on a chunk of perturbed copies of x (x has dims c(40, 2)): no forecast")
  several <- list(seq = d$x[1:30, , ], static = matrix(1, 30, 2))
  expect_identical(message_of(perturbation_importance(function(x) stop("nope"), several, seed = 1)), paste(
    "The R function failed on a chunk of perturbed copies of x (x has dims list(seq = c(30, 5, 3),",
    "static = c(30, 2))): nope"))
})

test_that("an R model reading variables x lacks: c(...) of both, and feature_names =", {
  skip_if_no_seqimp()
  d <- data.frame(p = stats::runif(30), q = stats::runif(30))
  fit <- stats::lm(y ~ p + q, data = cbind(d, y = d$p))
  expect_identical(message_of(perturbation_importance(fit, stats::setNames(d, c("p", "r")))), paste(
    "The R model uses the variables c(\"q\"), which x does not have; x's features are c(\"p\", \"r\").",
    "Pass x with the model's variables as column names (or feature_names =)."))
})

test_that("a result without standard errors says why in R's words (issue 20)", {
  skip_if_no_seqimp()
  d <- catalogue_data()
  custom <- perturbation_importance(d$f, d$x, effect = function(a, b) max(abs(a - b)), seed = 1)
  expect_identical(attr(custom, "inference_why_no_se"), paste(
    "a custom effect is not known to be a mean over samples; use effect = \"rms\" or \"mae\" for standard errors."))
  expect_identical(message_of(confint(custom)), paste(
    "confint.seqimp_importance: this result has no standard errors: a custom effect is not known to be a mean",
    "over samples; use effect = \"rms\" or \"mae\" for standard errors."))
  median <- permutation_importance(d$f, d$x, d$y, metric = "neg_median_absolute_error", seed = 1)
  expect_identical(attr(median, "inference_why_no_se"), paste(
    "the metric \"neg_median_absolute_error\" is not a mean over samples and seqimp knows no per-sample",
    "linearisation of it. Metrics with standard errors: \"mae\", \"mse\", \"rmse\", \"r2\", \"log_loss\",",
    "\"accuracy\", \"auc\" (and scikit-learn's scorers of them)."))
  expect_match(attr(permutation_importance(d$f, d$x, d$y, metric = "mse", seed = 1), "inference_covers"),
               "the sampling of the rows of x from", fixed = TRUE)
})

test_that("conditional permutation and SAGE speak R (issue 21)", {
  skip_if_no_seqimp()
  d <- catalogue_data()
  expect_identical(message_of(permutation_importance(d$f, d$x, d$y, conditional = "gauss", seed = 1)), paste(
    "The 'conditional' argument of permutation_importance must be NULL, \"gaussian\", \"knn\", or a Python object",
    "with fit(X_other, X_label) and sample(X_other, rng) methods. Got \"gauss\" instead."))
  conditional <- reticulate::import("seqimp.conditional")
  limit <- conditional$MAX_GAUSSIAN_CELLS
  reticulate::py_set_attr(conditional, "MAX_GAUSSIAN_CELLS", 10L)
  on.exit(reticulate::py_set_attr(conditional, "MAX_GAUSSIAN_CELLS", limit), add = TRUE)
  expect_identical(message_of(permutation_importance(d$f, d$x, d$y, conditional = "gaussian", seed = 1)), paste(
    "The 'conditional' argument of permutation_importance is \"gaussian\", which models the 15 numeric cells of x",
    "(timesteps x features, every input) jointly; seqimp's limit is 10 (the covariance alone grows as the square).",
    "Use conditional = \"knn\", fewer timesteps, or a sampler of your own."))
  x2 <- d$x[, 1, ]
  first <- function(x) x[, 1]
  expect_identical(message_of(sage_importance(first, x2, x2[, 1], metric = "auc", seed = 1)), paste(
    "The 'metric' argument of sage_importance must be one of c(\"mse\", \"mae\", \"log_loss\") or an R function",
    "loss(y_true, y_pred) returning one loss per sample (SAGE needs per-sample losses). Got \"auc\" instead."))
  expect_identical(message_of(sage_importance(first, x2, x2[, 1], background = x2[, 1:2], seed = 1)), paste(
    "The 'background' argument of sage_importance must be rows like x's: dims c(NA, 3), in x's order.",
    "Got dims c(NA, 2) instead."))
  expect_identical(message_of(sage_importance(first, x2, x2[, 1], metric = function(y, p) c(1, 2, 3), seed = 1)),
                   paste("The 'metric' argument of sage_importance: the function must return one loss per sample,",
                         "length 100; got length 3."))
  frame <- data.frame(a = x2[, 1], b = factor(ifelse(x2[, 2] > 0.5, "hi", "lo")))
  expect_identical(message_of(sage_importance(function(x) x$a, frame, x2[, 1], imputer = "gaussian", seed = 1)),
                   paste("The 'imputer' argument of sage_importance is \"gaussian\", which draws numbers; x has",
                         "categorical features c(\"b\"), which are never drawn as numbers. Use imputer = \"marginal\"."))
})
