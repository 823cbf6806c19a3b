"""The layout stays readable: no module over 600 lines, no function over 80 lines of code (docstrings
excluded), and no import cycle among seqimp's modules, lazy imports inside functions included."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "python" / "seqimp"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def _modules():
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imported(name, path, modules):
    """The seqimp modules ``name`` imports anywhere in its source (top level or inside functions)."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in modules else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    # A package's children importing the package's own __init__ is re-export plumbing, not a cycle.
    return {t for t in found if t in modules and t != name and not name.startswith(t + ".")}


def _cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_module_is_over_the_line_limit():
    too_long = {name: len(path.read_text().splitlines()) for name, path in _modules().items()}
    assert {k: v for k, v in too_long.items() if v > MAX_MODULE_LINES} == {}


def test_no_function_is_over_the_line_limit():
    too_long = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            body = node.body
            if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                body = body[1:]
            if body and node.end_lineno - body[0].lineno + 1 > MAX_FUNCTION_LINES:
                too_long.append(f"{name}.{node.name}")
    assert too_long == []


def test_no_import_cycle():
    modules = _modules()
    graph = {name: _imported(name, path, modules) for name, path in modules.items()}
    assert _cycles(graph) == []


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b"}, "b": {"a"}, "c": set()}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
])
def test_the_cycle_finder_finds_cycles(graph, expected):
    assert _cycles(graph) == expected


# ---- rooms: who may import what (issue 19) ------------------------------------------------------------

KERAS_ADAPTERS = ("seqimp.adapters.keras_", "seqimp.adapters.dense_kernels", "seqimp.adapters.r_models")
FRAMEWORKS = ("keras", "tf_keras", "tensorflow", "rpy2")


def _all_imports(name, path):
    """Every module ``name`` imports anywhere (top level or inside functions), seqimp's resolved to full
    names, others as written."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _names_used(path):
    """Every identifier a module mentions: names, attributes, and string constants."""
    used = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.Attribute):
            used.add(node.attr)
        elif isinstance(node, ast.alias):
            used.add(node.name.split(".")[-1])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            used.add(node.value)
    return used


def test_the_engine_imports_no_model_specific_adapter():
    engines = {n: p for n, p in _modules().items() if n.startswith("seqimp.engine")}
    assert set(engines) == {"seqimp.engine", "seqimp.engine_jobs", "seqimp.engine_prefix"}
    offending = {name: sorted(t for t in _all_imports(name, path)
                              if t.startswith(KERAS_ADAPTERS) or t.split(".")[0] in FRAMEWORKS)
                 for name, path in engines.items()}
    assert {k: v for k, v in offending.items() if v} == {}
    # Nor does it walk a predictor's insides or name a Keras class: it asks the predictor.
    walking = {name: sorted(_names_used(path) & {"_predictor", "KerasPredictor", "KerasGradient", "_call"})
               for name, path in engines.items()}
    assert {k: v for k, v in walking.items() if v} == {}


def test_only_the_edge_imports_the_rpy2_bridge():
    importers = sorted(name for name, path in _modules().items()
                       if name != "seqimp.r" and any(t == "seqimp.r" or t.startswith("seqimp.r.")
                                                     for t in _all_imports(name, path)))
    assert importers == ["seqimp.edge"]


def test_only_the_edge_asks_whether_an_object_is_from_r():
    askers = sorted(name for name, path in _modules().items() if "is_rpy2_object" in _names_used(path))
    assert askers == ["seqimp.edge"]


def test_only_adapters_import_frameworks():
    # seqimp.r is the rpy2 bridge itself (data in and out) and seqimp.demo builds the seed experiment's
    # model; everything else goes through adapters/.
    offending = {name: sorted(t for t in _all_imports(name, path) if t.split(".")[0] in FRAMEWORKS)
                 for name, path in _modules().items()
                 if not name.startswith("seqimp.adapters") and name not in ("seqimp.r", "seqimp.demo")}
    assert {k: v for k, v in offending.items() if v} == {}


PUBLIC_METHODS = {"seqimp.perturbation": "perturbation_importance",
                  "seqimp.permutation": "permutation_importance",
                  "seqimp.gradients": "gradient_importance",
                  "seqimp.sage": "sage_importance"}
MAX_PUBLIC_BODY_LINES = 60


@pytest.mark.parametrize("module, function", sorted(PUBLIC_METHODS.items()))
def test_public_method_bodies_are_short(module, function):
    """The perturbation-type methods and SAGE share prepare/finish (seqimp.preamble): each body, without
    its docstring, blank lines and comments, stays within 60 lines of code."""
    path = _modules()[module]
    source = path.read_text().splitlines()
    node = next(n for n in ast.walk(ast.parse(path.read_text()))
                if isinstance(n, ast.FunctionDef) and n.name == function)
    first = node.body[1] if isinstance(node.body[0], ast.Expr) else node.body[0]
    code = [line for line in source[first.lineno - 1: node.end_lineno]
            if line.strip() and not line.strip().startswith("#")]
    assert len(code) <= MAX_PUBLIC_BODY_LINES
