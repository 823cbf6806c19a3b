# Turning R arguments into what the Python core takes. Each is converted once per call: a numeric
# R array becomes a read-only NumPy view of R's memory (no copy), and the core makes its one copy; a
# data.frame becomes a pandas DataFrame (factors as pandas categoricals with their levels), which the
# core hands back to an R model chunk by chunk as a data.frame. Names, NA checks and R's 1-based
# indices are dealt with here, where R's meaning is known.

X_EXPECTED <- paste("a numeric array (samples, timesteps, features), a numeric matrix",
                    "(samples, features) or a data.frame of atomic columns (numbers, logicals, factors,",
                    "characters, dates, times, ...)")

# x as list(py = NumPy array or pandas DataFrame, names = feature names or NULL, dim = R dims, shape =
# the dims as the core's errors show them). A list of arrays is several model inputs (prepare_several).
prepare_x <- function(x, fn, feature_names = NULL, name = "x") {
  core_ready()
  if (is.list(x) && !is.data.frame(x)) return(prepare_several(x, fn, feature_names, name))
  if (is.data.frame(x)) return(prepare_frame(x, fn, feature_names, name))
  if (!(is.numeric(x) || is.logical(x)) || is.factor(x) || is.object(x)) {
    arg_error(name, fn, X_EXPECTED, describe(x))
  }
  d <- dim(x)
  if (!length(d) %in% c(2L, 3L)) {
    got <- if (is.null(d)) {
      sprintf("a vector of length %d without dims (for one feature use matrix(x, ncol = 1))", length(x))
    } else {
      sprintf("a %d-D array with dims %s", length(d), r_dims(d))
    }
    arg_error(name, fn, X_EXPECTED, got)
  }
  check_x_values(x, d, fn, name)
  names <- x_feature_names(feature_names, dimnames(x)[[length(d)]], d[length(d)], fn)
  list(py = reticulate::r_to_py(x), names = names, dim = d, shape = d)
}

# x must be non-empty and hold no NA, NaN, Inf or -Inf; positions are written as R indexes x.
check_x_values <- function(x, d, fn, name) {
  if (any(d == 0L)) {
    arg_error(name, fn, "non-empty", sprintf("dims %s", r_dims(d)))
  }
  if (anyNA(x)) {
    where <- which(is.na(x))
    first <- arrayInd(where[1L], d)
    stop(seqimp_condition(sprintf(
      "The '%s' argument of %s must not contain NA or NaN values. Got %d, the first at %s[%s].",
      name, fn, length(where), name, paste(first, collapse = ", "))))
  }
  # range() finds an Inf in one pass without allocating; the positions are looked up only then.
  if (is.double(x) && any(is.infinite(range(x)))) {
    where <- which(is.infinite(x))
    first <- arrayInd(where[1L], d)
    stop(seqimp_condition(sprintf(
      "The '%s' argument of %s must not contain Inf or -Inf values. Got %d, the first at %s[%s].",
      name, fn, length(where), name, paste(first, collapse = ", "))))
  }
}

# A data.frame's numeric columns must hold no NA, NaN, Inf or -Inf (its other columns may have NA).
check_frame_numbers <- function(x, fn, name) {
  tests <- list("NA or NaN" = is.na, "Inf or -Inf" = is.infinite)
  for (what in names(tests)) {
    hits <- lapply(x, function(col) {
      if (is.numeric(col) && !is.factor(col)) which(tests[[what]](col)) else integer()
    })
    n <- sum(lengths(hits))
    if (n > 0L) {
      j <- which(lengths(hits) > 0L)[1L]
      stop(seqimp_condition(sprintf(paste(
        "The '%s' argument of %s must not contain %s values in its numeric columns (factor, character",
        "and logical columns may have NA). Got %d, the first at %s[%d, %d] (column '%s')."),
        name, fn, what, n, name, hits[[j]][1L], j, names(x)[j])))
    }
  }
}

# feature_names when given (checked: one per feature), else the names x carries.
x_feature_names <- function(feature_names, carried, n_features, fn) {
  if (is.null(feature_names)) return(carried)
  if (!is.character(feature_names) || anyNA(feature_names) || length(feature_names) != n_features) {
    arg_error("feature_names", fn, sprintf("a character vector with one name per feature (%d)", n_features),
              describe(feature_names))
  }
  feature_names
}

