"""The source files a build considers, as the scan found them.

A cold build holds one record per file to read until it is read: at 50,000
files a list of named tuples took 14 MB of the build's memory (and of its
readers', which are forked after the plan), so :class:`CandidateList`
keeps them in columns instead (``benchmarks/README.rst``, goal 4).
"""

from __future__ import annotations

import array
import os
from collections.abc import Iterable, Sequence
from typing import NamedTuple, overload

__all__ = ["Candidate", "CandidateList"]


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
    """A list of candidates in columns: the paths, and arrays of the numbers."""

    def __init__(self, candidates: Iterable[Candidate] = ()) -> None:
        self._paths: list[str] = []
        self._sizes = array.array("q")
        self._mtimes = array.array("q")
        self._readable = bytearray()
        for candidate in candidates:
            self.append(candidate)

    def append(self, candidate: Candidate) -> None:
        self._paths.append(candidate.path)
        self._sizes.append(candidate.size)
        self._mtimes.append(candidate.mtime_ns)
        self._readable.append(candidate.readable)

    def __len__(self) -> int:
        return len(self._paths)

    @overload
    def __getitem__(self, index: int) -> Candidate: ...
    @overload
    def __getitem__(self, index: slice) -> CandidateList: ...
    def __getitem__(self, index: int | slice) -> Candidate | CandidateList:
        if isinstance(index, slice):
            part = CandidateList()
            part._paths = self._paths[index]
            part._sizes = self._sizes[index]
            part._mtimes = self._mtimes[index]
            part._readable = self._readable[index]
            return part
        return Candidate(
            self._paths[index],
            self._sizes[index],
            self._mtimes[index],
            bool(self._readable[index]),
        )
