#' Convert a Python ImportanceResult into a seqimp_importance data.frame
#'
#' Every importance function returns this already; use it on results of the Python core called
#' directly through 'reticulate'.
#'
#' @param result Python object. A \code{seqimp.ImportanceResult}.
#' @return A \code{seqimp_importance} data.frame, one row per label in the core's order, with columns
#'   \code{feature} (character; \code{"(all)"} for granularity \code{"timestep"}), \code{timestep}
#'   (integer, 1-based; only when granularity is not \code{"feature"}), \code{importance} (mean over
#'   repeats) and \code{std} (standard deviation over repeats; see below); where the method gives
#'   them, \code{se} (standard error of the importance), \code{ci_low} and \code{ci_high} (its 95\%
#'   confidence interval; \code{\link{confint.seqimp_importance}} for other levels) and \code{p_value}
#'   (one-sided, H0: importance <= 0, unadjusted; \code{\link{significant}} corrects for the number of
#'   labels), the same numbers as the Python core's. Attributes:
#'   \code{importances} (matrix labels x repeats, or labels x folds for LOFO, with the label names as
#'   rownames: \code{"x1"}, \code{"x1@t1"}, \code{"t1"}, timesteps 1-based),
#'   \code{importances_columns} (what its columns are: \code{"repeats"}, \code{"folds"} or
#'   \code{"samples"}), \code{method}, \code{metric}, \code{granularity} and
#'   \code{baseline_score} (\code{NA} where the method has none). Gradient methods add
#'   \code{attributions}, an array (samples, timesteps, features) with dimnames. Where features are
#'   categorical (factor, character or logical columns of a data.frame, or named in
#'   \code{categorical_features}), perturbation results name them in \code{swapped} (swapped between
#'   samples instead of noised) and permutation results in \code{categorical_features}. Inference
#'   attributes: \code{inference_df} (the t interval's degrees of freedom; absent for a normal one),
#'   \code{inference_estimator} and \code{inference_covers} (how the standard error was estimated and
#'   what the interval covers, in words), \code{inference_why_no_se} and
#'   \code{inference_why_no_pvalues} (why a method gives none).
#'   \code{extra} is a named list of the method's diagnostics, the Python result's \code{extra}:
#'   gradient methods' \code{predictions} (per sample) and \code{output}, integrated gradients'
#'   \code{baseline_predictions} and \code{completeness_gap} (per sample: the attributions' sum minus
#'   the change of the prediction), \code{n_real_samples} per label under a \code{mask}, LOFO's
#'   \code{scores} (labels x folds), \code{baseline_scores}, \code{folds} (training and test rows,
#'   1-based) and \code{n_fitted}, stepwise's \code{rank}, \code{order} and \code{path}. Subsetting
#'   rows cuts the entries with one row per label (named in \code{attr(extra, "label_extras")}).
#'
#' @section Standard error and standard deviation: \code{std} is the spread of the repeats on this
#'   one data set; it says nothing about how far the importance is from the truth. \code{se} counts
#'   the sampling of the data too (and the donors of permuted values, and the learner for LOFO), and
#'   its intervals hold their stated coverage in simulation (see the how-to "Is this variable really
#'   important?" of the Python site).
#'
#' @section Standard deviation: \code{std} is the population standard deviation over the columns of
#'   \code{importances}, \code{sqrt(mean((v - mean(v))^2))} (ddof = 0), the same number as the Python
#'   core's \code{importances_std} and scikit-learn's. R's \code{sd()} divides by n - 1 instead, so
#'   \code{sd(v) = std * sqrt(n / (n - 1))}; with one repeat \code{std} is 0 where \code{sd()} is NA.
#'
#' @section Working with results: a result is a data.frame, and subsetting it
#'   (\code{r[1:2, ]}, \code{r[order(r$importance), ]}, \code{head(r)}) or \code{rbind()}-ing
#'   results of the same method, metric and granularity keeps its attributes consistent: the rows of
#'   \code{importances} follow the rows kept. Where the combined labels repeat (the same call on two
#'   models or data sets), \code{rbind()} adds a first column \code{run}: the names given
#'   (\code{rbind(before = r1, after = r2)}), else 1, 2, ...; \code{print()} keeps each run together
#'   and \code{autoplot()} draws runs side by side (dodged bars, or one heatmap per run), never
#'   stacked. A label repeated within one run is an error. Dropping a column the class needs, or combining unlike
#'   results, gives a plain data.frame. \code{as.data.frame(r)} is the plain table and
#'   \code{as.data.frame(r, long = TRUE)} the tidy long form, one row per label and repeat.
#' @seealso \code{\link{print.seqimp_importance}}, \code{\link{as.data.frame.seqimp_importance}},
#'   \code{\link{autoplot.seqimp_importance}}
#' @examplesIf seqimp_available()
#' core <- reticulate::import("seqimp")
#' x <- array(runif(100 * 3 * 2), c(100, 3, 2))
#' # The core called directly (0-based positions), then converted as the R functions do:
#' result <- core$perturbation_importance(function(x) x[, 1, 1], x, random_state = 1L)
#' r <- as_seqimp_importance(result)
#' r[order(-r$importance), ]
#' attr(r, "importances")
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
#' @param sort Logical. Print the most important labels first (within each run, for results combined
#'   with \code{rbind()} that have a \code{run} column); FALSE keeps the core's order (features as in
#'   \code{x}, timesteps in time order). Default is TRUE.
#' @param digits Integer. Significant digits. Default is 4.
#' @param ... Ignored.
#' @return \code{x}, invisibly.
#' @examplesIf seqimp_available()
#' x <- array(runif(200 * 4 * 3), c(200, 4, 3), dimnames = list(NULL, NULL, c("a", "b", "c")))
#' r <- perturbation_importance(function(x) rowSums(x[, , "b"]) + 0.1 * rowSums(x[, , "c"]), x,
#'                              n_repeats = 2, seed = 1)
#' r                  # most important first
#' print(r, sort = FALSE)  # in the order of x's features
#' @export
print.seqimp_importance <- function(x, n = 20L, sort = TRUE, digits = 4L, ...) {
  importances <- attr(x, "importances")
  baseline <- attr(x, "baseline_score")
  cat(sprintf("<seqimp_importance> %s importance, metric %s, granularity %s\n",
              attr(x, "method"), attr(x, "metric"), attr(x, "granularity")))
  columns <- attr(x, "importances_columns") %||% "columns"  # the core names them
  runs <- if ("run" %in% names(x)) length(unique(x$run)) else 1L
  cat(sprintf("%d labels%s x %d %s", nrow(x), if (runs > 1L) sprintf(" in %d runs", runs) else "",
              NCOL(importances), columns))
  if (!is.null(baseline) && !is.na(baseline)) cat(sprintf(", baseline score %s", format(baseline, digits = digits)))
  cat("\n")
  frame <- as.data.frame(x)
  # With runs (rbind of repeated labels) each run stays together, most important first within it.
  if (isTRUE(sort)) {
    by_run <- if ("run" %in% names(frame)) order(match(frame$run, unique(frame$run)), -frame$importance) else
      order(-frame$importance)
    frame <- frame[by_run, , drop = FALSE]
  }
  shown <- utils::head(frame, n)
  print(shown, digits = digits, row.names = FALSE)
  if (nrow(frame) > n) cat(sprintf("... %d more rows\n", nrow(frame) - n))
  if (!is.null(frame$se)) {
    cat(sprintf("se, ci_low, ci_high: 95%% interval (%s)%s\n", attr(x, "inference_estimator") %||% "",
                if (is.null(frame$p_value)) "" else
                  "; p_value: one-sided, H0 importance <= 0, unadjusted (see significant())"))
  }
  invisible(x)
}

