# Calling the Python core: one place that turns Python exceptions into clean R errors, the core's
# submodules, and the R code shared with the core's rpy2 bridge.

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

# Calls the core function `fun` (a Python callable) with the arguments in the list `args`, through
# seqimp._reticulate.call_from_r: a Python exception comes back as an outcome, raised here as a
# seqimp_error with the core's message in R's words (seqimp.errors: R's argument names, NULL, c(...),
# 1-based positions), without class prefix ("ValueError: "), traceback or trailing newline. Returns the
# Python object the core returned (unconverted).
call_core <- function(fun, args = list()) {
  outcome <- do.call(py_helpers()$call_from_r, c(list(fun), args))
  type <- reticulate::py_to_r(outcome$error_type)
  if (!is.null(type)) {
    stop(seqimp_condition(reticulate::py_to_r(outcome$error_message), type))
  }
  outcome$value
}

.state <- new.env(parent = emptyenv())

# A submodule of the core, e.g. core_module("metrics") for seqimp.metrics; with convert = FALSE its
# functions return Python objects, which the caller converts (or passes on) itself.
core_module <- function(name, convert = TRUE) {
  key <- paste0("module_", name, if (convert) "" else "_py")
  if (is.null(.state[[key]])) {
    seqimp_py$`__name__`  # the delayed import, with its "how to install" error, comes first
    .state[[key]] <- reticulate::import(paste0("seqimp.", name), convert = convert)
  }
  .state[[key]]
}

# The core's helpers for this package (seqimp._reticulate): call_from_r, r_predictor, named, and the
# conversions of seqimp.r_convert it re-exports (frame_from_r_parts, result_parts, lek_profile_parts).
py_helpers <- function() core_module("_reticulate", convert = FALSE)

# The R code this package shares with the core's rpy2 bridge (calling an R model on a chunk, data.frames
# as parts, the seqimp_importance constructor) ships inside the Python package, as
# seqimp/adapters/r_bridge.R, and the core says where. Evaluating it gives its functions in a private
# environment (the file says how, for both bridges); done once per session.
r_bridge <- function() {
  if (is.null(.state$bridge)) {
    path <- reticulate::py_to_r(py_helpers()$R_BRIDGE)
    .state$bridge <- source(path, keep.source = FALSE)$value
  }
  .state$bridge
}

# A value the core returned, as an R value (reticulate converts Python objects it was asked not to).
from_py <- function(value) {
  if (inherits(value, "python.builtin.object")) reticulate::py_to_r(value) else value
}

py_named <- function(f, name) {
  helper <- py_helpers()[["named"]]
  helper(f, name)
}
