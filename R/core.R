# Calling the Python core: one place that turns Python exceptions into clean R errors, and a few
# Python helpers evaluated once per session.

# A classed R error: tryCatch(..., seqimp_error = ) catches every error seqimp raises; `python_type`
# keeps the Python exception's name ("ValueError") where the error came from the core.
seqimp_condition <- function(message, python_type = NA_character_) {
  structure(class = c("seqimp_error", "error", "condition"),
            list(message = message, call = NULL, python_type = python_type))
}

# Imports the core now (it is a delayed import), so that a missing Python or module gives the
# "how to install" message before any data is converted.
core_ready <- function() {
  if (isTRUE(.state$core_ok)) return(invisible(TRUE))
  # capture.output: on a repeated failure reticulate str()s its configuration to the console.
  utils::capture.output(loaded <- tryCatch({
    seqimp_py$`__name__`
    TRUE
  }, error = identity))
  if (!isTRUE(loaded)) {
    # The first failed access reports through .onLoad's on_error; later ones get reticulate's own
    # message with a dump of its configuration, replaced here by the same clear message.
    message <- conditionMessage(loaded)
    if (!startsWith(message, "Python module 'seqimp'")) message <- missing_python_message()
    stop(seqimp_condition(message))
  }
  .state$core_ok <- TRUE
  invisible(TRUE)
}

# Runs `fun(...)` (a core function) and re-raises a Python exception as an R error with the same
# message, without reticulate's prefix or traceback.
call_core <- function(fun, ...) {
  reticulate::py_last_error(NULL)
  tryCatch(fun(...), error = function(e) stop(as_seqimp_error(e)))
}

as_seqimp_error <- function(e) {
  if (inherits(e, "seqimp_error")) return(e)
  message <- conditionMessage(e)
  last <- tryCatch(reticulate::py_last_error(), error = function(err) NULL)
  if (!is.null(last) && is.character(last$type) &&
        startsWith(message, paste0(last$type, ":"))) {
    return(seqimp_condition(last$value, last$type))
  }
  seqimp_condition(message)
}

.state <- new.env(parent = emptyenv())

# A submodule of the core, e.g. core_module("metrics") for seqimp.metrics.
core_module <- function(name) {
  key <- paste0("module_", name)
  if (is.null(.state[[key]])) {
    seqimp_py$`__name__`  # the delayed import, with its "how to install" error, comes first
    .state[[key]] <- reticulate::import(paste0("seqimp.", name))
  }
  .state[[key]]
}

# Small Python functions the R side needs, defined once in their own namespace (never __main__;
# py_run_string(local = TRUE) keeps names out of it but gives functions __main__'s globals, hence
# the import inside).
py_helpers <- function() {
  if (is.null(.state$helpers)) {
    .state$helpers <- reticulate::py_run_string(local = TRUE, convert = FALSE, code = "
def result_parts(r):
    import numpy as _np
    labels = r.labels
    return {
        'names': [str(l.name) for l in labels],
        'feature': ['(all)' if l.feature is None else str(l.feature) for l in labels],
        'timestep': _np.array([-1 if l.timestep is None else int(l.timestep) for l in labels],
                              dtype=_np.int32).reshape(-1),
        'importances': _np.asarray(r.importances, dtype=_np.float64),
        'mean': _np.asarray(r.importances_mean, dtype=_np.float64).reshape(-1),
        'std': _np.asarray(r.importances_std, dtype=_np.float64).reshape(-1),
        'method': None if r.method is None else str(r.method),
        'metric': None if r.metric is None else str(r.metric),
        'granularity': str(r.granularity),
        'baseline_score': None if r.baseline_score is None else float(r.baseline_score),
        'attributions': r.attributions,
    }

def lek_profile_parts(*args, **kwargs):
    import numpy as _np
    from seqimp.lek import lek_profile
    frame = lek_profile(*args, **kwargs)
    return {
        'feature': [str(f) for f in frame['feature']],
        'quantile': _np.asarray(frame['quantile'], dtype=_np.float64),
        'value': _np.asarray(frame['value'], dtype=_np.float64),
        'response': _np.asarray(frame['response'], dtype=_np.float64),
        'output': frame.attrs.get('output'),
    }

def named(f, name):
    # An R function wrapped by reticulate has no useful __name__; results show this one.
    def fn(*args):
        return f(*args)
    fn.__name__ = fn.__qualname__ = str(name)
    return fn
")
  }
  .state$helpers
}

r_value <- function(value) {
  if (inherits(value, "python.builtin.object")) reticulate::py_to_r(value) else value
}

py_named <- function(f, name) {
  helper <- py_helpers()[["named"]]
  helper(f, name)
}
