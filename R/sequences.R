#' Long panels to sequences: an array, a mask and targets from a table in long form
#'
#' Time series usually live in long tables: one row per series and time, with columns \code{id},
#' \code{time}, \code{x1}, \code{x2}, .... The obvious \code{array(as.matrix(d[, feats]), c(n, T, F))}
#' silently scrambles samples and steps (R fills arrays first index first, and the rows are rarely in
#' that order), and series of different lengths need padding. \code{as_sequences()} sorts, checks and
#' pads instead: each id is one sample, its rows in time order are its steps, and a shorter series is
#' padded before its first step (\code{pad = "pre"}, as Keras' \code{pad_sequences}) or after its last
#' (\code{pad = "post"}). The mask it returns says which steps are real: pass it as \code{mask}.
#'
#' The same call in Python, \code{seqimp.as_sequences()}, gives the same array, mask and order.
#'
#' @param data A data.frame or tibble in long form: an id column, a time column and one column per
#'   feature (and the target).
#' @param id Character. The column that says which sample (series) a row belongs to. Samples are the
#'   sorted ids (a factor's in the order of its levels; characters sorted as in the C locale).
#' @param time Character. The column that orders the steps within an id: numbers, \code{Date},
#'   \code{POSIXct} or \code{difftime}. Within every id the times must be regular: each step one panel
#'   step after the last, where the panel step is the smallest gap between consecutive times of any
#'   id. A gap (a missing step) or a repeated (id, time) pair is an error naming the first one, never
#'   silently closed up.
#' @param features NULL or character. The feature columns, in the order of the array's last dim:
#'   numeric, integer or logical (as 0/1), without NA. Default is NULL: every column except \code{id},
#'   \code{time} and \code{target}.
#' @param target NULL or character. A column holding each sample's target, the same on every row of an
#'   id. Default is NULL (no \code{y}).
#' @param pad Character. \code{"pre"} pads before a shorter series' first step (all series end at the
#'   last step), \code{"post"} after its last step. Default is \code{"pre"}.
#' @param pad_value Numeric. The value of padded cells; the mask, not this value, says which steps are
#'   padding. Default is 0.
#' @return A list with \code{x}, a numeric array (samples, timesteps, features) with dimnames (the ids,
#'   \code{NULL}, the features); \code{mask}, a logical matrix (samples x timesteps), TRUE for a real
#'   step; \code{ids}, the id of each sample (a factor for a factor id); \code{times}, a matrix (samples
#'   x timesteps) of each step's time in the time column's class (NA where padded); and \code{y}, the
#'   target of each sample named by id (NULL without \code{target}).
#' @seealso \code{\link{permutation_importance}}, whose \code{mask} argument takes the mask.
#' @examples
#' panel <- data.frame(id = c("b", "b", "a", "a", "a"), time = c(2, 1, 1, 2, 3),
#'                     x1 = c(20, 10, 1, 2, 3), x2 = c(0.2, 0.1, 0, 0, 0), label = c(1, 1, 0, 0, 0))
#' s <- as_sequences(panel, id = "id", time = "time", target = "label")
#' dim(s$x)      # 2 samples, 3 steps, 2 features
#' s$x["b", , "x1"]  # b's two steps in time order, after one step of padding
#' s$mask
#' s$y
#' if (seqimp_available()) {
#'   model <- function(x) rowSums(x[, , "x1"])
#'   permutation_importance(model, s$x, s$y, mask = s$mask, metric = "mse", seed = 1)
#' }
#' @export
as_sequences <- function(data, id, time, features = NULL, target = NULL, pad = "pre", pad_value = 0) {
  fn <- "as_sequences"
  if (!is.data.frame(data)) {
    arg_error("data", fn, "a data.frame or tibble in long form (one row per sample and timestep)",
              describe(data))
  }
  if (nrow(data) == 0L) arg_error("data", fn, "a data.frame with at least one row", "0 rows")
  id <- panel_column(id, "id", data, fn)
  time <- panel_column(time, "time", data, fn)
  if (!is.null(target)) target <- panel_column(target, "target", data, fn)
  pad <- as_string(pad, "pad", fn)
  if (!pad %in% c("pre", "post")) arg_error("pad", fn, "one of c(\"pre\", \"post\")", describe(pad))
  pad_value <- as_number(pad_value, "pad_value", fn)
  if (!is.finite(pad_value)) arg_error("pad_value", fn, "a finite number", describe(pad_value))
  features <- panel_features(features, data, c(id, time, target), fn)
  samples <- panel_ids(data[[id]], fn)
  steps <- panel_times(data[[time]], samples, fn)
  order <- steps$order
  codes <- samples$codes[order]
  lengths <- tabulate(codes, nbins = length(samples$ids))
  starts <- cumsum(c(1L, lengths))[seq_along(lengths)]
  check_panel_steps(steps$stamps[order], codes, samples$labels, steps$times[order], fn)
  n <- length(samples$ids)
  n_steps <- max(lengths)
  position <- seq_along(codes) - starts[codes] + 1L + if (pad == "pre") n_steps - lengths[codes] else 0L
  names <- as.character(features)
  x <- array(pad_value, c(n, n_steps, length(features)),
             dimnames = list(samples$labels, NULL, names))
  for (f in seq_along(features)) {
    values <- panel_values(data[[features[f]]], features[f], order, samples$labels[codes], steps$times[order], fn)
    x[cbind(codes, position, f)] <- values
  }
  mask <- matrix(FALSE, n, n_steps, dimnames = list(samples$labels, NULL))
  mask[cbind(codes, position)] <- TRUE
  times <- steps$times[rep(NA_integer_, n * n_steps)]
  times[(position - 1L) * n + codes] <- steps$times[order]
  dim(times) <- c(n, n_steps)
  if (is.null(attr(times, "class"))) dimnames(times) <- list(samples$labels, NULL)
  y <- if (is.null(target)) NULL else panel_target(data[[target]][order], codes, starts, samples$labels, target)
  list(x = x, mask = mask, ids = samples$ids, times = times, y = y)
}

