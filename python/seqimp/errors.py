"""One error path for both languages: structured errors, worded once for the caller.

An error about what the caller passed is a :class:`SeqimpError` (raised as :class:`SeqimpValueError` or
:class:`SeqimpTypeError`, which are ``ValueError`` and ``TypeError``, so ``except ValueError`` still
catches them). It keeps its structure: the ``argument``, the ``function``, what was ``expected``, what
was ``got``, and the ``positions`` it cites (0-based tuples), with the free text around them as a
template. What differs between Python and R is a *fragment* that words itself per language:

=====================  =========================================  ========================================
fragment               Python                                     R
=====================  =========================================  ========================================
:class:`Argument`      ``X``, ``random_state``, ``model_or_``...  ``x``, ``seed``, ``model``
:class:`Element`       ``X['seq']``, ``X[0]``                     ``x[["seq"]]``, ``x[[1]]``
:class:`Value`         ``None``, ``True``, ``inf``, ``['a']``,    ``NULL``, ``TRUE``, ``Inf``, ``c("a")``,
                       ``(5, 1)``, ``{'a': 1}``                   ``c(5, 1)``, ``list(a = 1)``
:class:`Got`           a value as the one sentence shows it       the same, in R's words
:class:`Shape`         ``shape (10,)``, ``(None, 5, 4)``          ``length 10``, ``c(NA, 5, 4)``
:class:`Position`      ``0`` (0-based)                            ``1`` (1-based)
:class:`Positions`     ``(3, 0, 1)``                              ``[4, 1, 2]``
:class:`Keyword`       ``mask=False``                             ``mask = FALSE``
:class:`Options`       ``{'a', 'b'}``                             ``c("a", "b")``
:class:`Raised`        "TypeError: " and another exception's      the same, its message in R's words if it
                       message                                    has them
built-in words         ``parameter``, ``None``, ``an int``,       ``argument``, ``NULL``, ``an integer``,
                       ``a float``, ``a dict``, ``a callable``    ``a number``, ``a named list``,
                                                                  ``an R function``
=====================  =========================================  ========================================

A template is a :meth:`str.format` string: ``{name}`` is a value passed by keyword or a built-in word
(:data:`WORDS`). A ``str`` passed by keyword is literal text, the same in both languages (a function
name, a description); an ``int`` is written as it is; anything else is shown as a :class:`Value`.

``str(error)`` is the Python message, fixed when the error is raised. :meth:`SeqimpError.in_r` is the
same error in R's words, which is what the R package shows (``seqimp._reticulate.call_from_r``); rpy2
users are Python users and read the Python message. Nothing rewrites a message after it is built.

Examples
--------
>>> from seqimp import errors
>>> err = errors.SeqimpValueError(
...     "The '{argument}' {parameter} of {function} must have one weight per sample of {X} "
...     "({expected}); got {got}.", argument="sample_weight", function="permutation_importance",
...     expected=100, got=errors.Shape((10,)))
>>> str(err)
"The 'sample_weight' parameter of permutation_importance must have one weight per sample of X (100); got shape (10,)."
>>> err.in_r()
"The 'sample_weight' argument of permutation_importance must have one weight per sample of x (100); got length 10."
>>> isinstance(err, ValueError), err.argument, err.got
(True, 'sample_weight', (10,))
>>> errors.SeqimpValueError("{function}: sample {sample} has no real step.", function="f",
...                         sample=errors.Position(4)).in_r()
'f: sample 5 has no real step.'
"""

from __future__ import annotations

import json
import math
import numbers
import string

import numpy as np

PYTHON, R = "python", "r"

# The core's parameters the R package names differently.
R_ARGUMENT_NAMES = {"X": "x", "random_state": "seed", "model_or_builder": "model"}

