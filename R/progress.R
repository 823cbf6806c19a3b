# Progress on long runs, drawn by R: the core calls progress(done, total) after every chunk of rows
# (seqimp.progress), and this drives utils::txtProgressBar, the bar R users know from base R.
# progress = NULL (the default) shows it in interactive sessions once a run has taken a few seconds, so
# short calls and scripts stay quiet; TRUE shows it from the start; FALSE never; an R
# function(done, total) is called instead.

# Seconds a run must have taken before the default bar appears (as the core's tqdm delay).
PROGRESS_DELAY_S <- 3

# list(py = what the core's progress= gets, close = function() to call when the run ends, however).
prepare_progress <- function(progress, fn) {
  if (is.function(progress)) {
    return(list(py = reticulate::r_to_py(convert = TRUE, function(done, total) {
      progress(as.numeric(done), as.numeric(total))
      invisible(NULL)
    }), close = function() invisible(NULL)))
  }
  if (!is.null(progress) && (!is.logical(progress) || length(progress) != 1L || is.na(progress))) {
    arg_error("progress", fn, paste("NULL (a bar in interactive sessions, once a run takes a few",
                                    "seconds), TRUE, FALSE or an R function(done, total)"),
              describe(progress))
  }
  if (isFALSE(progress) || (is.null(progress) && !interactive())) {
    return(list(py = FALSE, close = function() invisible(NULL)))
  }
  delay <- if (isTRUE(progress)) 0 else PROGRESS_DELAY_S
  state <- new.env(parent = emptyenv())
  state$bar <- NULL
  state$start <- Sys.time()
  update <- function(done, total) {
    if (is.null(state$bar)) {
      if (as.numeric(difftime(Sys.time(), state$start, units = "secs")) < delay) return(invisible(NULL))
      state$bar <- utils::txtProgressBar(min = 0, max = as.numeric(total), style = 3)
    }
    utils::setTxtProgressBar(state$bar, as.numeric(done))
    invisible(NULL)
  }
  list(py = reticulate::r_to_py(convert = TRUE, update),
       close = function() {
         if (!is.null(state$bar)) close(state$bar)
         state$bar <- NULL
         invisible(NULL)
       })
}
