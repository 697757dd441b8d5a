"""The private state of an index: ``DIR/.privateindex/state.sqlite``.

Three tables:

``files``
    every file the index holds (``filename`` is the key), with all the fields
    of its :class:`~buildout.privateindex.model.DistFile` and the source path
    it was copied from;
``scan``
    the scan cache: per source path, the ``(size, mtime_ns)`` it had when it
    was last read and what reading it gave: the ``filename`` and ``sha256``
    of its DistFile record, or the reason it is not indexable;
``meta``
    ``schema`` (the layout version of this database), ``settings`` (the
    fingerprint of the render settings the pages were written with) and
    ``dirty`` (set while a build writes to the index, so that the next build
    knows it must clean up after a killed one).

The state is loaded with one SELECT per table and written in one transaction
per build; SQLite makes each commit atomic, even when the process is killed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import Iterable
from typing import NamedTuple

from .errors import IndexStateError
from .model import DistFile, Kind

__all__ = ["STATE_DIR", "IndexState", "ScanEntry", "state_path"]

logger = logging.getLogger(__name__)

#: The private directory inside the index directory.
STATE_DIR = ".privateindex"
_STATE_FILE = "state.sqlite"
_SCHEMA = "1"

_FILE_COLUMNS = (
    "filename, project, name, version, kind, size, sha256, mtime_ns,"
    " requires_python, summary, metadata_sha256, build_requires, source"
)
_CREATE = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    filename TEXT PRIMARY KEY, project TEXT NOT NULL, name TEXT NOT NULL,
    version TEXT NOT NULL, kind TEXT NOT NULL, size INTEGER NOT NULL,
    sha256 TEXT NOT NULL, mtime_ns INTEGER NOT NULL, requires_python TEXT,
    summary TEXT NOT NULL, metadata_sha256 TEXT, build_requires TEXT,
    source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scan (
    source TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    filename TEXT, sha256 TEXT, error TEXT, skipped INTEGER NOT NULL DEFAULT 0);
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', '{_SCHEMA}');
"""

#: A row of ``files``, in the column order above.
FileRow = tuple[
    str, str, str, str, str, int, str, int, str | None, str, str | None, str | None, str
]


class ScanEntry(NamedTuple):
    """What the scan cache knows about one source path.

    Either ``filename`` and ``sha256`` (a good distribution) or ``error`` (why
    it is not indexable; ``skipped`` when it is not a distribution at all).
    """

    size: int
    mtime_ns: int
    filename: str | None = None
    sha256: str | None = None
    error: str | None = None
    skipped: bool = False


def state_path(directory: str) -> str:
    """Where the state database of the index in ``directory`` lives."""
    return os.path.join(directory, STATE_DIR, _STATE_FILE)


def row_to_dist(row: FileRow) -> DistFile:
    """The DistFile a ``files`` row describes."""
    build_requires = None if row[11] is None else tuple(json.loads(row[11]))
    return DistFile(
        filename=row[0],
        project=row[1],
        name=row[2],
        version=row[3],
        kind=Kind(row[4]),
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
    build_requires = None if dist.build_requires is None else json.dumps(list(dist.build_requires))
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


class IndexState:
    """The loaded state of one index, and the means to update it."""

    def __init__(self, connection: sqlite3.Connection, path: str) -> None:
        self._db = connection
        self.path = path
        try:
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("schema") != _SCHEMA:
                raise IndexStateError(
                    path, f"state schema {meta.get('schema')!r} is not {_SCHEMA!r}"
                )
            #: The ``files`` rows by file name.
            self.files: dict[str, FileRow] = {
                row[0]: row for row in self._db.execute(f"SELECT {_FILE_COLUMNS} FROM files")
            }
            #: The scan cache by source path.
            self.scan: dict[str, ScanEntry] = {
                row[0]: ScanEntry(row[1], row[2], row[3], row[4], row[5], bool(row[6]))
                for row in self._db.execute(
                    "SELECT source, size, mtime_ns, filename, sha256, error, skipped FROM scan"
                )
            }
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise IndexStateError(path, f"broken state database: {exc}") from None
        self.settings: str | None = meta.get("settings")
        self.dirty = meta.get("dirty") == "1"

    @classmethod
    def open(cls, directory: str, *, create: bool = True) -> IndexState:
        """Load the state of the index in ``directory`` (creating it if allowed)."""
        path = state_path(directory)
        if not create and not os.path.isfile(path):
            raise IndexStateError(directory, "not an index (it has no state)")
        try:
            connection = sqlite3.connect(path, timeout=60, isolation_level=None)
            if create:
                connection.executescript(_CREATE)
        except sqlite3.Error as exc:
            raise IndexStateError(path, f"cannot open the state database: {exc}") from None
        return cls(connection, path)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> IndexState:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def dist(self, filename: str) -> DistFile:
        return row_to_dist(self.files[filename])

    def set_dirty(self, dirty: bool) -> None:
        """Record (durably) that a build is, or no longer is, changing the index."""
        if dirty == self.dirty:
            return
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('dirty', ?)",
                ("1" if dirty else "0",),
            )
        self.dirty = dirty

    def commit(
        self,
        *,
        added: Iterable[FileRow] = (),
        removed: Iterable[str] = (),
        scanned: Iterable[tuple[str, ScanEntry]] = (),
        forgotten: Iterable[str] = (),
        settings: str | None = None,
    ) -> None:
        """Apply a build's changes in one transaction, and to the loaded state.

        ``added`` rows replace rows of the same file name; ``removed`` are file
        names; ``scanned`` are new scan cache entries; ``forgotten`` source
        paths leave the scan cache.
        """
        added = list(added)
        removed = list(removed)
        scanned = list(scanned)
        forgotten = list(forgotten)
        if settings == self.settings:
            settings = None
        if not (added or removed or scanned or forgotten or settings):
            return
        with self._transaction():
            db = self._db
            db.executemany("DELETE FROM files WHERE filename = ?", ((f,) for f in removed))
            db.executemany(
                f"INSERT OR REPLACE INTO files ({_FILE_COLUMNS}) VALUES ({', '.join('?' * 13)})",
                added,
            )
            db.executemany("DELETE FROM scan WHERE source = ?", ((s,) for s in forgotten))
            db.executemany(
                "INSERT OR REPLACE INTO scan"
                " (source, size, mtime_ns, filename, sha256, error, skipped)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                ((source, *entry[:5], int(entry.skipped)) for source, entry in scanned),
            )
            if settings is not None:
                db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('settings', ?)", (settings,)
                )
        for filename in removed:
            self.files.pop(filename, None)
        self.files.update((row[0], row) for row in added)
        for source in forgotten:
            self.scan.pop(source, None)
        self.scan.update(scanned)
        if settings is not None:
            self.settings = settings

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db, self.path)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK`` on error)."""

    def __init__(self, db: sqlite3.Connection, path: str) -> None:
        self._db = db
        self._path = path

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type[BaseException] | None, exc: object, tb: object) -> None:
        if exc_type is None:
            try:
                self._db.execute("COMMIT")
                return
            except sqlite3.Error as error:
                exc = error
        with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already
            self._db.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise IndexStateError(self._path, f"cannot save the state: {exc}") from exc
