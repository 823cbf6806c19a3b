# R code inside a Keras model (issue 23, item 1): a Lambda layer with an R function and a layer class
# defined from R run R code whenever the model is traced or called, and R code called from a thread
# other than R's main one aborts the R session ("Rcpp::LongjumpException"). seqimp runs such models on
# the calling thread. The explanation runs in a separate R process (callr), so that a regression is a
# failed test and not an aborted test run.

test_that("a Keras model with an R Lambda and an R custom layer is explained with its Python twin's numbers", {
  import_or_skip("keras")
  skip_unless_installed("callr")
  out <- callr::r(function() {
    library(seqimp)
    keras <- reticulate::import("keras")
    twin_code <- reticulate::py_run_string(paste(
      "import keras",
      "class PyScale(keras.layers.Layer):",
      "    def call(self, inputs):",
      "        return keras.ops.multiply(inputs, 0.5)",
      "double = lambda t: keras.ops.multiply(t, 2.0)", sep = "\n"))
    RScale <- reticulate::PyClass("RScale", inherit = keras$layers$Layer, defs = list(
      call = function(self, inputs, ...) keras$ops$multiply(inputs, 0.5)))
    build <- function(lambda_fn, scale_layer) {
      keras$utils$set_random_seed(3L)
      inp <- keras$Input(shape = reticulate::tuple(6L, 3L))
      h <- keras$layers$Lambda(lambda_fn, output_shape = reticulate::tuple(6L, 3L))(inp)
      h <- scale_layer(h)
      out <- keras$layers$Dense(1L)(keras$layers$LSTM(4L)(h))
      keras$Model(inp, out)
    }
    with_r <- build(function(t) keras$ops$multiply(t, 2.0), RScale())
    twin <- build(twin_code$double, twin_code$PyScale())
    twin$set_weights(with_r$get_weights())
    set.seed(1)
    x <- array(stats::runif(300 * 6 * 3), c(300, 6, 3), dimnames = list(NULL, NULL, c("a", "b", "c")))
    y <- x[, 6, 1] + stats::rnorm(300, sd = 0.1)
    explain <- function(model) list(
      perturbation = perturbation_importance(model, x, n_repeats = 2, seed = 1, batch_size = 64),
      permutation = permutation_importance(model, x, y, metric = "mse", n_repeats = 2, seed = 1,
                                           granularity = "timestep", batch_size = 64),
      gradient = gradient_importance(model, x[1:50, , ], method = "integrated_gradients", n_steps = 8L))
    list(r = explain(with_r), twin = explain(twin),
         layers = reticulate::import("seqimp.adapters.keras_layers")$r_code_layers(with_r))
  }, error = "error")
  for (method in c("perturbation", "permutation", "gradient")) {
    expect_equal(attr(out$r[[method]], "importances"), attr(out$twin[[method]], "importances"),
                 tolerance = 1e-6, info = method)
  }
  # An untrained model: its permutation importances may have either sign, but its predictions move.
  expect_true(all(out$r$perturbation$importance > 0) && all(out$r$gradient$importance > 0))
  expect_length(out$layers, 2L)  # the Lambda and the R layer are seen as R code
})
