"""The private state of an index: ``DIR/.privateindex/state.sqlite``.

Three tables:

``files``
    every file the index holds (``filename`` is the key), with all the fields
    of its :class:`~buildout.privateindex.model.DistFile` and the source path
    it was copied from;
``scan``
    the scan cache: per source path, the ``(size, mtime_ns)`` it had when it
    was last read and what reading it gave: the ``filename`` and ``sha256``
    of its DistFile record and whether the index holds exactly that content
    under that name (``indexed``; if not, the file conflicts with the indexed
    one), or the reason it is not indexable (``error``, ``skipped`` when it
    is no distribution at all);
``meta``
    ``schema`` (the layout version of this database), ``settings`` (the
    fingerprint of the render settings the pages were written with) and
    ``dirty`` (set while a build writes to the index, so that the next build
    knows it must clean up after a killed one).

Opening the state reads ``meta`` and, with one SELECT, the scan cache, which
alone settles every unchanged source file.  ``files`` is read only when the
build changes something (or prunes): by single rows for the files read,
whole for rendering.  Each build's changes are committed in one transaction;
SQLite makes it atomic, even when the process is killed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterable
from typing import NamedTuple

from .errors import IndexStateError
from .model import DistFile, Kind

__all__ = ["STATE_DIR", "CachedScan", "FileRow", "IndexState", "ScanEntry", "state_path"]

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
CREATE INDEX IF NOT EXISTS files_project ON files (project);
CREATE TABLE IF NOT EXISTS scan (
    source TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    filename TEXT, sha256 TEXT, error TEXT, skipped INTEGER NOT NULL,
    indexed INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', '{_SCHEMA}');
"""

#: Separates the requirements in ``files.build_requires`` (never in a requirement).
_SEP = "\x1f"
_KINDS = {kind.value: kind for kind in Kind}

#: A row of ``files``, in the column order above.
FileRow = tuple[
    str, str, str, str, str, int, str, int, str | None, str, str | None, str | None, str
]


#: A scan cache entry as loaded: the fields of :class:`ScanEntry`, in order.
CachedScan = tuple[int, int, str | None, str | None, str | None, int, int]


class ScanEntry(NamedTuple):
    """What the scan cache knows about one source path.

    Either ``filename`` and ``sha256`` (a good distribution; ``indexed`` if
    the index holds that very content, else it is a conflict) or ``error``
    (why it is not indexable; ``skipped`` when it is no distribution at all).
    """

    size: int
    mtime_ns: int
    filename: str | None = None
    sha256: str | None = None
    error: str | None = None
    skipped: int = 0
    indexed: int = 0


def state_path(directory: str) -> str:
    """Where the state database of the index in ``directory`` lives."""
    return os.path.join(directory, STATE_DIR, _STATE_FILE)


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


class IndexState:
    """The loaded state of one index, and the means to update it."""

    def __init__(self, connection: sqlite3.Connection, path: str) -> None:
        self._db = connection
        self.path = path
        self._files: dict[str, FileRow] | None = None
        try:
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("schema") != _SCHEMA:
                raise IndexStateError(
                    path, f"state schema {meta.get('schema')!r} is not {_SCHEMA!r}"
                )
            rows = self._db.execute(
                "SELECT source, size, mtime_ns, filename, sha256, error, skipped, indexed FROM scan"
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise IndexStateError(path, f"broken state database: {exc}") from None
        #: The scan cache by source path (built without a Python loop per row).
        self.scan: dict[str, CachedScan] = {}
        if rows:
            columns = list(zip(*rows, strict=True))
            self.scan = dict(zip(columns[0], zip(*columns[1:], strict=True), strict=True))
        self.settings: str | None = meta.get("settings")
        self.dirty = meta.get("dirty") == "1"

    def _query(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise IndexStateError(self.path, f"broken state database: {exc}") from None

    @property
    def files(self) -> dict[str, FileRow]:
        """Every ``files`` row by file name (read on first use, one SELECT)."""
        if self._files is None:
            rows = self._query(f"SELECT {_FILE_COLUMNS} FROM files")
            self._files = {row[0]: row for row in rows}  # type: ignore[misc]
        return self._files

    def file_row(self, filename: str) -> FileRow | None:
        """The ``files`` row of ``filename``, if the index holds it."""
        if self._files is not None:
            return self._files.get(filename)
        rows = self._query(f"SELECT {_FILE_COLUMNS} FROM files WHERE filename = ?", filename)
        return rows[0] if rows else None  # type: ignore[return-value]

    def projects(self) -> set[str]:
        """The projects the index holds."""
        if self._files is not None:
            return {row[1] for row in self._files.values()}
        return {str(row[0]) for row in self._query("SELECT DISTINCT project FROM files")}

    def count_files(self) -> int:
        """How many files the index holds."""
        if self._files is not None:
            return len(self._files)
        count = self._query("SELECT COUNT(*) FROM files")[0][0]
        assert isinstance(count, int)
        return count

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
        row = self.file_row(filename)
        if row is None:
            raise KeyError(filename)
        return row_to_dist(row)

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
                " (source, size, mtime_ns, filename, sha256, error, skipped, indexed)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                ((source, *entry) for source, entry in scanned),
            )
            if settings is not None:
                db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('settings', ?)", (settings,)
                )
        if self._files is not None:
            for filename in removed:
                self._files.pop(filename, None)
            self._files.update((row[0], row) for row in added)
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
