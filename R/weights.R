#' Olden's and Garson's weight-based importance for dense networks
#'
#' Computed from the weights of a Keras network of Dense layers (Dropout, Activation and a leading
#' Flatten are allowed), as NeuralNetTools does for R-native networks. Olden's connection weights
#' are signed (positive pushes the output up); Garson's relative importances sum to 1.
#'
#' Garson's importance is the published method (Garson 1991, in Goh 1995's form) and equals
#' \code{NeuralNetTools::garson()} on the same weights: each hidden unit's absolute input weights are
#' normalised over the inputs, summed over the hidden units, and normalised to sum to 1, so the
#' hidden-to-output weights cancel. It is defined for one hidden layer; deeper networks are refused
#' unless \code{layerwise = TRUE}.
#'
#' @param model A keras model (Keras 3 or tf_keras) made of Dense layers.
#' @param output NULL, integer or character. The last layer's unit explained: a 1-based index, or
#'   \code{"sum"} or \code{"mean"}. Default is NULL (the only unit, or the mean over several).
#' @param granularity Character. \code{"feature"}, or with a leading Flatten also \code{"timestep"}
#'   or \code{"cell"}. Default is \code{"feature"}.
#' @param groups List. Named list of feature names or 1-based feature indices; a group's importance
#'   is the sum over its features. Default is NULL.
#' @param feature_names Character. One name per input feature. Default is NULL (x1, x2, ...).
#' @param layerwise Logical. Garson only: use seqimp's layer-wise extension, which takes any number of
#'   hidden layers by sharing each unit's absolute weight to the output among the units below it in
#'   proportion to their absolute weights into it. It weights hidden units by their output weight, so
#'   even for one hidden layer it differs from the published method. Default is FALSE.
#' @return A \code{seqimp_importance} data.frame with one column in its \code{importances}
#'   attribute.
#' @references Olden, Joy, Death (2004). Ecological Modelling 178, 389-397. Garson (1991). AI Expert
#'   6(4), 46-51. Goh (1995). Artificial Intelligence in Engineering 9, 143-151. Beck (2018).
#'   Journal of Statistical Software 85(11), 1-20.
#' @examplesIf seqimp_available() && reticulate::py_module_available("keras")
#' keras <- reticulate::import("keras")
#' mlp <- keras$Sequential(list(keras$Input(shape = list(4L)),
#'                              keras$layers$Dense(8L, activation = "tanh"), keras$layers$Dense(1L)))
#' olden_importance(mlp, feature_names = c("a", "b", "c", "d"))
#' garson_importance(mlp)
#' @export
olden_importance <- function(model, output = NULL, granularity = "feature", groups = NULL,
                             feature_names = NULL) {
  weight_importance("olden_importance", model, output, granularity, groups, feature_names)
}

#' @rdname olden_importance
#' @export
garson_importance <- function(model, output = NULL, granularity = "feature", groups = NULL,
                              feature_names = NULL, layerwise = FALSE) {
  fn <- "garson_importance"
  weight_importance(fn, model, output, granularity, groups, feature_names,
                    layerwise = as_flag(layerwise, "layerwise", fn))
}

weight_importance <- function(fn, model, output, granularity, groups, feature_names, ...) {
  core_ready()
  if (!inherits(model, "python.builtin.object")) {
    arg_error("model", fn, "a keras model of Dense layers", describe(model))
  }
  if (!is.null(feature_names) && (!is.character(feature_names) || anyNA(feature_names))) {
    arg_error("feature_names", fn, "a character vector or NULL", describe(feature_names))
  }
  n_features <- if (!is.null(feature_names)) length(feature_names) else model_features(model)
  args <- list(
    model,
    output = as_output(output, fn),
    granularity = as_string(granularity, "granularity", fn),
    groups = prepare_groups(groups, feature_names, n_features, fn),
    feature_names = py_names(feature_names),
    ...
  )
  as_seqimp_importance(call_core(seqimp_py[[fn]], args))
}

# The last axis of a Keras model's input shape, or NA where the model does not say.
model_features <- function(model) {
  shape <- tryCatch({
    s <- model$input_shape
    unlist(if (inherits(s, "python.builtin.object")) reticulate::py_to_r(s) else s)
  }, error = function(e) NULL)
  if (length(shape) == 0L) NA_integer_ else as.integer(shape[length(shape)])
}
