#' Plot a seqimp_importance result with ggplot2
#'
#' Granularity \code{"feature"} (and groups): horizontal bars sorted by importance, with error bars
#' of one standard deviation over repeats (or folds). Granularity \code{"timestep"}: bars in time
#' order. Granularity \code{"cell"}: a timestep x feature heatmap.
#'
#' @param object,x A \code{seqimp_importance} data.frame.
#' @param ... Ignored.
#' @return \code{autoplot()} returns a ggplot; \code{plot()} draws it and returns it invisibly.
#' @examples
#' if (seqimp_available() && requireNamespace("ggplot2", quietly = TRUE)) {
#'   x <- array(runif(200 * 4 * 3), c(200, 4, 3),
#'              dimnames = list(NULL, NULL, c("a", "b", "c")))
#'   r <- perturbation_importance(function(x) x[, , "a"] %*% rep(1, 4), x, n_repeats = 3, seed = 1)
#'   p <- ggplot2::autoplot(r)
#' }
#' @exportS3Method ggplot2::autoplot
autoplot.seqimp_importance <- function(object, ...) {
  require_ggplot2()
  frame <- as.data.frame(object)
  granularity <- attr(object, "granularity")
  metric <- attr(object, "metric")
  title <- sprintf("%s importance", attr(object, "method"))
  value_label <- if (is.na(metric)) "importance" else sprintf("importance (%s)", metric)
  has_spread <- NCOL(attr(object, "importances")) > 1L
  if (identical(granularity, "cell")) {
    features <- unique(frame$feature)
    frame$feature <- factor(frame$feature, levels = rev(features))
    return(ggplot2::ggplot(frame, ggplot2::aes(x = timestep, y = feature, fill = importance)) +
             ggplot2::geom_tile() +
             ggplot2::scale_fill_viridis_c(name = value_label) +
             ggplot2::labs(title = title, x = "timestep", y = NULL) +
             ggplot2::theme_minimal())
  }
  if (identical(granularity, "timestep")) {
    p <- ggplot2::ggplot(frame, ggplot2::aes(x = timestep, y = importance)) +
      ggplot2::geom_col(fill = "steelblue")
    if (has_spread) {
      p <- p + ggplot2::geom_errorbar(ggplot2::aes(ymin = importance - std, ymax = importance + std),
                                      width = 0.3)
    }
    return(p + ggplot2::labs(title = title, x = "timestep", y = value_label) +
             ggplot2::theme_minimal())
  }
  frame$feature <- stats::reorder(factor(frame$feature, levels = unique(frame$feature)),
                                  frame$importance)
  p <- ggplot2::ggplot(frame, ggplot2::aes(x = importance, y = feature)) +
    ggplot2::geom_col(fill = "steelblue")
  if (has_spread) {
    p <- p + ggplot2::geom_errorbar(ggplot2::aes(xmin = importance - std, xmax = importance + std),
                                    width = 0.3)
  }
  p + ggplot2::labs(title = title, x = value_label, y = NULL) + ggplot2::theme_minimal()
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

utils::globalVariables(c("importance", "feature", "timestep", "std"))
