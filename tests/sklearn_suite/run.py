"""scikit-learn's own MLP tests, run against xperceptron.

Finds the installed scikit-learn's ``sklearn/neural_network/tests/test_mlp.py`` and
``test_base.py``, copies them into a temporary folder, rewrites their imports from
``sklearn.neural_network`` so the estimators come from xperceptron, and runs pytest on the
copies under scikit-learn's own test settings (its conftest as a plugin, its warnings-as-errors
list), not this repository's. The tests listed in ``expected_failures.txt`` (tests of
scikit-learn's private attributes) are marked xfail, strict, and may fail only with
``AttributeError``; those in ``deliberate_differences.txt`` (an assertion that contradicts a
documented, deliberate difference) only with ``AssertionError``. Prints a summary and exits
non-zero on any other failure, on an expected failure that passes, and on a listed test that
is no longer collected.

    python tests/sklearn_suite/run.py [--keep] [pytest arguments...]

scikit-learn's tests are never stored in this repository: they are copied from the installed
scikit-learn at every run.
"""

from __future__ import annotations

import argparse
import ast
import importlib.resources
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
EXPECTED_FAILURES = HERE / "expected_failures.txt"
DELIBERATE = HERE / "deliberate_differences.txt"
SOURCE_PACKAGE = "sklearn.neural_network.tests"
TEST_FILES = ("test_mlp.py", "test_base.py")
REPLACED = "sklearn.neural_network"
SHIM = "_xperceptron_sklearn_suite"
EXPECTED_ERROR = AttributeError  # what an expected failure (a private attribute) raises
DELIBERATE_ERROR = AssertionError  # what a test of a deliberate difference fails with

# Names of sklearn.neural_network that tests may use which are missing from xperceptron get
# this stand-in: calling it raises AttributeError, as reading a private attribute does.
SHIM_SOURCE = '''"""Written by tests/sklearn_suite/run.py: stand-ins for what xperceptron lacks."""


class Missing:
    def __init__(self, name):
        self.name = name

    def __call__(self, *args, **kwargs):
        raise AttributeError(f"xperceptron has no equivalent of {self.name}")

    def __repr__(self):
        return f"<missing from xperceptron: {self.name}>"
'''

# scikit-learn's test settings, not this repository's: no filterwarnings = error (its tests
# fit without catching ConvergenceWarning where they do not care), the warnings its CI turns
# into errors instead (SKLEARN_WARNINGS_AS_ERRORS, read by sklearn/conftest.py).
PYTEST_INI = """[pytest]
addopts = -ra --tb=short --strict-markers -p no:cacheprovider -p sklearn.conftest
xfail_strict = true
"""


def read_expected_failures(path: Path | None = None) -> dict[str, str]:
    """Node id (or a test's id without parameters, for all of them) -> reason."""
    path = path or EXPECTED_FAILURES
    entries: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        node_id, sep, reason = line.partition(" -- ")
        if not sep or not reason.strip() or "::" not in node_id:
            raise SystemExit(f"{path}:{number}: expected 'NODE_ID -- reason', got {line!r}")
        entries[node_id.strip()] = reason.strip()
    return entries


def _replacement(node: ast.ImportFrom, xperceptron: Any) -> list[str]:
    """Statements taking what ``node`` imports from xperceptron, or a stand-in."""
    statements = []
    for alias in node.names:
        bound = alias.asname or alias.name
        if alias.name == "*":
            raise SystemExit(f"cannot rewrite 'from {node.module} import *'")
        if node.module == REPLACED and hasattr(xperceptron, alias.name):
            rename = f" as {alias.asname}" if alias.asname else ""
            statements.append(f"from xperceptron import {alias.name}{rename}")
        else:
            statements.append(f"{bound} = {SHIM}.Missing({f'{node.module}.{alias.name}'!r})")
    if any(SHIM in s for s in statements):
        statements.insert(0, f"import {SHIM}")
    return statements