# Words that differ between the languages, usable by name in any template: "{parameter}", "{an_int}".
WORDS = {
    "parameter": ("parameter", "argument"),
    "parameters": ("parameters", "arguments"),
    "X": ("X", "x"),
    "None": ("None", "NULL"),
    "True": ("True", "TRUE"),
    "False": ("False", "FALSE"),
    "inf": ("inf", "Inf"),
    "nan": ("nan", "NaN"),
    "int": ("int", "integer"),
    "an_int": ("an int", "an integer"),
    "ints": ("ints", "integers"),
    "float": ("float", "number"),
    "a_float": ("a float", "a number"),
    "floats": ("floats", "numbers"),
    "a_bool": ("a bool", "TRUE or FALSE"),
    "callable": ("callable", "function"),
    "a_callable": ("a callable", "an R function"),
    "a_dict": ("a dict", "a named list"),
    "dict": ("dict", "named list"),
    "a_tuple": ("a tuple", "a vector"),
    "Metric": ("seqimp.metrics.Metric", "seqimp_metric()"),
}

# The one sentence every "must be" argument error follows (scikit-learn's).
SENTENCE = "The '{argument}' {parameter} of {function} must be {expected}. Got {got} instead."


class Fragment:
    """A piece of a message that words itself per language."""

    def word(self, language, spec=""):
        raise NotImplementedError

    def positions(self):
        """The 0-based positions this fragment cites, as tuples."""
        return ()


class Words(Fragment):
    """Text that reads differently in the two languages."""

    def __init__(self, python, r):
        self.python, self.r = str(python), str(r)

    def word(self, language, spec=""):
        return self.python if language == PYTHON else self.r


class Argument(Fragment):
    """A parameter's name: the core's in Python, the R package's in R (``x``, ``seed``, ``model``)."""

    def __init__(self, name):
        self.name = str(name)

    def word(self, language, spec=""):
        return self.name if language == PYTHON else R_ARGUMENT_NAMES.get(self.name, self.name)


class Value(Fragment):
    """A value as each language writes it; ``spec`` formats numbers alike in both ("{v:.4g}").

    Python: strings quoted as ``repr`` does, everything else as ``str``. R: NULL, TRUE/FALSE, "text",
    NaN/Inf, whole numbers without ".0", ``c(...)`` for sequences (None as NA), ``list(a = ...)`` for
    dicts, an array's values as a vector.
    """

    def __init__(self, value):
        self.value = value

    def word(self, language, spec=""):
        if language == PYTHON:
            return _python_text(self.value, spec)
        return r_text(self.value, spec)


class Got(Value):
    """What a caller passed, as the one sentence shows it: a scalar or string itself, anything else by
    its type (R: short vectors as ``c(...)``, then "a named list", "a function", ...)."""

    def word(self, language, spec=""):
        value = _plain(self.value)
        if language == PYTHON:
            if isinstance(value, (str, bool, numbers.Number, type(None))):
                return repr(value)
            return f"an object of type {type(value).__name__}"
        return _r_got(value)


class Shape(Fragment):
    """An array's shape. ``worded``: "shape (10,)" in Python; "length 10" or "dims c(100, 5)" in R.
    Otherwise only the shape: "(10,)" and "c(10)". None (any size) is NA in R, as keras3 writes it. A
    dict or list of shapes (several inputs) is written as one."""

    def __init__(self, shape, worded=True):
        self.shape, self.worded = _shape(shape), worded

    def word(self, language, spec=""):
        if language == PYTHON:
            return f"shape {self.shape}" if self.worded else str(self.shape)
        if not self.worded:
            return r_text(self.shape)
        if isinstance(self.shape, tuple) and len(self.shape) == 1:
            return f"length {r_text(self.shape[0])}"
        return f"dims {r_text(self.shape)}"


class Element(Fragment):
    """One input of an argument holding several (X, a mask): ``X['seq']`` and ``X[0]`` in Python,
    ``x[["seq"]]`` and ``x[[1]]`` in R."""

    def __init__(self, argument, key):
        self.argument, self.key = Argument(argument), key

    def word(self, language, spec=""):
        name = self.argument.word(language)
        if isinstance(self.key, str):
            return f"{name}[{self.key!r}]" if language == PYTHON else f"{name}[[{_r_string(self.key)}]]"
        return f"{name}[{int(self.key)}]" if language == PYTHON else f"{name}[[{int(self.key) + 1}]]"

    def positions(self):
        return () if isinstance(self.key, str) else ((int(self.key),),)


def argument_name(name):
    """A parameter's name as a fragment: ``name`` itself where it is one (an :class:`Element`)."""
    return name if isinstance(name, Fragment) else Argument(name)


