"""The rows of the state's ``files`` table, and DistFile records."""

from __future__ import annotations

from .model import DistFile, Kind

__all__ = ["FileRow", "dist_to_row", "row_to_dist"]

#: Separates the requirements in ``files.build_requires`` (never in a requirement).
_SEP = "\x1f"
_KINDS = {kind.value: kind for kind in Kind}

#: A row of ``files``, in the column order above.
FileRow = tuple[
    str, str, str, str, str, int, str, int, str | None, str, str | None, str | None, str
]


def row_to_dist(row: FileRow) -> DistFile:
    """The DistFile a ``files`` row describes."""
    packed = row[11]
    build_requires = None if packed is None else tuple(packed.split(_SEP)) if packed else ()
    return DistFile(
        filename=row[0],
        project=row[1],
        name=row[2],
        version=row[3],
        kind=_KINDS[row[4]],
        size=row[5],
        sha256=row[6],
        mtime_ns=row[7],
        requires_python=row[8],
        summary=row[9],
        metadata_sha256=row[10],
        build_requires=build_requires,
    )


def dist_to_row(dist: DistFile, source: str) -> FileRow:
    """The ``files`` row for ``dist``, copied from ``source``."""
    requires = dist.build_requires
    build_requires = None if requires is None else _SEP.join(requires)
    return (
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
