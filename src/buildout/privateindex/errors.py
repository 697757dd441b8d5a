"""Exceptions of the core.  Every error carries the path it is about."""

from __future__ import annotations

import os

from buildout.privateindex.dists.safetext import printable


class PrivateIndexError(Exception):
    """Base class for every error this package raises on purpose."""


class DistributionError(PrivateIndexError, ValueError):
    """A file that cannot be indexed: corrupt, unreadable or inconsistent.

    ``path`` names the file, ``reason`` says what is wrong with it, in words a
    user can act on.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(printable(f"{self.path}: {reason}"))


class NotADistributionError(DistributionError):
    """A file that is not a Python distribution at all (e.g. a plain tarball).

    Buildout's download cache also holds plain software downloads; such files
    are skipped with a warning, never indexed.
    """


class ConflictError(DistributionError):
    """Two different files claim the same file name in one index."""


class SourceError(PrivateIndexError, ValueError):
    """A source given by the user does not exist or cannot be read."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{reason}: {self.path!r}")


class YankSpecError(PrivateIndexError, ValueError):
    """A yank specification that is not ``NAME==VERSION[: reason]``."""

    def __init__(self, spec: str, reason: str) -> None:
        self.spec = spec
        self.reason = reason
        super().__init__(f"invalid yank {spec!r}: {reason}")


class IndexStateError(PrivateIndexError, ValueError):
    """The index directory is not one this package wrote, or its state is broken."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(printable(f"{self.path}: {reason}"))
