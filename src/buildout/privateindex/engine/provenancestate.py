"""The state's ``provenance`` table: where each file's page dates and yanks come from.

One row per indexed file: ``first_seen_ns``, when the index first held it,
and, once an upstream record matched the file by name and sha256
(``upstream`` = 1), the upstream's ``upload_time_ns`` and ``yanked`` (None:
not yanked; a text, possibly empty: the reason).  Pages then show the
upstream's upload time, else the file's own date no later than when it was
first indexed (a file dated in the future does not stay so), so that pages
depend on the state only and stay reproducible.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from buildout.privateindex.dists.model import UpstreamFile

__all__ = ["CREATE_PROVENANCE", "FileProvenance", "ProvenanceRecords"]

CREATE_PROVENANCE = """
CREATE TABLE IF NOT EXISTS provenance (
    filename TEXT PRIMARY KEY, first_seen_ns INTEGER, upload_time_ns INTEGER,
    yanked TEXT, upstream INTEGER NOT NULL DEFAULT 0);
"""
_UPSERT = (
    "INSERT INTO provenance (filename, upload_time_ns, yanked, upstream) VALUES (?, ?, ?, 1)"
    " ON CONFLICT (filename) DO UPDATE SET upload_time_ns = excluded.upload_time_ns,"
    " yanked = excluded.yanked, upstream = 1"
)


class FileProvenance(NamedTuple):
    """What the state knows of where one file comes from."""

    first_seen_ns: int | None = None
    upload_time_ns: int | None = None
    #: The upstream's yank reason (``""``: none given); None if not yanked.
    yanked: str | None = None
    #: Whether an upstream record matched the file.
    upstream: bool = False

    def upload_time(self, mtime_ns: int) -> int:
        """The upload time a page shows for a file last modified at ``mtime_ns``."""
        if self.upload_time_ns is not None:
            return self.upload_time_ns
        if self.first_seen_ns is not None:
            return min(mtime_ns, self.first_seen_ns)
        return mtime_ns


class ProvenanceRecords:
    """The queries and changes of the ``provenance`` table (a part of IndexState)."""

    def _query(self, sql: str, *args: object) -> list[Any]:
        raise NotImplementedError

    def _write(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    def note_first_seen(self, filenames: Iterable[str], now_ns: int) -> None:
        """Record that the index holds ``filenames`` since ``now_ns`` (where not known)."""
        self._write(
            "INSERT OR IGNORE INTO provenance (filename, first_seen_ns) VALUES (?, ?)",
            ((filename, now_ns) for filename in filenames),
        )

    def has_provenance(self) -> bool:
        """Whether the table has any row."""
        return bool(self._query("SELECT EXISTS (SELECT 1 FROM provenance)")[0][0])

    def forget_provenance(self, filenames: Iterable[str]) -> None:
        self._write("DELETE FROM provenance WHERE filename = ?", ((n,) for n in filenames))

    def provenance(self, project: str) -> dict[str, FileProvenance]:
        """The provenance of each file of ``project`` that has a row, by file name."""
        rows = self._query(
            "SELECT p.filename, p.first_seen_ns, p.upload_time_ns, p.yanked, p.upstream"
            " FROM provenance p JOIN files f ON f.filename = p.filename WHERE f.project = ?",
            project,
        )
        return {row[0]: FileProvenance(row[1], row[2], row[3], bool(row[4])) for row in rows}

    def record_upstream(self, records: Mapping[str, Sequence[UpstreamFile]]) -> set[str]:
        """Apply upstream records to the files they match by name and sha256.

        Returns the projects whose pages change.
        """
        changed: set[str] = set()
        for project in sorted(records):
            indexed = dict(
                self._query("SELECT filename, sha256 FROM files WHERE project = ?", project)
            )
            if not indexed:
                continue
            known = self.provenance(project)
            updates = []
            for item in records[project]:
                if indexed.get(item.filename) != item.sha256:
                    continue
                old = known.get(item.filename, FileProvenance())
                new = old._replace(
                    upload_time_ns=item.upload_time_ns, yanked=item.yanked, upstream=True
                )
                if new != old:
                    updates.append((item.filename, item.upload_time_ns, item.yanked))
            if updates:
                self._write(_UPSERT, updates)
                changed.add(project)
        return changed