#' A seqimp_importance result as a plain data.frame, wide or long
#'
#' @param x A \code{seqimp_importance} data.frame.
#' @param row.names,optional Ignored (the rows are the labels).
#' @param long Logical. FALSE: one row per label, with \code{importance} and \code{std}. TRUE: the
#'   tidy long form, one row per label and repeat (or LOFO fold, or gradient sample): columns
#'   \code{feature}, \code{timestep} (unless granularity is \code{"feature"}), the column named after
#'   \code{attr(x, "importances_columns")} (\code{repetition}, \code{fold} or \code{sample}, an
#'   integer from 1) and \code{importance}, label-major in the result's order. Default is FALSE.
#' @param ... Ignored.
#' @return A data.frame without the result's attributes.
#' @examplesIf seqimp_available()
#' x <- array(runif(200 * 4 * 2), c(200, 4, 2), dimnames = list(NULL, NULL, c("a", "b")))
#' r <- perturbation_importance(function(x) rowSums(x[, , "a"]), x, n_repeats = 3, seed = 1)
#' as.data.frame(r)
#' long <- as.data.frame(r, long = TRUE)  # 2 labels x 3 repeats = 6 rows
#' aggregate(importance ~ feature, data = long, FUN = mean)
#' @export
as.data.frame.seqimp_importance <- function(x, row.names = NULL, optional = FALSE, ..., long = FALSE) {
  frame <- x
  # Only a data.frame's own attributes: stepwise's rank and order go too.
  attributes(frame) <- list(names = names(x), class = "data.frame",
                            row.names = seq_len(length(.subset2(x, 1L))))
  if (!isTRUE(long)) return(frame)
  importances <- attr(x, "importances")
  n_columns <- NCOL(importances)
  keys <- frame[rep(seq_len(nrow(frame)), each = n_columns),
                setdiff(names(frame), c("importance", "std", INFERENCE_COLUMNS)), drop = FALSE]
  keys[[long_column(x)]] <- rep(seq_len(n_columns), times = nrow(frame))
  keys$importance <- as.vector(t(importances))
  rownames(keys) <- NULL
  keys
}