def _check_swapped(old: ast.Module, new: ast.Module, filename: str) -> None:
    """Nothing but docstrings may still name scikit-learn's MLP module: no import in the
    rewritten source, no string (a warning filter, a monkeypatch target) in the original."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(old)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    for node in ast.walk(old):
        text = node.value if isinstance(node, ast.Constant) else None
        if isinstance(text, str) and REPLACED in text and id(node) not in docstrings:
            raise SystemExit(f"{filename}:{node.lineno}: a string names {REPLACED}")
    for node in ast.walk(new):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        if any(REPLACED in name for name in names):
            raise SystemExit(f"{filename}:{node.lineno}: still imports from {REPLACED}")


def rewrite(source: str, filename: str) -> tuple[str, list[str]]:
    """``source`` with every import from sklearn.neural_network swapped for xperceptron's;
    the same number of lines, so tracebacks point at scikit-learn's line numbers."""
    import xperceptron

    tree = ast.parse(source, filename)
    lines = source.splitlines(keepends=True)
    swapped = []
    for node in ast.walk(tree):
        module = getattr(node, "module", None) or ""
        if isinstance(node, ast.Import) and any(
            a.name == REPLACED or a.name.startswith(REPLACED + ".") for a in node.names
        ):
            raise SystemExit(f"{filename}:{node.lineno}: cannot rewrite 'import {REPLACED}...'")
        if not isinstance(node, ast.ImportFrom) or not (
            module == REPLACED or module.startswith(REPLACED + ".")
        ):
            continue
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        indent = lines[first][: node.col_offset]
        if indent.strip() or lines[last][node.end_col_offset or 0 :].strip():
            raise SystemExit(f"{filename}:{node.lineno}: the import shares its line")
        statements = _replacement(node, xperceptron)
        lines[first] = indent + "; ".join(statements) + "\n"
        for i in range(first + 1, last + 1):
            lines[i] = "\n"
        swapped += [f"{filename}:{node.lineno}: {s}" for s in statements if s != f"import {SHIM}"]
    new = "".join(lines)
    _check_swapped(tree, ast.parse(new, filename), filename)
    return new, swapped


def copy_tests(folder: Path) -> list[str]:
    """The rewritten copies of scikit-learn's MLP test files, the shim and pytest.ini, in
    ``folder``; the swaps made, one a line."""
    source = importlib.resources.files(SOURCE_PACKAGE)
    swapped = []
    for name in TEST_FILES:
        text, swaps = rewrite(source.joinpath(name).read_text(encoding="utf-8"), name)
        (folder / name).write_text(text, encoding="utf-8")
        swapped += swaps
    (folder / f"{SHIM}.py").write_text(SHIM_SOURCE)
    (folder / "pytest.ini").write_text(PYTEST_INI)
    return swapped


def _message(report: Any) -> str:
    """The error a failed test ended with, and the one it arose from where there is one."""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    chain = getattr(report.longrepr, "chain", None) or []
    if len(chain) > 1 and chain[0][1] is not None:
        text += f" (during: {chain[0][1].message})"
    return " ".join(text.split())[:500]


