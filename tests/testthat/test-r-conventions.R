# R conventions (issue 13): errors are R errors in R's words with positions counted from 1, set.seed()
# is honoured, integer max_samples counts rows, and R models are named as R users know them.

test_that("a non-finite prediction is an R error naming the R function, the 1-based sample and when", {
  skip_if_no_seqimp()
  x <- uniform_array(20, 3, 2, c("a", "b"))
  x[5, 1, "a"] <- -1  # the model returns NaN for this sample only
  model <- function(x) ifelse(x[, 1, "a"] < 0, NaN, rowSums(x[, , "a"]))
  err <- tryCatch(perturbation_importance(model, x), error = identity)
  expect_s3_class(err, "seqimp_error")
  expect_identical(err$python_type, "ValueError")
  expect_identical(conditionMessage(err), paste(
    "The model (R function) returned NaN for sample 5 on the unperturbed x (the baseline).",
    "seqimp never turns non-finite predictions into importances; check the model and x."))

  # NA from R arrives as NaN; timesteps and repeats count from 1 too.
  x <- uniform_array(20, 3, 2, c("a", "b"))
  model <- function(x) ifelse(x[, 2, "b"] == 0, NA_real_, rowSums(x[, , "a"]))
  err <- tryCatch(perturbation_importance(model, x, noise = "zero", granularity = "cell", n_repeats = 2),
                  error = identity)
  expect_match(conditionMessage(err), paste0("^The model \\(R function\\) returned NaN for sample 1 when ",
                                             "feature \"b\" was perturbed at timestep 2 \\(repeat 1\\)\\."))
  # A fitted model is an "R model".
  fit <- structure(list(), class = "seqimp_test_nan")
  registerS3method("predict", "seqimp_test_nan", function(object, newdata, ...) rep(Inf, nrow(newdata)))
  err <- tryCatch(perturbation_importance(fit, matrix(1, 4, 2)), error = identity)
  expect_match(conditionMessage(err), "^The model \\(R model\\) returned Inf for sample 1 ")

  err <- tryCatch(permutation_importance(linear_model(c(1, 0)), x, rowSums(x[, , 1]),
                                         metric = function(y_true, y_pred) NaN), error = identity)
  expect_s3_class(err, "seqimp_error")
  expect_match(conditionMessage(err), "^The metric \"custom\" returned NaN; seqimp never reports")
})

test_that("positions in the core's messages count from 1: an Inf at x[7, 1, 3], output = 11", {
  skip_if_no_seqimp()
  x <- uniform_array(10, 2, 3)
  x[7, 1, 3] <- Inf
  expect_error(perturbation_importance(linear_model(c(1, 1, 1)), x),
               "'x' argument .* must not contain Inf or -Inf values. Got 1, the first at x\\[7, 1, 3\\]")
  # The core's own check, reached from R through call_core (an array made in Python, past R's check).
  np <- reticulate::import("numpy", convert = FALSE)
  x_py <- np$array(x)
  err <- tryCatch(seqimp:::call_core(seqimp:::core_module("perturbation")$perturbation_importance,
                                     list(function(x) x, x_py)), error = identity)
  expect_identical(conditionMessage(err),
                   "x must be finite (no NaN, NA or Inf); the first bad value is at index [7, 1, 3].")

  keras <- import_or_skip("keras")
  mlp <- keras$Sequential(list(keras$Input(shape = list(4L)), keras$layers$Dense(3L)))
  err <- tryCatch(olden_importance(mlp, output = 11), error = identity)
  expect_identical(conditionMessage(err), paste(
    "The 'output' argument of olden_importance must be an integer in the range [1, 3] (the model has 3",
    "outputs per sample, length 3), or one of c(\"sum\", \"mean\"). Got 11 instead."))
})