# A data.frame as a pandas DataFrame: doubles and integers as numbers (no NA, NaN or Inf there),
# logicals as booleans, factors as categoricals with their levels (ordered ones ordered) and characters
# as strings, which may have NA. The core treats every non-numeric column as categorical, and an R
# model gets each chunk back as a data.frame with the same column types and levels (r_bridge()'s
# frame_to_python_parts takes it apart, seqimp.r_convert.frame_from_r_parts builds the DataFrame).
prepare_frame <- function(x, fn, feature_names, name) {
  d <- dim(x)
  if (any(d == 0L)) {
    arg_error(name, fn, "non-empty", sprintf("a data.frame with dims %s", r_dims(d)))
  }
  classed <- classed_as_codes(x)
  x <- classed$x
  parts <- r_bridge()$frame_to_python_parts(x)
  bad <- parts$kinds == "other"
  if (any(bad)) {
    arg_error(name, fn, X_EXPECTED, sprintf("a data.frame with columns %s", paste(
      sprintf("'%s' (%s)", parts$names[bad], parts$classes[bad]), collapse = ", ")))
  }
  check_frame_numbers(x, fn, name)
  with_dim <- function(v) {
    if (!is.null(v)) dim(v) <- length(v)
    v
  }
  py <- py_helpers()$frame_from_r_parts(as.list(parts$names), as.list(parts$kinds), lapply(parts$values, with_dim),
                                        lapply(parts$levels, as.list), as.list(parts$ordered),
                                        lapply(parts$missing, with_dim))
  list(py = py, names = x_feature_names(feature_names, names(x), d[2L], fn), dim = d, shape = d,
       restore = classed$values)
}

# Columns of an R type the core has no kind for (Date, POSIXct, difftime and any other classed vector,
# complex, raw) go to the core as factors of codes into their distinct values, so they are categorical
# (only moved between samples, never noised); `values` keeps those distinct values, by column name, and
# restore_classed() puts them back before the model sees a chunk, so it gets the column as it was.
classed_as_codes <- function(x) {
  values <- list()
  plain <- function(col) {
    is.null(dim(col)) && (is.factor(col) || (!is.object(col) && (is.numeric(col) || is.logical(col) ||
                                                                   is.character(col))))
  }
  for (j in seq_along(x)) {
    col <- x[[j]]
    if (!is.atomic(col) || !is.null(dim(col)) || plain(col)) next
    present <- col[!is.na(col)]
    distinct <- present[!duplicated(present)]  # `[` keeps the class, where unique() may not (difftime)
    values[[names(x)[j]]] <- distinct
    x[[j]] <- structure(match(col, distinct), levels = make.unique(format(distinct)), class = "factor")
  }
  list(x = x, values = values)
}

# A chunk (a data.frame of codes for the classed columns) with those columns as they were in x.
restore_classed <- function(frame, values) {
  for (name in names(values)) frame[[name]] <- values[[name]][as.integer(frame[[name]])]
  frame
}

# y as a NumPy array with one row per sample.
prepare_y <- function(y, n_samples, fn, name = "y") {
  if (is.data.frame(y)) y <- as.matrix(y)
  if (is.factor(y)) {
    arg_error(name, fn, "numbers (for class labels use as.integer(y) - 1L)", "a factor")
  }
  if (!(is.numeric(y) || is.logical(y)) || is.object(y) || length(y) == 0L) {
    arg_error(name, fn, "a numeric vector, matrix or array", describe(y))
  }
  rows <- if (is.null(dim(y))) length(y) else dim(y)[1L]
  if (rows != n_samples) {
    arg_error(name, fn, sprintf("one value (or row) per sample of x (%d)", n_samples), describe(y))
  }
  if (anyNA(y)) {
    stop(seqimp_condition(sprintf("The '%s' argument of %s must not contain NA or NaN values. Got %d.",
                                  name, fn, sum(is.na(y)))))
  }
  # Without dims reticulate makes a Python list (or a scalar for length 1); with them, an ndarray.
  if (is.null(dim(y))) dim(y) <- length(y)
  reticulate::r_to_py(y)
}