def argument_of(name):
    """The parameter (its Python name, a str) that ``name``, a name or an :class:`Element`, is part of."""
    return name.argument.name if isinstance(name, (Element, Argument)) else name


class Position(Fragment):
    """A 0-based position (a sample, a feature index, a timestep): counted from 1 in R."""

    def __init__(self, index):
        self.index = int(index)

    def word(self, language, spec=""):
        return str(self.index if language == PYTHON else self.index + 1)

    def positions(self):
        return ((self.index,),)


class Positions(Fragment):
    """A cell's 0-based index: "(3, 0, 1)" in Python, "[4, 1, 2]" (as R indexes x) in R, or with
    ``as_vector`` "c(4, 1, 2)" (an index R users pass as a vector, such as ``output``)."""

    def __init__(self, index, as_vector=False):
        self.index, self.as_vector = tuple(int(i) for i in index), as_vector

    def word(self, language, spec=""):
        if language == PYTHON:
            return str(self.index)
        shown = ", ".join(str(i + 1) for i in self.index)
        return f"c({shown})" if self.as_vector else f"[{shown}]"

    def positions(self):
        return (self.index,)


class Keyword(Fragment):
    """An argument as a call writes it: ``mask=False`` in Python, ``mask = FALSE`` in R; without a value,
    ``feature_names=`` and ``feature_names =``."""

    _NO_VALUE = object()

    def __init__(self, name, value=_NO_VALUE):
        self.name, self.value = Argument(name), value

    def word(self, language, spec=""):
        name = self.name.word(language)
        if language == PYTHON:
            shown = "" if self.value is self._NO_VALUE else _python_text(self.value)
            return f"{name}={shown}"
        return f"{name} =" if self.value is self._NO_VALUE else f"{name} = {r_text(self.value)}"


class Options(Fragment):
    """Named options: "{'a', 'b'}" in Python, c("a", "b") in R."""

    def __init__(self, options):
        self.options = [str(o) for o in options]

    def word(self, language, spec=""):
        if language == PYTHON:
            return "{" + ", ".join(repr(o) for o in self.options) + "}"
        return r_text(self.options)


class Raised(Fragment):
    """Another exception inside this message: "TypeError: its message" (``typed``), or its message
    alone; in R, its R wording where it has one, and a :class:`SeqimpError`'s type by the Python type it
    is (``TypeError``). With ``sentence``, without its closing full stops (the message around it adds
    one), and "(no message)" where it has none."""

    def __init__(self, exc, typed=True, sentence=False):
        self.exc, self.typed, self.sentence = exc, typed, sentence

    def word(self, language, spec=""):
        message = in_language(self.exc, language)
        if self.sentence:
            message = message.rstrip(".") or "(no message)"
        return f"{type_name(self.exc)}: {message}" if self.typed else message

    def positions(self):
        return self.exc.positions if isinstance(self.exc, SeqimpError) else ()


class Text(Fragment):
    """A template and its values (see the module's docstring), worded as a whole."""

    def __init__(self, template, **values):
        self.template = str(template)
        self.values = {key: _fragment(value) for key, value in values.items()}
        for _, field, _, conversion in string.Formatter().parse(self.template):
            if conversion is not None:
                raise ValueError(f"template field {{{field}!{conversion}}}: wrap the value in a fragment")
            if field is not None and field not in self.values and field not in WORDS:
                raise KeyError(f"template field {{{field}}} has no value: {self.template!r}")

    def word(self, language, spec=""):
        return _Formatter(language).vformat(self.template, (), self.values)

    def positions(self):
        return tuple(p for value in self.values.values() for p in value.positions())


def text(template, **values):
    """A :class:`Text`: a phrase to pass as ``expected=`` or inside another message."""
    return Text(template, **values)


def about(argument, function, rest=""):
    """The opening "The 'groups' parameter of f" (then ``rest``), for a message that goes on from it; its
    ``argument`` attribute names the parameter."""
    opening = Text("The '{argument}' {parameter} of {function}{rest}", argument=Argument(argument),
                   function=str(function), rest=rest)
    opening.argument = argument
    return opening


