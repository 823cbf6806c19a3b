# The seqimp_importance result as R users work with it (issue 13): subsetting, ordering and rbind keep
# it consistent, a long form, one std in both languages, print sorted, attributions with dimnames, and
# plots with readable titles and integer timestep axes.

cell_result <- function(n_repeats = 3) {
  x <- uniform_array(100, 3, 2, c("a", "b"))
  perturbation_importance(linear_model(c(1, 2)), x, granularity = "cell", n_repeats = n_repeats, seed = 1)
}

label_names <- function(r) paste0(r$feature, "@t", r$timestep)

test_that("subsetting and ordering keep importances in step with the rows; dropping a column drops the class", {
  skip_if_no_seqimp()
  r <- cell_result()
  expect_identical(rownames(attr(r, "importances")), label_names(r))
  for (sub in list(r[1:2, ], r[order(r$importance), ], r[r$feature == "b", ], utils::head(r, 3), r[-1, ],
                   r[c(TRUE, FALSE), ], r[5:4, c("feature", "timestep", "importance", "std")])) {
    expect_s3_class(sub, "seqimp_importance")
    imp <- attr(sub, "importances")
    expect_identical(rownames(imp), label_names(sub))
    expect_equal(sub$importance, unname(rowMeans(imp)))
    expect_identical(attr(sub, "method"), "perturbation")
    expect_identical(rownames(sub), as.character(seq_len(nrow(sub))))
  }
  ordered <- r[order(-r$importance), ]
  expect_identical(ordered$importance, sort(r$importance, decreasing = TRUE))
  expect_false(inherits(r[, c("feature", "importance")], "seqimp_importance"))
  expect_identical(r[, "importance"], r$importance)
  expect_identical(r[["feature"]], r$feature)
  expect_false(inherits(r[c(1, NA), ], "seqimp_importance"))
  expect_false(inherits(r["importance"], "seqimp_importance"))
})

test_that("rbind keeps one result for like results and tells unlike ones apart", {
  skip_if_no_seqimp()
  r <- cell_result()
  twice <- rbind(r[1:2, ], r[5:6, ])
  expect_s3_class(twice, "seqimp_importance")
  expect_identical(rownames(attr(twice, "importances")), label_names(twice))
  expect_identical(dim(attr(twice, "importances")), c(4L, 3L))
  expect_identical(twice$importance, r$importance[c(1, 2, 5, 6)])
  x <- uniform_array(100, 3, 2, c("a", "b"))
  other <- permutation_importance(linear_model(c(1, 2)), x, linear_model(c(1, 2))(x), seed = 1)
  mixed <- rbind(r, other)
  expect_false(inherits(mixed, "seqimp_importance"))
  expect_identical(mixed$method, rep(c("perturbation", "permutation"), c(6, 2)))
  expect_identical(mixed$timestep, c(r$timestep, NA, NA))
})

