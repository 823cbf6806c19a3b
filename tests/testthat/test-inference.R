# Standard errors, confidence intervals, p-values and corrections from R (issue 20): the same numbers as
# the Python core's for the same call and seed, R's idioms (confint(), p.adjust()) on top.

normal_problem <- function(n = 400, seed = 2) {
  set.seed(seed)
  x <- array(stats::rnorm(n * 3 * 2), c(n, 3, 2), dimnames = list(NULL, NULL, c("a", "b")))
  model <- linear_model(c(1, 0))
  list(x = x, model = model, y = model(x) + stats::rnorm(n))
}

test_that("se, ci_low, ci_high and p_value equal the core's for the same call and seed", {
  skip_if_no_seqimp()
  p <- normal_problem()
  r <- permutation_importance(p$model, p$x, p$y, metric = "mse", n_repeats = 3, seed = 4)
  expect_identical(names(r), c("feature", "importance", "std", "se", "ci_low", "ci_high", "p_value"))
  core <- reticulate::import("seqimp")$permutation_importance(p$model, p$x, p$y, metric = "mse",
                                                               n_repeats = 3L, random_state = 4L)
  expect_equal(r$se, as.vector(core$importances_se), tolerance = 1e-12)
  interval <- core$confidence_interval(0.95)
  expect_equal(r$ci_low, interval[, 1], tolerance = 1e-12)
  expect_equal(r$ci_high, interval[, 2], tolerance = 1e-12)
  expect_equal(r$p_value, as.vector(core$pvalues), tolerance = 1e-12)
  # "b" is never read: every effect is 0, so se 0, the interval [0, 0] and p = 1 (never NaN).
  expect_identical(unlist(as.data.frame(r)[2L, c("se", "ci_low", "ci_high", "p_value")]),
                   c(se = 0, ci_low = 0, ci_high = 0, p_value = 1))
  expect_true(r$p_value[1] < 1e-10)

  # confint() at another level, and significant() with every correction, against the core.
  ninety <- confint(r, level = 0.9)
  expect_identical(dimnames(ninety), list(c("a", "b"), c("5 %", "95 %")))
  expect_equal(unname(ninety), core$confidence_interval(0.9), tolerance = 1e-12)
  expect_identical(rownames(confint(r, "a")), "a")
  expect_equal(unname(confint(r)), cbind(r$ci_low, r$ci_high), tolerance = 1e-12)
  for (correction in list("holm", "bonferroni", "bh", NULL)) {
    expect_identical(significant(r, 0.05, correction), as.vector(core$significant(0.05, correction)))
  }
  expect_match(attr(r, "inference_estimator"), "rows and donors")
  expect_match(attr(r, "inference_covers"), "held|fitted model")
})

test_that("significant() corrects with p.adjust over the labels of a timestep result", {
  skip_if_no_seqimp()
  set.seed(3)
  x <- array(stats::rnorm(300 * 6 * 2), c(300, 6, 2))
  model <- function(x) x[, 6, 1]
  y <- model(x) + stats::rnorm(300)
  r <- permutation_importance(model, x, y, metric = "mse", granularity = "timestep", seed = 1)
  expect_identical(significant(r), c(rep(FALSE, 5), TRUE))  # unread steps have p = 1
  expect_identical(significant(r, correction = "bh"), stats::p.adjust(r$p_value, "BH") <= 0.05)
  expect_identical(significant(r, 0.01, NULL), r$p_value <= 0.01)
  # Subsetting keeps the inference columns and attributes.
  kept <- r[r$timestep > 3, ]
  expect_equal(confint(kept), confint(r)[4:6, , drop = FALSE])
})

test_that("LOFO gives Nadeau-Bengio t intervals with the core's degrees of freedom", {
  sklearn <- import_or_skip("sklearn.linear_model")
  selection <- reticulate::import("sklearn.model_selection")
  set.seed(5)
  x <- matrix(stats::rnorm(150 * 3), 150, 3, dimnames = list(NULL, c("a", "b", "c")))
  y <- 2 * x[, "a"] + 0.5 * x[, "b"] + stats::rnorm(150)
  r <- lofo_importance(sklearn$LinearRegression(), x, y, metric = "mse", cv = selection$KFold(5L),
                       progress = FALSE, seed = 1)
  imp <- attr(r, "importances")
  se <- unname(sqrt((1 / 5 + 30 / 120) * apply(imp, 1, stats::var)))
  expect_equal(r$se, unname(se), tolerance = 1e-10)
  expect_identical(attr(r, "inference_df"), 4)
  expect_equal(unname(confint(r, level = 0.8)),
               cbind(r$importance - stats::qt(0.9, 4) * se, r$importance + stats::qt(0.9, 4) * se),
               tolerance = 1e-10)
})

test_that("methods without a test or without standard errors say why, in R's words", {
  skip_if_no_seqimp()
  p <- normal_problem(100)
  r <- perturbation_importance(p$model, p$x, seed = 1)
  expect_identical(names(r), c("feature", "importance", "std", "se", "ci_low", "ci_high"))
  expect_error(significant(r), "no p-values: the importance is non-negative by construction", class = "seqimp_error")
  custom <- perturbation_importance(p$model, p$x, effect = function(a, b) max(abs(a - b)), seed = 1)
  expect_identical(names(custom), c("feature", "importance", "std"))
  expect_error(confint(custom), "no standard errors: a custom effect", class = "seqimp_error")
  expect_error(confint(r, level = 95), "The 'level' argument of confint.seqimp_importance must be a number in \\(0, 1\\)")
  q <- permutation_importance(p$model, p$x, p$y, metric = "mse", seed = 1)
  expect_error(significant(q, correction = "fdr"), "'correction' argument of significant must be one of")
  expect_error(significant(q, alpha = 0), "'alpha' argument of significant")
  expect_output(print(q), "p_value: one-sided, H0 importance <= 0, unadjusted")
})

test_that("autoplot draws confidence intervals and marks significant labels", {
  skip_if_no_seqimp()
  skip_unless_installed("ggplot2")
  p <- normal_problem(200)
  r <- permutation_importance(p$model, p$x, p$y, metric = "mse", seed = 1)
  plot <- ggplot2::autoplot(r, level = 0.9)
  built <- ggplot2::ggplot_build(plot)
  bars <- built$data[[2]]  # the error bars, bottom-up: b (0) then a
  expect_equal(sort(bars$xmax), unname(sort(confint(r, level = 0.9)[, 2])), tolerance = 1e-12)
  marked <- ggplot2::autoplot(r, alpha = 0.05)
  expect_identical(as.character(marked$data$flag[order(marked$data$feature)]), c("FALSE", "TRUE"))
  cells <- permutation_importance(p$model, p$x, p$y, metric = "mse", granularity = "cell", seed = 1)
  heat <- ggplot2::autoplot(cells, alpha = 0.05)
  expect_true(all(is.na(heat$data$importance[heat$data$feature == "b"])))  # blank: not significant
  expect_false(anyNA(heat$data$importance[heat$data$feature == "a"]))
})