test_that("argument errors from the core use R's words: argument, integer, NULL, Inf, c(\"a\", \"b\")", {
  skip_if_no_seqimp()
  model <- linear_model(c(1, 1))
  x <- uniform_array(20, 3, 2)
  y <- model(x)
  message_of <- function(expr) conditionMessage(tryCatch(expr, error = identity))
  expect_identical(message_of(perturbation_importance(model, x, granularity = "pixel")), paste(
    "The 'granularity' argument of perturbation_importance must be one of",
    "c(\"feature\", \"timestep\", \"cell\"). Got \"pixel\" instead."))
  expect_identical(message_of(permutation_importance(model, x, y, max_samples = 0)), paste(
    "The 'max_samples' argument of permutation_importance must be an integer in the range [1, 20]",
    "(a number of rows of x), a number in the range (0, 1] (a fraction of them), or NULL. Got 0 instead."))
  msg <- message_of(permutation_importance(model, x, y, metric = "nope"))
  expect_match(msg, "a seqimp_metric(), or an R function(y_true, y_pred) returning a number. Got \"nope\"",
               fixed = TRUE)
  for (msg in c(msg, message_of(perturbation_importance(model, x, n_repeats = 0)))) {
    expect_no_match(msg, "parameter|\\bint\\b|\\bNone\\b|\\binf\\b|'nope'|\\{")
  }
  expect_match(message_of(perturbation_importance(model, x, progress = "yes")),
               "'progress' argument .* NULL .*, TRUE, FALSE or an R function\\(done, total\\). Got \"yes\"")
  expect_match(message_of(perturbation_importance(model, x, feature_names = c("a", "b", "c"))),
               "Got c\\(\"a\", \"b\", \"c\"\\) instead")
  # Python callers keep Python's words: the core words an error for R only when it crosses into R.
  core <- reticulate::import("seqimp")
  err <- tryCatch(core$perturbation_importance(model, x, n_repeats = 0L), error = identity)
  expect_match(conditionMessage(err), "The 'n_repeats' parameter of perturbation_importance must be an int")
})

test_that("Python exceptions arrive with no class prefix and no trailing newline (LOFO's FitError)", {
  sklearn <- import_or_skip("sklearn.linear_model")
  x <- uniform_array(30, 2, 2)
  err <- tryCatch(lofo_importance(function(n) sklearn$LinearRegression(positive = "yes"), x, rowSums(x[, , 1]),
                                  cv = 2, seed = 1, progress = FALSE),
                  error = identity)
  expect_s3_class(err, "seqimp_error")
  expect_identical(err$python_type, "FitError")
  expect_match(conditionMessage(err), "^lofo_importance: the fit with every feature, fold 1 of 2 failed: ")
  expect_no_match(conditionMessage(err), "seqimp\\.lofo|FitError:|\n|Traceback")
  expect_null(conditionCall(err))
})

test_that("set.seed() is honoured when seed = NULL, and a given seed leaves R's generator alone", {
  skip_if_no_seqimp()
  x <- uniform_array(100, 3, 2)
  model <- linear_model(c(1, 2))
  y <- model(x)
  run <- function(seed = NULL) permutation_importance(model, x, y, n_repeats = 2, seed = seed)$importance
  set.seed(11)
  first <- run()
  set.seed(11)
  expect_identical(run(), first)
  expect_false(identical(run(), first))  # the generator moved on: a new draw
  set.seed(11)
  drawn <- sample.int(.Machine$integer.max, 1L) - 1L  # what seed = NULL takes from R's generator
  expect_identical(run(drawn), first)

  set.seed(3)
  expected <- stats::runif(1)
  set.seed(3)
  perturbation_importance(model, x, seed = 5)
  expect_identical(stats::runif(1), expected)

  set.seed(2)
  a <- perturbation_importance(model, x, n_repeats = 2)
  set.seed(2)
  expect_identical(perturbation_importance(model, x, n_repeats = 2), a)
})

test_that("set.seed() makes LOFO's shuffled folds reproducible", {
  sklearn <- import_or_skip("sklearn.linear_model")
  set.seed(8)
  x <- matrix(stats::runif(60 * 3), 60, 3)
  y <- x[, 1] + stats::rnorm(60, sd = 0.1)
  run <- function() lofo_importance(function(n) sklearn$LinearRegression(), x, y, cv = 3,
                                    progress = FALSE)
  set.seed(4)
  first <- run()
  set.seed(4)
  expect_identical(attr(run(), "importances"), attr(first, "importances"))
})

test_that("R functions and fitted models are an RPredictor: named as R knows them, with R's chunk size", {
  skip_if_no_seqimp()
  x <- uniform_array(20, 3, 2)
  err <- tryCatch(perturbation_importance(function(x) stop("no forecast today"), x), error = identity)
  expect_identical(conditionMessage(err),
                   "The R function failed on a chunk of perturbed copies of x (x has dims c(20, 3, 2)): no forecast today")
  err <- tryCatch(perturbation_importance(function(x) factor(x[, 1, 1] > 0.5), x), error = identity)
  expect_match(conditionMessage(err), "the R function returned factor, not numbers; make it return numbers")
  expect_no_match(conditionMessage(err), "predict\\(\\)|callable")

  data <- list(names = c("a", "b"), dim = c(20L, 3L, 2L), shape = c(20L, 3L, 2L))
  predictor <- seqimp:::prepare_model(function(x) x[, 1, 1], "f", data)
  expect_identical(reticulate::py_to_r(predictor$description), "R function")
  # 128 MiB of doubles per chunk, as the rpy2 side: rows of 10 x 5 doubles.
  expect_identical(reticulate::py_to_r(predictor$default_chunk_rows(reticulate::tuple(10L, 5L))),
                   as.integer(128 * 2^20 / (10 * 5 * 8)))
  calls <- 0L
  big <- uniform_array(2000, 10, 5)
  perturbation_importance(function(x) {
    calls <<- calls + 1L
    rowSums(x[, , 1])
  }, big, seed = 1)
  expect_identical(calls, 1L)  # 2000 x 6 rows of 50 doubles: one R call
})

