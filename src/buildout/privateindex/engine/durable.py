"""Make what a build wrote durable before the state that lists it commits.

SQLite syncs the state, but the files, ``.metadata`` files and pages of the
index (and the directories naming them) sit in the page cache until the
kernel writes them back.  A build notes every path it creates, replaces or
removes in a :class:`SyncBatch` and flushes the batch right before each
commit that depends on those paths: on Linux with one ``syncfs(2)`` of the
index's file system (Python has no ``os.syncfs``, so libc's is called
through ctypes), elsewhere with one ``fsync`` per noted file and per
directory holding one.  Either way the cost is per commit, not per file.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from collections.abc import Callable

from buildout.privateindex.errors import IndexStateError

__all__ = ["SyncBatch"]

logger = logging.getLogger(__name__)


def _load_syncfs() -> Callable[[int], int] | None:
    """libc's ``syncfs(fd)``, or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function


_syncfs = _load_syncfs()


def _fsync(path: str) -> None:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if os.path.isdir(path) else os.O_RDONLY
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SyncBatch:
    """The paths a build changed under ``top`` since the last :meth:`flush`."""

    def __init__(self, top: str) -> None:
        self.top = top
        self.pending = False
        #: Without syncfs: every path to fsync (each noted path and its directory).
        self._paths: set[str] | None = None if _syncfs is not None else set()

    def note(self, path: str) -> None:
        """Note a file or directory created, replaced or removed (with its directory)."""
        self.pending = True
        if self._paths is not None:
            self._paths.add(path)
            self._paths.add(os.path.dirname(path))

    def flush(self) -> None:
        """Make every noted change durable (nothing to do if none is pending)."""
        if not self.pending:
            return
        if _syncfs is not None:
            self._syncfs()
        else:
            self._fsync_each()
        self.pending = False

    def _syncfs(self) -> None:
        assert _syncfs is not None
        fd = os.open(self.top, os.O_RDONLY)
        try:
            if _syncfs(fd) != 0:
                error = ctypes.get_errno()
                raise IndexStateError(self.top, f"cannot sync: {os.strerror(error)}")
        finally:
            os.close(fd)

    def _fsync_each(self) -> None:
        assert self._paths is not None
        paths, self._paths = sorted(self._paths), set()
        for path in paths:
            try:
                _fsync(path)
            except FileNotFoundError:
                continue  # removed: its directory (noted too) records that
            except OSError as exc:
                if os.path.isdir(path):  # some systems cannot sync a directory
                    logger.debug("cannot sync %s: %s", path, exc.strerror or exc)
                    continue
                raise IndexStateError(path, f"cannot sync: {exc.strerror or exc}") from None
        logger.debug("synced %d path(s)", len(paths))
