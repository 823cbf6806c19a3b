#' Permutation importance
#'
#' For every variable and repeat, the variable's values are permuted across samples and the model
#' is scored again; the importance is how much worse the metric gets (positive means the model
#' relies on the variable). With granularity \code{"feature"} a feature's whole trajectory moves
#' between samples, so the order of timesteps within a sample is kept.
#'
#' @inheritParams perturbation_importance
#' @param y Numeric vector, matrix or array. True targets, one value (or row) per sample, the shape
#'   of the model's predictions. For class probabilities \code{y} may hold class labels
#'   0..k-1. No NA values.
#' @param metric Character or function. \code{"mae"}, \code{"mse"}, \code{"rmse"}, \code{"r2"},
#'   \code{"log_loss"}, \code{"accuracy"} or \code{"auc"} (or a scikit-learn name for one of them);
#'   an R \code{function(y_true, y_pred)} returning one number, taken as a loss (lower is better);
#'   or a \code{\link{seqimp_metric}()}. Default is \code{"mae"}.
#' @param n_repeats Integer. Independent permutations per variable. Default is 5.
#' @param output NULL, integer or character. Which prediction the metric scores against \code{y}
#'   (one value per sample then), as in \code{\link{gradient_importance}}: a 1-based index, a vector of
#'   1-based indices into the output's dims, or \code{"sum"}, \code{"mean"} or \code{"max"}. Padded
#'   sequences (\code{mask}) move values between real steps only, aligned from each sequence's last real
#'   step. Default is NULL (the whole prediction).
#' @param max_samples Integer or numeric. Score on a random subset of the rows: an integer counts rows
#'   (\code{1L} is one row, \code{40L} forty), a double in (0, 1] is a fraction of them (\code{1} and
#'   \code{0.5} are all and half the rows), and a whole double above 1 counts rows too (\code{40}).
#'   Default is NULL (every row).
#' @return A \code{seqimp_importance} data.frame with the metric on unperturbed data as its
#'   \code{baseline_score} attribute.
#' @examples
#' if (seqimp_available()) {
#'   # y = sum over t of (x_t1 + 0.5 x_t2): permuting feature j raises the MSE by 2 T w_j^2 / 12.
#'   x <- array(runif(2000 * 10 * 3), c(2000, 10, 3))
#'   linear <- function(x) rowSums(x[, , 1]) + 0.5 * rowSums(x[, , 2])
#'   permutation_importance(linear, x, linear(x), metric = "mse", seed = 0)
#' }
#' @export
permutation_importance <- function(model, x, y, metric = "mae", n_repeats = 5L,
                                   granularity = "feature", groups = NULL, feature_names = NULL,
                                   max_samples = NULL, batch_size = NULL, seed = NULL,
                                   progress = NULL, output = NULL, mask = NULL, mask_value = NULL) {
  fn <- "permutation_importance"
  data <- prepare_x(x, fn, feature_names)
  n_features <- data$dim[length(data$dim)]
  args <- list(
    prepare_model(model, fn, data$names, n_features),
    data$py,
    prepare_y(y, data$dim[1L], fn),
    metric = prepare_metric(metric, fn, arg_label(substitute(metric))),
    n_repeats = as_count(n_repeats, "n_repeats", fn),
    granularity = as_string(granularity, "granularity", fn),
    groups = prepare_groups(groups, data$names, n_features, fn),
    feature_names = py_names(data$names),
    output = as_output(output, fn),
    mask = prepare_mask(mask, fn),
    mask_value = prepare_mask_value(mask_value, fn),
    max_samples = as_max_samples(max_samples, fn),
    batch_size = as_count(batch_size, "batch_size", fn, null_ok = TRUE),
    random_state = as_seed(seed, fn)
  )
  bar <- prepare_progress(progress, fn)
  on.exit(bar$close(), add = TRUE)
  args$progress <- bar$py
  as_seqimp_importance(call_core(seqimp_py$permutation_importance, args))
}

# The core decides what max_samples means, so it gets the value as given: an R integer arrives as a
# Python int, a count of rows (1L is one row, as Python's 1), and a double as a Python float, a fraction
# when in (0, 1] and a count when a whole number above 1 (R writes counts as doubles). R checks only
# what the core cannot see (NA, non-numbers, length).
as_max_samples <- function(value, fn) {
  if (is.null(as_number(value, "max_samples", fn, null_ok = TRUE))) return(NULL)
  as.vector(value)
}