# Several model inputs (a sequence plus static covariates): a list of arrays or matrices, named by
# the model's input names (a Python dict) or in its input order (a Python list). Each is prepared as
# one x; its feature names come from its own dimnames, or from feature_names, a list keyed like x.
# The result's names are a list of name vectors, one per input, dim is c(samples, all features), and
# shape a list of each input's dims (keyed like x).
prepare_several <- function(x, fn, feature_names = NULL, name = "x") {
  keys <- names(x)
  if (length(x) == 0L || (!is.null(keys) && (anyNA(keys) || any(keys == "") || anyDuplicated(keys)))) {
    arg_error(name, fn, "a non-empty list of arrays or matrices, with a unique name for every element or none",
              describe(x))
  }
  if (!is.null(feature_names) && (!is.list(feature_names) || (is.null(names(feature_names)) &&
                                                                length(feature_names) != length(x)))) {
    arg_error("feature_names", fn, sprintf("a list keyed like x with one character vector (or NULL) per input (%d)",
                                           length(x)), describe(feature_names))
  }
  parts <- lapply(seq_along(x), function(i) {
    label <- if (is.null(keys)) sprintf("%s[[%d]]", name, i) else sprintf("%s[[\"%s\"]]", name, keys[[i]])
    given <- if (is.null(feature_names)) NULL else if (is.null(names(feature_names))) feature_names[[i]]
             else feature_names[[keys[[i]]]]
    prepare_x(x[[i]], fn, given, label)
  })
  widths <- vapply(parts, function(p) p$dim[length(p$dim)], integer(1))
  names_list <- lapply(seq_along(parts), function(i) default_names(parts[[i]]$names, widths[[i]]))
  arrays <- lapply(parts, `[[`, "py")
  names(names_list) <- keys
  shapes <- lapply(parts, `[[`, "dim")
  names(shapes) <- keys
  py <- if (is.null(keys)) reticulate::r_to_py(arrays) else reticulate::py_dict(keys, arrays, convert = FALSE)
  list(py = py, names = names_list, dim = c(parts[[1L]]$dim[1L], sum(widths)), shape = shapes)
}

# A character vector as a Python list, even of length 1 (reticulate would make a str of that); a list
# of them (several inputs) as a list or, when named, a dict of such lists.
py_names <- function(names) {
  if (is.null(names)) return(NULL)
  if (is.list(names)) {
    out <- lapply(names, py_names)
    return(if (is.null(names(names))) out else reticulate::py_dict(names(names), unname(out), convert = FALSE))
  }
  as.list(as.character(names))
}

# mask: NULL (automatic), FALSE (off), a logical matrix (samples x timesteps, TRUE for a real step), or
# a list of them keyed like x (NULL for an input without padding). mask_value: NULL, a number, or a
# list of numbers keyed like x. Shapes are checked by the core, which names the argument.
prepare_mask <- function(mask, fn, name = "mask") {
  if (is.null(mask) || isFALSE(mask)) return(mask)
  if (is.list(mask) && !is.data.frame(mask)) {
    out <- lapply(mask, function(m) prepare_mask(m, fn, name))
    return(if (is.null(names(mask))) out else reticulate::py_dict(names(mask), unname(out), convert = FALSE))
  }
  if (!is.logical(mask) || length(dim(mask)) != 2L || anyNA(mask)) {
    arg_error(name, fn, paste("NULL, FALSE, or a logical matrix (samples x timesteps) with TRUE for a real",
                              "step (a list of them keyed like x for several inputs)"), describe(mask))
  }
  reticulate::r_to_py(mask)
}

prepare_mask_value <- function(mask_value, fn) {
  if (is.null(mask_value)) return(NULL)
  if (is.list(mask_value)) {
    out <- lapply(mask_value, function(v) prepare_mask_value(v, fn))
    if (is.null(names(mask_value))) return(out)
    return(reticulate::py_dict(names(mask_value), unname(out), convert = FALSE))
  }
  as_number(mask_value, "mask_value", fn)
}

default_names <- function(names, n_features) {
  if (is.null(names)) paste0("x", seq_len(n_features)) else names
}

