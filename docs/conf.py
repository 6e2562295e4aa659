"""Sphinx configuration of the xperceptron documentation site.

Build (what ``nox -s docs`` runs, with warnings as errors):

    sphinx-build -W --keep-going -b html docs docs/_build/html
    sphinx-build -W --keep-going -b doctest -D plot_gallery=0 docs docs/_build/doctest

The API reference is generated from the docstrings (autodoc, autosummary, numpydoc); the
guide is Markdown (MyST); the examples gallery runs ``examples/*.py`` (sphinx-gallery).
Nothing here reaches the network: no intersphinx.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the source tree, where the package is not installed
sys.path.insert(0, str(Path(__file__).parent))  # _gallery.py

import xperceptron  # noqa: E402

project = "xperceptron"
author = "the xperceptron developers"
copyright = "the xperceptron developers, MIT licence"
version = release = xperceptron.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "make_figures.py", "**/*.ipynb", "auto_examples/*.py"]
templates_path = ["_templates"]

# API reference: one page per object, numpydoc sections, members listed by autosummary.
autosummary_generate = True
autodoc_typehints = "none"  # the numpydoc sections say the types
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# Guide pages: MyST Markdown; ```{doctest} blocks run under `-b doctest`.
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
doctest_test_doctest_blocks = ""  # docstrings run under pytest --doctest-modules
doctest_global_setup = """
import os, tempfile, warnings
os.chdir(tempfile.mkdtemp())  # files the guide writes land in a scratch folder
"""


# Examples gallery: every examples/plot_*.py runs at each build (a few seconds each).
sphinx_gallery_conf = {
    "reset_modules": ("matplotlib", "_gallery.warnings_are_errors"),
    "reset_modules_order": "both",
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "matplotlib_animations": False,
    "within_subsection_order": "FileNameSortKey",
    "write_computation_times": False,
}

html_theme = "pydata_sphinx_theme"
html_title = f"xperceptron {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "changelog": []}
html_show_sourcelink = False


def _command_line_reference() -> None:
    """Write every subcommand's ``--help`` as Markdown for guide/cli.md to include: the page
    shows what the installed parser says, so it cannot drift from it."""
    import argparse

    from xperceptron.__main__ import build_parser

    os.environ["COLUMNS"] = "88"  # argparse wraps help at this width
    parser = build_parser()
    parser.prog = "xperceptron"
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    parts = ["```text", parser.format_help().rstrip(), "```", ""]
    for name, command in commands.choices.items():
        parts += [f"### `xperceptron {name}`", "", "```text", command.format_help().rstrip()]
        parts += ["```", ""]
    target = Path(__file__).parent / "_build" / "cli_reference.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(parts), encoding="utf-8")


_command_line_reference()
