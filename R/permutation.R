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
#' @param metric Character, function or list. \code{"mae"}, \code{"mse"}, \code{"rmse"}, \code{"r2"},
#'   \code{"log_loss"}, \code{"accuracy"}, \code{"auc"} or any scikit-learn scorer name
#'   (\code{"neg_log_loss"}, \code{"roc_auc"}, \code{"f1"}, ...); an R \code{function(y_true, y_pred)}
#'   returning one number, taken as a loss (lower is better); or a \code{\link{seqimp_metric}()}. Several
#'   names (a character vector) or a list of metrics (named: the results' names) are scored in one pass
#'   on the same permutations, and a named list of results is returned. For a binomial \code{glm} a
#'   metric scored on probabilities or ranks calls \code{predict(type = "response")}. On a network's
#'   outputs, metrics on labels (\code{"accuracy"}, \code{"f1"}, \code{"precision"}, ...) cut a
#'   sigmoid's probability at 0.5 and take a softmax's largest class (other non-integer outputs are
#'   refused); \code{"auc"}/\code{"roc_auc"} are binary, as in scikit-learn: for three or more classes
#'   name \code{"roc_auc_ovr"} or \code{"roc_auc_ovo"}. Default is \code{"mae"}.
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
#' @param categorical_features NULL, character or integer. Features whose values are categories, by
#'   name or 1-based index. Permutation moves every feature's values between samples whatever their
#'   type, so this changes no number; the result's \code{categorical_features} attribute names them,
#'   beside the factor, character and logical columns of a data.frame, which are categorical without
#'   being named. Default is NULL.
#' @param sample_weight Numeric vector. One weight per sample for the metric (finite, >= 0, not all
#'   zero), as scikit-learn's \code{sample_weight}; with \code{max_samples} the drawn rows keep their
#'   weights. Default is NULL (equal weights).
#' @param conditional NULL, character or Python object. \code{NULL} permutes each variable across
#'   samples (marginal permutation). \code{"gaussian"} replaces a variable's values in each sample by
#'   a draw from their Gaussian conditional given every other value of the same sample (the other
#'   features' trajectories and, for timestep and cell granularity, the neighbouring steps; a
#'   covariance over all cells, shrunk with a cross-validated intensity): the importance is then what
#'   the variable adds beyond what the others already tell. \code{"knn"} takes them from one of the
#'   sample's 10 nearest neighbours in the other (standardised) values. A Python object with
#'   \code{fit(X_other, X_label)} and \code{sample(X_other, rng)} methods is used as the sampler.
#'   Categorical features are swapped with a near neighbour's, never drawn as numbers. The standard
#'   errors (\code{se}, \code{confint()}) count the rows, the draws and, for \code{"gaussian"}, each
#'   row's influence on the fitted Gaussian; \code{attr(r, "inference_covers")} says what the
#'   interval covers. Default is NULL.
#' @return A \code{seqimp_importance} data.frame with the metric on unperturbed data as its
#'   \code{baseline_score} attribute (and a \code{categorical_features} attribute when any feature is
#'   categorical); for several metrics, a named list of them.
#' @examplesIf seqimp_available()
#' # y = sum over t of (x_t1 + 0.5 x_t2): permuting feature j raises the MSE by 2 T w_j^2 / 12.
#' x <- array(runif(2000 * 10 * 3), c(2000, 10, 3))
#' linear <- function(x) rowSums(x[, , 1]) + 0.5 * rowSums(x[, , 2])
#' r <- permutation_importance(linear, x, linear(x), metric = "mse", seed = 0)
#' r
#' if (requireNamespace("ggplot2", quietly = TRUE)) plot(r)
#'
#' # An lm on a data.frame with a factor: it gets every permuted copy as a data.frame with factors.
#' d <- data.frame(num = rnorm(300), fac = factor(sample(c("lo", "mid", "hi"), 300, TRUE)),
#'                 junk = rnorm(300))
#' y <- 2 * d$num + c(lo = 0, mid = 1, hi = 3)[as.character(d$fac)] + rnorm(300, sd = 0.1)
#' fit <- lm(y ~ num + fac, data = cbind(d, y = y))
#' permutation_importance(fit, d, y, metric = "mse", seed = 1)  # junk: exactly 0
#'
#' # Correlated inputs: conditional permutation asks what each adds beyond the other.
#' x1 <- rnorm(2000)
#' xs <- cbind(x1 = x1, x2 = 0.8 * x1 + 0.6 * rnorm(2000), x3 = rnorm(2000))
#' f <- function(x) 2 * x[, 1] + x[, 2] + x[, 3]
#' permutation_importance(f, xs, f(xs), metric = "mse", seed = 1, conditional = "gaussian")
#' @export
permutation_importance <- function(model, x, y, metric = "mae", n_repeats = 5L,
                                   granularity = "feature", groups = NULL, feature_names = NULL,
                                   max_samples = NULL, batch_size = NULL, seed = NULL,
                                   progress = NULL, sample_weight = NULL, output = NULL, mask = NULL,
                                   mask_value = NULL, categorical_features = NULL, conditional = NULL) {
  fn <- "permutation_importance"
  data <- prepare_x(x, fn, feature_names)
  n_features <- data$dim[length(data$dim)]
  metric <- prepare_metrics(metric, fn, arg_label(substitute(metric)))
  args <- list(
    prepare_model(probability_model(model, metric, fn), fn, data),
    data$py,
    prepare_y(y, data$dim[1L], fn),
    metric = metric,
    sample_weight = prepare_weights(sample_weight, fn),
    n_repeats = as_count(n_repeats, "n_repeats", fn),
    granularity = as_string(granularity, "granularity", fn),
    groups = prepare_groups(groups, data$names, n_features, fn),
    feature_names = py_names(data$names),
    categorical_features = prepare_categorical(categorical_features, data$names, n_features, fn),
    output = as_output(output, fn),
    mask = prepare_mask(mask, fn),
    mask_value = prepare_mask_value(mask_value, fn),
    max_samples = as_max_samples(max_samples, fn),
    batch_size = as_count(batch_size, "batch_size", fn, null_ok = TRUE),
    random_state = as_seed(seed, fn),
    conditional = prepare_conditional(conditional, fn)
  )
  bar <- prepare_progress(progress, fn)
  on.exit(bar$close(), add = TRUE)
  args$progress <- bar$py
  importance_results(call_core(seqimp_py$permutation_importance, args))
}

