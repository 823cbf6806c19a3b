# Confidence intervals and tests of a seqimp_importance result, from the columns and attributes the core
# computed (seqimp.inference): se, ci_low, ci_high, p_value, attr "inference_df" and the texts.

INFERENCE_COLUMNS <- c("se", "ci_low", "ci_high", "p_value")
CORRECTIONS <- c(holm = "holm", bonferroni = "bonferroni", bh = "BH")

# The confidence level as a number in (0, 1).
as_level <- function(level, fn) {
  if (!is.numeric(level) || length(level) != 1L || is.na(level) || level <= 0 || level >= 1) {
    arg_error("level", fn, "a number in (0, 1), such as 0.95", describe(level))
  }
  as.double(level)
}

# The standard errors of a result, or an error saying why the method gives none.
result_se <- function(x, fn) {
  if (is.null(x[["se"]])) {
    why <- attr(x, "inference_why_no_se") %||% "the method gave no standard errors."
    stop(seqimp_condition(sprintf("%s: this result has no standard errors: %s", fn, why)))
  }
  x[["se"]]
}

# (lower, upper) bounds of the level confidence interval of every row, as the core computes them.
interval_bounds <- function(x, level, fn) {
  se <- result_se(x, fn)
  df <- attr(x, "inference_df")
  p <- 0.5 + level / 2
  q <- if (is.null(df) || is.na(df)) stats::qnorm(p) else stats::qt(p, df)
  cbind(x$importance - q * se, x$importance + q * se)
}

#' Confidence intervals of importances
#'
#' The interval the Python core's \code{ImportanceResult.confidence_interval()} gives: the importance
#' -/+ the \code{(1 + level) / 2} quantile times the standard error (Student's t with
#' \code{attr(object, "inference_df")} degrees of freedom, or the normal where it is \code{NULL}).
#' The \code{ci_low} and \code{ci_high} columns hold the 95\% interval.
#'
#' What the interval covers depends on the method (\code{attr(object, "inference_covers")} says it in
#' words): for perturbation and permutation importance, the sampling of the rows of \code{x} (each
#' row also as the donor of permuted values) and the random draws, for this fitted model (the model
#' is held fixed; a refit is not covered); for gradient methods, the samples; for LOFO and stepwise,
#' the folds and refits (Nadeau-Bengio's corrected t, which covers the learner). Olden's and
#' Garson's importances have none.
#'
#' @param object A \code{seqimp_importance} data.frame.
#' @param parm Character or integer. Labels (row names of \code{attr(object, "importances")}, such as
#'   \code{"x1"} or \code{"x1@t3"}) or row numbers. Default is every label.
#' @param level Number. The confidence level, in (0, 1). Default is 0.95.
#' @param ... Ignored.
#' @return A matrix with one row per label and columns named by their percentages (\code{"2.5 \%"},
#'   \code{"97.5 \%"}), as \code{stats::confint()} returns.
#' @seealso \code{\link{significant}}
#' @examples
#' if (seqimp_available()) {
#'   x <- array(rnorm(500 * 3), c(500, 3), dimnames = list(NULL, c("a", "b", "c")))
#'   y <- x[, "a"] + 0.5 * x[, "b"] + rnorm(500)
#'   r <- permutation_importance(function(x) x[, "a"] + 0.5 * x[, "b"], x, y, metric = "mse", seed = 1)
#'   confint(r)                # truth: 2, 0.5 and 0
#'   confint(r, "a", level = 0.9)
#' }
#' @importFrom stats confint
#' @method confint seqimp_importance
#' @export
confint.seqimp_importance <- function(object, parm, level = 0.95, ...) {
  fn <- "confint.seqimp_importance"
  level <- as_level(level, fn)
  bounds <- interval_bounds(object, level, fn)
  tails <- c((1 - level) / 2, 0.5 + level / 2)
  dimnames(bounds) <- list(rownames(attr(object, "importances")),
                           paste(format(100 * tails, trim = TRUE, scientific = FALSE, digits = 3), "%"))
  if (!missing(parm)) bounds <- bounds[parm, , drop = FALSE]
  bounds
}

#' Which labels are important, at a stated error rate
#'
#' The Python core's \code{ImportanceResult.significant()}: the one-sided p-values of the
#' \code{p_value} column (H0: importance <= 0), adjusted for the number of labels with
#' \code{stats::p.adjust()}, compared with \code{alpha}.
#'
#' @param x A \code{seqimp_importance} data.frame.
#' @param alpha Number. The error rate, in (0, 1]. Default is 0.05.
#' @param correction Character or NULL. \code{"holm"} or \code{"bonferroni"} keep the family-wise
#'   error (any label falsely flagged) at \code{alpha}; \code{"bh"} (Benjamini-Hochberg) keeps the
#'   false discovery rate at \code{alpha}; \code{NULL} tests each label alone. Default is
#'   \code{"holm"}.
#' @return A logical vector, one value per row of \code{x}.
#' @section Measures without a test: perturbation importance (RMS or mean absolute change) and
#'   gradient methods are non-negative by construction, so they have intervals but no p-values;
#'   test with \code{\link{permutation_importance}}.
#' @examples
#' if (seqimp_available()) {
#'   x <- array(rnorm(500 * 8 * 2), c(500, 8, 2))
#'   y <- x[, 8, 1] + rnorm(500)
#'   r <- permutation_importance(function(x) x[, 8, 1], x, y, metric = "mse",
#'                               granularity = "timestep", seed = 1)
#'   significant(r)                      # only timestep 8
#'   significant(r, correction = "bh")   # false discovery rate instead
#' }
#' @export
significant <- function(x, alpha = 0.05, correction = "holm") {
  fn <- "significant"
  if (!inherits(x, "seqimp_importance")) arg_error("x", fn, "a seqimp_importance result", describe(x))
  if (!is.numeric(alpha) || length(alpha) != 1L || is.na(alpha) || alpha <= 0 || alpha > 1) {
    arg_error("alpha", fn, "a number in (0, 1], such as 0.05", describe(alpha))
  }
  method <- as_correction(correction, fn)
  stats::p.adjust(result_pvalues(x, fn), method = method) <= alpha
}

as_correction <- function(correction, fn) {
  if (is.null(correction)) return("none")
  if (!is.character(correction) || length(correction) != 1L || !tolower(correction) %in% names(CORRECTIONS)) {
    arg_error("correction", fn, "one of \"holm\", \"bonferroni\", \"bh\" or NULL", describe(correction))
  }
  CORRECTIONS[[tolower(correction)]]
}

result_pvalues <- function(x, fn) {
  if (is.null(x[["p_value"]])) {
    why <- attr(x, "inference_why_no_pvalues") %||% attr(x, "inference_why_no_se") %||%
      "the method gave no p-values."
    stop(seqimp_condition(sprintf("%s: this result has no p-values: %s", fn, why)))
  }
  x[["p_value"]]
}