# The long form's column for the columns of `importances`: what one of them is, in the singular.
long_column <- function(x) {
  switch(attr(x, "importances_columns") %||% "repeats",
         folds = "fold", samples = "sample", "repetition")
}

# The columns a seqimp_importance data.frame must keep to stay one.
core_columns <- function(x) {
  c("feature", if (!identical(attr(x, "granularity"), "feature")) "timestep", "importance", "std")
}

#' @export
`[.seqimp_importance` <- function(x, i, j, drop) {
  plain <- as.data.frame(x)
  n_args <- nargs() - !missing(drop)
  if (n_args < 3L) {  # x[j] or x[]: columns only, as for a list
    out <- if (missing(i)) plain else plain[i]
    rows <- seq_len(nrow(plain))
  } else {
    ids <- seq_len(nrow(plain))
    names(ids) <- row.names(plain)
    rows <- if (missing(i)) ids else ids[i]
    # Missing i, j and drop pass on as missing: the data.frame method's own defaults apply.
    out <- if (missing(drop)) plain[i, j] else plain[i, j, drop = drop]
  }
  # A result stays one only with its columns and real rows; anything else is plain data.
  if (!is.data.frame(out) || !all(core_columns(x) %in% names(out)) || anyNA(rows)) return(out)
  restore_result(out, x, unname(rows))
}

# `frame` (rows `rows` of the result `x`) with x's attributes, `importances` (and stepwise's rank and
# order) cut to those rows.
restore_result <- function(frame, x, rows) {
  for (a in setdiff(names(attributes(x)), c("names", "row.names", "class"))) {
    attr(frame, a) <- attr(x, a)
  }
  attr(frame, "importances") <- attr(x, "importances")[rows, , drop = FALSE]
  extra <- attr(x, "extra")
  for (key in intersect(attr(extra, "label_extras"), names(extra))) {
    value <- extra[[key]]
    extra[[key]] <- if (length(dim(value)) < 2L) value[rows] else value[rows, , drop = FALSE]
  }
  if (!is.null(extra)) attr(frame, "extra") <- extra
  if (!is.null(attr(x, "rank"))) attr(frame, "rank") <- attr(x, "rank")[rows]
  if (!is.null(attr(x, "order"))) {
    kept <- rownames(attr(frame, "importances"))
    attr(frame, "order") <- attr(x, "order")[attr(x, "order") %in% kept]
  }
  rownames(frame) <- NULL
  class(frame) <- c("seqimp_importance", "data.frame")
  frame
}

