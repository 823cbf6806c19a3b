# The Python core, filled in .onLoad with a delayed import so that the package loads without Python
# and the user can still choose a Python environment before first use.
seqimp_py <- NULL

# The R code shared with the core (r_bridge.R, sourced at run time) calls S4 predict() methods through
# 'methods'; importing from it here declares the dependency where R CMD check looks for it.
#' @importFrom methods getGeneric selectMethod
NULL

.onLoad <- function(libname, pkgname) {
  seqimp_py <<- reticulate::import("seqimp", delay_load = list(
    priority = 5,
    environment = "r-seqimp",
    on_error = function(e) stop(seqimp_condition(missing_python_message(conditionMessage(e))))
  ))
}

missing_python_message <- function(reason = NULL) {
  python <- tryCatch(reticulate::py_discover_config()$python, error = function(e) NA_character_)
  message <- sprintf(paste0(
    "Python module 'seqimp' was not found in %s. ",
    "Run seqimp::install_seqimp() or set RETICULATE_PYTHON to a Python that has seqimp installed."
  ), if (is.null(python) || is.na(python)) "any Python reticulate could find" else python)
  if (!is.null(reason) && nzchar(reason)) {
    message <- paste0(message, " (Importing it failed with: ", trimws(reason), ")")
  }
  message
}

#' Is the seqimp Python core available?
#'
#' @return Logical. TRUE when Python and the 'seqimp' module can be loaded.
#' @examples
#' seqimp_available()
#' @export
seqimp_available <- function() {
  reticulate::py_available(initialize = TRUE) && reticulate::py_module_available("seqimp")
}

#' Install the seqimp Python core into a virtualenv
#'
#' @param envname Character. Name of the virtualenv. Default is "r-seqimp".
#' @param packages Character. Packages to install. Default installs seqimp with TensorFlow.
#' @param ... Passed to reticulate::py_install().
#' @return Invisibly, NULL.
#' @export
install_seqimp <- function(envname = "r-seqimp", packages = c("seqimp", "tensorflow", "numpy<2"), ...) {
  reticulate::py_install(packages, envname = envname, method = "virtualenv", ...)
  invisible(NULL)
}
