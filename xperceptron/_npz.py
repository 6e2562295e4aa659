"""Reading an ``.npz`` archive without trusting it, and writing one atomically.

Opening reads only the zip's table of members, and checks it against the file: each name
once, each an ``.npy``, stored or deflated, declaring no more bytes than its compressed data
can hold and no data past the end of the file. A member is read only when asked for, with
the dtype kinds and shape its reader expects: its npy header first, then, once that matches,
exactly the bytes it declares, checked against the zip's CRC. Nothing is unpickled, and
nothing is allocated before it is known to fit what the file holds.

Writing goes to a new file beside the target, renamed over it once complete; through a
symbolic link, to the file it names. A new file gets ``0o666`` less the umask, as any
program's; a file replaced keeps its permissions.
"""

from __future__ import annotations

import math
import os
import secrets
import stat
import zipfile
from types import TracebackType
from typing import IO, Any

import numpy as np

__all__ = ["DEFLATE_RATIO", "Archive", "Refused", "write"]

DEFLATE_RATIO = 1100
"""Deflate expands a byte into at most 1032: a member declaring more is refused unread."""
_CHUNK = 1 << 18  # read (and checked, copied) at a time: small enough to stay in cache
_NPY_HEADER = 10_000  # numpy's own bound on an npy header
_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


class Refused(ValueError):
    """The archive is not what it must be; the message says how."""


class Archive:
    """An open ``.npz`` archive whose table of members was checked; use as a context manager.

    ``members`` maps each member's name (without ``.npy``) to its zip entry.
    """

    def __init__(self, path: str) -> None:
        self._file: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed by close()
        try:
            self._zip = zipfile.ZipFile(self._file)
        except Exception as exc:  # zipfile raises many kinds on a damaged directory
            self._file.close()
            if isinstance(exc, MemoryError):
                raise
            raise Refused(f"not an .npz archive ({type(exc).__name__}: {exc})") from exc
        try:
            self.members = self._table(os.fstat(self._file.fileno()).st_size)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._zip.close()
        self._file.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _table(self, size: int) -> dict[str, zipfile.ZipInfo]:
        members: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in self._zip.infolist():
            name = info.filename.removesuffix(".npy")
            if name == info.filename:
                raise Refused(f"member {info.filename!r:.100} is not an .npy array.")
            if name in members:
                raise Refused(f"member {name!r:.100} appears twice.")
            if info.flag_bits & 0x1:
                raise Refused(f"member {name!r:.100} is encrypted.")
            if info.compress_type == zipfile.ZIP_STORED:
                most = info.compress_size
            elif info.compress_type == zipfile.ZIP_DEFLATED:
                most = info.compress_size * DEFLATE_RATIO
            else:
                raise Refused(
                    f"member {name!r:.100} uses compression method {info.compress_type}; "
                    "checkpoint members are stored or deflated."
                )
            if info.file_size > most or (most == info.compress_size != info.file_size):
                raise Refused(
                    f"member {name!r:.100} declares {info.file_size} bytes in "
                    f"{info.compress_size} compressed ones, which cannot hold them."
                )
            total += info.compress_size
            if total > size or info.header_offset + info.compress_size > size:
                raise Refused("the members declare more data than the file holds.")
            members[name] = info
        return members

    def read(
        self,
        name: str,
        *,
        kinds: str,
        what: str,
        shape: tuple[int | None, ...],
        limit: int | None = None,
    ) -> np.ndarray[Any, Any]:
        """Member ``name``: an array of a dtype of one of ``kinds`` (``what`` names them in
        messages) and of ``shape`` (``None``: any length), of at most ``limit`` bytes."""
        info = self.members[name]
        try:
            with self._zip.open(info) as stream:
                return _array(stream, name, info.file_size, kinds, what, shape, limit)
        except (Refused, MemoryError):
            raise
        except Exception as exc:  # zipfile, zlib and numpy's npy parser each raise their own
            raise Refused(f"member {name!r} is damaged ({type(exc).__name__}: {exc}).") from exc


def _array(
    stream: IO[bytes],
    name: str,
    size: int,
    kinds: str,
    what: str,
    shape: tuple[int | None, ...],
    limit: int | None,
) -> np.ndarray[Any, Any]:
    """The array in an npy stream of ``size`` bytes, its header checked before its data."""
    version = np.lib.format.read_magic(stream)
    if version not in _READERS:
        raise Refused(f"member {name!r} has npy format {version}; expected 1.0 or 2.0.")
    declared, fortran, dtype = _READERS[version](stream, max_header_size=_NPY_HEADER)
    if dtype.kind not in kinds or dtype.fields is not None or dtype.subdtype is not None:
        raise Refused(f"member {name!r} has dtype {dtype}; expected {what}.")
    if len(declared) != len(shape) or any(
        want is not None and want != got for got, want in zip(declared, shape, strict=False)
    ):
        expected = tuple("any" if n is None else n for n in shape)
        raise Refused(f"member {name!r} has shape {declared}; expected {expected}.")
    nbytes = math.prod(declared) * dtype.itemsize
    if limit is not None and nbytes > limit:
        raise Refused(f"member {name!r} holds {nbytes} bytes; at most {limit} are read.")
    if stream.tell() + nbytes != size:
        raise Refused(
            f"member {name!r} declares {nbytes} bytes of data but holds {size - stream.tell()}."
        )
    raw = np.empty(nbytes, dtype=np.uint8)
    view, done = raw.data, 0
    while done < nbytes:
        count = stream.readinto(view[done : done + _CHUNK])  # type: ignore[attr-defined]
        if not count:
            raise Refused(f"member {name!r} is truncated.")
        done += count
    if stream.read(1):  # also where zipfile checks the CRC
        raise Refused(f"member {name!r} holds more data than it declares.")
    array = raw.view(dtype).reshape(declared, order="F" if fortran else "C")
    if fortran or not dtype.isnative:
        array = np.ascontiguousarray(array, dtype=dtype.newbyteorder("="))
    return array


def write(path: str, members: dict[str, Any]) -> None:
    """``members`` as an ``.npz`` at ``path`` (through a link, to its target), atomically."""
    target = os.path.realpath(path)
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temporary = os.path.join(
            os.path.dirname(target), f".xperceptron-{secrets.token_hex(8)}.npz"
        )
        try:  # 0o666: the umask applies, as to any program's new file
            handle = os.open(temporary, flags, 0o666)
            break
        except FileExistsError:  # pragma: no cover - 64 random bits
            continue
    try:
        with os.fdopen(handle, "wb") as file:
            if mode is not None:
                os.chmod(temporary, mode)  # a file replaced keeps its permissions
            np.savez(file, **members)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise
