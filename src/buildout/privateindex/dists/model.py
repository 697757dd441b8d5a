"""The data model shared by every core module: plain, immutable records.

They are named tuples, not dataclasses: ``dataclasses`` imports ``inspect``
(with ``ast`` and ``dis``), about 6 ms of every command's start-up, a
tenth of a rebuild with nothing to do (``benchmarks/README.rst``, goal 3).
"""

from __future__ import annotations

import enum
from typing import NamedTuple

from buildout.privateindex.dists.safetext import printable


class Kind(str, enum.Enum):
    """The kind of a distribution file."""

    WHEEL = "wheel"
    SDIST = "sdist"
    EGG = "egg"


#: File name endings of every distribution kind, longest first.
SDIST_SUFFIXES: tuple[str, ...] = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip")
WHEEL_SUFFIX = ".whl"
EGG_SUFFIX = ".egg"


def sdist_suffix(filename: str) -> str | None:
    """
    Return the archive suffix of an sdist file name, or None.

    >>> sdist_suffix("foo-1.0.tar.gz")
    '.tar.gz'
    >>> sdist_suffix("foo-1.0.whl") is None
    True
    """
    for suffix in SDIST_SUFFIXES:
        if filename.endswith(suffix) and len(filename) > len(suffix):
            return suffix
    return None


def classify(filename: str) -> Kind | None:
    """
    Return the kind of distribution a file name denotes, by its suffix.

    Suffixes are case-sensitive, as pip and PyPI treat them: ``foo-1.0.ZIP``
    is not an sdist.  A bare suffix (``.whl``) is no distribution either.

    :param str filename: The file name (not a path).

    >>> classify("foo-1.0-py3-none-any.whl")
    <Kind.WHEEL: 'wheel'>
    >>> classify("foo-1.0.tar.bz2")
    <Kind.SDIST: 'sdist'>
    >>> classify("foo-1.0-py3.11.egg")
    <Kind.EGG: 'egg'>
    >>> classify("foo-1.0.rpm") is None
    True
    """
    if filename.endswith(WHEEL_SUFFIX) and len(filename) > len(WHEEL_SUFFIX):
        return Kind.WHEEL
    if filename.endswith(EGG_SUFFIX) and len(filename) > len(EGG_SUFFIX):
        return Kind.EGG
    if sdist_suffix(filename) is not None:
        return Kind.SDIST
    return None


#: PEP 517's default build requirements for an sdist without ``[build-system]``.
DEFAULT_BUILD_REQUIRES: tuple[str, ...] = ("setuptools>=40.8.0",)


class DistFile(NamedTuple):
    """One distribution file as the index knows it.

    ``project`` is the PEP 503 normalized name, ``name`` and ``version`` are
    what the file's own metadata says (``version`` as written there).
    """

    filename: str
    project: str
    name: str
    version: str
    kind: Kind
    size: int
    sha256: str
    #: Modification time in nanoseconds since the epoch (PEP 700 upload-time).
    mtime_ns: int
    requires_python: str | None = None
    summary: str = ""
    #: sha256 of the core metadata file (PEP 658); wheels only, else None.
    metadata_sha256: str | None = None
    #: ``[build-system] requires`` of an sdist's pyproject.toml.  ``None``
    #: means the sdist declares none (PEP 517's default applies);
    #: always ``None`` for wheels and eggs.
    build_requires: tuple[str, ...] | None = None

    @property
    def effective_build_requires(self) -> tuple[str, ...]:
        """What a PEP 517 frontend installs before building this file."""
        if self.kind is not Kind.SDIST:
            return ()
        if self.build_requires is None:
            return DEFAULT_BUILD_REQUIRES
        return self.build_requires


class ReadResult(NamedTuple):
    """What reading a distribution file yields.

    ``core_metadata`` is the raw core metadata file of a wheel (written next
    to it as ``<file>.metadata``), else None.
    """

    dist: DistFile
    core_metadata: bytes | None = None


class Problem(NamedTuple):
    """A file that was not indexed, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        """``path: reason``, with control characters escaped (safe to print)."""
        return printable(f"{self.path}: {self.reason}")


class UpstreamFile(NamedTuple):
    """One file of an upstream project page.

    ``yanked`` is None when the file is not yanked, else the reason (``""``
    for none); ``upload_time_ns`` is None when the page gives none.
    """

    filename: str
    sha256: str
    upload_time_ns: int | None = None
    yanked: str | None = None