def join(parts, separator=", "):
    """Fragments (or text) joined into one :class:`Text`."""
    parts = list(parts)
    return Text(separator.join(f"{{p{i}}}" for i in range(len(parts))),
                **{f"p{i}": part for i, part in enumerate(parts)})


class _Formatter(string.Formatter):
    def __init__(self, language):
        super().__init__()
        self.language = language

    def get_value(self, key, args, kwargs):
        if key in kwargs:
            return kwargs[key]
        python, r = WORDS[key]
        return Words(python, r)

    def format_field(self, value, format_spec):
        return value.word(self.language, format_spec)


class _Literal(Fragment):
    """Text (or an int) that reads the same in both languages."""

    def __init__(self, value):
        self.value = value

    def word(self, language, spec=""):
        return format(self.value, spec)


def _fragment(value):
    """What a template's keyword becomes: fragments stay, str and int are literal, the rest a Value."""
    if isinstance(value, Fragment):
        return value
    if isinstance(value, str):
        return _Literal(value)
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return _Literal(int(value))
    return Value(value)


class Phrase(str):
    """Text that is not an error but cites a position, such as a result's "output 0": the ``str`` is the
    Python wording, :attr:`r` the R one ("output 1"), which the conversions to R use (:func:`r_words`)."""

    def __new__(cls, phrase):
        obj = super().__new__(cls, phrase.word(PYTHON))
        obj.r = phrase.word(R)
        return obj

    def __reduce__(self):
        return _phrase, (str(self), self.r)


def _phrase(python, r):
    return Phrase(Words(python, r))


def r_words(value):
    """``value`` for R: a :class:`Phrase` in its R wording, anything else as it is."""
    return value.r if isinstance(value, Phrase) else value


# -- the error ---------------------------------------------------------------------------------------

class SeqimpError(Exception):
    """An error seqimp raises about its caller's input, worded for the caller's language.

    Parameters
    ----------
    template : str
        The message, with ``{name}`` for each value (see the module's docstring). ``{argument}``,
        ``{function}``, ``{expected}`` and ``{got}`` are the keywords below.
    argument : str, optional
        The parameter at fault, by its Python name (R's is derived: ``X`` -> ``x``).
    function : str, optional
        The public function that was called.
    expected, got : optional
        What the argument must be, and what was passed: a :class:`Text` or fragment, or a value.
    **values
        The template's other values.

    Attributes
    ----------
    argument, function : str or None
        As given.
    expected : str or None
        What was expected, in Python's words.
    got : object
        What was passed: the value itself (a shape as a tuple, a position as an int).
    positions : tuple of tuples
        Every 0-based position the message cites (a sample, a feature index, a cell).
    type_name : str
        The Python exception type the R package reports (``ValueError``, ``TypeError``).
    """

    type_name = "Exception"

    def __init__(self, template, *, argument=None, function=None, expected=None, got=None, **values):
        self.template = template
        self._parts = dict(argument=argument, function=function, expected=expected, got=got, **values)
        named = {key: value for key, value in
                 (("argument", None if argument is None else Argument(argument)), ("function", function),
                  ("expected", expected), ("got", got)) if value is not None}
        self.text = Text(template, **named, **values)
        self.argument, self.function = argument, function
        self.expected = None if expected is None else self.text.values["expected"].word(PYTHON)
        self.got = _raw(got)
        super().__init__(self.text.word(PYTHON))

    @property
    def positions(self):
        return self.text.positions()

    def in_r(self):
        """The message in R's words: R's argument names, NULL, TRUE, c(...), NaN, Inf, 1-based positions."""
        return self.text.word(R)

    def __reduce__(self):  # rebuilt from its parts in joblib's and Dask's workers
        return _rebuild, (type(self), self.template, self._parts)


def _rebuild(cls, template, values):
    return cls(template, **values)


class SeqimpValueError(SeqimpError, ValueError):
    """A :class:`SeqimpError` that is a ``ValueError``: the argument has the right type, a wrong value."""

    type_name = "ValueError"


class SeqimpTypeError(SeqimpError, TypeError):
    """A :class:`SeqimpError` that is a ``TypeError``: the argument has the wrong type."""

    type_name = "TypeError"


