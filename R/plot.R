#' Plot a seqimp_importance result with ggplot2
#'
#' Granularity \code{"feature"} (and groups): horizontal bars, most important on top, with confidence
#' intervals as error bars where the method gives standard errors (\code{\link{confint.seqimp_importance}};
#' none for Olden's and Garson's weights: the spread of repeats is not an interval). Granularity
#' \code{"timestep"}: bars in time order. Granularity \code{"cell"}: a timestep x feature heatmap.
#' With \code{alpha}, the labels \code{\link{significant}} flags are coloured and the others faded; a
#' heatmap leaves the cells it does not flag blank. A result combined with \code{rbind()} that has a
#' \code{run} column (labels repeated across results) gets one bar per run, side by side and coloured
#' by run (faded where not significant), or one heatmap per run: a label is never drawn as a stack.
#' The title names the method and what the importance measures ("Permutation importance (MSE
#' increase)"), and timestep axes have integer breaks.
#'
#' @param object,x A \code{seqimp_importance} data.frame.
#' @param top_n Integer. Show only the \code{top_n} most important labels (by absolute importance,
#'   so Olden's signed weights count both ways); for granularity \code{"cell"}, the \code{top_n}
#'   features with the largest total. Default is NULL (all).
#' @param sort Logical. Order bars (or the heatmap's features) by importance; FALSE keeps the result's
#'   order. Default is NULL: TRUE, except for granularity \code{"timestep"}, which keeps time order.
#' @param level Number. The level of the confidence intervals drawn, in (0, 1). Default is 0.95.
#' @param alpha Number or NULL. Mark the labels \code{\link{significant}} flags at this error rate.
#'   Default is NULL (mark nothing).
#' @param correction Character or NULL. The multiple-testing correction for \code{alpha}:
#'   \code{"holm"}, \code{"bonferroni"}, \code{"bh"} or NULL. Default is \code{"holm"}.
#' @param ... Ignored.
#' @return \code{autoplot()} returns a ggplot; \code{plot()} draws it and returns it invisibly.
#' @examplesIf seqimp_available() && requireNamespace("ggplot2", quietly = TRUE)
#' x <- array(runif(200 * 4 * 3), c(200, 4, 3),
#'            dimnames = list(NULL, NULL, c("a", "b", "c")))
#' y <- rowSums(x[, , "a"]) + 0.5 * rowSums(x[, , "b"])
#' linear <- function(x) rowSums(x[, , "a"]) + 0.5 * rowSums(x[, , "b"])
#' r <- permutation_importance(linear, x, y, metric = "mse", n_repeats = 3, seed = 1)
#' ggplot2::autoplot(r)            # bars, most important first, with 95% confidence intervals
#' ggplot2::autoplot(r, top_n = 2) # only the two most important
#' # granularity = "cell": a timestep x feature heatmap
#' cells <- perturbation_importance(linear, x, granularity = "cell", seed = 1)
#' ggplot2::autoplot(cells)
#' # significant timesteps coloured (Holm's correction)
#' steps <- permutation_importance(linear, x, y, metric = "mse", granularity = "timestep", seed = 1)
#' ggplot2::autoplot(steps, alpha = 0.05)
#' @exportS3Method ggplot2::autoplot
autoplot.seqimp_importance <- function(object, top_n = NULL, sort = NULL, level = 0.95, alpha = NULL,
                                       correction = "holm", ...) {
  require_ggplot2()
  fn <- "autoplot.seqimp_importance"
  frame <- as.data.frame(object)
  level <- as_level(level, fn)
  has_interval <- !is.null(frame$se)
  if (has_interval) {
    bounds <- interval_bounds(object, level, fn)
    frame$low <- bounds[, 1L]
    frame$high <- bounds[, 2L]
  }
  marked <- !is.null(alpha)
  frame$flag <- if (marked) significant(object, alpha, correction) else TRUE
  granularity <- attr(object, "granularity")
  top_n <- as_count(top_n, "top_n", fn, null_ok = TRUE, low = 1L)
  sort <- if (is.null(sort)) !identical(granularity, "timestep") else as_flag(sort, "sort", fn)
  # Results combined by rbind() with repeated labels: one bar per run, side by side (never stacked).
  runs <- "run" %in% names(frame)
  if (runs) frame$run <- factor(frame$run, levels = unique(frame$run))
  labels <- ggplot2::labs(title = plot_title(object), fill = if (runs) "run" else NULL)
  value_label <- importance_label(object)
  theme <- ggplot2::theme_minimal()
  subtitle <- if (marked) sprintf("%s significant at %s (%s)", if (identical(granularity, "cell")) "shown:" else
    "coloured:", format(alpha), if (is.null(correction)) "no correction" else correction) else NULL
  fill_scale <- ggplot2::scale_fill_manual(values = c(`TRUE` = "steelblue", `FALSE` = "grey80"), guide = "none")
  if (identical(granularity, "cell")) {
    totals <- tapply(abs(frame$importance), factor(frame$feature, levels = unique(frame$feature)), sum)
    features <- names(totals)
    if (!is.null(top_n)) features <- features[features %in% utils::head(features[order(-totals)], top_n)]
    if (sort) features <- features[order(-totals[features])]
    frame <- frame[frame$feature %in% features, , drop = FALSE]
    frame$feature <- factor(frame$feature, levels = rev(features))
    if (marked) frame$importance[!frame$flag] <- NA  # blank: not significant
    return(ggplot2::ggplot(frame, ggplot2::aes(x = timestep, y = feature, fill = importance)) +
             ggplot2::geom_tile() +
             (if (runs) ggplot2::facet_wrap(ggplot2::vars(run)) else NULL) +
             ggplot2::scale_x_continuous(breaks = integer_breaks, expand = c(0, 0)) +
             ggplot2::scale_fill_viridis_c(name = value_label, na.value = "white") +
             labels + ggplot2::labs(subtitle = subtitle, x = "timestep", y = NULL, fill = value_label) +
             theme)
  }
  if (!is.null(top_n)) frame <- top_labels(frame, top_n)
  dodge <- ggplot2::position_dodge(width = 0.9)
  bars <- if (runs) ggplot2::geom_col(ggplot2::aes(fill = run, alpha = flag), position = dodge) else
    ggplot2::geom_col(ggplot2::aes(fill = flag))
  # Runs are coloured by run (faded where not significant); single results by significance.
  fill_scale <- if (runs) ggplot2::scale_alpha_manual(values = c(`TRUE` = 1, `FALSE` = 0.35), guide = "none") else
    fill_scale
  group <- if (runs) ggplot2::aes(group = run) else NULL  # error bars dodged with their bars
  if (identical(granularity, "timestep")) {
    if (sort) {
      frame$step <- stats::reorder(factor(frame$timestep), -frame$importance)
      p <- ggplot2::ggplot(frame, ggplot2::aes(x = step, y = importance)) + group + bars
    } else {
      p <- ggplot2::ggplot(frame, ggplot2::aes(x = timestep, y = importance)) + group + bars +
        ggplot2::scale_x_continuous(breaks = integer_breaks)
    }
    if (has_interval) {
      p <- p + ggplot2::geom_errorbar(ggplot2::aes(ymin = low, ymax = high), width = 0.3, position = dodge)
    }
    return(p + fill_scale + labels + ggplot2::labs(subtitle = subtitle, x = "timestep",
                                                   y = interval_label(value_label, has_interval, level)) + theme)
  }
  # Bars top to bottom: the first level is drawn at the bottom, so the most important comes last.
  # Features in order of their mean over runs; ties keep the result's order.
  means <- tapply(frame$importance, factor(frame$feature, levels = unique(frame$feature)), mean)
  levels <- if (sort) names(means)[order(means)] else rev(frame$feature)
  frame$feature <- factor(frame$feature, levels = unique(levels))
  p <- ggplot2::ggplot(frame, ggplot2::aes(x = importance, y = feature)) + group + bars
  if (has_interval) {
    p <- p + ggplot2::geom_errorbar(ggplot2::aes(xmin = low, xmax = high), width = 0.3, position = dodge)
  }
  p + fill_scale + labels + ggplot2::labs(subtitle = subtitle,
                                          x = interval_label(value_label, has_interval, level), y = NULL) + theme
}

