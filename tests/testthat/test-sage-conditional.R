# SAGE and conditional permutation from R: closed forms, efficiency, the same numbers as the Python core
# for the same seed, and R-worded errors.

correlated <- function(n = 2000, seed = 1) {
  set.seed(seed)
  x1 <- stats::rnorm(n)
  cbind(x1 = x1, x2 = 0.8 * x1 + 0.6 * stats::rnorm(n), x3 = stats::rnorm(n), x4 = stats::rnorm(n))
}

test_that("conditional = 'gaussian' meets the conditional truth and equals the Python core's numbers", {
  skip_if_no_seqimp()
  x <- correlated()
  model <- function(x) 2 * x[, 1] + x[, 2] + 1.5 * x[, 3]  # x4 unused
  r <- permutation_importance(model, x, model(x), metric = "mse", n_repeats = 5, seed = 3,
                              conditional = "gaussian")
  # 2 Var(x_j | x_-j) w_j^2: Var(x1 | x2) = Var(x2 | x1) = 0.36 (x2 = 0.8 x1 + 0.6 e)
  expect_equal(r$importance[1:3], 2 * c(0.36, 0.36, 1) * c(4, 1, 2.25), tolerance = 0.08)
  expect_identical(r$importance[4], 0)
  marginal <- permutation_importance(model, x, model(x), metric = "mse", n_repeats = 5, seed = 3)
  expect_gt(marginal$importance[1], 2.5 * r$importance[1])  # 8 against 2.88
  core <- reticulate::import("seqimp")
  py <- core$permutation_importance(model, x, model(x), metric = "mse", n_repeats = 5L,
                                    random_state = 3L, conditional = "gaussian",
                                    feature_names = list("x1", "x2", "x3", "x4"))
  expect_identical(attr(r, "importances"), `rownames<-`(py$importances, c("x1", "x2", "x3", "x4")))
  knn <- permutation_importance(model, x, model(x), metric = "mse", n_repeats = 2, seed = 3, conditional = "knn")
  expect_lt(knn$importance[1], 0.5 * marginal$importance[1])
})

test_that("sage_importance: w_j^2 Var(x_j) on an additive model, exactly 0 unused, efficiency, R = Python", {
  skip_if_no_seqimp()
  set.seed(2)
  x <- cbind(a = stats::rnorm(1500), b = 2 * stats::rnorm(1500), c = stats::rnorm(1500))
  model <- function(x) x[, 1] + 0.5 * x[, 2]
  r <- sage_importance(model, x, model(x), n_background = 64, seed = 5)
  expect_equal(r$importance[1:2], c(1, 1), tolerance = 0.1)
  expect_identical(r$importance[3], 0)
  expect_true(attr(r, "converged"))
  expect_equal(sum(r$importance), attr(r, "loss_empty") - attr(r, "loss_full"), tolerance = 1e-10)
  expect_identical(attr(r, "method"), "sage")
  core <- reticulate::import("seqimp")
  py <- core$sage_importance(model, x, model(x), n_background = 64L, random_state = 5L,
                             feature_names = list("a", "b", "c"))
  expect_identical(unname(attr(r, "importances")), unname(py$importances))
})

test_that("sage_importance on sequences with an R loss function and the Gaussian imputer", {
  skip_if_no_seqimp()
  x <- uniform_array(600, 4, 3, c("p", "q", "r"), seed = 4)
  model <- linear_model(c(1, -1, 0))
  absolute <- function(y, p) abs(y - p)
  r <- sage_importance(model, x, model(x) + stats::rnorm(600, sd = 0.1), metric = absolute, n_background = 16,
                       max_permutations = 4, seed = 1)
  expect_identical(attr(r, "metric"), "absolute")
  expect_identical(r$importance[3], 0)
  expect_equal(attr(r, "n_permutations"), 4L)
  cells <- sage_importance(model, x, model(x), granularity = "cell", imputer = "gaussian", n_background = 8,
                           max_permutations = 2, seed = 1)
  expect_identical(nrow(cells), 12L)
  expect_identical(cells$timestep, rep(1:4, each = 3))  # 1-based, as R counts
})

test_that("bad arguments get R-worded errors naming them", {
  skip_if_no_seqimp()
  x <- correlated(100)
  model <- function(x) x[, 1]
  expect_error(permutation_importance(model, x, model(x), conditional = 3),
               "'conditional' argument of permutation_importance must be NULL, \"gaussian\", \"knn\"")
  expect_error(permutation_importance(model, x, model(x), conditional = "gauss"),
               "'conditional' argument of permutation_importance must be None|'conditional' argument of permutation_importance must be NULL")
  expect_error(sage_importance(model, x, model(x), metric = "auc"), "'metric' argument of sage_importance")
  expect_error(sage_importance(model, x, model(x), n_jobs = 2), "'n_jobs' argument of sage_importance must be 1")
  expect_error(sage_importance(model, x, model(x), background = x[, 1:2]),
               "'background' argument of sage_importance must be rows like")
})

test_that("conditional permutation and SAGE report standard errors, confint() and significant() (issue 20)", {
  skip_if_no_seqimp()
  x <- correlated(800)
  model <- function(x) 2 * x[, 1] + x[, 2] + 1.5 * x[, 3]  # x4 unused
  y <- model(x) + stats::rnorm(800)
  r <- permutation_importance(model, x, y, metric = "mse", seed = 1, conditional = "gaussian")
  ci <- confint(r)
  expect_identical(dim(ci), c(4L, 2L))
  expect_true(all(ci[1:3, 1] < r$importance[1:3] & r$importance[1:3] < ci[1:3, 2]))
  expect_identical(unname(significant(r)), c(TRUE, TRUE, TRUE, FALSE))
  expect_match(attr(r, "inference_covers"), "the Gaussian's fit to those same rows", fixed = TRUE)
  expect_identical(attr(r, "inference_estimator"),
                   "per-sample effects, independent rows, with each row's influence on the fitted sampler")
  s <- sage_importance(model, x, y, n_background = 32, max_permutations = 4, seed = 1)
  expect_true(all(s$se[1:3] > 0))
  expect_identical(s$se[4], 0)
  expect_identical(attr(s, "importances_columns"), "rounds")
  expect_identical(unname(significant(s)), c(TRUE, TRUE, TRUE, FALSE))
  expect_length(attr(s, "extra")$se_permutations, 4L)
  expect_length(attr(s[2:3, ], "extra")$se_permutations, 2L)  # one per variable: cut with the rows
})
