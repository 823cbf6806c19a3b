#' Perturbation (sensitivity) importance
#'
#' For every variable (a feature, a timestep, a cell or a group), a copy of \code{x} has that
#' variable's values perturbed; the importance is how much the model's predictions change. The
#' perturbed copies are streamed through the model in chunks by the Python core (one compiled
#' forward pass per chunk for Keras models).
#'
#' @param model The model. A keras model (Keras 3 or tf_keras; what the R keras packages and
#'   \code{reticulate::import("keras")} return), an R \code{function(x)} returning one prediction
#'   (or one row of predictions) per sample, or a fitted R model with a \code{predict()} method. An
#'   R function gets an array (samples, timesteps, features), or a matrix for 2-D \code{x}, with the
#'   feature names as its last dimnames; when \code{x} is a data.frame, an R function or fitted model
#'   gets a data.frame with the same column types (factors with the same levels, ordered ones
#'   ordered; characters; logicals; integers; doubles), so \code{predict(fit, newdata = )} of an
#'   \code{lm} or \code{glm} fitted on factors just works.
#' @param x Numeric array of dims (samples, timesteps, features), matrix (samples, features) or
#'   data.frame. Feature names come from \code{dimnames(x)[[3]]}, or the column names of a matrix or
#'   data.frame. No NA values in numbers. A data.frame's columns may be doubles, integers, logicals,
#'   factors, characters or any other atomic type (\code{Date}, \code{POSIXct}, \code{difftime},
#'   complex, raw); every column that is not numbers is categorical (see \code{categorical_features}),
#'   may hold NA, and reaches an R model as it is (its class, levels, time zone and units kept). A
#'   keras model takes
#'   numeric columns only. For a model with several inputs (a sequence plus
#'   static covariates), a list of such arrays and matrices with the same number of samples: named by
#'   the model's input names, or in its input order. Every feature of every input gets a row; a name
#'   two inputs share is prefixed with the input's name (\code{"static.x1"}). An R function model then
#'   gets a list of arrays keyed like \code{x}.
#' @param noise Character. \code{"gaussian"} adds N(0, scale); \code{"uniform"} adds U(-scale,
#'   scale); \code{"zero"} sets to 0; \code{"mean"} sets to the feature's mean; \code{"swap"} takes
#'   another sample's values. Default is \code{"gaussian"}.
#' @param scale Numeric. Noise scale (sd for gaussian, half-width for uniform). Default is 0.2.
#' @param scale_by_std Logical. Multiply \code{scale} by each feature's standard deviation. Default
#'   is FALSE.
#' @param effect Character or function. \code{"rms"} (root-mean-square change of the predictions),
#'   \code{"mae"} (mean absolute change), or an R \code{function(original, perturbed)} returning
#'   one number. Default is \code{"rms"}.
#' @param n_repeats Integer. Independent perturbations per variable. Default is 1.
#' @param granularity Character. \code{"feature"}, \code{"timestep"} or \code{"cell"}. Default is
#'   \code{"feature"}.
#' @param groups List. Named list of feature names or 1-based feature indices, perturbed together;
#'   one row per group. Default is NULL.
#' @param feature_names Character. One name per feature; overrides the names \code{x} carries. For a
#'   list \code{x}, a list keyed like \code{x} of character vectors (or NULL). Default is NULL.
#' @param output NULL, integer or character. Which prediction is explained, as in
#'   \code{\link{gradient_importance}}: a 1-based index into the flattened per-sample output, a vector
#'   of 1-based indices into its dims (e.g. \code{c(timestep, class)}), or \code{"sum"}, \code{"mean"}
#'   or \code{"max"}. Default is NULL (the whole prediction).
#' @param mask NULL, FALSE, logical matrix or list. Padded sequences: a logical matrix (samples x
#'   timesteps), TRUE for a real step; for several sequence inputs a list keyed like \code{x}. NULL
#'   finds the padding from a keras \code{Masking} layer; FALSE turns that off. Padded cells are never
#'   perturbed, and means and standard deviations use real cells only. Default is NULL.
#' @param mask_value NULL or numeric. For any model: a step is padding where every feature of its
#'   input equals this value (a list keyed like \code{x} for one value per input). Not with
#'   \code{mask}. Default is NULL.
#' @param batch_size Integer. Rows per forward call; results do not depend on it. Default is NULL
#'   (the core chooses).
#' @param seed Integer. Random seed; the same seed gives the same numbers as the Python core's
#'   \code{random_state}. Default is NULL: the seed is drawn from R's random number generator, so
#'   \code{set.seed()} before the call makes it reproducible.
#' @param progress NULL, logical or function. A progress bar (\code{utils::txtProgressBar}) over the
#'   rows streamed through the model: NULL shows it in interactive sessions once a run has taken a few
#'   seconds, TRUE always, FALSE never; an R \code{function(done, total)} is called after every chunk
#'   instead. Default is NULL.
#' @param categorical_features NULL, character or integer. Features whose values are categories, by
#'   name or 1-based index. Their cells are never noised, zeroed or averaged: whatever \code{noise}
#'   says, each is swapped with another, randomly chosen sample's value, so the model only ever sees
#'   values the data has. Factor, character and logical columns of a data.frame are categorical
#'   without being named here. Default is NULL.
#' @return A \code{seqimp_importance} data.frame (see \code{\link{as_seqimp_importance}}) with
#'   \code{n_repeats} columns in its \code{importances} attribute, and a \code{swapped} attribute
#'   naming the categorical features (swapped instead of noised) when there are any.
#' @examplesIf seqimp_available()
#' x <- array(runif(300 * 5 * 3), c(300, 5, 3), dimnames = list(NULL, NULL, c("a", "b", "c")))
#' linear <- function(x) x[, , "a"] %*% rep(1, 5) + 0.5 * x[, , "b"] %*% rep(1, 5)
#' r <- perturbation_importance(linear, x, n_repeats = 3, seed = 1)
#' r
#' if (requireNamespace("ggplot2", quietly = TRUE)) plot(r)
#'
#' # A data.frame with a factor and an lm: the factor is swapped between samples, never noised.
#' d <- data.frame(num = rnorm(200), fac = factor(sample(c("lo", "hi"), 200, TRUE)), junk = rnorm(200))
#' fit <- lm(y ~ num + fac, data = cbind(d, y = d$num + (d$fac == "hi")))
#' r <- perturbation_importance(fit, d, seed = 1)
#' attr(r, "swapped")
#' @export
perturbation_importance <- function(model, x, noise = "gaussian", scale = 0.2, scale_by_std = FALSE,
                                    effect = "rms", n_repeats = 1L, granularity = "feature",
                                    groups = NULL, feature_names = NULL, batch_size = NULL,
                                    seed = NULL, progress = NULL, output = NULL, mask = NULL,
                                    mask_value = NULL, categorical_features = NULL) {
  fn <- "perturbation_importance"
  data <- prepare_x(x, fn, feature_names)
  n_features <- data$dim[length(data$dim)]
  args <- list(
    prepare_model(model, fn, data),
    data$py,
    noise = as_string(noise, "noise", fn),
    scale = as_number(scale, "scale", fn),
    scale_by_std = as_flag(scale_by_std, "scale_by_std", fn),
    effect = prepare_effect(effect, fn, arg_label(substitute(effect))),
    n_repeats = as_count(n_repeats, "n_repeats", fn),
    granularity = as_string(granularity, "granularity", fn),
    groups = prepare_groups(groups, data$names, n_features, fn),
    feature_names = py_names(data$names),
    categorical_features = prepare_categorical(categorical_features, data$names, n_features, fn),
    output = as_output(output, fn),
    mask = prepare_mask(mask, fn),
    mask_value = prepare_mask_value(mask_value, fn),
    batch_size = as_count(batch_size, "batch_size", fn, null_ok = TRUE),
    random_state = as_seed(seed, fn)
  )
  bar <- prepare_progress(progress, fn)
  on.exit(bar$close(), add = TRUE)
  args$progress <- bar$py
  as_seqimp_importance(call_core(seqimp_py$perturbation_importance, args))
}
