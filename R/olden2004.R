#' Improved stepwise selection 1 and 2 (Gevrey et al. 2003) on a trained model
#'
#' Backward elimination without retraining: each step neutralises each remaining input in turn (the
#' inputs removed earlier stay neutralised), scores the model against \code{y}, and removes for good
#' the input whose neutralisation raises the error least. The input removed last ranks first.
#' \code{variant = 1} removes the input's connection weights (its rows of the first layer's kernel,
#' computed by feeding it 0, which is the same where that layer is Dense, Conv1D or recurrent; other
#' first layers are refused); \code{variant = 2} holds the input at its mean over real cells.
#'
#' @inheritParams permutation_importance
#' @param model A trained model: for \code{variant = 1} a keras model whose layers reading the input
#'   are Dense, Conv1D, LSTM, GRU or SimpleRNN (after Dropout, Flatten, Reshape or Concatenate); for
#'   \code{variant = 2} anything \code{\link{permutation_importance}} takes. It is never fitted.
#' @param variant Integer. 1 (connection weights removed) or 2 (input held at its mean). Default is 1.
#' @param metric Character or function. One metric, as in \code{\link{permutation_importance}}.
#'   Default is \code{"mse"} (Gevrey et al. follow the mean squared error).
#' @param groups List. Named list of feature names or 1-based indices neutralised together. Default
#'   is NULL.
#' @return A \code{seqimp_importance} data.frame with one column in its \code{importances}
#'   attribute: the rise of the metric at the step that removed the label (they add up to the metric
#'   with every input neutralised minus \code{baseline_score}); attributes \code{rank} (1 = most
#'   important) and \code{order} (labels in the order they were removed).
#' @references Gevrey, Dimopoulos, Lek (2003). Ecological Modelling 160, 249-264. Olden, Joy, Death
#'   (2004). Ecological Modelling 178, 389-397.
#' @examplesIf seqimp_available() && reticulate::py_module_available("keras")
#' keras <- reticulate::import("keras")
#' np <- reticulate::import("numpy", convert = FALSE)
#' model <- keras$Sequential(list(keras$Input(shape = list(3L)), keras$layers$Dense(1L)))
#' model$set_weights(list(np$array(list(list(3), list(1), list(0))), np$zeros(1L)))
#' x <- matrix(rnorm(300), ncol = 3, dimnames = list(NULL, c("a", "b", "c")))
#' r <- improved_stepwise_importance(model, x, x %*% c(3, 1, 0), variant = 1)
#' attr(r, "order")  # "c" "b" "a"
#' @export
improved_stepwise_importance <- function(model, x, y, variant = 1L, metric = "mse", groups = NULL,
                                         feature_names = NULL, output = NULL, mask = NULL,
                                         mask_value = NULL, batch_size = NULL, progress = NULL) {
  fn <- "improved_stepwise_importance"
  data <- prepare_x(x, fn, feature_names)
  n_features <- data$dim[length(data$dim)]
  args <- list(
    prepare_model(model, fn, data),
    data$py,
    prepare_y(y, data$dim[1L], fn),
    variant = as_count(variant, "variant", fn),
    metric = prepare_metric(metric, fn, arg_label(substitute(metric))),
    groups = prepare_groups(groups, data$names, n_features, fn),
    feature_names = py_names(data$names),
    output = as_output(output, fn),
    mask = prepare_mask(mask, fn),
    mask_value = prepare_mask_value(mask_value, fn),
    batch_size = as_count(batch_size, "batch_size", fn, null_ok = TRUE)
  )
  bar <- prepare_progress(progress, fn)
  on.exit(bar$close(), add = TRUE)
  args$progress <- bar$py
  result <- call_core(seqimp_py$improved_stepwise_importance, args)
  with_path(as_seqimp_importance(result), result)
}

