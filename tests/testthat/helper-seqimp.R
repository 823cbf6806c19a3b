# Every skip goes through here: under CI=true a missing requirement is a failure, never a skip.
skip_or_fail <- function(message) {
  if (identical(Sys.getenv("CI"), "true")) stop(message, " (under CI=true this fails instead of skipping)")
  testthat::skip(message)
}

skip_if_no_seqimp <- function() {
  if (seqimp_available()) return(invisible(TRUE))
  skip_or_fail(paste("seqimp's Python core is not available:", seqimp:::missing_python_message()))
}

skip_unless_installed <- function(pkg) {
  if (requireNamespace(pkg, quietly = TRUE)) return(invisible(TRUE))
  skip_or_fail(paste0("R package '", pkg, "' is not installed"))
}

# A Python module ("keras", "tf_keras") for tests that build models from R; a failure under CI=true.
import_or_skip <- function(module) {
  skip_if_no_seqimp()
  if (!reticulate::py_module_available(module)) skip_or_fail(paste0("Python module '", module, "' is missing"))
  reticulate::import(module)
}

# y = sum over t and j of w_j * x[, t, j]: the linear sequence model of the closed-form tests.
linear_model <- function(w) {
  force(w)
  function(x) {
    d <- dim(x)
    if (length(d) == 2L) return(drop(x %*% w))
    drop(matrix(x, nrow = d[1L]) %*% rep(w, each = d[2L]))
  }
}

uniform_array <- function(n, timesteps, features, names = NULL, seed = 1) {
  set.seed(seed)
  array(stats::runif(n * timesteps * features), c(n, timesteps, features),
        dimnames = if (is.null(names)) NULL else list(NULL, NULL, names))
}

# A real Python that does not have seqimp: the base interpreter of the virtualenv in use (from its
# pyvenv.cfg), else python3 on the PATH. A failure under CI=true when there is none.
python_without_seqimp <- function() {
  configured <- reticulate::py_config()$python
  cfg <- file.path(dirname(dirname(configured)), "pyvenv.cfg")
  candidates <- character()
  if (file.exists(cfg)) {
    home <- sub("^home\\s*=\\s*", "", grep("^home\\s*=", readLines(cfg), value = TRUE))
    candidates <- file.path(home, c("python3", "python"))
  }
  candidates <- c(candidates, Sys.which("python3"), "/usr/bin/python3")
  for (python in unique(candidates[nzchar(candidates) & file.exists(candidates)])) {
    status <- suppressWarnings(system2(python, c("-c", shQuote("import seqimp")), stdout = FALSE,
                                       stderr = FALSE))
    if (!identical(status, 0L)) return(python)
  }
  skip_or_fail("no Python without seqimp found for the install-message test")
}
