"""Read the metadata members of a distribution archive, within fixed limits.

A tar sdist is decompressed in one pass that stops once its ``PKG-INFO`` and
``pyproject.toml`` are read; the whole file is hashed by the same pass.  A
zip (wheel, egg, zip sdist) is read from its central directory (zipread.py),
a tarball by tarread.py.

Whatever an archive claims, what it makes this process hold is bounded: an
archive is a compressed file, and a 1 MB wheel can inflate to gigabytes.
The limits below (and tarread.py's) are far above anything a real
distribution uses (PyPI's largest core metadata files are a few MiB of long
description) and are documented in README.rst; a file over one is reported,
never indexed.  The raw bytes of the file are hashed whatever its size: only
what is inflated is capped.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from typing import Literal

from buildout.privateindex.errors import DistributionError

__all__ = [
    "CHUNK_SIZE",
    "MAX_METADATA_BYTES",
    "MAX_PYPROJECT_BYTES",
    "TAIL_SIZE",
    "TAR_MODES",
    "HashingReader",
    "archive_errors",
    "mib",
    "too_big",
    "topdir",
]

#: The largest core metadata file (METADATA, PKG-INFO) read.
MAX_METADATA_BYTES = 16 << 20
#: The largest pyproject.toml read (for its build requirements).
MAX_PYPROJECT_BYTES = 1 << 20
#: Size of the chunks in which whole files are hashed.
CHUNK_SIZE = 1 << 20
#: The bytes at the end of a file that :class:`HashingReader` keeps.
TAIL_SIZE = 64
TarMode = Literal["r|gz", "r|bz2", "r|xz"]
TAR_MODES: dict[str, TarMode] = {
    ".tar.gz": "r|gz",
    ".tgz": "r|gz",
    ".tar.bz2": "r|bz2",
    ".tar.xz": "r|xz",
}


def archive_errors() -> tuple[type[BaseException], ...]:
    """What reading a broken archive raises (tarfile's gzip header parser even
    raises TypeError on a truncated header).

    A function, for ``except archive_errors():``, which only calls it when
    there is an exception: reading a wheel imports neither tarfile nor lzma.
    """
    import lzma
    import tarfile
    import zipfile

    return (
        *(OSError, EOFError, tarfile.TarError, zipfile.BadZipFile, zipfile.LargeZipFile),
        *(zlib.error, lzma.LZMAError, struct.error, RuntimeError, ValueError, TypeError),
        *(IndexError, OverflowError),
    )


def mib(n: int) -> str:
    return f"{n / (1 << 20):g} MiB"


class HashingReader:
    """A file reader that hashes every byte it passes on, exactly once."""

    def __init__(self, raw: io.BufferedIOBase) -> None:
        self.raw = raw
        self.hash = hashlib.sha256()
        self.count = 0
        self.tail = b""

    def _seen(self, data: bytes | memoryview) -> None:
        self.hash.update(data)
        self.count += len(data)
        self.tail = (self.tail + bytes(data[-TAIL_SIZE:]))[-TAIL_SIZE:]

    def read(self, size: int = -1, /) -> bytes:
        data = self.raw.read(size)
        self._seen(data)
        return data

    def write(self, b: bytes, /) -> object:
        raise OSError("read-only")

    def tell(self) -> int:
        return self.count

    def seek(self, pos: int, /) -> object:
        raise OSError("the archive is read as a stream")

    def close(self) -> object:
        return None  # the caller closes the file

    def read_rest(self, size: int) -> None:
        """Hash the rest of the file (``size`` bytes in all, expectedly)."""
        buf = bytearray(min(CHUNK_SIZE, max(size - self.count, 1 << 16)))
        view = memoryview(buf)
        while n := self.raw.readinto(view):
            self._seen(view[:n])


def topdir(name: str, basename: str) -> str | None:
    """The top directory of archive member ``<topdir>/<basename>``, else None."""
    parts = name.removeprefix("./").split("/")
    if len(parts) == 2 and parts[0] and parts[1] == basename:
        return parts[0]
    return None


def too_big(path: str, member: str, size: int, limit: int) -> DistributionError:
    return DistributionError(
        path, f"{member} is {size} bytes, more than the {mib(limit)} this reads"
    )