# A column name (one string naming a column of data).
panel_column <- function(value, name, data, fn) {
  if (!is.character(value) || length(value) != 1L || is.na(value) || !value %in% names(data)) {
    arg_error(name, fn, sprintf("the name of a column of data (one of %s)", panel_names(names(data))),
              describe(value))
  }
  value
}

# The feature columns: those given (checked), or every column but id, time and target.
panel_features <- function(features, data, taken, fn) {
  if (is.null(features)) {
    features <- setdiff(names(data), taken)
    if (length(features) == 0L) {
      stop(seqimp_condition(sprintf(paste("as_sequences: data has no columns besides id, time and target,",
                                          "so there are no features. Its columns are %s."),
                                    panel_names(names(data)))))
    }
    return(features)
  }
  if (!is.character(features) || length(features) == 0L || anyNA(features)) {
    arg_error("features", fn, "NULL or a character vector of column names", describe(features))
  }
  unknown <- setdiff(features, names(data))
  if (length(unknown) > 0L) {
    arg_error("features", fn, sprintf("names of columns of data (%s)", panel_names(names(data))),
              panel_names(unknown))
  }
  reused <- intersect(features, taken)
  if (length(reused) > 0L) {
    arg_error("features", fn, "columns other than the id, time and target columns", panel_names(reused))
  }
  if (anyDuplicated(features)) {
    arg_error("features", fn, "names without repeats", panel_names(unique(features[duplicated(features)])))
  }
  features
}

# Each row's sample (1..n), the ids in sample order, and the ids as character (for dimnames).
panel_ids <- function(column, fn) {
  if (anyNA(column)) {
    rows <- which(is.na(column))
    stop(seqimp_condition(sprintf("The id column of data must not be NA; row %d has no id (%d rows in all).",
                                  rows[1L], length(rows))))
  }
  if (is.factor(column)) {
    keys <- as.integer(column)
    present <- sort(unique(keys))
    ids <- factor(levels(column)[present], levels = levels(column), ordered = is.ordered(column))
  } else {
    if (!is.atomic(column) || is.object(column) && !inherits(column, c("Date", "POSIXct"))) {
      arg_error("id", fn, "a column of numbers, characters, a factor or dates", describe(column))
    }
    keys <- if (is.object(column)) unclass(column) else column
    present <- sort(unique(keys), method = "radix")
    ids <- column[match(present, keys)]
  }
  list(codes = match(keys, present), ids = ids, labels = as.character(ids))
}

