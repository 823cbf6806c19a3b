# Argument checks at the R boundary. Messages follow the core's one pattern, naming the R argument:
# "The 'x' argument of perturbation_importance must be ... Got ... instead."
# The core checks ranges and options again (one source of truth for those); R checks what only R
# can see: NA values, R classes, whole numbers, and dims.

# The core's one sentence (seqimp.errors), with `expected` and `got` in R's words already.
arg_error <- function(name, fn, expected, got) {
  message <- py_helpers()$r_argument_message(name, fn, expected, got)
  stop(seqimp_condition(reticulate::py_to_r(message)))
}

# An R value as R writes it in a message: NULL, 2.5, "a", c("a", "b") (at most `limit` elements), or
# its class and length or dims. Python values are written in R's words by the core (seqimp.errors).
describe <- function(value, limit = 6L) {
  if (is.null(value)) return("NULL")
  if (is.atomic(value) && !is.object(value) && is.null(dim(value)) && length(value) >= 1L &&
        length(value) <= limit) {
    shown <- if (is.character(value)) sprintf("\"%s\"", value) else format(value, trim = TRUE)
    return(if (length(value) == 1L) shown else sprintf("c(%s)", paste(shown, collapse = ", ")))
  }
  d <- dim(value)
  shape <- if (is.null(d)) sprintf("length %d", length(value)) else
    sprintf("dims %s", r_dims(d))
  sprintf("an object of class %s with %s", paste(class(value), collapse = "/"), shape)
}

# A whole number as an R integer (5 and 5L both work; 2.5, NA and "5" do not), at least `low` if given.
as_count <- function(value, name, fn, null_ok = FALSE, low = NULL) {
  if (is.null(value) && null_ok) return(NULL)
  expected <- paste0(if (is.null(low)) "a whole number" else sprintf("a whole number of at least %d", low),
                     if (null_ok) " or NULL" else "")
  if (!is.numeric(value) || length(value) != 1L || is.na(value) || !is.finite(value) ||
        value != round(value) || abs(value) > .Machine$integer.max || (!is.null(low) && value < low)) {
    arg_error(name, fn, expected, describe(value))
  }
  as.integer(value)
}

as_number <- function(value, name, fn, null_ok = FALSE) {
  if (is.null(value) && null_ok) return(NULL)
  if (!is.numeric(value) || length(value) != 1L || is.na(value)) {
    arg_error(name, fn, paste0("a number", if (null_ok) " or NULL" else ""), describe(value))
  }
  as.double(value)
}

as_flag <- function(value, name, fn) {
  if (!is.logical(value) || length(value) != 1L || is.na(value)) {
    arg_error(name, fn, "TRUE or FALSE", describe(value))
  }
  value
}

as_string <- function(value, name, fn, null_ok = FALSE) {
  if (is.null(value) && null_ok) return(NULL)
  if (!is.character(value) || length(value) != 1L || is.na(value)) {
    arg_error(name, fn, paste0("a single string", if (null_ok) " or NULL" else ""), describe(value))
  }
  value
}

# The core's random_state. With seed = NULL it is drawn from R's random number generator, as R's own
# random functions (and DALEX, vip, iml) work: set.seed(1) before a call makes it reproducible, and
# calls without set.seed() differ. A given seed leaves R's generator untouched.
as_seed <- function(seed, fn) {
  if (is.null(seed)) return(sample.int(.Machine$integer.max, 1L) - 1L)
  if (!is.numeric(seed) || length(seed) != 1L || is.na(seed) || seed < 0 || seed != round(seed) ||
        seed > .Machine$integer.max) {
    arg_error("seed", fn, "a non-negative whole number or NULL", describe(seed))
  }
  as.integer(seed)
}

# Dims as R writes them: c(100, 5, 3).
r_dims <- function(d) sprintf("c(%s)", paste(d, collapse = ", "))
