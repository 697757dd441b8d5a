"""An index directory as the closure engine sees it: what it holds, and a way to add."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from buildout.privateindex.dists.model import DistFile, Problem, UpstreamFile
from buildout.privateindex.engine.build import build_index, load_index

__all__ = ["DirectoryIndex", "IndexView"]


class IndexView(Protocol):
    """What the closure needs of the index being filled."""

    def has(self, filename: str, sha256: str | None) -> bool:
        """Whether the index holds ``filename`` (with that content, if given)."""

    def add(self, directory: Path) -> int:
        """Index the files in ``directory``; the number of files added."""

    def build_requires(self, filename: str) -> Sequence[str]:
        """The build requirements of the indexed sdist ``filename``."""

    def record(self, records: Mapping[str, Sequence[UpstreamFile]]) -> None:
        """Apply upstream records (upload time, yanks) to the files they match."""


class DirectoryIndex:
    """An index directory as :func:`fill` and :func:`check` see it."""

    def __init__(
        self, directory: str, yanks: Sequence[str] = (), unyanks: Sequence[str] = ()
    ) -> None:
        self.directory = directory
        self.yanks = list(yanks)
        self.unyanks = list(unyanks)
        #: Files that could not be indexed while filling.
        self.problems: list[Problem] = []
        self._files: dict[str, DistFile] = {}
        self.refresh()

    @property
    def url(self) -> str:
        return Path(self.directory, "simple").absolute().as_uri() + "/"

    @property
    def files(self) -> list[DistFile]:
        return list(self._files.values())

    def refresh(self) -> None:
        self._files = {dist.filename: dist for dist in load_index(self.directory)}

    def has(self, filename: str, sha256: str | None) -> bool:
        dist = self._files.get(filename)
        return dist is not None and (sha256 is None or dist.sha256 == sha256.lower())

    def add(self, directory: Path) -> int:
        report = build_index([directory], self.directory, yanks=self.yanks, unyanks=self.unyanks)
        self.problems += report.problems
        self.refresh()
        return len(report.added)

    def record(self, records: Mapping[str, Sequence[UpstreamFile]]) -> None:
        build_index([], self.directory, yanks=self.yanks, unyanks=self.unyanks, provenance=records)

    def build_requires(self, filename: str) -> Sequence[str]:
        dist = self._files.get(filename)
        return dist.effective_build_requires if dist is not None else ()
