"""Find the candidate distribution files in the sources.

A source is a directory, scanned recursively (symlinked directories are
followed, loops are detected and reported), or a single file.  Only files
whose name looks like a distribution are candidates; everything else is
ignored silently, because a buildout download cache holds other downloads
too.  Each candidate is stat'ed exactly once, here.  Candidates are produced
one at a time, so that a build need not hold every source file in memory.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat as stat_module
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from buildout.privateindex.dists.model import (
    EGG_SUFFIX,
    SDIST_SUFFIXES,
    WHEEL_SUFFIX,
    Problem,
    classify,
)
from buildout.privateindex.engine.candidates import Candidate
from buildout.privateindex.engine.fsutil import is_within
from buildout.privateindex.engine.state import STATE_DIR
from buildout.privateindex.errors import SourceError

__all__ = ["STORE", "Candidate", "check_sources", "iter_candidates", "store_path"]

logger = logging.getLogger(__name__)

#: The index's own store of files, inside its private directory: what
#: ``privateindex add`` fetched.  Every build of the index scans it.
STORE = os.path.join(STATE_DIR, "store")


def store_path(output: str | os.PathLike[str]) -> str:
    """The store directory of the index in ``output`` (it may not exist)."""
    return os.path.join(os.path.abspath(os.fspath(output)), STORE)


def _identity(st: os.stat_result) -> tuple[int, int]:
    return (st.st_dev, st.st_ino)


def check_sources(sources: Sequence[str | os.PathLike[str]], output: str) -> list[str]:
    """The sources as absolute paths; SourceError for one that is missing or unusable.

    Absolute, so that the scan cache (keyed by path) recognizes a source
    however it is spelt.  A source inside the output directory is refused:
    the index would index itself; but for the index's store (see
    :data:`STORE`), which is always a source once it exists, so that no
    build (``prune`` included) drops what was added to it.
    """
    real_output = os.path.realpath(output)
    store = store_path(output)
    real_store = os.path.realpath(store)
    checked: list[str] = []
    for source in sources:
        path = os.fspath(source)
        try:
            os.stat(path)
        except FileNotFoundError:
            raise SourceError(path, "no such file or directory") from None
        except OSError as exc:
            raise SourceError(path, exc.strerror or str(exc)) from None
        real = os.path.realpath(path)
        if is_within(real, real_output) and not is_within(real, real_store):
            raise SourceError(path, "lies inside the output directory")
        checked.append(os.path.abspath(path))
    if os.path.isdir(store) and store not in checked:
        checked.append(store)
    return checked


#: Every distribution suffix, for a quick first test of a name.
_SUFFIXES = (WHEEL_SUFFIX, EGG_SUFFIX, *SDIST_SUFFIXES)


def _list_dir(path: str) -> Iterator[tuple[str, bool]]:
    """The entries of a directory by name, and whether each is a directory.

    Names only, sorted, and the set of those that are directories (no
    ``DirEntry`` objects, no pair per entry): a download cache may hold tens
    of thousands of files.  The flag comes from the directory listing where
    the file system gives it; a symbolic link is followed.
    """
    names: list[str] = []
    dirs: set[str] = set()
    with os.scandir(path) as it:
        for entry in it:
            names.append(entry.name)
            try:
                if entry.is_dir():
                    dirs.add(entry.name)
            except OSError:
                pass  # it cannot be followed: stat reports why, if it matters
    names.sort()
    return ((name, name in dirs) for name in names)


class _Dir(NamedTuple):
    """A directory being scanned: its path with a separator, identity, and the entries left."""

    prefix: str
    ident: tuple[int, int]
    entries: Iterator[tuple[str, bool]]


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENAMETOOLONG:
        return "its path is longer than this system allows (PATH_MAX)"
    return exc.strerror or str(exc)


class _Scanner:
    def __init__(self, exclude: tuple[int, int] | None, given: set[str]) -> None:
        self.problems: list[Problem] = []
        #: Directories scanned so far, so that none is scanned twice.
        self.visited: set[tuple[int, int]] = set()
        self.exclude = exclude
        #: Files given as sources (they may also lie in a directory source),
        #: and those of them produced already.
        self.given = given
        self.produced: set[str] = set()

    def problem(self, path: str, reason: str) -> None:
        logger.debug("%s: %s", path, reason)
        self.problems.append(Problem(path, reason))

    def file(self, path: str, st: os.stat_result) -> Iterator[Candidate]:
        if path in self.given:
            if path in self.produced:
                return
            self.produced.add(path)
        yield Candidate(path, st.st_size, st.st_mtime_ns, bool(st.st_mode & 0o004))

    def enter(self, path: str, st: os.stat_result, ancestors: set[tuple[int, int]]) -> _Dir | None:
        """The listing of directory ``path`` to scan, or None if it is not to be scanned."""
        ident = _identity(st)
        if ident in ancestors:
            self.problem(path, "symbolic link loop; not followed")
            return None
        if ident in self.visited:
            logger.debug("%s: already scanned", path)
            return None
        self.visited.add(ident)
        if ident == self.exclude:
            logger.debug("%s: the output directory; not scanned", path)
            return None
        try:
            listing = _list_dir(path)
        except OSError as exc:
            self.problem(path, f"cannot list directory: {_reason(exc)}")
            return None
        prefix = path if path.endswith(os.sep) else path + os.sep
        return _Dir(prefix, ident, iter(listing))

    def scan_dir(self, path: str, st: os.stat_result) -> Iterator[Candidate]:
        """The candidates below directory ``path``, depth first, entries by name.

        Iterative, with a stack of open listings: a tree of any depth is
        scanned (a recursive walk stops at Python's recursion limit).
        """
        ancestors: set[tuple[int, int]] = set()
        top = self.enter(path, st, ancestors)
        stack = [top] if top is not None else []
        if top is not None:
            ancestors.add(top.ident)
        given = self.given
        while stack:
            current = stack[-1]
            entry = next(current.entries, None)
            if entry is None:
                stack.pop()
                ancestors.discard(current.ident)
                continue
            name, is_dir = entry
            looks_like_dist = name.endswith(_SUFFIXES) and classify(name) is not None
            if not is_dir and not looks_like_dist:
                continue  # no need to stat what is ignored anyway
            entry_path = current.prefix + name
            try:
                entry_st = os.stat(entry_path)
            except OSError as exc:
                if looks_like_dist or exc.errno == errno.ENAMETOOLONG:
                    self.problem(entry_path, f"cannot stat: {_reason(exc)}")
                continue
            if stat_module.S_ISDIR(entry_st.st_mode):
                if looks_like_dist:
                    self.problem(entry_path, "a directory (unpacked?), not a distribution file")
                    continue
                inner = self.enter(entry_path, entry_st, ancestors)
                if inner is not None:
                    stack.append(inner)
                    ancestors.add(inner.ident)
            elif not looks_like_dist:
                continue  # it changed from a directory meanwhile
            elif not stat_module.S_ISREG(entry_st.st_mode):
                self.problem(entry_path, "not a regular file")
            elif given and entry_path in given:
                yield from self.file(entry_path, entry_st)
            else:
                yield Candidate(
                    entry_path,
                    entry_st.st_size,
                    entry_st.st_mtime_ns,
                    bool(entry_st.st_mode & 0o004),
                )

    def scan(self, sources: Sequence[str]) -> Iterator[Candidate]:
        for source in sources:
            try:
                st = os.stat(source)
            except OSError as exc:
                self.problem(source, f"cannot stat: {_reason(exc)}")
                continue
            if stat_module.S_ISDIR(st.st_mode):
                yield from self.scan_dir(source, st)
            elif not stat_module.S_ISREG(st.st_mode):
                self.problem(source, "not a regular file or directory")
            elif classify(os.path.basename(source)) is None:
                self.problem(source, "not a distribution file name (.whl, .egg or an sdist)")
            else:
                yield from self.file(source, st)


def iter_candidates(
    sources: Sequence[str], output: str | None, problems: list[Problem]
) -> Iterator[Candidate]:
    """The candidates in ``sources`` (checked by :func:`check_sources`), one at a time.

    ``output``, the index directory, is never entered.  Files come in a
    deterministic order: sources as given, directory entries by name; a file
    found twice under the same path comes once.  What cannot be scanned is
    appended to ``problems``.
    """
    exclude = None
    if output is not None:
        with contextlib.suppress(OSError):
            exclude = _identity(os.stat(output))
    given = {source for source in sources if os.path.isfile(source)}
    scanner = _Scanner(exclude, given)
    count = 0
    try:
        for candidate in scanner.scan(sources):
            count += 1
            yield candidate
    finally:
        problems.extend(scanner.problems)
    logger.debug("scanned %d source(s): %d candidate(s)", len(sources), count)
