# A stateful recurrent model is refused from R with R code that makes a stateless copy (issue 23, item 3).

test_that("a stateful LSTM is refused; the R line in the message makes a copy with stable numbers", {
  keras <- import_or_skip("keras")
  keras$utils$set_random_seed(0L)
  inp <- keras$Input(batch_shape = reticulate::tuple(50L, 6L, 3L))
  model <- keras$Model(inp, keras$layers$Dense(1L)(keras$layers$LSTM(4L, stateful = TRUE, name = "lstm")(inp)))
  x <- uniform_array(200, 6, 3)
  y <- rowSums(x[, , 1])
  err <- tryCatch(permutation_importance(model, x, y, batch_size = 50, seed = 1), error = identity)
  expect_s3_class(err, "seqimp_error")
  expect_match(conditionMessage(err), "recurrent layers (\\['lstm'\\]|c\\(\"lstm\"\\)) are stateful")
  recipe <- strsplit(conditionMessage(err), "\n    ", fixed = TRUE)[[1]][2]
  expect_match(recipe, "^stateless <- keras\\$models\\$clone_model")
  eval(parse(text = recipe))  # the R line the message gives, as it is
  runs <- lapply(1:3, function(i) attr(permutation_importance(stateless, x, y, n_repeats = 2, seed = 1),
                                       "importances"))
  expect_identical(runs[[1]], runs[[2]])
  expect_identical(runs[[1]], runs[[3]])
})