interval_label <- function(value_label, has_interval, level) {
  if (!has_interval) return(value_label)
  sprintf("%s, %s%% confidence intervals", value_label, format(100 * level))
}

# The rows of the top_n labels by absolute importance (the largest over runs), in the result's order.
top_labels <- function(frame, top_n) {
  keys <- label_keys(frame)
  best <- tapply(abs(frame$importance), factor(keys, levels = unique(keys)), max)
  chosen <- names(best)[utils::head(order(-best), top_n)]
  frame[keys %in% chosen, , drop = FALSE]
}

#' @rdname autoplot.seqimp_importance
#' @export
plot.seqimp_importance <- function(x, ...) {
  p <- autoplot.seqimp_importance(x, ...)
  print(p)
  invisible(p)
}

require_ggplot2 <- function() {
  if (!requireNamespace("ggplot2", quietly = TRUE)) {
    stop(seqimp_condition("Plotting a seqimp_importance result needs the 'ggplot2' package. Install it with install.packages(\"ggplot2\")."))
  }
}

# Breaks at whole numbers only (timesteps): pretty() breaks inside the limits, the fractional ones
# dropped, so an axis of 3 timesteps reads 1, 2, 3 and never 2.5.
integer_breaks <- function(limits) {
  breaks <- pretty(limits)
  breaks[breaks == round(breaks) & breaks >= limits[1L] & breaks <= limits[2L]]
}