#' @export
rbind.seqimp_importance <- function(..., deparse.level = 1) {
  parts <- list(...)
  keep <- !vapply(parts, is.null, logical(1))
  parts <- parts[keep]
  first <- parts[[1L]]
  same <- function(p, a) identical(attr(p, a), attr(first, a))
  core <- function(p) setdiff(names(p), "run")
  alike <- all(vapply(parts, function(p) {
    inherits(p, "seqimp_importance") && identical(core(p), core(first)) &&
      all(vapply(c("method", "metric", "granularity", "importances_columns"), same, p = p, logical(1))) &&
      NCOL(attr(p, "importances")) == NCOL(attr(first, "importances"))
  }, logical(1)))
  plain <- lapply(parts, function(p) if (inherits(p, "seqimp_importance")) as.data.frame(p) else p)
  if (!alike) {
    # Unlike results (two methods, say) become one table, each row saying where it came from; a
    # column some lack (timestep) is NA there.
    plain <- Map(function(frame, p) {
      if (inherits(p, "seqimp_importance")) {
        frame$method <- attr(p, "method")
        frame$metric <- attr(p, "metric")
      }
      frame
    }, plain, parts)
    columns <- unique(unlist(lapply(plain, names)))
    plain <- lapply(plain, function(frame) {
      frame[setdiff(columns, names(frame))] <- NA
      frame[columns]
    })
    return(do.call(rbind.data.frame, c(unname(plain), stringsAsFactors = FALSE)))
  }
  plain <- with_runs(plain, names(parts))
  out <- do.call(rbind.data.frame, c(unname(plain), stringsAsFactors = FALSE))
  check_run_labels(out)
  combined <- first
  attr(combined, "importances") <- do.call(rbind, lapply(parts, attr, "importances"))
  out <- restore_result(out, combined, seq_len(nrow(out)))
  scores <- vapply(parts, function(p) as.double(attr(p, "baseline_score")), numeric(1))
  attr(out, "baseline_score") <- if (length(unique(scores)) == 1L) scores[1L] else NA_real_
  # Stepwise's path (rank, order) describes one run; attributions and diagnostics are kept only when
  # every part has the same.
  attr(out, "rank") <- NULL
  attr(out, "order") <- NULL
  for (a in c("attributions", "extra")) {
    if (!all(vapply(parts, function(p) identical(attr(p, a), attr(first, a)), logical(1)))) attr(out, a) <- NULL
  }
  out
}

# Results whose labels repeat (the same call twice, two models, two data sets) get a `run` column, the
# first one: the name each was given in rbind(a = r1, b = r2), else 1, 2, ... after any run already
# there. Parts with a run column keep theirs. Results with distinct labels (pieces of one result) stay
# as they are.
with_runs <- function(frames, given) {
  keys <- lapply(frames, label_keys)
  has_run <- vapply(frames, function(f) "run" %in% names(f), logical(1))
  if (!any(has_run) && !anyDuplicated(unlist(keys))) return(frames)
  named <- !is.null(given) && all(nzchar(given[!has_run]))
  last <- max(c(0L, unlist(lapply(frames[has_run], function(f) if (is.numeric(f$run)) f$run else 0L))))
  runs <- lapply(seq_along(frames), function(i) {
    if (has_run[i]) return(frames[[i]]$run)
    if (named) return(given[i])
    last <<- last + 1L
    as.integer(last)
  })
  if (any(vapply(runs, is.character, logical(1)))) runs <- lapply(runs, as.character)
  Map(function(frame, run) {
    frame$run <- rep(run, length.out = nrow(frame))
    frame[c("run", setdiff(names(frame), "run"))]
  }, frames, runs)
}

label_keys <- function(frame) {
  if ("timestep" %in% names(frame)) paste(frame$feature, frame$timestep, sep = "@t") else frame$feature
}

# Within a run each label appears once; a second copy would be drawn on top of (or summed with) the first.
check_run_labels <- function(frame) {
  keys <- paste(if ("run" %in% names(frame)) frame$run else "", label_keys(frame), sep = "\r")
  if (!anyDuplicated(keys)) return(invisible())
  i <- which(duplicated(keys))[1L]
  stop(seqimp_condition(sprintf(paste(
    "rbind() of seqimp_importance results: label '%s' appears twice in run %s. Give the results a run",
    "each (rbind(a = r1, b = r2)), or combine results whose runs differ."),
    label_keys(frame)[i], format(frame$run[i]))))
}