test_that("r_model() passes predict() arguments and names, as the core's r_model does", {
  skip_if_no_seqimp()
  set.seed(6)
  d <- data.frame(p = stats::rnorm(300), q = stats::rnorm(300))
  d$y <- stats::rbinom(300, 1, stats::plogis(2 * d$p))
  fit <- stats::glm(y ~ p + q, family = stats::binomial, data = d)
  wrapped <- r_model(fit, type = "response")
  expect_s3_class(wrapped, "seqimp_r_model")
  expect_output(print(wrapped), "R model of class glm, predict\\(type = \"response\"\\)")
  by_hand <- function(x) stats::predict(fit, newdata = as.data.frame(x), type = "response")
  x <- as.matrix(d[c("p", "q")])
  a <- permutation_importance(wrapped, x, d$y, metric = "log_loss", seed = 1)
  b <- permutation_importance(by_hand, x, d$y, metric = "log_loss", seed = 1)
  expect_identical(a$importance, b$importance)
  expect_gt(a$importance[1], 0.1)
  # A binomial glm given a probability metric is asked for type = "response" by itself (issue 12).
  plain <- permutation_importance(fit, x, d$y, metric = "log_loss", seed = 1)
  expect_identical(plain$importance, a$importance)
  # Names of the model's own, for x named otherwise.
  renamed <- x
  colnames(renamed) <- c("u", "v")
  expect_error(perturbation_importance(fit, renamed), "uses the variables c\\(\"p\", \"q\"\\)")
  named <- perturbation_importance(r_model(fit, type = "response", feature_names = c("p", "q")), renamed,
                                   seed = 1)
  expect_identical(named$importance, perturbation_importance(wrapped, x, seed = 1)$importance)
  expect_error(perturbation_importance(r_model(fit, feature_names = "p"), renamed),
               "'model' argument .* one feature name per feature of x \\(2\\)")
  expect_error(r_model(function(x) x, type = "response"), "'model' argument of r_model .* predict\\(\\)")
  expect_error(r_model(1:3), "'model' argument of r_model")
  expect_error(r_model(fit, "response"), "'...' argument of r_model must be named arguments")
})

test_that("every Python function is available from R under the same name (Metric as seqimp_metric)", {
  # Classes are not functions: ImportanceResult is a seqimp_importance data.frame in R, Sequences the
  # list as_sequences() returns, Metric is seqimp_metric().
  skip_if_no_seqimp()
  core <- reticulate::import("seqimp")
  python <- unlist(core$`__all__`)
  r_names <- c(setdiff(python, c("ImportanceResult", "Metric", "Sequences")), "r_model")
  missing <- setdiff(r_names, getNamespaceExports("seqimp"))
  expect_identical(missing, character())
  expect_true(all(c("seqimp_metric", "as_seqimp_importance") %in% getNamespaceExports("seqimp")))
})

test_that("every Rd example runs: none is wrapped in \\dontrun or \\donttest", {
  db <- tools::Rd_db("seqimp")
  tags <- function(rd) {
    found <- character()
    walk <- function(x) {
      tag <- attr(x, "Rd_tag")
      if (!is.null(tag)) found <<- c(found, tag)
      if (is.list(x)) lapply(x, walk)
    }
    walk(rd)
    found
  }
  with_examples <- Filter(function(rd) "\\examples" %in% tags(rd), db)
  expect_gte(length(with_examples), 12L)
  skipped <- names(Filter(function(rd) any(c("\\dontrun", "\\donttest") %in% tags(rd)), db))
  expect_identical(skipped, character())
  exported <- setdiff(getNamespaceExports("seqimp"), c("install_seqimp", "seqimp_available"))
  documented <- unlist(lapply(db, function(rd) {
    unlist(lapply(Filter(function(x) identical(attr(x, "Rd_tag"), "\\alias"), rd), as.character))
  }))
  expect_true(all(exported %in% documented))
})
