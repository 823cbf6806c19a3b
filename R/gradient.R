#' Gradient importance
#'
#' Importance from the gradients of a Keras model's output with respect to its input: saliency,
#' gradient x input, integrated gradients or SmoothGrad, computed in compiled chunks by the core.
#'
#' @inheritParams perturbation_importance
#' @param model A keras model (Keras 3 with the TensorFlow backend, or tf_keras). R functions cannot
#'   be differentiated; use \code{\link{perturbation_importance}} for them.
#' @param method Character. \code{"saliency"} (|ds/dx|), \code{"gradient_x_input"},
#'   \code{"integrated_gradients"}, \code{"smoothgrad"} or \code{"pad"} (the partial derivatives
#'   method of Dimopoulos et al.: attributions are the signed derivatives, a label's importance the
#'   sum over its cells of their squares, and the result's \code{relative_contribution} attribute is
#'   PaD's relative contribution in \%). Default is \code{"saliency"}.
#' @param baseline NULL, \code{"mean"} or numeric array. Integrated gradients only: the path's
#'   start; an array of length F, a (T, F) matrix or an array of \code{x}'s dims. Default is NULL
#'   (zeros).
#' @param n_steps Integer. Integrated gradients: points on the path (at least 2). Default is 50.
#' @param noise_scale Numeric. SmoothGrad: noise sd as a fraction of each feature's range. Default
#'   is 0.1.
#' @param n_samples Integer. SmoothGrad: noisy copies of \code{x}. Default is 20.
#' @param output NULL, integer or character. The output explained for models with several outputs
#'   per sample: a 1-based index into the flattened per-sample output, a vector of 1-based indices
#'   into its dims (e.g. \code{c(timestep, class)}), or \code{"sum"}, \code{"mean"} or \code{"max"}.
#'   Default is NULL (the only output, or the mean of all).
#' @param categorical_features NULL, character or integer. Features whose values are categories, by
#'   name or 1-based index; gradients need continuous inputs, so naming any (or passing a data.frame
#'   with factor, character or logical columns) is an error that points to
#'   \code{\link{permutation_importance}} and \code{\link{perturbation_importance}}. Default is NULL.
#' @return A \code{seqimp_importance} data.frame whose \code{importances} attribute has one column
#'   per sample, with an \code{attributions} attribute: an array of \code{x}'s dims with dimnames
#'   \code{sample} (\code{x}'s row names, if any), \code{timestep} (\code{"t1"}, \code{"t2"}, ...)
#'   and \code{feature} (the feature names). With \code{method = "pad"}, the attribute
#'   \code{relative_contribution} (named, in \%, summing to 100).
#' @examplesIf seqimp_available() && reticulate::py_module_available("keras")
#' keras <- reticulate::import("keras")
#' model <- keras$Sequential(list(keras$Input(shape = reticulate::tuple(10L, 3L)),
#'                                keras$layers$LSTM(8L), keras$layers$Dense(1L)))
#' x <- array(runif(100 * 10 * 3), c(100, 10, 3), dimnames = list(NULL, NULL, c("a", "b", "c")))
#' r <- gradient_importance(model, x, method = "integrated_gradients", n_steps = 16)
#' r
#' dimnames(attr(r, "attributions"))[2:3]
#' @export
gradient_importance <- function(model, x, method = "saliency", granularity = "feature", groups = NULL,
                                baseline = NULL, n_steps = 50L, noise_scale = 0.1, n_samples = 20L,
                                output = NULL, feature_names = NULL, batch_size = NULL, seed = NULL,
                                progress = NULL, mask = NULL, mask_value = NULL,
                                categorical_features = NULL) {
  fn <- "gradient_importance"
  if (!inherits(model, "python.builtin.object")) {
    arg_error("model", fn, paste("a keras model (R functions cannot be differentiated; use",
                                 "perturbation_importance() or permutation_importance())"), describe(model))
  }
  data <- prepare_x(x, fn, feature_names)
  n_features <- data$dim[length(data$dim)]
  args <- list(
    model,
    data$py,
    method = as_string(method, "method", fn),
    granularity = as_string(granularity, "granularity", fn),
    groups = prepare_groups(groups, data$names, n_features, fn),
    baseline = prepare_baseline(baseline, fn),
    n_steps = as_count(n_steps, "n_steps", fn),
    noise_scale = as_number(noise_scale, "noise_scale", fn),
    n_samples = as_count(n_samples, "n_samples", fn),
    output = as_output(output, fn),
    feature_names = py_names(data$names),
    categorical_features = prepare_categorical(categorical_features, data$names, n_features, fn),
    mask = prepare_mask(mask, fn),
    mask_value = prepare_mask_value(mask_value, fn),
    batch_size = as_count(batch_size, "batch_size", fn, null_ok = TRUE),
    random_state = as_seed(seed, fn)
  )
  bar <- prepare_progress(progress, fn)
  on.exit(bar$close(), add = TRUE)
  args$progress <- bar$py
  result <- call_core(seqimp_py$gradient_importance, args)
  out <- as_seqimp_importance(result)
  if (identical(args$method, "pad")) {
    share <- as.vector(from_py(result$extra[["relative_contribution"]]))
    names(share) <- rownames(attr(out, "importances"))
    attr(out, "relative_contribution") <- share
  }
  # The attributions' samples are x's rows: they keep x's row names where it has them.
  samples <- if (is.array(x)) dimnames(x)[[1L]] else NULL
  attributions <- attr(out, "attributions")
  if (!is.null(samples) && is.array(attributions) && dim(attributions)[1L] == length(samples)) {
    dimnames(attributions)[[1L]] <- samples
    attr(out, "attributions") <- attributions
  }
  out
}

prepare_baseline <- function(baseline, fn) {
  if (is.null(baseline) || (is.character(baseline) && length(baseline) == 1L)) return(baseline)
  if (!(is.numeric(baseline) || is.logical(baseline)) || anyNA(baseline) || length(baseline) == 0L) {
    arg_error("baseline", fn, "NULL, \"mean\" or a numeric array without NA values", describe(baseline))
  }
  if (is.null(dim(baseline))) dim(baseline) <- length(baseline)
  reticulate::r_to_py(baseline)
}

# R's 1-based output indices -> the core's 0-based ones; names pass through.
as_output <- function(output, fn) {
  if (is.null(output)) return(NULL)
  if (is.character(output) && length(output) == 1L && !is.na(output)) return(output)
  if (is.numeric(output) && length(output) >= 1L && !anyNA(output) && all(output == round(output)) &&
        all(output >= 1)) {
    index <- as.integer(output) - 1L
    return(if (length(index) == 1L) index else do.call(reticulate::tuple, as.list(index)))
  }
  arg_error("output", fn, paste("NULL, a 1-based output index, a vector of 1-based indices into the",
                                "output's dims, or \"sum\", \"mean\" or \"max\""), describe(output))
}
