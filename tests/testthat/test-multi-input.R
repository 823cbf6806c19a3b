# Several inputs and padded sequences from R: a named list of arrays, the mask as a logical n x T
# matrix, 1-based indices. The same two-input model explained from R and from Python (through
# reticulate, in this process) gives the same numbers.

two_inputs <- function(n = 300L, steps = 5L, seed = 3) {
  set.seed(seed)
  list(seq = array(rnorm(n * steps * 2L), c(n, steps, 2L), dimnames = list(NULL, NULL, c("temp", "load"))),
       static = matrix(rnorm(n * 3L), n, 3L, dimnames = list(NULL, c("age", "height", "site"))))
}

# f(seq, static) = sum_t (0.5 temp + load) + 2 age: height and site are not used.
keras_two_input <- function(keras, steps = 5L) {
  seq_in <- keras$Input(shape = reticulate::tuple(steps, 2L), name = "seq")
  static_in <- keras$Input(shape = reticulate::tuple(3L), name = "static")
  a <- keras$layers$Dense(1L, use_bias = FALSE, name = "w_seq")(keras$layers$Flatten()(seq_in))
  b <- keras$layers$Dense(1L, use_bias = FALSE, name = "w_static")(static_in)
  model <- keras$Model(list(seq = seq_in, static = static_in), keras$layers$Add()(list(a, b)))
  np <- reticulate::import("numpy", convert = FALSE)
  model$get_layer("w_seq")$set_weights(list(np$array(matrix(rep(c(0.5, 1), steps), ncol = 1L),
                                                     dtype = "float32")))
  model$get_layer("w_static")$set_weights(list(np$array(matrix(c(2, 0, 0), ncol = 1L), dtype = "float32")))
  model
}

r_linear <- function(x) 0.5 * rowSums(x$seq[, , "temp"]) + rowSums(x$seq[, , "load"]) + 2 * x$static[, "age"]

test_that("a two-input keras model explained from R gives the numbers Python gives", {
  keras <- import_or_skip("keras")
  model <- keras_two_input(keras)
  x <- two_inputs()
  y <- r_linear(x)
  from_r <- permutation_importance(model, x, y, metric = "mse", n_repeats = 3L, seed = 1)
  np <- reticulate::import("numpy", convert = FALSE)
  py_x <- reticulate::py_dict(c("seq", "static"), list(np$array(x$seq, dtype = "float32"),
                                                       np$array(x$static, dtype = "float32")))
  from_py <- seqimp:::seqimp_py$permutation_importance(
    model, py_x, np$array(y), metric = "mse", n_repeats = 3L, random_state = 1L,
    feature_names = reticulate::dict(seq = list("temp", "load"), static = list("age", "height", "site")))
  expect_equal(from_r$feature, c("temp", "load", "age", "height", "site"))
  expect_equal(unname(attr(from_r, "importances")), unname(from_py$importances))
  expect_identical(from_r$importance[4:5], c(0, 0))
  # permuting a trajectory raises the MSE by 2 Var(its contribution), here about 2 * 5 * 0.25
  expect_equal(from_r$importance[[1]], 2 * var(0.5 * rowSums(x$seq[, , "temp"])), tolerance = 0.2)
})

test_that("an R function gets the inputs as a named list, and an unnamed list keeps the model order", {
  x <- two_inputs()
  y <- r_linear(x)
  seen <- character()
  model <- function(x) {
    seen <<- union(seen, paste(names(x), collapse = "+"))
    r_linear(x)
  }
  r <- perturbation_importance(model, x, noise = "zero", seed = 1)
  expect_equal(seen, "seq+static")
  expect_equal(r$importance[[3]], sqrt(mean((2 * x$static[, "age"])^2)), tolerance = 1e-5)
  expect_identical(r$importance[4:5], c(0, 0))
  unnamed <- perturbation_importance(function(x) r_linear(list(seq = x[[1]], static = x[[2]])), unname(x),
                                     noise = "zero", seed = 1)
  expect_equal(unnamed$importance, r$importance)
  grouped <- permutation_importance(model, x, y, groups = list(warm = c(1L, 3L)), seed = 1)
  expect_equal(grouped$feature, "warm")
  cells <- perturbation_importance(model, x, granularity = "cell", noise = "zero")
  expect_equal(cells$timestep, c(rep(1:5, each = 2L), NA, NA, NA))
})

test_that("the mask is a logical n x T matrix, and the result says where it came from", {
  set.seed(2)
  n <- 200L
  steps <- 6L
  x <- array(rnorm(n * steps * 3L), c(n, steps, 3L), dimnames = list(NULL, NULL, c("a", "b", "c")))
  lengths <- sample(2:steps, n, replace = TRUE)
  real <- outer(lengths, seq_len(steps), function(l, t) t > steps - l)
  for (j in 1:3) x[, , j][!real] <- 0
  masked_mean <- function(x) {
    real_x <- apply(x != 0, c(1, 2), any)
    rowSums((x[, , "a"] - 0.5 * x[, , "b"]) * real_x) / rowSums(real_x)
  }
  by_mask <- perturbation_importance(masked_mean, x, mask = real, n_repeats = 2L, seed = 1)
  by_value <- perturbation_importance(masked_mean, x, mask_value = 0, n_repeats = 2L, seed = 1)
  expect_equal(by_mask$importance, by_value$importance)
  expect_identical(by_mask$importance[[3]], 0)
  steps_r <- permutation_importance(masked_mean, x, masked_mean(x), mask = real, granularity = "timestep",
                                    seed = 1)
  expect_equal(steps_r$timestep, 1:6)
  expect_error(perturbation_importance(masked_mean, x, mask = real[, -1]), "'mask'.*dims .* Got dims c\\(200, 5\\)")
  expect_error(perturbation_importance(masked_mean, x, mask = real, mask_value = 0),
               "'mask' and 'mask_value'.*cannot be used together")
  expect_error(perturbation_importance(masked_mean, x, mask = "yes"), "'mask'")
})

test_that("output is 1-based from R, and bad lists get errors that name x", {
  x <- two_inputs(n = 50L)
  model <- function(x) cbind(r_linear(x), 2 * r_linear(x))
  first <- perturbation_importance(model, x, output = 1L, noise = "zero")
  plain <- perturbation_importance(r_linear, x, noise = "zero")
  expect_equal(first$importance, plain$importance)
  bad <- x
  bad$static <- bad$static[1:10, ]
  expect_error(perturbation_importance(model, bad), "same number of samples")
  expect_error(perturbation_importance(model, list(x$seq, x$static, x$static[, 1:2]), mask = list(1)), "mask")
})
