# R types arrive as they are (issue 23, item 4): a logical matrix reached an R model as 0/1 doubles under
# perturbation, so a model that indexes with the column predicted wrongly and an unused column scored.

test_that("a logical matrix reaches an R model as logical; an unused column scores exactly 0", {
  skip_if_no_seqimp()
  set.seed(1)
  x <- matrix(stats::runif(400) > 0.5, 200, 2, dimnames = list(NULL, c("on", "unused")))
  seen <- character()
  model <- function(x) {  # logical indexing: with 0/1 doubles it would set element 1 only
    seen <<- c(seen, typeof(x))
    out <- numeric(nrow(x))
    out[x[, "on"]] <- 1
    out
  }
  y <- model(x)
  for (noise in c("gaussian", "uniform", "zero")) {
    r <- perturbation_importance(model, x, noise = noise, n_repeats = 3, seed = 1)
    expect_identical(r$importance[2], 0, info = noise)
    expect_gt(r$importance[1], 0)
    expect_identical(attr(r, "swapped"), c("on", "unused"))
  }
  p <- permutation_importance(model, x, y, metric = "mse", n_repeats = 3, seed = 1)
  expect_identical(p$importance[2], 0)
  # A permutation of "on" moves half of its TRUEs: the MSE is the share of rows that changed.
  expect_equal(p$importance[1], 2 * mean(x[, "on"]) * (1 - mean(x[, "on"])), tolerance = 0.2)
  expect_identical(unique(seen), "logical")

  # Integer matrices stay integer; a data.frame's columns keep their R types where values only move.
  seen <- character()
  ints <- matrix(1:200, 100, 2)
  permutation_importance(function(x) { seen <<- c(seen, typeof(x)); rep(1, nrow(x)) }, ints, rep(1, 100),
                         seed = 1)
  expect_identical(unique(seen), "integer")
  d <- data.frame(flag = x[1:100, 1], count = 1:100, f = factor(rep(c("u", "v"), 50)),
                  s = rep(c("p", "q"), 50), stringsAsFactors = FALSE)
  seen <- character()
  typed <- function(x) { seen <<- c(seen, paste(vapply(x, function(v) class(v)[1], ""), collapse = ",")); rep(1, nrow(x)) }
  permutation_importance(typed, d, rep(1, 100), seed = 1)
  perturbation_importance(typed, d, noise = "zero", seed = 1)
  expect_identical(unique(seen), "logical,integer,factor,character")
})

test_that("Date, POSIXct, difftime, complex and raw columns reach an R model as they are", {
  skip_if_no_seqimp()
  set.seed(2)
  n <- 120
  d <- data.frame(day = as.Date("2024-01-01") + sample(0:13, n, TRUE),
                  at = as.POSIXct("2024-01-01 12:00", tz = "Europe/Oslo") + sample(0:5, n, TRUE) * 3600,
                  wait = as.difftime(sample(1:4, n, TRUE), units = "mins"),
                  z = complex(real = sample(1:3, n, TRUE), imaginary = 1),
                  b = as.raw(sample(0:2, n, TRUE)), num = stats::rnorm(n))
  d$day[3] <- NA
  seen <- list()
  model <- function(x) {  # reads the day's weekday: only a real Date has one
    seen[[length(seen) + 1L]] <<- vapply(x, function(v) class(v)[1], "")
    stopifnot(identical(attr(x$at, "tzone"), "Europe/Oslo"), identical(units(x$wait), "mins"))
    ifelse(is.na(x$day), 0, as.numeric(format(x$day, "%u") %in% c("6", "7"))) + x$num
  }
  y <- model(d)
  p <- permutation_importance(model, d, y, metric = "mse", n_repeats = 3, seed = 1)
  q <- perturbation_importance(model, d, n_repeats = 2, seed = 1)
  classes <- unique(lapply(seen, unname))
  expect_identical(classes, list(c("Date", "POSIXct", "difftime", "complex", "raw", "numeric")))
  expect_gt(p$importance[p$feature == "day"], 0)
  expect_identical(p$importance[p$feature %in% c("at", "wait", "z", "b")], rep(0, 4))
  expect_identical(q$importance[q$feature %in% c("at", "wait", "z", "b")], rep(0, 4))
  expect_identical(attr(q, "swapped"), c("day", "at", "wait", "z", "b"))
})