# A Keras model (a Python object) passes through; an R function f(x), or a fitted R model with a
# predict() method (S3 or S4), is wrapped so that Python calls it once per chunk of perturbed copies.
# How it is called is the R code shared with the core's rpy2 bridge (r_bridge()); what it is to the core
# (chunk sizes, the check of a fitted model's variables against the names, errors naming x) is the
# core's RChunkPredictor, as for rpy2. `data` is what prepare_x returned.
prepare_model <- function(model, fn, data, name = "model") {
  if (inherits(model, "python.builtin.object")) return(model)
  # x's dims for the core's errors: a vector as a Python list (even of length 1), several as a list or dict.
  x_shape <- if (is.list(data$shape)) lapply(data$shape, as.list) else as.list(data$shape)
  if (is.list(data$names)) {  # several inputs: an R function gets them as a list, keyed like x
    if (!is.function(model)) {
      arg_error(name, fn, paste("a keras model or an R function(x) taking a list of arrays, when x is a",
                                "list of inputs"), describe(model))
    }
    return(py_helpers()$r_predictor(r_chunk_call_several(model, data$names), "R function", x_shape = x_shape))
  }
  n_features <- data$dim[length(data$dim)]
  names <- default_names(data$names, n_features)
  predict_args <- list()
  if (inherits(model, "seqimp_r_model")) {  # from r_model(): its names and predict() arguments
    if (!is.null(model$feature_names)) {
      if (length(model$feature_names) != n_features) {
        arg_error(name, fn, sprintf("an r_model() with one feature name per feature of x (%d)", n_features),
                  sprintf("%d feature names", length(model$feature_names)))
      }
      names <- model$feature_names
    }
    predict_args <- model$predict_args
    model <- model$model
  }
  bridge <- r_bridge()
  if (is.function(model)) {
    return(py_helpers()$r_predictor(r_chunk_call(bridge$call_function, model, names, restore = data$restore),
                                    "R function", as.list(names), x_shape = x_shape))
  }
  if (bridge$has_predict(model)) {
    variables <- bridge$model_variables(model)
    return(py_helpers()$r_predictor(r_chunk_call(bridge$call_predict, model, names, predict_args,
                                                 restore = data$restore), "R model",
                                    as.list(names), if (is.null(variables)) NULL else as.list(variables),
                                    x_shape = x_shape))
  }
  arg_error(name, fn, paste("a keras model (a Python object, e.g. from keras or reticulate),",
                            "an R function(x) returning predictions, or a fitted R model with a",
                            "predict() method"), describe(model))
}

# The chunk arrives from NumPy as an R array (m, T, F) or matrix (m, F) of doubles, or, when x is a
# data.frame, as the parts of one (seqimp.r_convert.frame_to_r_parts: reticulate's own conversion of a
# pandas DataFrame would turn NA strings into "NA" and NA logicals into TRUE), and `call` (the bridge's
# call_function or call_predict) gives it to the model as an array with the feature names as its last
# dimnames, or as a data.frame with factors and their levels (and predict()'s extra arguments); the
# answer goes back as an R array, so that a one-row chunk still returns an array rather than a Python
# scalar.
r_chunk_call <- function(call, model, names, predict_args = list(), restore = NULL) {
  force(call)
  force(model)
  force(names)
  force(predict_args)
  force(restore)
  reticulate::r_to_py(convert = TRUE, function(x) {
    if (length(restore) > 0L) x <- restore_classed(r_bridge()$as_chunk(x, NULL, names), restore)
    out <- do.call(call, c(list(model, x, dim(x), names), predict_args))
    array(out$values, dim = out$dim)
  })
}

# Several inputs: the chunk arrives as a list (or, keyed, a named list) of R arrays or matrices (or
# data.frame parts); the bridge's call_function_several gives each its feature names and calls the
# model once with the whole list.
r_chunk_call_several <- function(model, names) {
  force(model)
  force(names)
  bridge <- r_bridge()
  reticulate::r_to_py(convert = TRUE, function(x) {
    out <- bridge$call_function_several(model, x, lapply(x, dim), unname(names))
    array(out$values, dim = out$dim)
  })
}

# A metric name passes through; an R function(y_true, y_pred) becomes a seqimp Metric.
prepare_metric <- function(metric, fn, label = "custom", name = "metric") {
  if (is.character(metric) && length(metric) == 1L && !is.na(metric)) return(metric)
  if (inherits(metric, "python.builtin.object")) return(metric)
  if (is.function(metric)) return(seqimp_metric(metric, name = label))
  arg_error(name, fn, "a metric name such as \"mae\", an R function(y_true, y_pred) or a seqimp_metric()",
            describe(metric))
}