# Stepwise results carry their path: rank (1 = most important) and the order the labels moved in.
with_path <- function(out, result) {
  extra <- result$extra
  attr(out, "rank") <- as.integer(as.vector(from_py(extra[["rank"]])))
  attr(out, "order") <- as.character(unlist(from_py(extra[["order"]])))
  out
}

#' Randomization test: p-values from refits on permuted y
#'
#' Olden & Jackson's (2002) test for connection weights, and the PIMP test (Altmann et al. 2010) for
#' any importance: the model is fitted on \code{y} and \code{n_permutations} times on \code{y} with its
#' rows permuted (a sequence's targets move together), always from the same initial weights, and the
#' importance recomputed after each fit. A p-value is (k + 1) / (B + 1), k the permuted fits at least
#' as extreme as the observed importance: above it, or for Olden's signed weights on its side of 0.
#' It tests the global null that y carries no information about x (the learner's variability
#' included); for one unused input beside useful ones it is a heuristic, and it does not correct for
#' testing several labels (use \code{p.adjust()}).
#'
#' @inheritParams lofo_importance
#' @param method Character or function. \code{"olden"}, \code{"garson"}, \code{"permutation"},
#'   \code{"perturbation"}, \code{"gradient"} or \code{"improved_stepwise"} (or the seqimp function
#'   itself, e.g. \code{olden_importance}). Methods that take \code{y} are scored against the
#'   \code{y} the model was fitted on (permuted, for the null fits).
#' @param model A compiled keras model (rebuilt with fresh weights for every fit), a scikit-learn
#'   estimator from reticulate (2-D \code{x} only), or an R builder \code{function(n_features)}
#'   returning a compiled keras model. The weight methods need keras models of Dense layers.
#' @param n_permutations Integer. B, the number of permuted fits. Default is 99.
#' @param method_kwargs List. Named arguments for \code{method}, in R's words as that function takes
#'   them (\code{seed}, 1-based \code{groups} and \code{output}, \code{metric}, \code{n_repeats}, ...),
#'   e.g. \code{list(metric = "mse", n_repeats = 5)} or \code{list(method = "pad")}. Default is NULL.
#' @param checkpoint Character. A file recording each finished permutation; rerunning the same call,
#'   with the same or a larger \code{n_permutations}, resumes. Default is NULL.
#' @param seed Integer. Seeds the initial weights (the same for every fit), the permutations and the
#'   method. Default is NULL (drawn from R's generator).
#' @return The method's \code{seqimp_importance} data.frame for the model fitted on \code{y}: its
#'   \code{p_value} column holds the randomization test's p-values (unadjusted; \code{\link{significant}}
#'   adjusts them for the number of labels), and the attribute \code{null} (matrix labels x B) each
#'   permuted fit's importance. \code{attr(r, "inference_covers")} says what the p-values test.
#' @references Olden, Jackson (2002). Ecological Modelling 154, 135-150. Altmann, Tolosi, Sander,
#'   Lengauer (2010). Bioinformatics 26, 1340-1347.
#' @examplesIf seqimp_available() && reticulate::py_module_available("sklearn")
#' lm <- reticulate::import("sklearn.linear_model")
#' set.seed(1)
#' x <- matrix(rnorm(300), ncol = 3, dimnames = list(NULL, c("a", "b", "c")))
#' y <- 2 * x[, "a"] + rnorm(100)
#' r <- randomization_test("permutation", lm$LinearRegression(), x, y, n_permutations = 19,
#'                         method_kwargs = list(metric = "mse"), seed = 1, progress = FALSE)
#' r[, c("feature", "importance", "p_value")]
#' significant(r, correction = "holm")
#' @export
randomization_test <- function(method, model, x, y, n_permutations = 99L, fit_kwargs = NULL,
                               method_kwargs = NULL, n_jobs = 1L, checkpoint = NULL, seed = NULL,
                               progress = interactive()) {
  fn <- "randomization_test"
  data <- prepare_x(x, fn)
  n_features <- data$dim[length(data$dim)]
  n_jobs <- as_count(n_jobs, "n_jobs", fn)
  if (n_jobs != 1L && is.function(model)) {
    arg_error("n_jobs", fn, "1 when the model is an R builder function (R cannot run in worker processes)",
              describe(n_jobs))
  }
  args <- list(
    method_name(method, fn),
    prepare_builder(model, fn),
    data$py,
    prepare_y(y, data$dim[1L], fn),
    n_permutations = as_count(n_permutations, "n_permutations", fn),
    fit_kwargs = prepare_fit_kwargs(fit_kwargs, fn),
    method_kwargs = prepare_method_kwargs(method_kwargs, data$names, n_features, fn),
    n_jobs = n_jobs,
    checkpoint = if (is.null(checkpoint)) NULL else path.expand(as_string(checkpoint, "checkpoint", fn)),
    random_state = as_seed(seed, fn),
    progress = as_flag(progress, "progress", fn)
  )
  result <- call_core(seqimp_py$randomization_test, args)
  out <- as_seqimp_importance(result)
  extra <- result$extra
  labels <- rownames(attr(out, "importances"))
  null <- from_py(extra[["null"]])
  attr(out, "null") <- matrix(as.vector(null), nrow = length(labels), dimnames = list(labels, NULL))
  if (!is.null(from_py(extra[["rank"]]))) out <- with_path(out, result)
  out
}

