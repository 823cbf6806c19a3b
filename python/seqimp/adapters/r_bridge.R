# The R half of seqimp's bridge to R, written once for both ways in: the seqimp R package (reticulate)
# and seqimp.adapters.r_models (rpy2, in its embedded R) evaluate this file with source(), and its value
# is its functions in a private environment whose parent is base's namespace, as a package's is, so that
# S3 methods defined in the user's session are found and the user's globals never shadow base R.
# Base R only (stats, utils, methods): nothing here calls Python or loads reticulate.
local({

# -- data: which R values are numbers, and as doubles with their feature names ----------------------

value_kind <- function(x) {
  if (is.data.frame(x)) "data.frame"
  else if (is.function(x)) "function"
  else if (is.factor(x)) "factor"
  else if (is.numeric(x) || is.logical(x)) "numeric"
  else "other"
}

# R's NA_real_ is a signalling NaN; casting it to float32 in NumPy warns. A quiet NaN does not.
quiet_na <- function(x) {
  if (anyNA(x)) x[is.na(x)] <- NaN
  x
}

# Numbers as doubles with dims and dimnames kept (NA_integer_ becomes NA_real_, i.e. NaN), plus the
# names of the last axis. A 1-D array is a vector.
as_doubles <- function(x) {
  if (!is.double(x)) storage.mode(x) <- "double"
  x <- quiet_na(x)
  d <- dim(x)
  if (length(d) < 2L) {
    return(list(values = as.vector(x), names = NULL))
  }
  dn <- dimnames(x)
  list(values = x, names = if (is.null(dn)) NULL else dn[[length(d)]])
}

# -- data.frames: an R data.frame as the parts of a pandas DataFrame, and back -----------------------
# Both ways in (rpy2 and reticulate) take a data.frame apart with frame_to_python_parts and build the
# pandas DataFrame from the parts with seqimp.r_convert.frame_from_r_parts; a chunk comes back as
# seqimp.r_convert.frame_to_r_parts, which build_frame makes an R data.frame of: factors keep their
# levels (and whether they are ordered), characters stay characters, logicals logicals, integers integers.

# One column: list(kind, values, levels, ordered, missing, class). kind is "double", "integer",
# "logical", "factor", "character", or "other" (any other class: Date, POSIXct, list or matrix
# columns, ...). values are doubles (NA as NaN), integers, 0/1 for logicals, and 1-based codes into
# levels for factors and characters, with 0 where a value is missing; missing is NULL or a logical
# vector, TRUE where the value is NA. A factor's NA level counts as missing. An integer column with NA
# comes as doubles (NaN), so that the core names the column and row.
frame_column_parts <- function(col) {
  parts <- list(kind = "other", values = NULL, levels = NULL, ordered = FALSE, missing = NULL,
                class = class(col)[1L])
  if (!is.null(dim(col)) || is.list(col)) return(parts)
  if (is.factor(col)) {
    levels <- levels(col)
    codes <- as.integer(col)
    if (anyNA(levels)) {  # addNA(): NA is a level; seqimp reads it as missing
      keep <- !is.na(levels)
      codes <- ifelse(keep, cumsum(keep), NA_integer_)[codes]
      levels <- levels[keep]
    }
    parts[c("kind", "levels", "ordered")] <- list("factor", levels, is.ordered(col))
  } else if (is.character(col)) {
    levels <- unique(col[!is.na(col)])
    codes <- match(col, levels)
    parts[c("kind", "levels")] <- list("character", levels)
  } else if (is.logical(col)) {
    codes <- as.integer(col)
    parts$kind <- "logical"
  } else if (is.numeric(col) && !inherits(col, "integer64")) {
    if (is.integer(col) && !anyNA(col)) {
      parts[c("kind", "values")] <- list("integer", as.vector(col))
    } else {
      parts[c("kind", "values")] <- list("double", quiet_na(as.double(col)))
    }
    return(parts)
  } else {
    return(parts)
  }
  if (anyNA(codes)) {
    parts$missing <- is.na(codes)
    codes[parts$missing] <- 0L
  }
  parts$values <- codes
  parts
}

# Every column's parts, as lists by part: list(names, kinds, values, levels, ordered, missing, classes).
frame_to_python_parts <- function(x) {
  columns <- lapply(unname(as.list(x)), frame_column_parts)
  part <- function(name) lapply(columns, `[[`, name)
  list(names = as.character(names(x)), kinds = vapply(columns, `[[`, "", "kind"), values = part("values"),
       levels = part("levels"), ordered = vapply(columns, `[[`, logical(1), "ordered"),
       missing = part("missing"), classes = vapply(columns, `[[`, "", "class"))
}

# A chunk's parts (seqimp.r_convert.frame_to_r_parts) as an R data.frame with the given column names.
build_frame <- function(names, kinds, values, levels, ordered, missing) {
  columns <- lapply(seq_along(kinds), function(j) {
    frame_column(kinds[[j]], as.vector(values[[j]]), levels[[j]], ordered[[j]], missing[[j]])
  })
  names(columns) <- as.character(unlist(names))
  n <- if (length(columns) > 0L) length(columns[[1L]]) else 0L
  structure(columns, class = "data.frame", row.names = .set_row_names(n))
}

frame_column <- function(kind, v, levels, ordered, missing) {
  if (length(missing) > 0L) {
    missing <- as.logical(missing)
    if (!any(missing)) missing <- NULL
  }
  if (kind %in% c("factor", "character")) {
    v <- as.integer(v)
    if (!is.null(missing)) v[missing] <- NA_integer_
    levels <- as.character(unlist(levels))
    if (kind == "character") return(levels[v])
    return(structure(v, levels = levels, class = c(if (isTRUE(as.logical(ordered))) "ordered", "factor")))
  }
  col <- switch(kind,
                double = as.double(v), integer = as.integer(v), logical = as.logical(v),
                datetime = as.POSIXct(as.double(v), origin = "1970-01-01", tz = "UTC"),
                stop(sprintf("unknown column kind '%s'", kind), call. = FALSE))
  if (!is.null(missing)) col[missing] <- NA
  col
}

# The parts of a chunk, as the R package receives them through reticulate (a named list marked
# seqimp_frame), or anything else.
is_frame_parts <- function(x) is.list(x) && !is.data.frame(x) && isTRUE(x$seqimp_frame)

frame_from_python_parts <- function(x) {
  build_frame(x$names, x$kinds, x$values, x$levels, x$ordered, x$missing)
}

# -- models: which objects are models, and one call of a model on one chunk ---------------------------

# The S4 generic predict() where a method is set for the class of `x` (not only the default that
# every S4 generic derived from stats::predict has); NULL otherwise. stats::predict itself never
# dispatches S4 methods.
s4_predict <- function(x) {
  if (!isS4(x)) return(NULL)
  generic <- methods::getGeneric("predict", mustFind = FALSE, where = globalenv())
  if (is.null(generic)) return(NULL)
  method <- methods::selectMethod("predict", class(x), optional = TRUE, fdef = generic)
  if (is.null(method) || all(method@defined == "ANY")) NULL else generic
}

has_predict <- function(x) {
  if (!is.object(x)) return(FALSE)
  s3 <- any(vapply(class(x), function(k) !is.null(utils::getS3method("predict", k, optional = TRUE)),
                   logical(1)))
  s3 || !is.null(s4_predict(x))
}

# The variables a fitted model reads, where it has terms; NULL where it does not say.
model_variables <- function(model) {
  tt <- tryCatch(stats::delete.response(stats::terms(model)), error = function(e) NULL)
  if (is.null(tt)) NULL else all.vars(tt)
}

# A binomial glm, whose predict() gives log-odds unless asked for type = "response".
is_binomial_glm <- function(model) {
  inherits(model, "glm") && is.list(model$family) &&
    isTRUE(model$family$family %in% c("binomial", "quasibinomial"))
}

# A chunk (values in R's order) as the array or matrix a model sees: the feature names as the last
# dimnames.
shape <- function(v, dims, names) {
  dim(v) <- dims
  dimnames(v) <- c(rep(list(NULL), length(dims) - 1L), list(names))
  v
}

# What a model returned, checked and flattened: list(values = doubles in R's order, dim = its dims).
# `kind` says what returned it: "function" (an R function f(x)) or "model" (predict() of a fitted model).
as_prediction <- function(p, kind = "model") {
  if (is.data.frame(p)) p <- as.matrix(p)
  if (is.factor(p) || !(is.numeric(p) || is.logical(p))) {
    advice <- if (kind == "function") {
      "make it return numbers, one (or one row) per sample (for a classifier, its class probabilities)"
    } else {
      "ask predict() for numbers (for classifiers, e.g. type = \"prob\" or type = \"response\")"
    }
    stop(sprintf("the R %s returned %s, not numbers; %s", kind, paste(class(p), collapse = "/"), advice),
         call. = FALSE)
  }
  if (!is.double(p)) storage.mode(p) <- "double"
  d <- dim(p)
  p <- as.vector(p)
  list(values = p, dim = if (is.null(d)) length(p) else d)
}

# A chunk as a model sees it: a data.frame (X was one) with the feature names as its names, or the
# values (in R's order) as an array (n, T, F) or matrix (n, F) with the feature names as the last
# dimnames.
as_chunk <- function(v, dims, names) {
  if (is_frame_parts(v)) v <- frame_from_python_parts(v)
  if (!is.data.frame(v)) return(shape(v, dims, names))
  names(v) <- names
  v
}

# An R function f(x): x is the chunk as a data.frame, an array (n, T, F) or a matrix (n, F).
call_function <- function(f, v, dims, names) as_prediction(f(as_chunk(v, dims, names)), "function")

# An R function f(x) of several inputs: x is one list (named like the chunks, if they are) of arrays,
# matrices or data.frames, each with its input's feature names.
call_function_several <- function(f, chunks, dims, names) {
  x <- lapply(seq_along(chunks), function(i) as_chunk(chunks[[i]], dims[[i]], names[[i]]))
  names(x) <- names(chunks)
  as_prediction(f(x), "function")
}

# A fitted model: predict(model, newdata = , ...), newdata a data.frame for 2-D chunks (the feature
# names are its column names; a data.frame X's factors stay factors) and the array itself for 3-D ones;
# S4 predict methods too.
call_predict <- function(model, v, dims, names, ...) {
  x <- as_chunk(v, dims, names)
  newdata <- if (length(dims) == 2L && !is.data.frame(x)) as.data.frame(x) else x
  predict <- s4_predict(model)
  if (is.null(predict)) predict <- stats::predict
  as_prediction(predict(model, newdata = newdata, ...), "model")
}

# One call of the function `name` above for rpy2, which would print an R error to the console and prefix
# it with the call: list(value = ) on success, list(error = R's message) on an error.
guarded <- function(name, ...) {
  tryCatch(list(value = get(name)(...)), error = function(e) list(error = conditionMessage(e)))
}

# -- results: the seqimp_importance data.frame ---------------------------------------------------------

# The one constructor of a seqimp_importance data.frame, from the parts of a Python ImportanceResult
# (seqimp.r_convert.result_parts): timesteps come 0-based (-1 for none), and None comes as NULL. In R
# every position counts from 1: the timestep column, the labels ("x1@t1", "t1") and the attributions'
# timestep names.
new_importance <- function(names, feature, timestep, importances, mean, std, method, metric,
                           granularity, baseline_score, columns, attributions = NULL,
                           feature_names = NULL, swapped = NULL, categorical_features = NULL,
                           inference = NULL, extra = NULL, label_extras = NULL) {
  text <- function(value) if (is.null(value)) NA_character_ else as.character(value)
  timestep <- as.integer(timestep)
  names <- one_based_labels(as.character(unlist(names)), timestep)
  out <- data.frame(feature = as.character(unlist(feature)), stringsAsFactors = FALSE)
  # A feature of a 2-D input among timestep or cell labels (several inputs) has no timestep: NA.
  if (granularity != "feature") out$timestep <- ifelse(timestep < 0L, NA_integer_, timestep + 1L)
  out$importance <- as.double(mean)
  out$std <- as.double(std)
  # Inference (seqimp.inference): the columns where the method gives them, and what they mean.
  for (column in c("se", "ci_low", "ci_high", "p_value")) {
    if (!is.null(inference[[column]])) out[[column]] <- as.double(unlist(inference[[column]]))
  }
  for (key in c("df", "estimator", "covers", "why_no_se", "why_no_pvalues")) {
    if (!is.null(inference[[key]])) attr(out, paste0("inference_", key)) <- unlist(inference[[key]])
  }
  if (!is.matrix(importances)) importances <- matrix(importances, nrow = length(names))
  rownames(importances) <- names
  attr(out, "importances") <- importances
  attr(out, "importances_columns") <- text(columns)
  attr(out, "method") <- text(method)
  attr(out, "metric") <- text(metric)
  attr(out, "granularity") <- as.character(granularity)
  attr(out, "baseline_score") <- if (is.null(baseline_score)) NA_real_ else as.double(baseline_score)
  # The categorical features: swapped instead of noised (perturbation), or named (permutation).
  if (length(swapped) > 0L) attr(out, "swapped") <- as.character(unlist(swapped))
  if (length(categorical_features) > 0L) {
    attr(out, "categorical_features") <- as.character(unlist(categorical_features))
  }
  if (!is.null(attributions)) {
    attr(out, "attributions") <- named_attributions(attributions, as.character(unlist(feature_names)))
  }
  # The method's diagnostics (the core's result.extra); `label_extras` names the entries with one row
  # per label, which a subset of the rows cuts too.
  if (length(extra) > 0L) {
    # 1-d arrays (per sample or per label) as plain vectors
    extra[] <- lapply(extra, function(v) if (is.atomic(v) && length(dim(v)) == 1L) as.vector(v) else v)
    attr(extra, "label_extras") <- as.character(unlist(label_extras))
    attr(out, "extra") <- extra
  }
  class(out) <- c("seqimp_importance", "data.frame")
  out
}

# The core names a label at timestep t (0-based) "<name>@t<t>" or "t<t>"; R's count from 1.
one_based_labels <- function(names, timestep) {
  at <- which(timestep >= 0L & endsWith(names, paste0("t", timestep)))
  names[at] <- paste0(substr(names[at], 1L, nchar(names[at]) - nchar(timestep[at])), timestep[at] + 1L)
  names
}

# Attributions of x's dims with dimnames: samples (unnamed), timesteps "t1", "t2", ... and the feature
# names, for (n, T, F) and (n, F) arrays whose last axis has one name per feature.
named_attributions <- function(attributions, feature_names) {
  d <- dim(attributions)
  if (!length(d) %in% c(2L, 3L) || length(feature_names) != d[length(d)]) return(attributions)
  dimnames(attributions) <- if (length(d) == 3L) {
    list(sample = NULL, timestep = paste0("t", seq_len(d[2L])), feature = feature_names)
  } else {
    list(sample = NULL, feature = feature_names)
  }
  attributions
}

environment()
}, envir = new.env(parent = asNamespace("base")))
