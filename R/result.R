#' Convert a Python ImportanceResult into a seqimp_importance data.frame
#'
#' Every importance function returns this already; use it on results of the Python core called
#' directly through 'reticulate'.
#'
#' @param result Python object. A \code{seqimp.ImportanceResult}.
#' @return A \code{seqimp_importance} data.frame, one row per label in the core's order, with columns
#'   \code{feature} (character; \code{"(all)"} for granularity \code{"timestep"}), \code{timestep}
#'   (integer, 1-based; only when granularity is not \code{"feature"}), \code{importance} (mean over
#'   repeats) and \code{std} (standard deviation over repeats, ddof = 0). Attributes:
#'   \code{importances} (matrix labels x repeats, or labels x folds for LOFO, with the label names as
#'   rownames), \code{importances_columns} (what its columns are: \code{"repeats"}, \code{"folds"}
#'   or \code{"samples"}), \code{method}, \code{metric}, \code{granularity} and
#'   \code{baseline_score} (\code{NA} where the method has none). Gradient methods add
#'   \code{attributions}, an array (samples, timesteps, features).
#' @export
as_seqimp_importance <- function(result) {
  if (!inherits(result, "python.builtin.object") ||
        !reticulate::py_has_attr(result, "importances")) {
    arg_error("result", "as_seqimp_importance", "a Python seqimp.ImportanceResult", describe(result))
  }
  # The core takes the result apart, and the constructor shared with seqimp.r.to_r (rpy2) builds it.
  parts <- reticulate::py_to_r(py_helpers()$result_parts(result))
  do.call(r_bridge()$new_importance, parts)
}

#' Print a seqimp_importance result
#'
#' @param x A \code{seqimp_importance} data.frame.
#' @param n Integer. Most rows to print. Default is 20.
#' @param sort Logical. Print the most important labels first. Default is FALSE (the core's order).
#' @param digits Integer. Significant digits. Default is 4.
#' @param ... Ignored.
#' @return \code{x}, invisibly.
#' @export
print.seqimp_importance <- function(x, n = 20L, sort = FALSE, digits = 4L, ...) {
  importances <- attr(x, "importances")
  baseline <- attr(x, "baseline_score")
  cat(sprintf("<seqimp_importance> %s importance, metric %s, granularity %s\n",
              attr(x, "method"), attr(x, "metric"), attr(x, "granularity")))
  columns <- attr(x, "importances_columns") %||% "columns"  # the core names them
  cat(sprintf("%d labels x %d %s", nrow(x), NCOL(importances), columns))
  if (!is.null(baseline) && !is.na(baseline)) cat(sprintf(", baseline score %s", format(baseline, digits = digits)))
  cat("\n")
  frame <- as.data.frame(x)
  if (sort) frame <- frame[order(-frame$importance), , drop = FALSE]
  shown <- utils::head(frame, n)
  print(shown, digits = digits, row.names = FALSE)
  if (nrow(frame) > n) cat(sprintf("... %d more rows\n", nrow(frame) - n))
  invisible(x)
}

#' @export
as.data.frame.seqimp_importance <- function(x, ...) {
  out <- x
  class(out) <- "data.frame"
  for (a in c("importances", "importances_columns", "method", "metric", "granularity", "baseline_score",
              "attributions")) {
    attr(out, a) <- NULL
  }
  out
}