test_that("rbind of results with repeated labels keeps a run column: dodged bars, never stacked (issue 23)", {
  skip_if_no_seqimp()
  skip_unless_installed("ggplot2")
  x <- uniform_array(200, 4, 3, c("a", "b", "c"))
  r1 <- perturbation_importance(linear_model(c(1, 0, 0)), x, n_repeats = 2, seed = 1)
  r2 <- perturbation_importance(linear_model(c(0, 2, 0)), x, n_repeats = 2, seed = 1)
  both <- rbind(r1, r2)
  expect_s3_class(both, "seqimp_importance")
  expect_identical(names(both), c("run", "feature", "importance", "std", "se", "ci_low", "ci_high"))
  expect_identical(both$run, rep(1:2, each = 3))
  expect_identical(both$importance, c(r1$importance, r2$importance))
  expect_identical(unname(attr(both, "importances")), unname(rbind(attr(r1, "importances"), attr(r2, "importances"))))
  named <- rbind(before = r1, after = r2)
  expect_identical(named$run, rep(c("before", "after"), each = 3))
  expect_identical(rbind(both, r1)$run, rep(1:3, each = 3))  # a third run after the two there
  expect_error(rbind(both, both), "label 'a' appears twice in run 1")
  expect_false("run" %in% names(rbind(r1[1:2, ], r1[3, ])))  # pieces of one result need no run

  printed <- utils::capture.output(print(named))
  expect_match(printed[2], "^6 labels in 2 runs x 2 repeats")
  expect_match(printed[4], "^ *before +a ")  # runs in the order given, most important first in each
  expect_match(printed[7], "^ *after +b ")

  # Each bar is one label of one run, starting at 0 and ending at its own importance: a feature used
  # by one run only is drawn at its importance, not at the sum of the runs' (the bug: stacked bars).
  bars <- ggplot2::layer_data(ggplot2::autoplot(named), 1)
  expect_identical(nrow(bars), 6L)
  expect_true(all(bars$xmin == 0))
  expect_equal(sort(bars$xmax), sort(named$importance))
  expect_identical(length(unique(bars$y)), 6L)  # side by side
  expect_identical(length(unique(bars$fill)), 2L)
  steps <- rbind(perturbation_importance(linear_model(c(1, 0, 0)), x, granularity = "timestep", seed = 1),
                 perturbation_importance(linear_model(c(0, 2, 0)), x, granularity = "timestep", seed = 1))
  bars <- ggplot2::layer_data(ggplot2::autoplot(steps), 1)
  expect_true(all(bars$ymin == 0))
  expect_identical(length(unique(bars$x)), 8L)
  cells <- rbind(cell_result(), cell_result())
  expect_s3_class(ggplot2::autoplot(cells)$facet, "FacetWrap")
})

test_that("as.data.frame() drops every attribute (stepwise's rank and order too); long = TRUE is tidy", {
  skip_if_no_seqimp()
  r <- cell_result()
  attr(r, "rank") <- 6:1
  attr(r, "order") <- rownames(attr(r, "importances"))
  plain <- as.data.frame(r)
  expect_identical(class(plain), "data.frame")
  expect_setequal(names(attributes(plain)), c("names", "class", "row.names"))
  expect_identical(attr(r[2:3, ], "rank"), 5:4)
  expect_identical(attr(r[3:2, ], "order"), c("b@t1", "a@t2"))  # the path's order, cut to the rows

  long <- as.data.frame(r, long = TRUE)
  expect_identical(names(long), c("feature", "timestep", "repetition", "importance"))
  expect_identical(nrow(long), 6L * 3L)
  expect_identical(long$repetition, rep(1:3, 6))
  expect_identical(long$importance, as.vector(t(attr(r, "importances"))))
  means <- tapply(long$importance, paste0(long$feature, "@t", long$timestep), mean)
  expect_equal(as.vector(means[label_names(r)]), r$importance)
  keras <- import_or_skip("sklearn.linear_model")
  m <- matrix(stats::runif(300), 100, 3)
  lofo <- lofo_importance(function(n) keras$LinearRegression(), m, m %*% c(1, 2, 0), cv = 2, seed = 1,
                          progress = FALSE)
  expect_identical(names(as.data.frame(lofo, long = TRUE)), c("feature", "fold", "importance"))
  step <- stepwise_importance(function(n) keras$LinearRegression(), m, m %*% c(1, 2, 0), cv = 2, seed = 1,
                              progress = FALSE)
  expect_identical(attr(step, "rank"), c(2L, 1L, 3L))
  expect_null(attr(as.data.frame(step), "rank"))
  expect_null(attr(as.data.frame(step), "order"))
})

test_that("std is the population standard deviation (ddof = 0), the same number as the core's", {
  skip_if_no_seqimp()
  x <- uniform_array(100, 3, 2)
  model <- linear_model(c(1, 2))
  r <- perturbation_importance(model, x, n_repeats = 4, seed = 9)
  imp <- attr(r, "importances")
  expect_equal(r$std, unname(sqrt(rowMeans((imp - rowMeans(imp))^2))))
  expect_equal(r$std * sqrt(4 / 3), unname(apply(imp, 1, stats::sd)))  # R's sd() divides by n - 1
  core <- reticulate::import("seqimp")$perturbation_importance(model, x, n_repeats = 4L, random_state = 9L)
  expect_equal(r$std, as.vector(core$importances_std), tolerance = 1e-12)
  expect_true(all(r$std > 0))
  one <- perturbation_importance(model, x, seed = 9)
  expect_identical(one$std, c(0, 0))  # one repeat: 0, where sd() would be NA
})

