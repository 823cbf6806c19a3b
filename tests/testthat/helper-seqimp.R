# Under CI=true a missing Python core is a failure, never a skip.
skip_if_no_seqimp <- function() {
  if (seqimp_available()) return(invisible(TRUE))
  if (identical(Sys.getenv("CI"), "true")) {
    stop("seqimp's Python core is not available under CI=true: ", seqimp:::missing_python_message())
  }
  testthat::skip("seqimp's Python core is not available")
}
