# Seed 003 in R: "Can Keras RNN variable importance be calculated in R?"
#
# The seed builds an LSTM on 5 features with the R keras package and hand-writes a perturbation loop
# (one predict() per feature). Here the model is built from R through reticulate (the same Python
# Keras object the R keras packages return) and seqimp does the perturbation: noise of 0.1 times
# each feature's standard deviation (the seed's advice), the mean absolute change of the predictions
# (the seed's measure), 5 repeats for error bars.
#
# Usage: Rscript seed003_lstm.R [output folder]   (make demo runs it with demo-output)

suppressPackageStartupMessages(library(seqimp))
args <- commandArgs(trailingOnly = TRUE)
out_dir <- if (length(args) >= 1L) args[[1L]] else "demo-output"
keras <- reticulate::import("keras")

set.seed(42)
keras$utils$set_random_seed(42L)
n_samples <- 1000L
time_steps <- 10L
n_features <- 5L
X <- array(rnorm(n_samples * time_steps * n_features), dim = c(n_samples, time_steps, n_features),
           dimnames = list(NULL, NULL, paste0("Feature_", seq_len(n_features))))
# The seed's y was pure noise (rnorm), which leaves nothing to find; here y depends on features 1
# and 2 only, so the answer is known: 1 and 2 matter, 3 to 5 do not.
y <- rowMeans(X[, , 1]) - 0.5 * rowMeans(X[, , 2]) + rnorm(n_samples, sd = 0.05)

model <- keras$Sequential(list(
  keras$Input(shape = reticulate::tuple(time_steps, n_features)),
  keras$layers$LSTM(32L),
  keras$layers$Dense(1L)
))
model$compile(optimizer = "adam", loss = "mse")
cat("Training the seed's LSTM on 5 features (y uses features 1 and 2)...\n")
started <- Sys.time()
# As a matrix: reticulate makes a plain R vector a Python list, which fit() does not take.
history <- model$fit(X, matrix(y, ncol = 1L), epochs = 20L, batch_size = 32L, verbose = 0L)
losses <- unlist(history$history$loss)
cat(sprintf("  trained in %.0f s, final loss %.4f (Var(y) = %.4f)\n",
            as.numeric(difftime(Sys.time(), started, units = "secs")), losses[length(losses)], var(y)))

started <- Sys.time()
result <- perturbation_importance(model, X, noise = "gaussian", scale = 0.1, scale_by_std = TRUE,
                                  effect = "mae", n_repeats = 5, seed = 1)
seconds <- as.numeric(difftime(Sys.time(), started, units = "secs"))
cat(sprintf("\nPerturbation importance (%.1f s): mean |change| of the predictions under N(0, 0.1 sd) noise\n",
            seconds))
print(result, sort = TRUE)
# y = mean_t(x1) - 0.5 mean_t(x2): noise of sd s on every timestep of x_j moves y by N(0, (w_j s)^2 / T),
# whose mean absolute value is |w_j| s sqrt(2 / (pi T)) for a model that learned y exactly.
s <- 0.1 * apply(X, 3, stats::sd)[1:2]
cat(sprintf("A model that learned y exactly: Feature_1 %.4f, Feature_2 %.4f, the others 0.\n",
            1.0 * s[1] * sqrt(2 / (pi * time_steps)), 0.5 * s[2] * sqrt(2 / (pi * time_steps))))

# The seed's own loop, once, as a cross-check of the definition (one repeat, absolute sd 0.1: the
# features have sd 1, so the two noise scales agree).
baseline <- model$predict(X, verbose = 0L)
seed_loop <- sapply(seq_len(n_features), function(f) {
  perturbed <- X
  perturbed[, , f] <- X[, , f] + matrix(rnorm(n_samples * time_steps, 0, 0.1), n_samples, time_steps)
  mean(abs(model$predict(perturbed, verbose = 0L) - baseline))
})
cat("\nThe seed's hand-written loop (1 repeat):\n")
print(round(stats::setNames(seed_loop, dimnames(X)[[3]]), 4))

top <- result$feature[order(-result$importance)][1:2]
cat(sprintf("\nThe two most important features: %s (expected Feature_1 and Feature_2).\n",
            paste(top, collapse = ", ")))

dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
path <- file.path(out_dir, "seed003_r_importance.png")
plot_ <- ggplot2::autoplot(result) +
  ggplot2::labs(subtitle = "LSTM on 5 features, built and explained from R")
ggplot2::ggsave(path, plot_, width = 6, height = 3.5, dpi = 120)
cat(sprintf("Saved %s\n", path))
if (!setequal(top, c("Feature_1", "Feature_2"))) {
  stop("the demo's model did not rank features 1 and 2 first", call. = FALSE)
}
