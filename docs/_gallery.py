"""What sphinx-gallery calls around each example (named by string in conf.py, so that the
configuration stays picklable and Sphinx caches it)."""

from __future__ import annotations

import warnings
from typing import Any

_FILTERS: list[Any] = []


def warnings_are_errors(gallery_conf: dict[str, Any], fname: str, when: str) -> None:
    """Run each example with warnings as errors, as the test suite runs: an example that
    warns (a fit that does not converge, a deprecation) fails the build. Sphinx's own
    filters are put back after each example."""
    if when == "before":
        _FILTERS[:] = warnings.filters
        warnings.simplefilter("error")
    else:
        warnings.filters[:] = _FILTERS
