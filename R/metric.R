#' A metric from an R function
#'
#' Wraps an R \code{function(y_true, y_pred)} as a metric of the Python core, for
#' \code{\link{permutation_importance}} and \code{\link{lofo_importance}}. A plain R function
#' passed as \code{metric} is wrapped with \code{greater_is_better = FALSE}; use this for scores.
#'
#' @param fun Function. \code{function(y_true, y_pred)} returning one number. It gets numeric
#'   vectors (or matrices and arrays, for multi-output models).
#' @param greater_is_better Logical. TRUE for scores (R squared, accuracy), FALSE for losses.
#'   Default is FALSE.
#' @param name Character. Shown in results. Default is \code{"custom"}.
#' @return A Python \code{seqimp.metrics.Metric}.
#' @examplesIf seqimp_available()
#' medae <- seqimp_metric(function(y, p) median(abs(y - p)), name = "medae")
#' x <- array(runif(500 * 5 * 2), c(500, 5, 2), dimnames = list(NULL, NULL, c("a", "b")))
#' linear <- function(x) rowSums(x[, , "a"])
#' # b is never used: permuting it leaves the median absolute error at exactly 0
#' permutation_importance(linear, x, linear(x), metric = medae, seed = 1)
#' @export
seqimp_metric <- function(fun, greater_is_better = FALSE, name = "custom") {
  fn <- "seqimp_metric"
  core_ready()
  if (!is.function(fun)) arg_error("fun", fn, "an R function(y_true, y_pred)", describe(fun))
  greater_is_better <- as_flag(greater_is_better, "greater_is_better", fn)
  name <- as_string(name, "name", fn)
  scorer <- py_named(r_scorer(fun, "metric"), name)
  call_core(core_module("metrics")$Metric,
            list(scorer, greater_is_better = greater_is_better, name = name))
}
