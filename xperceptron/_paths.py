"""Output paths, checked before any work is done: the command line's ``--save``, ``--plot``
and ``export``, and :func:`~xperceptron.export_onnx`. Standard library only."""

from __future__ import annotations

import os

__all__ = ["check_writable"]


def check_writable(path: str | os.PathLike[str]) -> str:
    """``path`` as a string, once it is known that a file can be written there.

    The message of each error names ``path`` as given (not a temporary file beside it).

    Raises
    ------
    ValueError
        For an empty path.
    IsADirectoryError
        If ``path`` is a folder.
    FileNotFoundError, NotADirectoryError
        If the folder it would be written in does not exist, or is not a folder.
    PermissionError
        If that folder, or the file already there, may not be written.
    """
    target = os.fspath(path)
    if not isinstance(target, str) or not target:
        raise ValueError(f"an output path must be a non-empty file name, got {path!r}")
    if os.path.isdir(target):
        raise IsADirectoryError(f"{target} is a folder; give the name of a file to write")
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.exists(folder):
        raise FileNotFoundError(f"cannot write {target}: folder {folder} does not exist")
    if not os.path.isdir(folder):
        raise NotADirectoryError(f"cannot write {target}: {folder} is not a folder")
    if not os.access(folder, os.W_OK) or (
        os.path.exists(target) and not os.access(target, os.W_OK)
    ):
        raise PermissionError(f"cannot write {target}: permission denied")
    return target
