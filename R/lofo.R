#' Leave-one-feature-out (LOFO) and stepwise importance
#'
#' \code{lofo_importance()}: for every fold the model is trained once with every feature and once
#' without each feature (or group); the importance is how much worse the validation score gets
#' without it. \code{stepwise_importance()}: backward elimination or forward addition, retraining at
#' every step (Olden et al. 2004). Both retrain (labels x folds) models or more.
#'
#' @inheritParams permutation_importance
#' @param x Numeric array of dims (samples, timesteps, features), matrix (samples, features) or
#'   data.frame, as in \code{\link{perturbation_importance}}; or a list of them for a model with
#'   several inputs. A data.frame's factor, character and logical columns reach a scikit-learn
#'   estimator as they are (as pandas categorical, string and boolean columns, for a pipeline that
#'   encodes them, e.g. with \code{OneHotEncoder}); a keras model or builder is refitted on numbers,
#'   so for it they must be encoded first (e.g. with \code{model.matrix()}).
#' @param model A compiled keras model (cloned with fresh weights, and rebuilt for the narrower
#'   input when a feature is dropped), a scikit-learn estimator from reticulate (e.g.
#'   \code{reticulate::import("sklearn.linear_model")$Ridge()}, cloned for every fit; a 3-D
#'   \code{x} reaches it flattened, timestep-major), or an R builder \code{function(n_features)}
#'   returning a compiled keras model, called once per fit.
#' @param metric Character or function. One metric: \code{"mae"}, \code{"mse"}, \code{"rmse"},
#'   \code{"r2"}, \code{"log_loss"}, \code{"accuracy"}, \code{"auc"} or any scikit-learn scorer name (a
#'   scikit-learn classifier is scored on its probabilities where the metric needs them); an R
#'   \code{function(y_true, y_pred)} returning one number, taken as a loss; or a
#'   \code{\link{seqimp_metric}()}. Default is \code{"mae"}.
#' @param fit_kwargs List. Named arguments for the model's \code{fit()}, e.g.
#'   \code{list(epochs = 20, batch_size = 32)}; whole numbers for integer arguments are passed as
#'   integers. Default is NULL.
#' @param cv Integer, Python splitter or list. A number of shuffled folds; a scikit-learn splitter
#'   (e.g. \code{reticulate::import("sklearn.model_selection")$TimeSeriesSplit(5L)}); or a list of
#'   folds, each \code{list(train = , test = )} with 1-based sample indices. Default is 5.
#' @param mode Character. \code{"drop"} removes the feature's column; \code{"constant"} replaces it
#'   by its training-fold mean (over real cells only, and on real cells only, under a \code{mask}).
#'   With a list \code{x} (several inputs) a builder gets a named list of feature counts, one per
#'   input, and dropping a feature narrows its own input. Default is \code{"drop"}.
#' @param n_jobs Integer. Fits run in parallel worker processes through joblib (-1: every core).
#'   Must be 1 when the model, builder or metric is an R function. Default is 1.
#' @param checkpoint Character. A file recording every finished fit; rerunning the same call resumes.
#'   Default is NULL.
#' @param progress Logical. Show a progress bar. Default is \code{interactive()}.
#' @param sample_weight Numeric vector. One weight per sample: each fold's validation metric weighs its
#'   test rows by them, and each fit gets its training rows' weights where its \code{fit()} takes
#'   \code{sample_weight} (keras models, most scikit-learn estimators). Default is NULL.
#' @return A \code{seqimp_importance} data.frame whose \code{importances} attribute has one column
#'   per fold; \code{baseline_score} is the mean validation score with every feature.
#'   \code{stepwise_importance()} adds the attributes \code{rank} (1 = most important by the path)
#'   and \code{order} (labels in the order they were removed or added).
#' @examplesIf seqimp_available() && reticulate::py_module_available("keras")
#' keras <- reticulate::import("keras")
#' set.seed(1)
#' x <- array(runif(64 * 5 * 2), c(64, 5, 2), dimnames = list(NULL, NULL, c("signal", "noise")))
#' y <- rowSums(x[, , "signal"])
#' # A small model, trained briefly: 2 folds x (1 + 2 features) = 6 fits.
#' build <- function(n_features) {
#'   model <- keras$Sequential(list(keras$Input(shape = reticulate::tuple(5L, n_features)),
#'                                  keras$layers$Flatten(), keras$layers$Dense(1L)))
#'   model$compile(optimizer = keras$optimizers$Adam(learning_rate = 0.1), loss = "mse")
#'   model
#' }
#' lofo_importance(build, x, y, fit_kwargs = list(epochs = 20, batch_size = 32), metric = "mse",
#'                 cv = 2, seed = 1, progress = FALSE)
#' @export
lofo_importance <- function(model, x, y, fit_kwargs = NULL, metric = "mae", cv = 5L, mode = "drop",
                            groups = NULL, feature_names = NULL, n_jobs = 1L, checkpoint = NULL,
                            seed = NULL, progress = interactive(), sample_weight = NULL, mask = NULL,
                            mask_value = NULL) {
  args <- retrain_args("lofo_importance", model, x, y, fit_kwargs, metric,
                       arg_label(substitute(metric)), cv, mode, groups, feature_names, n_jobs,
                       checkpoint, seed, progress)
  args$sample_weight <- prepare_weights(sample_weight, "lofo_importance")
  args$mask <- prepare_mask(mask, "lofo_importance")
  args$mask_value <- prepare_mask_value(mask_value, "lofo_importance")
  as_seqimp_importance(call_core(core_module("lofo")$lofo_importance, args))
}