test_that("print sorts by importance by default; sort = FALSE keeps the core's order", {
  skip_if_no_seqimp()
  x <- uniform_array(100, 2, 3, c("low", "high", "mid"))
  r <- perturbation_importance(linear_model(c(0.1, 3, 1)), x, seed = 1)
  rows <- function(...) {
    out <- utils::capture.output(print(r, ...))
    sub("^\\s*(\\w+).*", "\\1", out[grepl("^\\s*(low|high|mid)\\s", out)])
  }
  expect_identical(rows(), c("high", "mid", "low"))
  expect_identical(rows(sort = FALSE), c("low", "high", "mid"))
  expect_identical(r$feature, c("low", "high", "mid"))  # the result itself is never reordered
})

test_that("gradient attributions carry dimnames: samples, timesteps t1.., feature names", {
  keras <- import_or_skip("keras")
  x <- uniform_array(6, 4, 3, c("a", "b", "c"))
  dimnames(x)[[1]] <- paste0("s", 1:6)
  model <- keras$Sequential(list(keras$Input(shape = reticulate::tuple(4L, 3L)), keras$layers$Flatten(),
                                 keras$layers$Dense(1L)))
  r <- gradient_importance(model, x, method = "gradient_x_input")
  a <- attr(r, "attributions")
  expect_identical(dimnames(a), list(sample = paste0("s", 1:6), timestep = paste0("t", 1:4),
                                     feature = c("a", "b", "c")))
  expect_equal(a["s2", "t3", "b"], a[2, 3, 2])
  m <- matrix(stats::runif(12), 4, 3, dimnames = list(NULL, c("u", "v", "w")))
  dense <- keras$Sequential(list(keras$Input(shape = list(3L)), keras$layers$Dense(1L)))
  expect_identical(dimnames(attr(gradient_importance(dense, m), "attributions")),
                   list(sample = NULL, feature = c("u", "v", "w")))
})

test_that("plots: readable titles, integer timestep breaks, top_n and sort", {
  skip_if_no_seqimp()
  skip_unless_installed("ggplot2")
  x <- uniform_array(100, 3, 3, c("a", "b", "c"))
  model <- linear_model(c(1, 2, 0.5))
  perm <- permutation_importance(model, x, model(x), metric = "mse", n_repeats = 2, seed = 1)
  p <- ggplot2::autoplot(perm)
  expect_identical(p$labels$title, "Permutation importance (MSE increase)")
  expect_identical(levels(p$data$feature), c("c", "a", "b"))  # most important on top (last level)
  expect_identical(levels(ggplot2::autoplot(perm, sort = FALSE)$data$feature), c("c", "b", "a"))
  top <- ggplot2::autoplot(perm, top_n = 2)
  expect_setequal(as.character(top$data$feature), c("a", "b"))
  r2 <- permutation_importance(model, x, model(x), metric = "r2", seed = 1)
  expect_identical(ggplot2::autoplot(r2)$labels$title, "Permutation importance (R\u00b2 decrease)")
  pert <- perturbation_importance(model, x, seed = 1)
  expect_identical(ggplot2::autoplot(pert)$labels$title,
                   "Perturbation importance (RMS change of predictions)")
  expect_error(ggplot2::autoplot(perm, top_n = 0.5), "'top_n' argument")
  expect_error(ggplot2::autoplot(perm, top_n = 0), "'top_n' argument .* at least 1 or NULL. Got 0 instead")

  integer_breaks <- function(p, axis = "x") {
    built <- ggplot2::ggplot_build(p)
    breaks <- built$layout$panel_params[[1]][[axis]]$breaks
    breaks[!is.na(breaks)]
  }
  steps <- perturbation_importance(model, x, granularity = "timestep", n_repeats = 2, seed = 1)
  ps <- ggplot2::autoplot(steps)
  expect_identical(ps$data$timestep, 1:3)  # time order by default
  expect_equal(integer_breaks(ps), c(1, 2, 3))
  cells <- perturbation_importance(model, x, granularity = "cell", seed = 1)
  heat <- ggplot2::autoplot(cells)
  expect_s3_class(heat$layers[[1]]$geom, "GeomTile")
  expect_equal(integer_breaks(heat), c(1, 2, 3))
  expect_identical(levels(heat$data$feature), c("c", "a", "b"))
  expect_setequal(as.character(ggplot2::autoplot(cells, top_n = 1)$data$feature), "b")

  keras <- import_or_skip("keras")
  mlp <- keras$Sequential(list(keras$Input(shape = list(3L)), keras$layers$Dense(4L), keras$layers$Dense(1L)))
  expect_identical(ggplot2::autoplot(olden_importance(mlp))$labels$title,
                   "Olden importance (signed connection weight)")
  expect_identical(ggplot2::autoplot(garson_importance(mlp))$labels$title,
                   "Garson importance (relative importance, sums to 1)")
  ig <- gradient_importance(keras$Sequential(list(keras$Input(shape = reticulate::tuple(3L, 3L)),
                                                  keras$layers$Flatten(), keras$layers$Dense(1L))),
                            x[1:10, , ], method = "integrated_gradients", n_steps = 4)
  expect_match(ggplot2::autoplot(ig)$labels$title, "^Integrated gradients \\(")
})