# NULL, a sampler name (the core checks which), or a Python sampler object as it is.
prepare_conditional <- function(conditional, fn) {
  if (is.null(conditional) || inherits(conditional, "python.builtin.object")) return(conditional)
  if (is.character(conditional) && length(conditional) == 1L && !is.na(conditional)) return(conditional)
  arg_error("conditional", fn, "NULL, \"gaussian\", \"knn\" or a Python sampler object with fit() and sample()",
            describe(conditional))
}

# Several metrics: a character vector of names, or a list (its names name the results) of names, R
# functions and seqimp_metric()s; the core scores them in one pass.
prepare_metrics <- function(metric, fn, label) {
  if (is.character(metric) && length(metric) > 1L && !anyNA(metric)) return(as.list(metric))
  if (!is.list(metric) || length(metric) == 0L) return(prepare_metric(metric, fn, label))
  labels <- if (is.null(names(metric))) rep("custom", length(metric)) else names(metric)
  out <- lapply(seq_along(metric), function(i) prepare_metric(metric[[i]], fn, labels[[i]]))
  names(out) <- names(metric)
  out
}

# A binomial glm's predict() gives log-odds; a metric that scores probabilities or ranks gets
# type = "response", as the core does for a glm from rpy2. A type the caller gave is kept.
probability_model <- function(model, metric, fn) {
  inner <- if (inherits(model, "seqimp_r_model")) model$model else model
  if (!r_bridge()$is_binomial_glm(inner) || "type" %in% names(model$predict_args)) return(model)
  wants <- call_core(core_module("metrics", convert = FALSE)$scores_beyond_predict, list(metric, fn))
  if (!isTRUE(reticulate::py_to_r(wants))) return(model)
  if (!inherits(model, "seqimp_r_model")) return(r_model(model, type = "response"))
  model$predict_args$type <- "response"
  model
}

# Weights as a 1-D array (the core checks their number, sign and finiteness and names the argument).
prepare_weights <- function(sample_weight, fn) {
  if (is.null(sample_weight)) return(NULL)
  if (!(is.numeric(sample_weight) || is.logical(sample_weight)) || is.object(sample_weight)) {
    arg_error("sample_weight", fn, "a numeric vector, one weight per sample of x", describe(sample_weight))
  }
  sample_weight <- as.vector(sample_weight)
  dim(sample_weight) <- length(sample_weight)
  reticulate::r_to_py(sample_weight)
}

# One seqimp_importance, or a named list of them for several metrics.
importance_results <- function(result) {
  if (!inherits(result, "python.builtin.dict")) return(as_seqimp_importance(result))
  lapply(reticulate::py_to_r(result), as_seqimp_importance)
}

# The core decides what max_samples means, so it gets the value as given: an R integer arrives as a
# Python int, a count of rows (1L is one row, as Python's 1), and a double as a Python float, a fraction
# when in (0, 1] and a count when a whole number above 1 (R writes counts as doubles). R checks only
# what the core cannot see (NA, non-numbers, length).
as_max_samples <- function(value, fn) {
  if (is.null(as_number(value, "max_samples", fn, null_ok = TRUE))) return(NULL)
  as.vector(value)
}
