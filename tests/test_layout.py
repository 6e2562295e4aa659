"""The package's layering, read from its source: imports point down, never in a cycle; io
knows no estimator; the math imports only the namespace helpers and itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "xperceptron"
MATH = {"activations", "losses", "network", "optimizers", "lbfgs", "_reductions"}
ESTIMATORS = {"mlp", "_mlp_base", "perceptron"}


def _graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports (at any depth of its source)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.glob("*.py"):
        name = path.stem
        graph[name] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module is None:
                    graph[name] |= {alias.name for alias in node.names}
                else:
                    graph[name].add(node.module.split(".")[0])
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("xperceptron"):
                graph[name].add((node.module or "").split(".")[1])
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt == "__init__":
                continue
            if state.get(nxt) == 1:
                return [*path, node, nxt]
            if nxt not in state and (found := visit(nxt, [*path, node])):
                return found
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node, [])):
            return found
    return None


def test_no_import_cycle():
    graph = {k: v for k, v in _graph().items() if k != "__init__"}
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph) or [])}"


def test_io_and_callbacks_import_no_estimator():
    graph = _graph()
    assert not graph["io"] & ESTIMATORS
    assert not graph["callbacks"] & ESTIMATORS


@pytest.mark.parametrize("module", sorted(MATH))
def test_the_math_imports_only_the_namespace_helpers_and_itself(module):
    assert _graph()[module] <= MATH | {"_namespace"}


@pytest.mark.parametrize("module", sorted(MATH))
def test_the_math_imports_no_array_library(module):
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}  # fmt: skip
    imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.level == 0}  # fmt: skip
    assert not imported & {"numpy", "cupy", "torch", "jax", "array_api_compat"}


def test_modules_and_functions_stay_small():
    # The guide: modules under about 400 lines, functions under about 60.
    for path in PACKAGE.glob("*.py"):
        source = path.read_text()
        assert source.count("\n") <= 450, f"{path.name} has {source.count(chr(10))} lines"
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                first = node.body[0]
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                    length -= (first.end_lineno or first.lineno) - first.lineno + 1  # docstring
                assert length <= 60, f"{path.name}:{node.name} has {length} lines of code"