test_that("Lek profiles: 1-based output, wrapped facets in a few columns, plot_lek_profile()", {
  skip_if_no_seqimp()
  skip_unless_installed("ggplot2")
  x <- uniform_array(100, 3, 4, c("a rather long feature name for a facet", "b", "c", "d"))
  model <- function(x) cbind(rowMeans(x[, , 1]), rowMeans(x[, , 2] * x[, , 3]))
  profile <- lek_profile(model, x, n_points = 5, output = 2)
  expect_identical(attr(profile, "output"), "output 2")
  p <- plot_lek_profile(profile)
  expect_s3_class(p, "ggplot")
  expect_identical(p$facet$params$ncol, 3L)
  strips <- p$facet$params$labeller(data.frame(feature = "a rather long feature name for a facet"))
  expect_match(strips[[1]], "\n")  # wrapped, not overlapping its neighbours
  expect_identical(p$theme$legend.position, "bottom")
  expect_identical(levels(p$data$held_at), c("0%", "20%", "40%", "60%", "80%", "100%"))
  expect_identical(plot_lek_profile(profile, ncol = 2)$facet$params$ncol, 2L)
  expect_error(plot_lek_profile(data.frame()), "'profile' argument of plot_lek_profile")
})

test_that("progress: an R txtProgressBar when asked, a callback, and quiet by default in scripts", {
  skip_if_no_seqimp()
  x <- uniform_array(50, 3, 2)
  model <- linear_model(c(1, 2))
  expect_output(perturbation_importance(model, x, progress = TRUE, seed = 1), "100%")
  expect_silent(perturbation_importance(model, x, progress = FALSE, seed = 1))
  expect_false(interactive())
  expect_silent(perturbation_importance(model, x, seed = 1))  # NULL: a bar only in interactive R
  seen <- list()
  perturbation_importance(model, x, n_repeats = 2, batch_size = 100, seed = 1,
                          progress = function(done, total) seen[[length(seen) + 1L]] <<- c(done, total))
  seen <- do.call(rbind, seen)
  expect_identical(seen[, 2], rep(250, 3))  # 50 rows x (1 + 2 features x 2 repeats)
  expect_identical(seen[, 1], c(100, 200, 250))
  expect_output(permutation_importance(model, x, model(x), progress = TRUE, seed = 1), "100%")
  # A failed run closes its bar and still raises the R error.
  expect_error(expect_output(perturbation_importance(function(x) stop("boom"), x, progress = TRUE)), "boom")
})
