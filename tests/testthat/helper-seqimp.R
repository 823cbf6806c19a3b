# Under CI=true a missing Python core is a failure, never a skip.
skip_if_no_seqimp <- function() {
  if (seqimp_available()) return(invisible(TRUE))
  if (identical(Sys.getenv("CI"), "true")) {
    stop("seqimp's Python core is not available under CI=true: ", seqimp:::missing_python_message())
  }
  testthat::skip("seqimp's Python core is not available")
}

# A Python module ("keras", "tf_keras") for tests that build models from R; a failure under CI=true.
import_or_skip <- function(module) {
  skip_if_no_seqimp()
  if (!reticulate::py_module_available(module)) {
    if (identical(Sys.getenv("CI"), "true")) stop("Python module '", module, "' is missing under CI=true")
    testthat::skip(paste0("Python module '", module, "' is not available"))
  }
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
  if (identical(Sys.getenv("CI"), "true")) stop("no Python without seqimp found for the install-message test")
  testthat::skip("no Python without seqimp found")
}
