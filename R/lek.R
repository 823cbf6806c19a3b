#' Lek's profile method
#'
#' The model's response across each input's range, with the other inputs held at quantiles (Lek et
#' al. 1996; NeuralNetTools' \code{lekprofile()} for any model the core takes).
#'
#' @inheritParams perturbation_importance
#' @param x Numeric array of dims (samples, timesteps, features), matrix (samples, features) or
#'   data.frame of numeric columns, as in \code{\link{perturbation_importance}} (an R model gets a
#'   data.frame \code{x}'s profiles as data.frames). Factor, character and logical columns are
#'   refused: categories have no quantiles to hold them at.
#' @param features Character or integer. The inputs to profile, by name or 1-based index. Default is
#'   NULL (all).
#' @param quantiles Numeric. Levels in [0, 1] the other inputs are held at. Default is
#'   \code{c(0, 0.2, 0.4, 0.6, 0.8, 1)}.
#' @param n_points Integer. Values of the varied input, from its minimum to its maximum. Default is
#'   50.
#' @param output NULL, integer or character. As in \code{\link{gradient_importance}}. Default is NULL.
#' @return A data.frame of class \code{seqimp_lek} with columns \code{feature}, \code{quantile},
#'   \code{value} and \code{response}, and an \code{output} attribute; \code{plot()} and
#'   \code{ggplot2::autoplot()} draw one panel per input.
#' @examplesIf seqimp_available()
#' x <- array(runif(100 * 5 * 2), c(100, 5, 2), dimnames = list(NULL, NULL, c("a", "b")))
#' profile <- lek_profile(function(x) rowMeans(x[, , "a"] * x[, , "b"]), x, n_points = 5)
#' head(profile)
#' @export
lek_profile <- function(model, x, features = NULL, quantiles = c(0, 0.2, 0.4, 0.6, 0.8, 1),
                        n_points = 50L, output = NULL, feature_names = NULL, batch_size = NULL,
                        mask = NULL, mask_value = NULL) {
  fn <- "lek_profile"
  data <- prepare_x(x, fn, feature_names)
  n_features <- data$dim[length(data$dim)]
  if (!is.numeric(quantiles) || length(quantiles) == 0L || anyNA(quantiles)) {
    arg_error("quantiles", fn, "a numeric vector of levels in [0, 1]", describe(quantiles))
  }
  args <- list(
    prepare_model(model, fn, data),
    data$py,
    features = prepare_features(features, n_features, fn),
    quantiles = as.list(as.double(quantiles)),
    n_points = as_count(n_points, "n_points", fn),
    output = as_output(output, fn),
    feature_names = py_names(data$names),
    mask = prepare_mask(mask, fn),
    mask_value = prepare_mask_value(mask_value, fn),
    batch_size = as_count(batch_size, "batch_size", fn, null_ok = TRUE)
  )
  frame <- call_core(core_module("lek", convert = FALSE)$lek_profile, args)  # a pandas DataFrame
  parts <- reticulate::py_to_r(py_helpers()$lek_profile_parts(frame))
  out <- data.frame(feature = as.character(unlist(parts$feature)), quantile = as.vector(parts$quantile),
                    value = as.vector(parts$value), response = as.vector(parts$response),
                    stringsAsFactors = FALSE)
  attr(out, "output") <- parts$output
  class(out) <- c("seqimp_lek", "data.frame")
  out
}

prepare_features <- function(features, n_features, fn) {
  if (is.null(features)) return(NULL)
  refs <- feature_refs(features, n_features, sprintf("The 'features' argument of %s", fn))
  if (is.null(refs)) {
    arg_error("features", fn, sprintf("feature names or 1-based indices in 1..%d", n_features),
              describe(features))
  }
  refs
}

#' Plot Lek profiles with ggplot2
#'
#' One panel per varied input, one line per quantile the other inputs are held at. Panels share the
#' response axis, have their own value axis with a few breaks, wrap long feature names, and sit in
#' \code{ncol} columns; the quantiles are a legend below the panels. \code{plot_lek_profile()} is the
#' Python core's name for the same plot.
#'
#' @param object,x,profile A \code{seqimp_lek} data.frame from \code{\link{lek_profile}}.
#' @param ncol Integer. Panels per row. Default is NULL (up to 3).
#' @param title Character. The plot's title. Default is \code{"Lek profiles"}.
#' @param ... Ignored.
#' @return \code{autoplot()} and \code{plot_lek_profile()} return a ggplot; \code{plot()} draws it
#'   and returns it invisibly.
#' @examplesIf seqimp_available() && requireNamespace("ggplot2", quietly = TRUE)
#' x <- array(runif(100 * 5 * 2), c(100, 5, 2),
#'            dimnames = list(NULL, NULL, c("temperature", "rainfall")))
#' profile <- lek_profile(function(x) rowMeans(x[, , 1] * x[, , 2]), x, n_points = 10)
#' plot_lek_profile(profile)
#' @exportS3Method ggplot2::autoplot
autoplot.seqimp_lek <- function(object, ncol = NULL, title = "Lek profiles", ...) {
  require_ggplot2()
  frame <- as.data.frame(unclass(object), stringsAsFactors = FALSE)
  features <- unique(frame$feature)
  ncol <- as_count(ncol, "ncol", "autoplot.seqimp_lek", null_ok = TRUE, low = 1L) %||%
    min(3L, length(features))
  frame$feature <- factor(frame$feature, levels = features)
  frame$held_at <- factor(sprintf("%g%%", 100 * frame$quantile),
                          levels = sprintf("%g%%", 100 * sort(unique(frame$quantile))))
  ggplot2::ggplot(frame, ggplot2::aes(x = value, y = response, colour = held_at)) +
    ggplot2::geom_line() +
    ggplot2::facet_wrap(~feature, scales = "free_x", ncol = ncol,
                        labeller = ggplot2::label_wrap_gen(width = 25)) +
    ggplot2::scale_x_continuous(n.breaks = 4, guide = ggplot2::guide_axis(check.overlap = TRUE)) +
    ggplot2::labs(colour = "others held at quantile", x = "value of the varied input",
                  y = sprintf("response (%s)", attr(object, "output") %||% "output"),
                  title = as_string(title, "title", "autoplot.seqimp_lek")) +
    ggplot2::theme_minimal() +
    ggplot2::theme(legend.position = "bottom", panel.spacing = ggplot2::unit(1, "lines"),
                   strip.text = ggplot2::element_text(face = "bold"))
}

#' @rdname autoplot.seqimp_lek
#' @export
plot_lek_profile <- function(profile, ncol = NULL, title = "Lek profiles") {
  if (!inherits(profile, "seqimp_lek")) {
    arg_error("profile", "plot_lek_profile", "a seqimp_lek data.frame from lek_profile()", describe(profile))
  }
  autoplot.seqimp_lek(profile, ncol = ncol, title = title)
}

#' @rdname autoplot.seqimp_lek
#' @export
plot.seqimp_lek <- function(x, ...) {
  p <- autoplot.seqimp_lek(x, ...)
  print(p)
  invisible(p)
}

`%||%` <- function(a, b) if (is.null(a)) b else a

utils::globalVariables(c("value", "response", "held_at"))