class SeqimpRuntimeError(SeqimpError, RuntimeError):
    """A :class:`SeqimpError` that is a ``RuntimeError``: the call cannot run now (a file is locked)."""

    type_name = "RuntimeError"


def argument_error(argument, function, expected, got, kind=ValueError):
    """The one sentence: "The 'n_repeats' parameter of f must be an int in the range [1, inf). Got 0
    instead." ``got`` is the value passed (shown as :class:`Got`); ``kind`` is ValueError or TypeError."""
    cls = SeqimpTypeError if issubclass(kind, TypeError) else SeqimpValueError
    return cls(SENTENCE, argument=argument, function=function, expected=_as_text(expected), got=Got(got))


def r_argument_message(argument, function, expected, got):
    """The one sentence in R's words, for the R package's own checks: ``expected`` and ``got`` are
    already R text (R describes R values itself)."""
    return Text(SENTENCE, argument=Argument(argument), function=str(function), expected=str(expected),
                got=str(got)).word(R)


def in_language(exc, language):
    """An exception's message for ``language`` ("python" or "r"): a :class:`SeqimpError` worded for it,
    any other exception's text as it is (an R error quoted inside keeps its words)."""
    if language == R and isinstance(exc, SeqimpError):
        return exc.in_r()
    return str(exc) if language == PYTHON else str(exc).strip()


def type_name(exc):
    """The Python type an R user is told about: ``ValueError`` for a :class:`SeqimpValueError`."""
    return exc.type_name if isinstance(exc, SeqimpError) else type(exc).__name__


def _raw(value):
    """The value inside a fragment (a Got's value, a Shape's shape, a Position's index)."""
    for attribute in ("value", "shape", "index"):
        if isinstance(value, Fragment) and hasattr(value, attribute):
            return getattr(value, attribute)
    return value


def _as_text(expected):
    return expected if isinstance(expected, Fragment) else _Literal(expected)


# -- values in each language's words ---------------------------------------------------------------

def _plain(value):
    """NumPy scalars as Python ones."""
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _shape(shape):
    if isinstance(shape, dict):
        return {k: _shape(v) for k, v in shape.items()}
    if isinstance(shape, list):
        return [_shape(v) for v in shape]
    return tuple(None if d is None else int(d) for d in shape)


def _python_text(value, spec=""):
    value = _plain(value)
    if spec:
        return format(value, spec)
    return repr(value) if isinstance(value, str) else str(value)


def _r_string(value):
    return json.dumps(str(value), ensure_ascii=False)


def r_text(value, spec=""):
    """A value as R writes it: NULL, TRUE, "text", 2.5, NaN, -Inf, c(1, 2), list(a = 1)."""
    value = _plain(value)
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return _r_string(value)
    if isinstance(value, numbers.Integral):
        return format(int(value), spec)
    if isinstance(value, numbers.Real):
        v = float(value)
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Inf" if v > 0 else "-Inf"
        return format(v, spec) if spec else f"{v:.15g}"
    if isinstance(value, dict):
        return "list(" + ", ".join(f"{k} = {r_text(v, spec)}" for k, v in value.items()) + ")"
    if isinstance(value, np.ndarray):
        value = value.tolist() if value.ndim <= 1 else list(value.shape)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
        if any(isinstance(_plain(v), (list, tuple, dict, np.ndarray)) for v in items):
            return "list(" + ", ".join(r_text(v, spec) for v in items) + ")"
        return "c(" + ", ".join("NA" if v is None else r_text(v, spec) for v in items) + ")"
    if callable(value):
        return "a function"
    return f"an object of Python type {type(value).__name__}"


def _r_got(value):
    """What a caller passed, in R's words: scalars and short vectors shown, the rest described."""
    if isinstance(value, (list, tuple)) and 0 < len(value) <= 10 and all(
            v is None or isinstance(_plain(v), (str, numbers.Number)) for v in value):
        return r_text(value)
    if isinstance(value, dict):
        return "a named list"
    if isinstance(value, (list, tuple)):
        return f"a list of length {len(value)}"
    if isinstance(value, np.ndarray):
        return "an array with dims " + r_text(list(value.shape))
    return r_text(value)