METHOD_NAMES <- c("olden", "garson", "permutation", "perturbation", "gradient", "improved_stepwise", "sage")

# A method name, or one of this package's importance functions -> the core's name for it.
method_name <- function(method, fn) {
  if (is.character(method) && length(method) == 1L && !is.na(method)) return(method)
  if (is.function(method)) {
    for (name in METHOD_NAMES) {
      own <- get0(paste0(name, "_importance"), envir = asNamespace("seqimp"), inherits = FALSE)
      if (identical(method, own)) return(name)
    }
  }
  arg_error("method", fn, sprintf("one of %s, or one of seqimp's importance functions",
                                  paste(sprintf("\"%s\"", METHOD_NAMES), collapse = ", ")), describe(method))
}

# method_kwargs in R's words -> the core's: seed, 1-based groups, output and categorical_features,
# whole numbers where the core counts, metric functions; anything else as reticulate converts it. The
# feature names of x are passed unless given.
prepare_method_kwargs <- function(method_kwargs, names, n_features, fn) {
  if (is.null(method_kwargs)) method_kwargs <- list()
  if (!is.list(method_kwargs) || is.data.frame(method_kwargs) || (length(method_kwargs) > 0L &&
        (is.null(names(method_kwargs)) || any(names(method_kwargs) == "")))) {
    arg_error("method_kwargs", fn, "a named list of arguments for the method", describe(method_kwargs))
  }
  out <- list()
  for (key in names(method_kwargs)) {
    value <- method_kwargs[[key]]
    out[[if (key == "seed") "random_state" else key]] <- switch(key,
      seed = as_seed(value, fn),
      groups = prepare_groups(value, names, n_features, fn),
      output = as_output(value, fn),
      categorical_features = prepare_categorical(value, names, n_features, fn),
      metric = prepare_metric(value, fn),
      mask = prepare_mask(value, fn),
      mask_value = prepare_mask_value(value, fn),
      feature_names = py_names(value),
      n_repeats = , n_steps = , n_samples = , batch_size = , variant = as_count(value, key, fn),
      value)
  }
  if (is.null(out$feature_names) && !is.null(names)) out$feature_names <- py_names(names)
  reticulate::py_dict(names(out), unname(out), convert = FALSE)
}

