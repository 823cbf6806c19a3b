#' SAGE: Shapley values of the loss
#'
#' Each variable's SAGE value (Covert et al. 2020) is how much it lowers the loss on average over the
#' orders in which the variables can be added to the model's input, the variables not yet added being
#' marginalised out. It shares credit fairly where inputs interact or are correlated, and the values
#' add up to the loss the model explains: \code{attr(r, "loss_empty") - attr(r, "loss_full")}
#' (efficiency). Every round gives each sample an ordering of the variables and its reverse; rounds
#' stop when the largest standard error is below \code{convergence} times the range of the values,
#' as in the Python \code{sage} package.
#'
#' @inheritParams permutation_importance
#' @param metric Character or function. A loss per sample: \code{"mse"}, \code{"mae"} or
#'   \code{"log_loss"} (class labels 0/1, or 0..k-1 against k class probabilities); or an R
#'   \code{function(y_true, y_pred)} returning one loss per sample. Default is \code{"mse"}.
#' @param imputer Character. \code{"marginal"} fills removed variables from background rows (the
#'   prediction is averaged over them); \code{"gaussian"} draws them from their Gaussian conditional
#'   given the sample's kept values (numeric features only). Default is \code{"marginal"}.
#' @param background NULL or an array like \code{x}. The rows that fill removed variables (marginal
#'   imputer); NULL draws \code{n_background} rows of \code{x}. Default is NULL.
#' @param n_background Integer. Background rows drawn from \code{x}, or Gaussian draws per sample and
#'   coalition. Default is 128.
#' @param convergence Numeric in (0, 1). Stop when the largest standard error over orderings is below
#'   this fraction of the range of the values. Default is 0.025.
#' @param max_permutations Integer. The most orderings per sample (in pairs); NULL runs until
#'   convergence (at most 10000). Default is NULL.
#' @param n_jobs Integer. Worker processes for each round's chunks (-1: every core); must be 1 for an
#'   R model or function. The numbers do not depend on it. Default is 1.
#' @return A \code{seqimp_importance} data.frame (\code{method} \code{"sage"}; its
#'   \code{importances} have one column per round) with attributes \code{baseline_score} (the
#'   metric with every variable kept), \code{converged}, \code{n_permutations} (orderings per
#'   sample), \code{loss_empty} and \code{loss_full}; \code{attr(r, "extra")} has the rest
#'   (\code{se_permutations}, the Monte Carlo error given x that the convergence rule uses, one per
#'   variable; \code{rounds}, \code{model_rows}). \code{confint(r)}, \code{significant(r)} and the
#'   \code{se}/\code{ci_low}/\code{ci_high}/\code{p_value} columns of \code{as.data.frame()} use
#'   the standard error over the samples of \code{x} (t with n - 1 degrees of freedom): it covers the
#'   sampling of the rows and of the orderings, not the choice of background rows nor the model's
#'   training.
#' @references I. Covert, S. Lundberg and S.-I. Lee (2020). Understanding Global Feature Contributions
#'   With Additive Importance Measures. NeurIPS 2020.
#' @examplesIf seqimp_available()
#' # Additive model of independent inputs: x_j gets w_j^2 Var(x_j) (here 1 and 1), x3 exactly 0.
#' x <- cbind(x1 = rnorm(500), x2 = 2 * rnorm(500), x3 = rnorm(500))
#' f <- function(x) x[, 1] + 0.5 * x[, 2]
#' r <- sage_importance(f, x, f(x), n_background = 64, seed = 1)
#' r
#' confint(r)
#' sum(r$importance) - (attr(r, "loss_empty") - attr(r, "loss_full"))  # 0: efficiency
#' @export
sage_importance <- function(model, x, y, metric = "mse", imputer = "marginal", background = NULL,
                            n_background = 128L, granularity = "feature", groups = NULL,
                            feature_names = NULL, output = NULL, mask = NULL, mask_value = NULL,
                            convergence = 0.025, max_permutations = NULL, n_jobs = 1L, batch_size = NULL,
                            seed = NULL, progress = NULL) {
  fn <- "sage_importance"
  data <- prepare_x(x, fn, feature_names)
  n_features <- data$dim[length(data$dim)]
  n_jobs <- as_count(n_jobs, "n_jobs", fn, low = -1L)
  if (n_jobs != 1L && (is.function(model) || inherits(model, "seqimp_r_model") || is.function(metric))) {
    arg_error("n_jobs", fn, "1 when the model or metric is an R function (R cannot run in worker processes)",
              describe(n_jobs))
  }
  if (is.character(metric)) model <- probability_model(model, metric, fn)
  args <- list(
    prepare_model(model, fn, data),
    data$py,
    prepare_y(y, data$dim[1L], fn),
    metric = prepare_losses(metric, fn, arg_label(substitute(metric))),
    imputer = as_string(imputer, "imputer", fn),
    background = if (is.null(background)) NULL else prepare_x(background, fn, feature_names, name = "background")$py,
    n_background = as_count(n_background, "n_background", fn),
    granularity = as_string(granularity, "granularity", fn),
    groups = prepare_groups(groups, data$names, n_features, fn),
    feature_names = py_names(data$names),
    output = as_output(output, fn),
    mask = prepare_mask(mask, fn),
    mask_value = prepare_mask_value(mask_value, fn),
    convergence = as_number(convergence, "convergence", fn),
    max_permutations = as_count(max_permutations, "max_permutations", fn, null_ok = TRUE),
    n_jobs = n_jobs,
    batch_size = as_count(batch_size, "batch_size", fn, null_ok = TRUE),
    random_state = as_seed(seed, fn)
  )
  bar <- prepare_progress(progress, fn)
  on.exit(bar$close(), add = TRUE)
  args$progress <- bar$py
  result <- call_core(seqimp_py$sage_importance, args)
  out <- as_seqimp_importance(result)
  extra <- result$extra
  attr(out, "converged") <- isTRUE(from_py(extra[["converged"]]))
  attr(out, "n_permutations") <- as.integer(from_py(extra[["n_permutations"]]))
  attr(out, "loss_empty") <- as.double(from_py(extra[["loss_empty"]]))
  attr(out, "loss_full") <- as.double(from_py(extra[["loss_full"]]))
  out
}

# A loss name passes through; an R function(y_true, y_pred) returning one loss per sample becomes a
# named Python callable that returns them as a vector.
prepare_losses <- function(metric, fn, label) {
  if (is.character(metric) && length(metric) == 1L && !is.na(metric)) return(metric)
  if (!is.function(metric)) {
    arg_error("metric", fn, "\"mse\", \"mae\", \"log_loss\" or an R function(y_true, y_pred) returning one loss per sample",
              describe(metric))
  }
  force(metric)
  losses <- reticulate::r_to_py(convert = TRUE, function(a, b) {
    value <- metric(drop_1d(a), drop_1d(b))
    if (!is.numeric(value)) {
      stop(sprintf("the metric function must return one loss per sample; it returned %s", describe(value)),
           call. = FALSE)
    }
    array(as.double(value), dim = length(value))
  })
  py_named(losses, label)
}