#' @rdname lofo_importance
#' @param direction Character. \code{"backward"} or \code{"forward"}. Default is \code{"backward"}.
#' @export
stepwise_importance <- function(model, x, y, direction = "backward", fit_kwargs = NULL, metric = "mae",
                                cv = 5L, mode = "drop", groups = NULL, feature_names = NULL,
                                n_jobs = 1L, checkpoint = NULL, seed = NULL, progress = interactive(),
                                mask = NULL, mask_value = NULL) {
  fn <- "stepwise_importance"
  args <- retrain_args(fn, model, x, y, fit_kwargs, metric, arg_label(substitute(metric)), cv, mode,
                       groups, feature_names, n_jobs, checkpoint, seed, progress)
  args$mask <- prepare_mask(mask, fn)
  args$mask_value <- prepare_mask_value(mask_value, fn)
  args$direction <- as_string(direction, "direction", fn)
  result <- call_core(core_module("lofo")$stepwise_importance, args)
  with_path(as_seqimp_importance(result), result)
}

retrain_args <- function(fn, model, x, y, fit_kwargs, metric, metric_label, cv, mode, groups,
                         feature_names, n_jobs, checkpoint, seed, progress) {
  data <- prepare_x(x, fn, feature_names)
  n_features <- data$dim[length(data$dim)]
  n_jobs <- as_count(n_jobs, "n_jobs", fn)
  if (n_jobs != 1L && (is.function(model) || is.function(metric))) {
    arg_error("n_jobs", fn, "1 when the model, builder or metric is an R function (R cannot run in worker processes)",
              describe(n_jobs))
  }
  list(
    prepare_builder(model, fn),
    data$py,
    prepare_y(y, data$dim[1L], fn),
    fit_kwargs = prepare_fit_kwargs(fit_kwargs, fn),
    metric = prepare_metric(metric, fn, metric_label),
    cv = prepare_cv(cv, data$dim[1L], fn),
    mode = as_string(mode, "mode", fn),
    groups = prepare_groups(groups, data$names, n_features, fn),
    feature_names = py_names(data$names),
    n_jobs = n_jobs,
    checkpoint = if (is.null(checkpoint)) NULL else path.expand(as_string(checkpoint, "checkpoint", fn)),
    random_state = as_seed(seed, fn),
    progress = as_flag(progress, "progress", fn)
  )
}

prepare_builder <- function(model, fn) {
  if (inherits(model, "python.builtin.object")) return(model)
  if (is.function(model)) {
    force(model)
    builder <- reticulate::r_to_py(convert = TRUE, function(n_features) {
      built <- model(as.integer(n_features))
      if (!inherits(built, "python.builtin.object")) {
        stop(sprintf("the builder must return a compiled keras model; it returned %s", describe(built)),
             call. = FALSE)
      }
      built
    })
    return(py_named(builder, "R builder"))
  }
  arg_error("model", fn, "a compiled keras model, a scikit-learn estimator or an R builder function(n_features)",
            describe(model))
}

# Keras wants integers for these; R users write 20, not 20L.
INTEGER_FIT_ARGS <- c("epochs", "batch_size", "verbose", "steps_per_epoch", "initial_epoch",
                      "validation_steps", "validation_batch_size", "validation_freq")

prepare_fit_kwargs <- function(fit_kwargs, fn) {
  if (is.null(fit_kwargs)) return(NULL)
  if (!is.list(fit_kwargs) || is.data.frame(fit_kwargs) || (length(fit_kwargs) > 0L &&
        (is.null(names(fit_kwargs)) || any(names(fit_kwargs) == "")))) {
    arg_error("fit_kwargs", fn, "a named list of arguments for fit()", describe(fit_kwargs))
  }
  for (key in intersect(names(fit_kwargs), INTEGER_FIT_ARGS)) {
    value <- fit_kwargs[[key]]
    if (is.numeric(value) && length(value) == 1L && !is.na(value) && value == round(value)) {
      fit_kwargs[[key]] <- as.integer(value)
    }
  }
  if ("sample_weight" %in% names(fit_kwargs)) {
    w <- fit_kwargs[["sample_weight"]]
    if (is.numeric(w) && is.null(dim(w))) dim(w) <- length(w)
    fit_kwargs["sample_weight"] <- list(w)
  }
  reticulate::py_dict(names(fit_kwargs), unname(fit_kwargs), convert = FALSE)
}

# A number of folds, a Python splitter, or R folds with 1-based indices -> what the core takes.
prepare_cv <- function(cv, n_samples, fn) {
  if (inherits(cv, "python.builtin.object")) return(cv)
  if (is.numeric(cv) && length(cv) == 1L) return(as_count(cv, "cv", fn))
  expected <- "a number of folds, a scikit-learn splitter, or a list of list(train = , test = ) with 1-based indices"
  if (!is.list(cv) || length(cv) == 0L) arg_error("cv", fn, expected, describe(cv))
  folds <- lapply(seq_along(cv), function(i) {
    fold <- cv[[i]]
    parts <- if (is.list(fold) && all(c("train", "test") %in% names(fold))) fold[c("train", "test")] else fold
    if (!is.list(parts) || length(parts) != 2L) arg_error("cv", fn, expected, sprintf("fold %d as %s", i, describe(fold)))
    lapply(parts, function(idx) {
      if (!is.numeric(idx) || length(idx) == 0L || anyNA(idx) || any(idx != round(idx)) ||
            any(idx < 1 | idx > n_samples)) {
        arg_error("cv", fn, sprintf("folds of 1-based sample indices in 1..%d", n_samples),
                  sprintf("fold %d with %s", i, describe(idx)))
      }
      idx <- as.integer(idx) - 1L
      dim(idx) <- length(idx)
      idx
    })
  })
  reticulate::r_to_py(lapply(folds, function(f) do.call(reticulate::tuple, unname(f))))
}
