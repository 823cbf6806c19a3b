# Builds the R site with pkgdown (`make docs` runs it as `Rscript docs/pkgdown.R site/r`).
#
# The package is the one `make setup` installed into .Rlib (R_LIBS), so nothing is reinstalled
# here; the Rd examples on the reference pages and the vignettes (articles) run against it, with the
# Python core from RETICULATE_PYTHON. Any R warning during the build is an error, and so is an error
# in an example: pkgdown itself would show it on the page and carry on.

args <- commandArgs(trailingOnly = TRUE)
destination <- if (length(args) >= 1L) args[[1L]] else "site/r"

options(pkgdown.internet = FALSE)  # no CRAN look-ups: the build machines cannot reach CRAN
unlink(destination, recursive = TRUE)

withCallingHandlers(
  pkgdown::build_site(".", override = list(destination = destination), preview = FALSE,
                      devel = FALSE, new_process = FALSE, install = FALSE),
  warning = function(w) {
    stop("pkgdown build: a warning is an error here: ", conditionMessage(w), call. = FALSE)
  }
)

# pkgdown renders an example that fails as an error on the page and goes on; here it fails the build.
pages <- list.files(file.path(destination, "reference"), pattern = "\\.html$", full.names = TRUE)
failed <- Filter(function(page) any(grepl("class=\"r-err", readLines(page, warn = FALSE), fixed = TRUE)),
                 pages)
if (length(failed)) {
  stop("examples failed on: ", paste(basename(failed), collapse = ", "), call. = FALSE)
}
cat("pkgdown site written to", destination, "\n")