# The rows in (id, time) order and the times as numbers (days for Date, seconds for POSIXct).
panel_times <- function(column, samples, fn) {
  if (!(is.numeric(column) && !is.object(column)) && !inherits(column, c("Date", "POSIXct", "difftime"))) {
    arg_error("time", fn, "the name of a column of numbers, Date, POSIXct or difftime (its order and gaps are checked)",
              sprintf("a column of class %s", paste(class(column), collapse = "/")))
  }
  stamps <- as.numeric(unclass(column))
  bad <- which(!is.finite(stamps))
  if (length(bad) > 0L) {
    stop(seqimp_condition(sprintf("The time column of data must be finite and not NA; row %d (id '%s') has %s.",
                                  bad[1L], samples$labels[samples$codes[bad[1L]]], format(column[bad[1L]]))))
  }
  list(order = order(samples$codes, stamps, method = "radix"), stamps = stamps, times = column)
}

# A repeated (id, time) pair, or a gap in an id's times, is an error naming the first one.
check_panel_steps <- function(stamps, codes, labels, times, fn) {
  n <- length(stamps)
  if (n < 2L) return(invisible())
  same_id <- codes[-1L] == codes[-n]
  gaps <- stamps[-1L] - stamps[-n]
  repeated <- which(same_id & gaps == 0)
  if (length(repeated) > 0L) {
    i <- repeated[1L]
    stop(seqimp_condition(sprintf(paste(
      "as_sequences: the (id, time) pair ('%s', %s) appears more than once in data; each sample needs one",
      "row per time. Aggregate or drop the duplicates first (%d repeated pairs in all)."),
      labels[codes[i]], format(times[i]), length(repeated))))
  }
  if (!any(same_id)) return(invisible())
  step <- min(gaps[same_id])
  irregular <- which(same_id & abs(gaps - step) > 1e-9 * abs(step))
  if (length(irregular) > 0L) {
    i <- irregular[1L]
    shown_step <- if (inherits(times, c("Date", "POSIXct"))) format(times[i] + step - times[i]) else format(step)
    stop(seqimp_condition(sprintf(paste(
      "as_sequences: the times of id '%s' are irregular: it goes from time %s to %s, but the panel's step",
      "(the smallest gap between consecutive times) is %s. A missing step would silently join its",
      "neighbours; add the missing rows (imputed) or resample to a regular grid."),
      labels[codes[i]], format(times[i]), format(times[i + 1L]), shown_step)))
  }
  invisible()
}

# One feature column as doubles in (id, time) order; factors, characters and NA are refused.
panel_values <- function(column, name, order, row_ids, row_times, fn) {
  if (!(is.numeric(column) || is.logical(column)) || is.factor(column) || is.object(column)) {
    arg_error("features", fn, sprintf(paste("numeric, integer or logical columns (encode column '%s' as",
                                            "integer codes and name it in categorical_features)"), name),
              sprintf("a column of class %s", paste(class(column), collapse = "/")))
  }
  values <- as.double(column)[order]
  bad <- which(!is.finite(values))
  if (length(bad) > 0L) {
    stop(seqimp_condition(sprintf(paste(
      "as_sequences: feature '%s' is NA or not finite at id '%s', time %s (%d rows in all). Fill or drop",
      "such values first; padding is what the mask marks, never a missing value."),
      name, row_ids[bad[1L]], format(row_times[bad[1L]]), length(bad))))
  }
  values
}

# One target per sample (the value on the id's first row), named by id; it must not change within an id.
panel_target <- function(values, codes, starts, labels, target) {
  if (anyNA(values)) {
    stop(seqimp_condition(sprintf("The target column '%s' of data must not be NA; id '%s' has an NA target.",
                                  target, labels[codes[which(is.na(values))[1L]]])))
  }
  first <- values[starts]
  changed <- which(values != first[codes])
  if (length(changed) > 0L) {
    i <- changed[1L]
    stop(seqimp_condition(sprintf(paste(
      "The target column '%s' of data must hold one value per id (a per-sample target); id '%s' has both",
      "%s and %s."), target, labels[codes[i]], format(first[codes[i]]), format(values[i]))))
  }
  names(first) <- labels
  first
}

# Column names as R writes them: "a" or c("a", "b"), however many.
panel_names <- function(v) describe(as.character(v), limit = max(1L, length(v)))
