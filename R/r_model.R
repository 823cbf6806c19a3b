#' An R model with arguments for predict()
#'
#' Wraps an R function or a fitted R model so that it is called the way you need: with extra arguments
#' for \code{predict()} (such as \code{type = "response"} for a \code{glm}), or with feature names of
#' your own. An R function or fitted model passed directly as \code{model} works without this; the
#' Python core's \code{seqimp.r.r_model()} is the same for rpy2 users.
#'
#' A fitted model is called as \code{predict(model, newdata = , ...)}, with \code{newdata} a
#' data.frame for 2-D \code{x} (the feature names are its column names; when \code{x} is a
#' data.frame, its factors, characters and logicals arrive as they were, factors with their levels) and
#' the array itself for 3-D \code{x}; S4 \code{predict} methods work too. An R function is called as
#' \code{f(x)}.
#'
#' @param model An R \code{function(x)} returning one prediction (or one row) per sample, or a fitted
#'   R model with a \code{predict()} method (S3 or S4).
#' @param ... Named arguments for \code{predict()}, e.g. \code{type = "response"}. Fitted models only.
#' @param feature_names Character. The names the model sees as column names or last dimnames, one per
#'   feature of \code{x}. Default is NULL (the feature names of \code{x}).
#' @return An object of class \code{seqimp_r_model}, to pass as \code{model} to
#'   \code{\link{perturbation_importance}}, \code{\link{permutation_importance}} or
#'   \code{\link{lek_profile}}.
#' @examplesIf seqimp_available()
#' set.seed(1)
#' d <- data.frame(a = rnorm(200), b = rnorm(200))
#' d$y <- rbinom(200, 1, plogis(2 * d$a))
#' fit <- glm(y ~ a + b, family = binomial, data = d)
#' # Probabilities, not the default log-odds:
#' permutation_importance(r_model(fit, type = "response"), d[c("a", "b")], d$y,
#'                        metric = "log_loss", seed = 1)
#' @export
r_model <- function(model, ..., feature_names = NULL) {
  fn <- "r_model"
  core_ready()
  predict_args <- list(...)
  if (length(predict_args) > 0L && (is.null(names(predict_args)) || any(names(predict_args) == ""))) {
    arg_error("...", fn, "named arguments for predict(), e.g. type = \"response\"",
              sprintf("%d unnamed arguments", sum(names(predict_args) == "" | is.null(names(predict_args)))))
  }
  if (!is.null(feature_names) && (!is.character(feature_names) || anyNA(feature_names) ||
                                    length(feature_names) == 0L)) {
    arg_error("feature_names", fn, "a character vector without NA or NULL", describe(feature_names))
  }
  if (is.function(model)) {
    if (length(predict_args) > 0L) {
      arg_error("model", fn, sprintf(paste("a fitted R model with a predict() method for the predict()",
                                           "arguments %s; an R function is called as f(x)"),
                                     describe(names(predict_args))), "an R function")
    }
  } else if (inherits(model, "python.builtin.object") || !r_bridge()$has_predict(model)) {
    arg_error("model", fn, "an R function(x) or a fitted R model with a predict() method", describe(model))
  }
  structure(list(model = model, predict_args = predict_args, feature_names = feature_names),
            class = "seqimp_r_model")
}

#' @export
print.seqimp_r_model <- function(x, ...) {
  kind <- if (is.function(x$model)) "R function" else sprintf("R model of class %s", class(x$model)[1L])
  cat(sprintf("<seqimp_r_model> %s", kind))
  if (length(x$predict_args) > 0L) {
    cat(sprintf(", predict(%s)", paste(names(x$predict_args), "=",
                                       vapply(x$predict_args, function(v) describe(v), ""),
                                       collapse = ", ")))
  }
  if (!is.null(x$feature_names)) cat(sprintf(", feature names %s", describe(x$feature_names)))
  cat("\n")
  invisible(x)
}
