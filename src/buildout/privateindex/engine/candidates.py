"""The source files a build considers, as the scan found them.

A cold build holds one record per file to read until it is read: at 50,000
files a list of named tuples took 14 MB of the build's memory (and of its
readers', which are forked after the plan), so :class:`CandidateList`
keeps them in columns instead, about 60 bytes a file (``benchmarks/README.rst``,
goal 4).
"""

from __future__ import annotations

import array
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple, overload

__all__ = ["Candidate", "CandidateList"]

#: How ``os.fsdecode`` decodes a name (here applied to a slice of the buffer).
_ENCODING, _ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


class Candidate(NamedTuple):
    """A file that may be a distribution, with what its one stat told.

    A build holds one per file to read, so it is kept small: the file name
    is not stored but taken from the path when asked for.
    """

    path: str
    size: int
    mtime_ns: int
    #: Whether everyone may read it (then the index may hard link it).
    readable: bool = True

    @property
    def filename(self) -> str:
        """The file's name."""
        return os.path.basename(self.path)

    @property
    def signature(self) -> tuple[int, int]:
        """What tells a changed file from an unchanged one."""
        return (self.size, self.mtime_ns)


class CandidateList(Sequence[Candidate]):
    """A list of candidates in columns: each path as its directory's number
    and its name's bytes (names joined in one buffer), arrays of the numbers."""

    def __init__(self, candidates: Iterable[Candidate] = ()) -> None:
        self._dirs: list[str] = []  # each with its trailing separator
        self._dir_numbers: dict[str, int] = {}
        self._dir_of = array.array("L")
        self._names = bytearray()
        self._ends = array.array("Q")
        self._sizes = array.array("q")
        self._mtimes = array.array("q")
        self._readable = bytearray()
        for candidate in candidates:
            self.append(candidate)

    def append(self, candidate: Candidate) -> None:
        directory, sep, name = candidate.path.rpartition(os.sep)
        directory += sep
        number = self._dir_numbers.get(directory)
        if number is None:
            number = self._dir_numbers[directory] = len(self._dirs)
            self._dirs.append(directory)
        self._dir_of.append(number)
        self._names += os.fsencode(name)
        self._ends.append(len(self._names))
        self._sizes.append(candidate.size)
        self._mtimes.append(candidate.mtime_ns)
        self._readable.append(candidate.readable)

    def __len__(self) -> int:
        return len(self._ends)

    def __iter__(self) -> Iterator[Candidate]:
        dirs, names, start = self._dirs, self._names, 0
        for number, end, size, mtime, readable in zip(
            self._dir_of, self._ends, self._sizes, self._mtimes, self._readable, strict=True
        ):
            name = names[start:end].decode(_ENCODING, _ERRORS)
            yield Candidate(dirs[number] + name, size, mtime, bool(readable))
            start = end

    @overload
    def __getitem__(self, index: int) -> Candidate: ...
    @overload
    def __getitem__(self, index: slice) -> CandidateList: ...
    def __getitem__(self, index: int | slice) -> Candidate | CandidateList:
        if isinstance(index, slice):
            return CandidateList(self[i] for i in range(*index.indices(len(self))))
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("candidate index out of range")
        start = self._ends[index - 1] if index > 0 else 0
        name = self._names[start : self._ends[index]].decode(_ENCODING, _ERRORS)
        return Candidate(
            self._dirs[self._dir_of[index]] + name,
            self._sizes[index],
            self._mtimes[index],
            bool(self._readable[index]),
        )