# Readable method names for titles.
METHOD_TITLES <- c(
  perturbation = "Perturbation importance", permutation = "Permutation importance",
  lofo = "LOFO importance", stepwise_backward = "Stepwise importance (backward elimination)",
  stepwise_forward = "Stepwise importance (forward addition)", saliency = "Saliency",
  gradient_x_input = "Gradient x input", integrated_gradients = "Integrated gradients",
  smoothgrad = "SmoothGrad", olden = "Olden importance", garson = "Garson importance")

# What an importance of each kind of metric or effect measures, in words.
METRIC_WORDS <- c(mae = "MAE", mse = "MSE", rmse = "RMSE", r2 = "R\u00b2", log_loss = "log loss",
                  accuracy = "accuracy", auc = "AUC")
SCORES <- c("r2", "accuracy", "auc")  # greater is better: importance is how much they fall

# "Permutation importance (MSE increase)", "Integrated gradients (mean |integrated gradients|)".
plot_title <- function(object) {
  method <- attr(object, "method")
  name <- if (!is.na(method) && method %in% names(METHOD_TITLES)) METHOD_TITLES[[method]] else
    sprintf("%s importance", method)
  sprintf("%s (%s)", name, importance_label(object))
}

importance_label <- function(object) {
  method <- attr(object, "method")
  metric <- attr(object, "metric")
  if (is.na(metric)) return("importance")
  if (method %in% c("permutation", "lofo", "stepwise_backward", "stepwise_forward")) {
    key <- sub("^neg_", "", tolower(metric))
    key <- c(mean_absolute_error = "mae", mean_squared_error = "mse", root_mean_squared_error = "rmse",
             r2_score = "r2", roc_auc = "auc", accuracy_score = "accuracy")[key] %|NA|% key
    if (key %in% names(METRIC_WORDS)) {
      return(sprintf("%s %s", METRIC_WORDS[[key]], if (key %in% SCORES) "decrease" else "increase"))
    }
    return(sprintf("%s worsening", metric))
  }
  if (method == "perturbation") {
    effect <- c(rms = "RMS change of predictions", mae = "mean absolute change of predictions")
    return(if (metric %in% names(effect)) effect[[metric]] else metric)
  }
  if (method == "olden") return("signed connection weight")
  if (method == "garson") return("relative importance, sums to 1")
  metric
}

`%|NA|%` <- function(a, b) if (is.na(a)) b else unname(a)

utils::globalVariables(c("importance", "feature", "timestep", "std", "step", "low", "high", "flag", "run"))