#' Input perturbation curves
#'
#' The "perturb" method reviewed by Gevrey et al. (2003): Gaussian white noise of growing size (10\% to
#' 50\% by default) is added to one input at a time and the rise of a metric against \code{y} is
#' recorded, beside how much the predictions move (the number \code{\link{perturbation_importance}}
#' reports for \code{scale = level, scale_by_std = TRUE} and the same \code{seed}). The same draws are
#' used at every level, scaled, so a curve moves with the size of the noise alone.
#'
#' @inheritParams permutation_importance
#' @param levels Numeric. Sizes of the noise as fractions (0.1 is 10\%). Default is
#'   \code{c(0.1, 0.2, 0.3, 0.4, 0.5)}.
#' @param relative_to Character. \code{"spread"}: noise sd = level x the input's sd over real cells;
#'   \code{"value"}: \code{x * (1 + level * e)}. Gevrey et al. do not say which they used in the text
#'   we could read. Default is \code{"spread"}.
#' @param metric Character or function. One metric, as in \code{\link{permutation_importance}}.
#'   Default is \code{"mse"}.
#' @param n_repeats Integer. Noise draws per input and level. Default is 5.
#' @return A data.frame of class \code{seqimp_curve}, one row per input and level: \code{feature},
#'   \code{level}, \code{importance} (mean rise of the metric), \code{std} (over repeats),
#'   \code{score} and \code{prediction_change} (RMS change of the predictions); attributes
#'   \code{metric}, \code{baseline_score}, \code{relative_to}. \code{plot()} and
#'   \code{ggplot2::autoplot()} draw one line per input.
#' @references Scardi, Harding (1999). Ecological Modelling 120, 213-223. Gevrey, Dimopoulos, Lek (2003).
#'   Ecological Modelling 160, 249-264.
#' @examplesIf seqimp_available()
#' x <- array(rnorm(200 * 6 * 2), c(200, 6, 2), dimnames = list(NULL, NULL, c("a", "b")))
#' f <- function(x) rowSums(x[, , "a"])
#' curve <- perturbation_curve(f, x, f(x), levels = c(0.1, 0.3, 0.5), n_repeats = 2, seed = 1)
#' curve
#' @export
perturbation_curve <- function(model, x, y, levels = c(0.1, 0.2, 0.3, 0.4, 0.5), relative_to = "spread",
                               metric = "mse", n_repeats = 5L, groups = NULL, feature_names = NULL,
                               output = NULL, mask = NULL, mask_value = NULL, batch_size = NULL,
                               seed = NULL, progress = NULL) {
  fn <- "perturbation_curve"
  data <- prepare_x(x, fn, feature_names)
  n_features <- data$dim[length(data$dim)]
  if (!is.numeric(levels) || length(levels) == 0L || anyNA(levels)) {
    arg_error("levels", fn, "a numeric vector of noise sizes > 0 (fractions: 0.1 is 10%)", describe(levels))
  }
  args <- list(
    prepare_model(model, fn, data),
    data$py,
    prepare_y(y, data$dim[1L], fn),
    levels = as.list(as.double(levels)),
    relative_to = as_string(relative_to, "relative_to", fn),
    metric = prepare_metric(metric, fn, arg_label(substitute(metric))),
    n_repeats = as_count(n_repeats, "n_repeats", fn),
    groups = prepare_groups(groups, data$names, n_features, fn),
    feature_names = py_names(data$names),
    output = as_output(output, fn),
    mask = prepare_mask(mask, fn),
    mask_value = prepare_mask_value(mask_value, fn),
    batch_size = as_count(batch_size, "batch_size", fn, null_ok = TRUE),
    random_state = as_seed(seed, fn)
  )
  bar <- prepare_progress(progress, fn)
  on.exit(bar$close(), add = TRUE)
  args$progress <- bar$py
  frame <- call_core(core_module("perturbation_curve", convert = FALSE)$perturbation_curve, args)
  columns <- reticulate::py_to_r(frame$to_dict("list"))
  out <- data.frame(feature = as.character(unlist(columns$feature)), level = as.double(unlist(columns$level)),
                    importance = as.double(unlist(columns$importance)), std = as.double(unlist(columns$std)),
                    score = as.double(unlist(columns$score)),
                    prediction_change = as.double(unlist(columns$prediction_change)), stringsAsFactors = FALSE)
  attrs <- reticulate::py_to_r(frame$attrs)
  for (name in c("metric", "baseline_score", "relative_to")) attr(out, name) <- attrs[[name]]
  class(out) <- c("seqimp_curve", "data.frame")
  out
}

