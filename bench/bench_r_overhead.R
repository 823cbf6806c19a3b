# R overhead: seqimp's R call against the Python core's call on the same Keras model and data,
# timed in one R process (the Python side is called through reticulate, with NumPy data made in
# Python, exactly as a Python user would call it). Runs alternate R / Python so that drift in machine
# load hits both alike; the medians are compared. Target: R overhead <= 10%.
#
# Usage: Rscript bench/bench_r_overhead.R [repeats]   (R_LIBS and RETICULATE_PYTHON as make sets them)

suppressPackageStartupMessages(library(seqimp))
args <- commandArgs(trailingOnly = TRUE)
runs <- if (length(args) >= 1L) as.integer(args[[1L]]) else 7L

keras <- reticulate::import("keras")
np <- reticulate::import("numpy", convert = FALSE)
core <- reticulate::import("seqimp", convert = FALSE)

n <- 2000L
timesteps <- 20L
features <- 8L
names <- paste0("f", seq_len(features))
set.seed(1)
x <- array(stats::runif(n * timesteps * features), c(n, timesteps, features),
           dimnames = list(NULL, NULL, names))
y <- rowSums(x[, , 1]) + stats::rnorm(n, sd = 0.1)
x_py <- np$ascontiguousarray(x)  # the Python user's data: a C-ordered float64 NumPy array
y_py <- np$ascontiguousarray(y)

keras$utils$set_random_seed(0L)
model <- keras$Sequential(list(keras$Input(shape = reticulate::tuple(timesteps, features)),
                               keras$layers$LSTM(32L), keras$layers$Dense(1L)))

cases <- list(
  list(name = "perturbation, feature (8 labels x 3 repeats)",
       r = function() perturbation_importance(model, x, scale_by_std = TRUE, n_repeats = 3, seed = 0),
       py = function() core$perturbation_importance(model, x_py, scale_by_std = TRUE, n_repeats = 3L,
                                                    random_state = 0L, feature_names = as.list(names))),
  list(name = "permutation, cell (160 labels x 1 repeat)",
       r = function() permutation_importance(model, x, y, metric = "mse", n_repeats = 1, granularity = "cell",
                                             seed = 0),
       py = function() core$permutation_importance(model, x_py, y_py, metric = "mse", n_repeats = 1L,
                                                   granularity = "cell", random_state = 0L,
                                                   feature_names = as.list(names)))
)

elapsed <- function(f) {
  started <- proc.time()[["elapsed"]]
  f()
  proc.time()[["elapsed"]] - started
}

cat(sprintf("LSTM(32) on x of dims (%d, %d, %d); %d alternating runs per side after a warm-up\n\n",
            n, timesteps, features, runs))
ratios <- c()
for (case in cases) {
  r_result <- case$r()  # warm-up: traces and compiles the forward pass once for both sides
  py_result <- case$py()
  same <- max(abs(r_result$importance -
                    as.vector(reticulate::py_to_r(py_result$importances_mean))))
  times <- matrix(NA_real_, runs, 2L, dimnames = list(NULL, c("R", "Python")))
  for (i in seq_len(runs)) {
    times[i, "R"] <- elapsed(case$r)
    times[i, "Python"] <- elapsed(case$py)
  }
  med <- apply(times, 2L, stats::median)
  ratio <- med[["R"]] / med[["Python"]]
  ratios <- c(ratios, ratio)
  cat(sprintf("%s\n  median R %.3f s, Python %.3f s: R / Python = %.3f (overhead %+.1f%%); max |diff| of importances %.1e\n",
              case$name, med[["R"]], med[["Python"]], ratio, 100 * (ratio - 1), same))
}
cat(sprintf("\nWorst R overhead: %+.1f%% (target <= 10%%)\n", 100 * (max(ratios) - 1)))
