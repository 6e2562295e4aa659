"""The documentation site's API reference lists every public name, and only names that
exist. (The site itself is built, with warnings as errors, and its code run, by
``nox -s docs``: a page outside every table of contents fails there.)"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[1] / "docs"
# Public names that are not API pages of their own, and why.
NOT_PAGES = {
    "xperceptron": {"__version__", "datasets", "exceptions"},  # modules, and a string
    "xperceptron.callbacks": {"HOOKS", "CallbackList", "is_callback"},  # the loop's side
}


def _reference() -> set[str]:
    """The fully qualified names the API reference's autosummary tables list."""
    names, module = set(), "xperceptron"
    for line in (DOCS / "api.rst").read_text().splitlines():
        if line.startswith(".. currentmodule::"):
            module = line.split("::")[1].strip()
        elif re.fullmatch(r"   [A-Za-z_][\w.]*", line):
            names.add(f"{module}.{line.strip()}")
    return names


@pytest.mark.parametrize(
    "module", ["xperceptron", "xperceptron.callbacks", "xperceptron.plot", "xperceptron.datasets"]
)
def test_every_public_name_has_a_reference_page(module):
    public = set(importlib.import_module(module).__all__) - NOT_PAGES.get(module, set())
    public -= {"GATES"}  # a constant, described in logic_gate's page
    missing = {f"{module}.{name}" for name in public} - _reference()
    assert not missing, f"add to docs/api.rst: {sorted(missing)}"


def test_every_reference_entry_exists():
    for name in _reference():
        module, _, attribute = name.rpartition(".")
        try:
            owner = importlib.import_module(name)
        except ImportError:
            owner = importlib.import_module(module)
            assert hasattr(owner, attribute), name
