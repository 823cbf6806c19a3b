library(testthat)
library(seqimp)

test_check("seqimp", reporter = ProgressReporter$new(show_praise = FALSE))
