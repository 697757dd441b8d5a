"""The rows of the state's ``files`` table, and DistFile records."""

from __future__ import annotations

from typing import NamedTuple

from buildout.privateindex.dists.model import DistFile, Kind

__all__ = ["FileRow", "dist_to_row", "row_to_dist"]

#: Separates the requirements in ``files.build_requires`` (never in a requirement).
_SEP = "\x1f"
_KINDS = {kind.value: kind for kind in Kind}


class FileRow(NamedTuple):
    """A row of the state's ``files`` table (its columns, in their order)."""

    filename: str
    project: str
    name: str
    version: str
    kind: str
    size: int
    sha256: str
    mtime_ns: int
    requires_python: str | None
    summary: str
    metadata_sha256: str | None
    #: The sdist's ``[build-system] requires``, joined by ``\x1f``; None: unknown.
    build_requires: str | None
    #: The path the file was copied from.
    source: str


def row_to_dist(row: FileRow) -> DistFile:
    """The DistFile a ``files`` row describes."""
    packed = row.build_requires
    build_requires = None if packed is None else tuple(packed.split(_SEP)) if packed else ()
    return DistFile(
        filename=row.filename,
        project=row.project,
        name=row.name,
        version=row.version,
        kind=_KINDS[row.kind],
        size=row.size,
        sha256=row.sha256,
        mtime_ns=row.mtime_ns,
        requires_python=row.requires_python,
        summary=row.summary,
        metadata_sha256=row.metadata_sha256,
        build_requires=build_requires,
    )


def dist_to_row(dist: DistFile, source: str) -> FileRow:
    """The ``files`` row for ``dist``, copied from ``source``."""
    requires = dist.build_requires
    build_requires = None if requires is None else _SEP.join(requires)
    return FileRow(
        dist.filename,
        dist.project,
        dist.name,
        dist.version,
        dist.kind.value,
        dist.size,
        dist.sha256,
        dist.mtime_ns,
        dist.requires_python,
        dist.summary,
        dist.metadata_sha256,
        build_requires,
        source,
    )
