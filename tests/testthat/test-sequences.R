# as_sequences (issue 23): a long panel (one row per id and time) to an array, a mask and targets. The
# must-show: unequal lengths equal a hand-built array and mask, and permutation importance on it equals
# the call on the hand-built array; the same panel through Python gives the same array and mask.

# A panel built as arrays first (the truth) and its long table with rows shuffled.
hand_built_panel <- function(lengths, n_features = 2L, pad = "pre", seed = 1) {
  set.seed(seed)
  n <- length(lengths)
  n_steps <- max(lengths)
  ids <- sprintf("s%02d", seq_len(n))
  features <- paste0("x", seq_len(n_features))
  x <- array(0, c(n, n_steps, n_features), dimnames = list(ids, NULL, features))
  mask <- matrix(FALSE, n, n_steps, dimnames = list(ids, NULL))
  rows <- list()
  for (i in seq_len(n)) {
    start <- if (pad == "pre") n_steps - lengths[i] else 0L
    for (k in seq_len(lengths[i])) {
      values <- stats::rnorm(n_features)
      x[i, start + k, ] <- values
      mask[i, start + k] <- TRUE
      rows[[length(rows) + 1L]] <- data.frame(sample = ids[i], t = 10 + 5 * (k - 1), label = (i - 1) %% 2,
                                              t(stats::setNames(values, features)))
    }
  }
  panel <- do.call(rbind, rows)
  list(x = x, mask = mask, panel = panel[sample(nrow(panel)), ], ids = ids)
}

test_that("a panel of unequal lengths equals the hand-built array and mask, pre and post", {
  for (pad in c("pre", "post")) {
    case <- hand_built_panel(c(4L, 2L, 5L, 1L, 3L), pad = pad)
    before <- case$panel
    s <- as_sequences(case$panel, id = "sample", time = "t", target = "label", pad = pad)
    expect_identical(s$x, case$x)
    expect_identical(s$mask, case$mask)
    expect_identical(s$ids, case$ids)
    expect_identical(s$y, stats::setNames(c(0, 1, 0, 1, 0), case$ids))
    expect_true(all(is.na(s$times[!case$mask])))
    expect_identical(unname(s$times[3, ]), c(10, 15, 20, 25, 30))
    expect_identical(case$panel, before)  # the caller's data is untouched
  }
})

test_that("permutation importance on it equals the call on the hand-built array, and R = Python", {
  skip_if_no_seqimp()
  case <- hand_built_panel(rep(c(6L, 3L, 5L, 2L, 6L, 4L, 1L, 5L), 5), n_features = 3L, seed = 2)
  model <- function(x) 2 * rowSums(x[, , 1]) + rowSums(x[, , 2])  # padding cells are 0: they add nothing
  y <- unname(model(case$x))
  s <- as_sequences(case$panel, id = "sample", time = "t", features = c("x1", "x2", "x3"))
  ours <- permutation_importance(model, s$x, y, mask = s$mask, metric = "mse", n_repeats = 3, seed = 7)
  hand <- permutation_importance(model, case$x, y, mask = case$mask, metric = "mse", n_repeats = 3, seed = 7)
  expect_identical(attr(ours, "importances"), attr(hand, "importances"))
  expect_identical(ours$feature, c("x1", "x2", "x3"))
  expect_true(ours$importance[1] > ours$importance[2] && ours$importance[2] > 0)
  expect_identical(ours$importance[3], 0)

  # The Python function on the same table (reticulate's pandas DataFrame): the same array and mask.
  core <- reticulate::import("seqimp", convert = FALSE)
  py <- core$as_sequences(reticulate::r_to_py(case$panel), id = "sample", time = "t",
                          features = c("x1", "x2", "x3"))
  expect_equal(reticulate::py_to_r(py$X), unname(s$x), ignore_attr = TRUE)
  expect_identical(reticulate::py_to_r(py$mask), unname(s$mask))
  expect_identical(unlist(reticulate::py_to_r(py$ids$tolist())), s$ids)
})

test_that("Date times, factor ids in level order, logical features as 0/1, tibbles", {
  panel <- data.frame(id = factor(c("z", "z", "a"), levels = c("z", "a")),
                      day = as.Date(c("2024-01-02", "2024-01-01", "2024-01-05")),
                      v = c(2L, 1L, 5L), flag = c(TRUE, FALSE, TRUE))
  s <- as_sequences(panel, id = "id", time = "day", pad = "post", pad_value = -1)
  expect_identical(s$ids, factor(c("z", "a"), levels = c("z", "a")))
  expect_identical(unname(s$x[, , "v"]), matrix(c(1, 5, 2, -1), 2))
  expect_identical(unname(s$x[, , "flag"]), matrix(c(0, 1, 1, -1), 2))
  expect_s3_class(s$times, "Date")
  expect_identical(s$times[1, ], as.Date(c("2024-01-01", "2024-01-02")))
  expect_true(is.na(s$times[2, 2]))
  expect_null(s$y)
  skip_unless_installed("tibble")
  expect_identical(as_sequences(tibble::as_tibble(panel), "id", "day", pad = "post", pad_value = -1), s)
})

test_that("bad panels are errors naming the first offender, in R's words", {
  case <- hand_built_panel(c(3L, 4L, 2L), seed = 4)
  p <- case$panel
  expect_error(as_sequences(rbind(p, p[1, ]), "sample", "t"),
               "the \\(id, time\\) pair \\('s\\d\\d', \\d+\\) appears more than once")
  expect_error(as_sequences(p[!(p$sample == "s01" & p$t == 15), ], "sample", "t"),
               "times of id 's01' are irregular: it goes from time 10 to 20, but the panel's step .* is 5")
  p_na <- p
  p_na$x1[p_na$t == 15] <- NA
  expect_error(as_sequences(p_na, "sample", "t"), "feature 'x1' is NA or not finite at id 's0")
  expect_error(as_sequences(transform(p, label = seq_len(nrow(p))), "sample", "t", target = "label"),
               "target column 'label' of data must hold one value per id")
  expect_error(as_sequences(p, "ID", "t"), "The 'id' argument of as_sequences must be the name of a column")
  expect_error(as_sequences(as.matrix(p), "sample", "t"), "The 'data' argument of as_sequences must be a data.frame")
  expect_error(as_sequences(p, "sample", "t", features = c("x1", "x9")),
               "The 'features' argument .* Got \"x9\" instead")
  expect_error(as_sequences(p, "sample", "t", pad = "left"), "'pad' argument .* c\\(\"pre\", \"post\"\\)")
  expect_error(as_sequences(transform(p, t = as.character(t)), "sample", "t"),
               "'time' argument .* numbers, Date, POSIXct or difftime")
  expect_error(as_sequences(transform(p, name = "a"), "sample", "t"),
               "'features' argument .*encode column 'name' as integer codes")
})