@dataclass
class Suite:
    """A pytest plugin: marks the expected failures, checks the swap, counts the outcomes."""

    expected: dict[str, str]
    full_run: bool
    deliberate: dict[str, str] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    stale: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    xfailed: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def _entry(self, node_id: str) -> str | None:
        for key in (node_id, node_id.split("[", 1)[0]):
            if key in self.expected or key in self.deliberate:
                self.used.add(key)
                return key
        return None

    def _error(self, key: str) -> type[BaseException]:
        return DELIBERATE_ERROR if key in self.deliberate else EXPECTED_ERROR

    @pytest.hookimpl(tryfirst=True)  # before -k and -m deselect
    def pytest_collection_modifyitems(self, items: list[Any]) -> None:
        modules = {}
        for item in items:
            key = self._entry(item.nodeid)
            if key is not None:
                reason = self.expected.get(key) or self.deliberate[key]
                mark = pytest.mark.xfail(reason=reason, raises=self._error(key), strict=True)
                item.add_marker(mark)
            if getattr(item, "module", None) is not None:
                modules[item.module.__name__] = item.module
        for module_name, module in sorted(modules.items()):  # the swap took: no sklearn MLP left
            for name, value in vars(module).items():
                if (getattr(value, "__module__", "") or "").startswith(REPLACED):
                    self.problems.append(f"{module_name}.{name} is scikit-learn's {value!r}")
        if self.full_run:
            self.stale = sorted((set(self.expected) | set(self.deliberate)) - self.used)

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when == "call" and report.passed:
            self.passed.append(report.nodeid)
        elif hasattr(report, "wasxfail") and report.skipped:
            self.xfailed.append((report.nodeid, report.wasxfail))
        elif report.skipped and report.when != "teardown":
            self.skipped.append((report.nodeid, _message(report)))
        elif report.failed:
            where = "" if report.when == "call" else f" (in {report.when})"
            key = self._entry(report.nodeid)
            if key is not None and not str(report.longrepr).startswith("[XPASS"):
                where += f" (listed as expected, but not an {self._error(key).__name__})"
            self.failed.append((report.nodeid + where, _message(report)))

    def summary(self) -> list[str]:
        out = [
            f"passed: {len(self.passed)}, expected failures: {len(self.xfailed)}, "
            f"unexpected failures: {len(self.failed)}, skipped: {len(self.skipped)}"
        ]
        private = [(n, r) for n, r in self.xfailed if self._entry(n) in self.expected]
        out += ["", "expected failures (scikit-learn's private attributes):"]
        out += [f"  {node}: {reason}" for node, reason in private] or ["  none"]
        deliberate = [(n, r) for n, r in self.xfailed if (n, r) not in private]
        out += ["", "expected failures (deliberate differences, documented in README.md):"]
        out += [f"  {node}: {reason}" for node, reason in deliberate] or ["  none"]
        if self.skipped:
            out += ["", "skipped:", *[f"  {node}: {why}" for node, why in self.skipped]]
        out += ["", "unexpected failures:"]
        out += [f"  {node}: {message}" for node, message in self.failed] or ["  none"]
        if self.stale:
            out += ["", f"listed in {EXPECTED_FAILURES.name} but not collected (remove them):"]
            out += [f"  {node}" for node in self.stale]
        if self.problems:
            out += ["", "the import swap did not take:", *[f"  {p}" for p in self.problems]]
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args, pytest_args = parser.parse_known_args(argv)
    os.environ.setdefault("SKLEARN_WARNINGS_AS_ERRORS", "1")
    folder = Path(tempfile.mkdtemp(prefix="xperceptron-sklearn-suite-"))
    try:
        suite, code = _run(folder, pytest_args)
    finally:
        if args.keep:
            print(f"\nkept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    if suite.stale or suite.problems:
        return 1
    return int(code)


def _run(folder: Path, pytest_args: list[str]) -> tuple[Suite, int]:
    import sklearn

    import xperceptron

    swaps = copy_tests(folder)
    print(f"scikit-learn {sklearn.__version__}: {importlib.resources.files(SOURCE_PACKAGE)}")
    print(f"xperceptron {xperceptron.__version__}: {Path(xperceptron.__file__).parent}")
    print(f"copied {', '.join(TEST_FILES)} to {folder}; imports swapped:")
    print("\n".join(f"  {s}" for s in swaps))

    # Node ids given on the command line (test_mlp.py::test_fit) name the copies.
    paths = [str(folder / a) for a in pytest_args if a.startswith(TEST_FILES)]
    options = [a for a in pytest_args if not a.startswith(TEST_FILES)]
    suite = Suite(read_expected_failures(), full_run=not paths,
                  deliberate=read_expected_failures(DELIBERATE))  # fmt: skip
    start, here = time.perf_counter(), os.getcwd()
    os.chdir(folder)  # nothing of this repository's (pyproject.toml, conftest.py) applies
    try:
        code = pytest.main(
            ["-c", "pytest.ini", "--rootdir", ".", *options, *(paths or ["."])],
            plugins=[suite],
        )
    finally:
        os.chdir(here)
    elapsed = time.perf_counter() - start
    print(f"\n==== scikit-learn's MLP tests against xperceptron ({elapsed:.0f} s) ====")
    print("\n".join(suite.summary()))
    return suite, int(code)


if __name__ == "__main__":
    sys.exit(main())