# An effect name passes through; an R function(original, perturbed) becomes a named Python callable.
prepare_effect <- function(effect, fn, label = "custom") {
  if (is.character(effect) && length(effect) == 1L && !is.na(effect)) return(effect)
  if (is.function(effect)) return(py_named(r_scorer(effect, "effect"), label))
  arg_error("effect", fn, "\"rms\", \"mae\" or an R function(original, perturbed)", describe(effect))
}

# A name for a function argument: the symbol the caller wrote, else "custom".
arg_label <- function(expr) {
  if (is.symbol(expr)) as.character(expr) else "custom"
}

drop_1d <- function(a) if (length(dim(a)) == 1L) as.vector(a) else a

r_scorer <- function(f, what) {
  force(f)
  reticulate::r_to_py(convert = TRUE, function(a, b) {
    value <- f(drop_1d(a), drop_1d(b))
    if (!is.numeric(value) || length(value) != 1L) {
      stop(sprintf("the %s function must return one number; it returned %s", what, describe(value)),
           call. = FALSE)
    }
    as.double(value)
  })
}

# Features named or numbered by the caller (groups' members, categorical_features, lek_profile's
# features) as the core takes them: a list of names, or of the core's 0-based indices. Names must be
# among `known` (when given); indices in 1..n_features (n_features NA: not known here). `where` begins
# the messages ("The 'groups' argument of f: group 'g'"). NULL when `value` is neither names nor whole
# numbers, for the caller's own message.
feature_refs <- function(value, n_features, where, known = NULL) {
  if (is.character(value) && length(value) > 0L && !anyNA(value)) {
    unknown <- setdiff(value, known)
    if (!is.null(known) && length(unknown) > 0L) {
      stop(seqimp_condition(sprintf("%s names %s, which x does not have; x's features are %s.", where,
                                    describe(unknown, Inf), describe(known, Inf))))
    }
    return(as.list(value))
  }
  if (is.numeric(value) && !is.object(value) && length(value) > 0L && !anyNA(value) &&
        all(value == round(value))) {
    bad <- value < 1 | (!is.na(n_features) & value > n_features)
    if (any(bad)) {
      has <- if (is.na(n_features)) "indices from 1" else sprintf("features 1..%d", n_features)
      stop(seqimp_condition(sprintf("%s names feature index %s, but x has %s.", where, format(value[bad][1L]),
                                    has)))
    }
    return(as.list(as.integer(value) - 1L))
  }
  NULL
}

# groups: a named list of feature names or 1-based feature indices -> a Python dict with 0-based
# indices, which is what the core takes (the core checks the names).
prepare_groups <- function(groups, names, n_features, fn) {
  if (is.null(groups)) return(NULL)
  expected <- "a named list of feature names or 1-based feature indices"
  if (!is.list(groups) || is.data.frame(groups) || length(groups) == 0L || is.null(names(groups)) ||
        anyNA(names(groups)) || any(names(groups) == "")) {
    arg_error("groups", fn, expected, describe(groups))
  }
  members <- lapply(names(groups), function(g) {
    where <- sprintf("The 'groups' argument of %s: group '%s'", fn, g)
    refs <- feature_refs(groups[[g]], n_features, where)
    if (is.null(refs)) arg_error("groups", fn, expected, sprintf("group '%s' as %s", g, describe(groups[[g]])))
    refs
  })
  reticulate::py_dict(names(groups), members, convert = FALSE)
}

# categorical_features: NULL, feature names or 1-based feature indices -> a Python list of names or
# 0-based indices, which is what the core takes. Factor, character and logical columns of a data.frame
# are categorical without being named. Names of several inputs' features ("static.x1") are checked by
# the core.
prepare_categorical <- function(categorical_features, names, n_features, fn) {
  if (is.null(categorical_features)) return(NULL)
  known <- if (is.list(names)) NULL else default_names(names, n_features)
  refs <- feature_refs(categorical_features, n_features,
                       sprintf("The 'categorical_features' argument of %s", fn), known)
  if (is.null(refs)) {
    arg_error("categorical_features", fn, "NULL, a character vector of feature names or 1-based feature indices",
              describe(categorical_features))
  }
  refs
}