#' Plot input perturbation curves with ggplot2
#'
#' One line per input: the rise of the metric (or the metric, or the change of the predictions)
#' against the noise level in \%, with a band of one standard deviation over repeats for the rise.
#' \code{plot_perturbation_curve()} is the Python core's name for the same plot.
#'
#' @param object,x,curve A \code{seqimp_curve} data.frame from \code{\link{perturbation_curve}}.
#' @param column Character. \code{"importance"}, \code{"score"} or \code{"prediction_change"}. Default
#'   is \code{"importance"}.
#' @param title Character. Default is \code{"Input perturbation curves"}.
#' @param ... Ignored.
#' @return \code{autoplot()} and \code{plot_perturbation_curve()} return a ggplot; \code{plot()} draws
#'   it and returns it invisibly.
#' @examplesIf seqimp_available() && requireNamespace("ggplot2", quietly = TRUE)
#' x <- array(rnorm(100 * 4 * 2), c(100, 4, 2), dimnames = list(NULL, NULL, c("a", "b")))
#' f <- function(x) rowSums(x[, , "a"])
#' plot_perturbation_curve(perturbation_curve(f, x, f(x), n_repeats = 1, seed = 1))
#' @exportS3Method ggplot2::autoplot
autoplot.seqimp_curve <- function(object, column = "importance", title = "Input perturbation curves", ...) {
  require_ggplot2()
  fn <- "autoplot.seqimp_curve"
  column <- as_string(column, "column", fn)
  labels <- c(importance = sprintf("rise in %s", attr(object, "metric") %||% "metric"),
              score = attr(object, "metric") %||% "metric",
              prediction_change = "RMS change of the predictions")
  if (!column %in% names(labels)) {
    arg_error("column", fn, "\"importance\", \"score\" or \"prediction_change\"", describe(column))
  }
  frame <- as.data.frame(unclass(object), stringsAsFactors = FALSE)
  frame$feature <- factor(frame$feature, levels = unique(frame$feature))
  frame$percent <- 100 * frame$level
  frame$value <- frame[[column]]
  spread <- if (identical(attr(object, "relative_to"), "value")) "value" else "standard deviation"
  p <- ggplot2::ggplot(frame, ggplot2::aes(x = percent, y = value, colour = feature, fill = feature))
  if (column == "importance") {
    p <- p + ggplot2::geom_ribbon(ggplot2::aes(ymin = value - std, ymax = value + std), alpha = 0.15,
                                  colour = NA)
  }
  p + ggplot2::geom_line() + ggplot2::geom_point() +
    ggplot2::labs(x = sprintf("noise (%% of each input's %s)", spread), y = labels[[column]],
                  colour = NULL, fill = NULL, title = as_string(title, "title", fn)) +
    ggplot2::theme_minimal()
}

#' @rdname autoplot.seqimp_curve
#' @export
plot_perturbation_curve <- function(curve, column = "importance", title = "Input perturbation curves") {
  if (!inherits(curve, "seqimp_curve")) {
    arg_error("curve", "plot_perturbation_curve", "a seqimp_curve data.frame from perturbation_curve()",
              describe(curve))
  }
  autoplot.seqimp_curve(curve, column = column, title = title)
}

#' @rdname autoplot.seqimp_curve
#' @export
plot.seqimp_curve <- function(x, ...) {
  p <- autoplot.seqimp_curve(x, ...)
  print(p)
  invisible(p)
}

utils::globalVariables(c("percent"))
